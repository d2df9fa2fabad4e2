"""The clinic as the classifier and the statistics see it, computed from the rows on read and cached
per data version (any write changes the version, so nothing stale is ever shown).

"Patients like this one" describes this clinic's own data (Kaplan-Meier share with a second limb by 1, 2
and 5 years among patients with the same onset girdle); it is no prediction and no advice.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any

import numpy as np
from django.db import connection

from crpsmap.history import PatientHistory
from crpsmap.registry.histories import load_histories
from crpsmap.registry.kept import PerObject
from crpsmap.registry.models import ClinicalEvent, Patient, Treatment, Visit
from crpsmap.spread import Classification, classify_all
from crpsmap.stats.survival import KMCurve, fit_km, second_limb_data

LIKE_THIS_YEARS = (1, 2, 5)
DAYS_PER_YEAR = 365.25


@cache
def _history_tables() -> tuple[tuple[str, str], ...]:
    """The row-history tables of the clinical tables, each with its column naming the patient."""
    out = []
    tables = ((Patient, "id"), (Visit, "patient"), (ClinicalEvent, "patient"), (Treatment, "patient"))
    for model, name in tables:
        hist = model.history.model
        out.append((hist._meta.db_table, hist._meta.get_field(name).column))
    return tuple(out)


@cache
def _version_sql(vendor: str) -> str:
    """One statement (so one consistent view of the database) giving, per history table, its last
    history id, the time of that row and, on PostgreSQL, the row count. History ids only grow and the
    rows are never changed; the time tells a database whose ids were reused (a rolled-back test, a
    restored file) from the one cached. PostgreSQL hands out ids before commit, so a transaction may commit
    a row below the last id after a later one: the count changes then. SQLite has one writer at a time,
    which takes its ids in commit order, so there the last id alone moves with every write."""
    q = connection.ops.quote_name
    cols = []
    for table, _ in _history_tables():
        t = q(table)
        # B608: table names from the models' own metadata, quoted
        cols.append(f"(SELECT MAX(history_id) FROM {t})")  # nosec B608 # reason above
        # B608: table names from the models' own metadata, quoted
        cols.append(f"(SELECT history_date FROM {t} ORDER BY history_id DESC LIMIT 1)")  # nosec B608 # reason above
        # B608: table names from the models' own metadata, quoted
        cols.append(f"(SELECT COUNT(*) FROM {t})" if vendor != "sqlite" else "NULL")  # nosec B608 # reason above
    return "SELECT " + ", ".join(cols)


def _query(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return list(cur.fetchall())


def data_version() -> tuple[Any, ...]:
    """Changes whenever any clinical row is written (row history only grows): per history table the
    last history id, its time and (PostgreSQL) the row count, read in one statement."""
    return tuple(_query(_version_sql(connection.vendor))[0])


@dataclass(frozen=True)
class ShareAt:
    years: int
    share: float | None  # None: nobody in the group was followed that long
    ci_low: float | None
    ci_high: float | None
    at_risk: int


@dataclass(frozen=True)
class LikeThis:
    girdle: str  # "upper" / "lower"
    n: int
    events: int
    shares: tuple[ShareAt, ...]


@dataclass(frozen=True)
class ClinicSnapshot:
    version: tuple[Any, ...]
    histories: dict[str, PatientHistory]
    classifications: dict[str, Classification]
    like_this: dict[str, LikeThis]
    #: patient primary key -> code, for updating the snapshot patient by patient after a write
    codes: dict[int, str] = field(default_factory=dict)


def _share_at(curve: KMCurve, durations: list[float], years: int) -> ShareAt:
    t = years * DAYS_PER_YEAR
    at_risk = sum(1 for d in durations if d >= t)
    if not durations or max(durations) < t:
        return ShareAt(years, None, None, None, at_risk)
    k = -1
    for i, ti in enumerate(curve.times):
        if ti <= t:
            k = i
    if k < 0:
        return ShareAt(years, 0.0, 0.0, 0.0, at_risk)
    return ShareAt(years, 1.0 - curve.survival[k], 1.0 - curve.ci_high[k], 1.0 - curve.ci_low[k], at_risk)


#: each patient's row of the time-to-second-limb table, kept per classification (kept.py): after a write
#: only the patients written are tabulated again (the whole table cost ~6 ms per write in every worker)
_km_rows: PerObject[tuple[str, float, int] | None] = PerObject()


def _km_row(c: Classification) -> tuple[str, float, int] | None:
    """(girdle of the first limb, days, second limb seen) as `second_limb_data` gives it; None: the
    patient is not in that table (no onset, no limb, ambiguous first limb)."""
    data, _ = second_limb_data([c])
    if not data.patient_ids:
        return None
    return data.girdle[0], float(data.durations[0]), int(data.observed[0])


def like_this_by_girdle(results: list[Classification]) -> dict[str, LikeThis]:
    rows = [_km_rows.get(c, None, partial(_km_row, c)) for c in results]
    out: dict[str, LikeThis] = {}
    for girdle in ("upper", "lower"):
        sel = [r for r in rows if r is not None and r[0] == girdle]
        if not sel:
            continue
        dur = np.array([r[1] for r in sel], dtype=float)
        obs = np.array([r[2] for r in sel], dtype=int)
        out_g = _like_this_of(girdle, dur, obs)
        if out_g is not None:
            out[girdle] = out_g
    return out


_km_lock = threading.Lock()
_km_cache: dict[str, tuple[bytes, bytes, LikeThis | None]] = {}


def _like_this_of(girdle: str, dur: np.ndarray, obs: np.ndarray) -> LikeThis | None:
    """One girdle's shares; the last result per girdle is kept, as a write usually changes one girdle."""
    key = (dur.tobytes(), obs.tobytes())
    with _km_lock:
        hit = _km_cache.get(girdle)
    if hit is not None and hit[:2] == key:
        return hit[2]
    curve = fit_km(dur, obs, girdle)
    result = None
    if curve is not None:
        durations = [float(d) for d in dur]
        shares = tuple(_share_at(curve, durations, y) for y in LIKE_THIS_YEARS)
        result = LikeThis(girdle, len(dur), int(obs.sum()), shares)
    with _km_lock:
        _km_cache[girdle] = (*key, result)
    return result


