"""The dashboard's report per filter selection: computed from the clinic snapshot, kept per data version,
and on the web page refreshed off the request.

The report fits a Cox model (stats/cox.py), about half a second of CPU for 800 patients. Recomputing it
inside the request after every write made one dashboard per write wait that long and held its worker
(and every other request of that worker) meanwhile. So the page (`served_report`) shows the newest
report it has for the selection, computed at most `REFRESH_AFTER_SECONDS` before, while a background
thread has the report of the current data computed in the worker's child process (report_process.py:
in a thread of the worker it still held Python's lock from the worker's requests); the report says the
moment of the data it shows. A
report older than `SHOW_AT_MOST_SECONDS` is never shown for changed data: that request computes.
Programs (the API's statistics, `dashboard_report`) always get the report of the current data.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from crpsmap.history import PatientHistory
from crpsmap.registry import clinic
from crpsmap.registry.models import Patient
from crpsmap.registry.report_process import report_in_child
from crpsmap.report.api import report_html
from crpsmap.stats.summary import CohortStatistics

log = logging.getLogger(__name__)

#: a changed clinic starts a background recomputation once the shown report is this old
REFRESH_AFTER_SECONDS = 10.0
#: a report this old is not shown for changed data: the request computes the current one itself
SHOW_AT_MOST_SECONDS = 120.0
#: the most filter selections kept per worker
KEEP_SELECTIONS = 32

Filters = dict[str, Any]


def no_filters() -> Filters:
    return {"site": "", "onset_from": None, "onset_to": None}


def selected_histories(
    filters: Filters, snap: clinic.ClinicSnapshot | None = None
) -> tuple[list[PatientHistory], set[str]]:
    """The histories the filters select, and the provenances among them."""
    qs = Patient.objects.all()
    if filters["site"]:
        qs = qs.filter(site=filters["site"])
    rows = list(qs.order_by("id").values_list("code", "provenance"))
    # the snapshot is read after the rows, so it holds every patient they name
    snap = snap if snap is not None and all(code in snap.histories for code, _ in rows) else clinic.snapshot()
    out, provenances = [], set()
    for code, prov in rows:
        c = snap.classifications.get(code)
        onset = c.onset_date if c else None
        if filters["onset_from"] and (onset is None or onset < filters["onset_from"]):
            continue
        if filters["onset_to"] and (onset is None or onset > filters["onset_to"]):
            continue
        out.append(snap.histories[code])
        provenances.add(prov)
    return out, provenances


@dataclass(frozen=True)
class Report:
    """One computed report: of which data version, when (monotonic, for age) and its data moment."""

    version: tuple[Any, ...]
    html: str
    stats: CohortStatistics
    computed: float  # time.monotonic() when the data were read
    data_as_of: dt.datetime  # the same moment, UTC, as shown in the report


def _key(filters: Filters) -> tuple[Any, ...]:
    return (filters["site"], filters["onset_from"], filters["onset_to"])


def data_note(as_of: dt.datetime) -> str:
    """The sentence in every dashboard report that says which moment of the registry it shows."""
    return (
        f"Registry data as of {as_of:%Y-%m-%d %H:%M:%S} UTC. After a change the dashboard is recomputed "
        f"in the background and may show the previous figures for up to about {REFRESH_AFTER_SECONDS:.0f} "
        "seconds plus the computing time; reload to see the newest."
    )


@dataclass(frozen=True)
class _Selection:
    """What a report is computed from, read from the database in the requesting thread (the
    computation itself then needs no database connection)."""

    version: tuple[Any, ...]
    histories: list[PatientHistory]
    source: str
    read: float  # time.monotonic()
    as_of: dt.datetime


def _select(filters: Filters) -> _Selection:
    read = time.monotonic()
    as_of = dt.datetime.now(dt.UTC).replace(microsecond=0)
    snap = clinic.snapshot()
    histories, _ = selected_histories(filters, snap)
    parts = [f"site {filters['site']}" if filters["site"] else "all sites"]
    if filters["onset_from"] or filters["onset_to"]:
        parts.append(f"onset {filters['onset_from'] or '…'} to {filters['onset_to'] or '…'}")
    return _Selection(snap.version, histories, "registry, " + ", ".join(parts), read, as_of)


def _compute(sel: _Selection, *, in_child: bool = False) -> Report:
    """The report of a selection; `in_child`: in the worker's child process (report_process.py), or here
    if that fails (logged)."""
    kwargs: dict[str, Any] = {
        "title": "Does CRPS spread? Registry dashboard",
        "source": sel.source,
        "data_note": data_note(sel.as_of),
    }
    if in_child:
        try:
            html, stats = report_in_child(sel.histories, **kwargs)
            return Report(sel.version, html, stats, sel.read, sel.as_of)
        except Exception:
            log.warning("the dashboard report's child process failed; computing it here", exc_info=True)
    html, stats = report_html(sel.histories, **kwargs)
    return Report(sel.version, html, stats, sel.read, sel.as_of)


_lock = threading.Lock()  # guards _latest and _refreshing
_compute_lock = threading.Lock()  # one report computed at a time per worker
_latest: dict[tuple[Any, ...], Report] = {}
_refreshing: dict[tuple[Any, ...], threading.Thread] = {}


def _store(key: tuple[Any, ...], report: Report) -> None:
    with _lock:
        old = _latest.get(key)
        if old is not None and old.computed > report.computed:
            return  # a newer one arrived meanwhile
        if key not in _latest and len(_latest) >= KEEP_SELECTIONS:
            _latest.pop(next(iter(_latest)))
        _latest[key] = report


def current_report(filters: Filters) -> Report:
    """The report of the current data (computed now unless kept for this data version)."""
    key = _key(filters)
    version = clinic.snapshot().version
    with _lock:
        hit = _latest.get(key)
    if hit is not None and hit.version == version:
        return hit
    with _compute_lock:
        with _lock:
            hit = _latest.get(key)
        if hit is not None and hit.version == clinic.snapshot().version:
            return hit
        report = _compute(_select(filters))
        _store(key, report)
        return report


def dashboard_report(filters: Filters) -> tuple[str, CohortStatistics]:
    """The report's HTML and statistics of the current data, for programs and tests."""
    report = current_report(filters)
    return report.html, report.stats


