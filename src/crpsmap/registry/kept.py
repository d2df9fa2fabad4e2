"""Values derived from one immutable object (a patient's history, its classification), kept while that
object is in use.

A server worker keeps the clinic in its snapshot (clinic.py), and the objects in it are immutable: a
patient whose rows change gets new ones, the others keep theirs. So what is derived from one patient's
objects (its rows in an export, its row in the survival table) can be kept while they live, and the work
after a write is done for the patients written since, not the whole clinic.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

V = TypeVar("V")


class PerObject(Generic[V]):
    """Values computed from one object, kept while that object is in use: the entry holds the object
    itself, so its id cannot be taken by another while kept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[tuple[int, Hashable], tuple[object, V]] = {}

    def get(self, obj: object, key: Hashable, compute: Callable[[], V]) -> V:
        k = (id(obj), key)
        with self._lock:
            hit = self._kept.get(k)
        if hit is not None and hit[0] is obj:
            return hit[1]
        value = compute()
        with self._lock:
            self._kept[k] = (obj, value)
        return value

    def keep_only(self, alive: Sequence[object], slack: int = 2) -> None:
        """Forget the objects not in `alive` once more than `slack` times its number are kept (patients
        written since, earlier keys)."""
        with self._lock:
            if len(self._kept) <= slack * len(alive) + 64:
                return
            ids = {id(o) for o in alive}
            self._kept = {k: v for k, v in self._kept.items() if k[0] in ids}

    def __len__(self) -> int:
        return len(self._kept)
