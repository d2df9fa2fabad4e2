"""The CSV long format of the registry's histories, each patient's part computed once per history
(kept.py): an export after a write renders only the patients written since. Writing the whole CSV took
about 50 ms of CPU per 800 patients, holding the worker (and every request it served meanwhile); the bytes
are the same as `write_csv_text`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

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
from crpsmap.registry.kept import PerObject

_columns: PerObject[HistoryColumns] = PerObject()
_rows: PerObject[str] = PerObject()


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