def served_report(filters: Filters) -> Report:
    """The report for the web page: the kept one while it is recent enough (a background thread then
    computes the current one), else the current one."""
    key = _key(filters)
    version = clinic.snapshot().version
    with _lock:
        hit = _latest.get(key)
    if hit is None or hit.version == version:
        return hit if hit is not None else current_report(filters)
    age = time.monotonic() - hit.computed
    if age > SHOW_AT_MOST_SECONDS:
        return current_report(filters)
    if age >= REFRESH_AFTER_SECONDS:
        _refresh_in_background(key, filters)
    return hit


def _refresh_in_background(key: tuple[Any, ...], filters: Filters) -> None:
    def running() -> bool:
        thread = _refreshing.get(key)
        return thread is not None and thread.is_alive()

    with _lock:
        if running():
            return
    sel = _select(filters)  # the rows are read here; the thread only computes
    thread = threading.Thread(target=_refresh, args=(key, sel), name="crpsmap-report", daemon=True)
    with _lock:
        if running():
            return
        _refreshing[key] = thread
    thread.start()


def _refresh(key: tuple[Any, ...], sel: _Selection) -> None:
    try:
        with _compute_lock:
            _store(key, _compute(sel, in_child=True))
    except Exception:  # the page keeps showing the previous report and tries again on a later request
        log.warning("background refresh of the dashboard report failed", exc_info=True)


def wait_for_refreshes(timeout: float = 30.0) -> None:
    """Wait for the background refreshes running now (tests, and a clean shutdown)."""
    with _lock:
        threads = list(_refreshing.values())
    for t in threads:
        t.join(timeout)


def forget() -> None:
    """Drop every kept report (tests)."""
    wait_for_refreshes()
    with _lock:
        _latest.clear()
        _refreshing.clear()