_lock = threading.Lock()
_snapshot: ClinicSnapshot | None = None
#: when more patients than this (or than a tenth of the clinic, if more) changed, reload them all
INCREMENTAL_MAX = 200


def _marks(version: tuple[Any, ...]) -> list[tuple[Any, Any, Any]]:
    """(last id, its time, count) per history table."""
    return [(version[i], version[i + 1], version[i + 2]) for i in range(0, len(version) - 2, 3)]


def _changed_patients(old: tuple[Any, ...], new: tuple[Any, ...]) -> set[int] | None:
    """Primary keys of the patients with a row written between two versions; None when that cannot be
    told from the history tables (ids reused, a late commit below the last id): then reload everything."""
    if len(old) != len(new):
        return None
    changed: set[int] = set()
    for (table, column), (m0, t0, n0), (m1, t1, n1) in zip(
        _history_tables(), _marks(old), _marks(new), strict=True
    ):
        if (m0, t0, n0) == (m1, t1, n1):
            continue
        if m1 is None or (m0 is not None and m1 < m0) or (n0 is None) != (n1 is None):
            return None
        q = connection.ops.quote_name
        if m0 is not None:
            # the row that was last is still there, unchanged: the history up to it is the one cached
            # B608: table name from the models' metadata, quoted; ids are parameters
            same = _query(f"SELECT (SELECT history_date FROM {q(table)} WHERE history_id = %s)", [m0])  # nosec B608 # reason above
            if same[0][0] != t0:
                return None
        rows = _query(
            # B608: table and column names from the models' metadata; ids are parameters
            f"SELECT {q(column)} FROM {q(table)} WHERE history_id > %s AND history_id <= %s",  # nosec B608 # reason above
            [m0 if m0 is not None else -1, m1],
        )
        if n0 is not None and n1 - n0 != len(rows):
            return None
        changed.update(int(r[0]) for r in rows if r[0] is not None)
    return changed


