"""One way to pause Python's cyclic garbage collector around bulk work (reading a file, building the
statistics' tables): such work makes millions of objects and no cyclic garbage, so each collection of
the oldest generation would only walk them again (it took about 30% of a big report's time)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block. Threads (the registry's server) share one pause: the last to
    leave restores the collector as the first found it."""
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
