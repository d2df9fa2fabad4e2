"""The CSV long format of the registry's histories, each patient's part computed once per history.

A server worker keeps the clinic's histories in its snapshot (clinic.py), and a history is immutable: a
patient whose rows change gets a new object, the others keep theirs. So what is derived from one history
(its columns, its rows as text) can be kept while that object lives, and an export after a write renders
only the patients written since. Writing the whole CSV took about 50 ms of CPU per 800 patients, holding
the worker (and every request it served meanwhile); the bytes are the same as `write_csv_text`'s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from functools import partial
from typing import Generic, TypeVar

from crpsmap.history import PatientHistory
from crpsmap.io.csv_long import (
    HistoryColumns,
    csv_header,
    history_columns,
    history_rows,
    merge_columns,
    needs_provenance,
    rows_text,
)

V = TypeVar("V")


class PerHistory(Generic[V]):
    """Values computed from one history object, kept while that object is in use: the entry holds the
    object itself, so its id cannot be taken by another while kept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[tuple[int, Hashable], tuple[PatientHistory, V]] = {}

    def get(self, h: PatientHistory, key: Hashable, compute: Callable[[], V]) -> V:
        k = (id(h), key)
        with self._lock:
            hit = self._kept.get(k)
        if hit is not None and hit[0] is h:
            return hit[1]
        value = compute()
        with self._lock:
            self._kept[k] = (h, value)
        return value

    def keep_only(self, alive: Sequence[PatientHistory], slack: int = 2) -> None:
        """Forget the histories not in `alive` once more than `slack` times its number are kept (patients
        written since, earlier column sets)."""
        with self._lock:
            if len(self._kept) <= slack * len(alive) + 64:
                return
            ids = {id(h) for h in alive}
            self._kept = {k: v for k, v in self._kept.items() if k[0] in ids}

    def __len__(self) -> int:
        return len(self._kept)


_columns: PerHistory[HistoryColumns] = PerHistory()
_rows: PerHistory[str] = PerHistory()


def _rows_of(h: PatientHistory, values: list[str], extra: list[str], provenance: bool) -> str:
    return rows_text(history_rows(h, values, extra, provenance=provenance))


def csv_text(histories: Sequence[PatientHistory]) -> str:
    """The histories in the CSV long format: the same text as `crpsmap.io.csv_long.write_csv_text`."""
    values, extra = merge_columns(_columns.get(h, None, partial(history_columns, h)) for h in histories)
    provenance = needs_provenance(histories, extra)
    key = (tuple(values), tuple(extra), provenance)
    parts = [rows_text([csv_header(values, extra, provenance=provenance)])]
    parts += (_rows.get(h, key, partial(_rows_of, h, values, extra, provenance)) for h in histories)
    _columns.keep_only(histories)
    _rows.keep_only(histories)
    return "".join(parts)