def _build(version: tuple[Any, ...]) -> ClinicSnapshot:
    """The whole clinic from its rows."""
    codes = dict(Patient.objects.order_by("id").values_list("id", "code"))
    histories = load_histories()
    results = list(classify_all(histories))
    _km_rows.keep_only(results)
    return ClinicSnapshot(
        version,
        {h.patient_id: h for h in histories},
        {c.patient_id: c for c in results},
        like_this_by_girdle(results),
        codes,
    )


def _update(snap: ClinicSnapshot, version: tuple[Any, ...], changed: set[int]) -> ClinicSnapshot | None:
    """`snap` with the changed patients read again (the same numbers as a full reload)."""
    codes = dict(snap.codes)
    histories = dict(snap.histories)
    classifications = dict(snap.classifications)
    now = dict(Patient.objects.filter(pk__in=changed).values_list("id", "code"))
    pks = sorted(now)
    loaded = load_histories(Patient.objects.filter(pk__in=pks)) if pks else []
    if len(loaded) != len(pks):
        return None  # a patient went away in between
    for pk in changed:
        old_code = codes.pop(pk, None)
        if old_code is not None:
            histories.pop(old_code, None)
            classifications.pop(old_code, None)
    for pk, h, c in zip(pks, loaded, classify_all(loaded), strict=True):
        codes[pk] = h.patient_id
        histories[h.patient_id] = h
        classifications[h.patient_id] = c
    codes = dict(sorted(codes.items()))
    results = [classifications[code] for code in codes.values() if code in classifications]
    like_this = like_this_by_girdle(results)
    _km_rows.keep_only(results)
    return ClinicSnapshot(version, histories, classifications, like_this, codes)


def current_histories() -> list[PatientHistory]:
    """The clinic's histories in patient order, as `load_histories()` reads them: from this process's
    snapshot when it keeps one (a server worker: an export then reads no rows, which took a second per
    thousand patients and held the worker), else from the database."""
    if _snapshot is None:
        return load_histories()
    snap = snapshot()
    return [snap.histories[code] for code in snap.codes.values()]


def snapshot() -> ClinicSnapshot:
    """The current clinic: rebuilt when the data version changed, patient by patient after a few
    writes (the patients whose rows were written, found in the row history), whole otherwise."""
    global _snapshot
    snap = _snapshot
    if snap is not None and snap.version == data_version():
        return snap
    with _lock:
        version = data_version()  # again: another thread may have refreshed while this one waited
        snap = _snapshot
        if snap is not None and snap.version == version:
            return snap
        new = None
        if snap is not None:
            changed = _changed_patients(snap.version, version)
            if changed is not None and len(changed) <= max(INCREMENTAL_MAX, len(snap.codes) // 10):
                new = _update(snap, version, changed)
        if new is None:
            new = _build(version)
        _snapshot = new
        return new


_site_lock = threading.Lock()
_site_like: dict[tuple[Any, ...], dict[str, LikeThis]] = {}


def like_this_for(site: str | None) -> dict[str, LikeThis]:
    """ "Patients like this one" among the patients of one site (for a user limited to it: sites.py), or
    among the whole clinic's (None)."""
    snap = snapshot()
    if site is None:
        return snap.like_this
    key = (snap.version, site)
    with _site_lock:
        hit = _site_like.get(key)
    if hit is None:
        codes = Patient.objects.filter(site=site).values_list("code", flat=True)
        hit = like_this_by_girdle([snap.classifications[c] for c in codes if c in snap.classifications])
        with _site_lock:
            if len(_site_like) >= 16:
                _site_like.clear()
            _site_like[key] = hit
    return hit
