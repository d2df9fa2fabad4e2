"""The dashboard report computed in a child process is the report computed here, byte for byte, and a
child that dies is replaced."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from crpsmap.data import example_cohort_path
from crpsmap.io import read_csv
from crpsmap.registry import report_process
from crpsmap.report.api import report_html


@pytest.fixture()
def child() -> Iterator[None]:
    report_process.shutdown()
    yield
    report_process.shutdown()


def _child_pids() -> list[int]:
    pool = report_process._pool
    assert pool is not None
    return [p.pid for p in pool._processes.values()]  # type: ignore[union-attr]


def _timeless(html: str) -> str:
    """The report without the moment it was made (the two were made a second or so apart)."""
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d UTC", "(when)", html)


def test_child_report_equals_the_report_computed_here(child: None) -> None:
    histories = read_csv(example_cohort_path())
    kwargs = {"title": "Registry dashboard", "source": "registry, all sites", "data_note": "as of now"}
    html, stats = report_process.report_in_child(histories, **kwargs)
    here_html, here_stats = report_html(histories, **kwargs)
    assert _timeless(html) == _timeless(here_html)
    assert stats.to_dict() == here_stats.to_dict()
    assert stats.figures.n_patients == len(histories)
    pids = _child_pids()
    assert pids and os.getpid() not in pids  # it ran elsewhere


def test_a_child_that_died_is_replaced(child: None) -> None:
    histories = read_csv(example_cohort_path())[:40]
    first = report_process.report_in_child(histories, title="t")
    (pid,) = _child_pids()
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(BrokenProcessPool):  # the call that finds it dead fails (the caller falls back)
        report_process.report_in_child(histories, title="t")
    again = report_process.report_in_child(histories, title="t")
    assert _timeless(again[0]) == _timeless(first[0])
    assert _child_pids() != [pid]


def _running(pid: int) -> bool:
    """Is `pid` a live process (not gone, not a zombie waiting to be reaped)?"""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_a_hung_child_ends_itself_and_is_replaced(child: None) -> None:
    """A report the worker gave up on (TIMEOUT_SECONDS) must not keep running in its child: the child
    ends itself CHILD_GRACE_SECONDS later, and the next report gets a new child."""
    pid = report_process._call(30.0, os.getpid)
    assert pid != os.getpid() and _running(pid)
    with pytest.raises(TimeoutError):
        report_process._call(0.5, time.sleep, 60.0)  # hangs: the worker gives up after 0.5 s
    deadline = time.monotonic() + 0.5 + report_process.CHILD_GRACE_SECONDS + 10.0
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(pid), "the hung child is still running"
    again = report_process._call(30.0, os.getpid)
    assert again != pid and _running(again)
