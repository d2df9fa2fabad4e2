"""The dashboard report computed in a child process, so that a server worker's requests do not wait for it.

Computing the report (a Cox fit, the classifications, the literature comparison) takes about a third of
a second of CPU per 800 patients. In a thread of the server worker it held Python's lock for that long,
and every request the worker served meanwhile waited its turn: the slowest twentieth of all requests.
Here the worker hands the histories to one child process of its own, as the CSV long format (the text
round-trips exactly and is assembled from kept per-patient pieces, export_cache.py, in a few
milliseconds; pickling the history objects took 150 ms), and waits for the answer without holding the
lock. The child runs at a lower priority than the workers, imports no Django and touches no database.

Nothing here is Django: the child imports this module alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from crpsmap.history import PatientHistory
from crpsmap.io.csv_long import read_csv_text
from crpsmap.registry.export_cache import csv_text
from crpsmap.report.api import report_html
from crpsmap.stats.summary import CohortStatistics

#: the child's scheduling priority relative to the workers (the requests come first)
CHILD_NICENESS = 10
#: a child that takes longer than this is given up (the report is then computed in the worker)
TIMEOUT_SECONDS = 300.0
#: ... and ends itself this much later, so that a hung child does not keep its memory and CPU
CHILD_GRACE_SECONDS = 5.0

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_pid: int | None = None  # the process that made the pool (a forked worker makes its own)


def _child_init(parent: int) -> None:
    """Lower the child's priority; end it when the worker that made it is gone (also on SIGKILL)."""
    with contextlib.suppress(OSError):  # not allowed: the child runs at the worker's priority
        os.nice(CHILD_NICENESS)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="crpsmap-report-parent-watch", daemon=True).start()


def _with_deadline(seconds: float, fn: Callable[..., Any], *args: Any) -> Any:
    """In the child: `fn(*args)`, the child ending itself (SIGALRM, whose default action ends the process)
    if that takes longer than `seconds`. The worker has given up on it by then; the pool it leaves broken
    is replaced at the next call."""
    signal.alarm(max(1, math.ceil(seconds)))
    try:
        return fn(*args)
    finally:
        signal.alarm(0)


def _from_csv(text: str, kwargs: dict[str, Any]) -> tuple[str, CohortStatistics]:
    """In the child: the histories read back from the CSV text, then the report."""
    # a day of slack: the worker may have accepted a record dated today just before midnight
    histories = read_csv_text(text, name="registry snapshot", today=dt.date.today() + dt.timedelta(days=1))
    return report_html(histories, **kwargs)


def _warm_up() -> None:
    """In the child: one small report, so that its first real one does not also pay for loading the
    statistics libraries and compiling the templates (about 1.5 s of CPU per child, measured)."""
    from crpsmap.data.synthetic import random_histories

    report_html(random_histories(60, seed=0, prefix="WARM"))


def start() -> None:
    """Start this worker's child and warm it up in the background (a server worker calls this when it
    starts, so the first refresh under load does not wait for the child's start-up)."""
    _executor().submit(_with_deadline, TIMEOUT_SECONDS + CHILD_GRACE_SECONDS, _warm_up)


def _executor() -> ProcessPoolExecutor:
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid():
            context = multiprocessing.get_context("spawn")  # never fork a threaded server worker
            _pool = ProcessPoolExecutor(
                max_workers=1, mp_context=context, initializer=_child_init, initargs=(os.getpid(),)
            )
            _pool_pid = os.getpid()
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def report_in_child(histories: Sequence[PatientHistory], **kwargs: Any) -> tuple[str, CohortStatistics]:
    """`crpsmap.report.api.report_html(histories, **kwargs)`, computed in this worker's child process.
    Raises what the child raised; a child that died or hung is replaced at the next call (a hung one
    ends itself CHILD_GRACE_SECONDS after the worker gave up on it)."""
    text = csv_text(histories)
    result: tuple[str, CohortStatistics] = _call(TIMEOUT_SECONDS, _from_csv, text, kwargs)
    return result


def _call(timeout: float, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` in this worker's child, waited for at most `timeout` seconds."""
    pool = _executor()
    try:
        return pool.submit(_with_deadline, timeout + CHILD_GRACE_SECONDS, fn, *args).result(timeout=timeout)
    except (TimeoutError, BrokenProcessPool):
        _discard(pool)
        raise


def shutdown() -> None:
    """End this process's child (tests; a worker's exit ends it by itself)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
