"""The clinic as the classifier and the statistics see it, computed from the rows on read and cached
per data version (any write changes the version, so nothing stale is ever shown).

"Patients like this one" describes this clinic's own data (Kaplan-Meier share with a second limb by 1, 2
and 5 years among patients with the same onset girdle); it is no prediction and no advice.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max

from crpsmap.history import PatientHistory
from crpsmap.registry.histories import load_histories
from crpsmap.registry.models import ClinicalEvent, Patient, Treatment, Visit
from crpsmap.spread import Classification, classify_all
from crpsmap.stats.survival import KMCurve, fit_km, second_limb_data

LIKE_THIS_YEARS = (1, 2, 5)
DAYS_PER_YEAR = 365.25


def data_version() -> tuple[Any, ...]:
    """Changes whenever any clinical row is written (row history only grows)."""
    out: list[Any] = []
    for model in (Patient, Visit, ClinicalEvent, Treatment):
        agg = model.history.aggregate(m=Max("history_id"), n=Count("history_id"), t=Max("history_date"))
        out += [agg["m"], agg["n"], agg["t"]]  # the time too: a restored or test database reuses ids
    return tuple(out)


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


def like_this_by_girdle(results: list[Classification]) -> dict[str, LikeThis]:
    data, _ = second_limb_data(results)
    out: dict[str, LikeThis] = {}
    for girdle in ("upper", "lower"):
        sel = [i for i, g in enumerate(data.girdle) if g == girdle]
        if not sel:
            continue
        dur, obs = data.durations[sel], data.observed[sel]
        curve = fit_km(dur, obs, girdle)
        if curve is None:
            continue
        durations = [float(d) for d in dur]
        shares = tuple(_share_at(curve, durations, y) for y in LIKE_THIS_YEARS)
        out[girdle] = LikeThis(girdle, len(sel), int(obs.sum()), shares)
    return out


_lock = threading.Lock()
_snapshot: ClinicSnapshot | None = None


def snapshot() -> ClinicSnapshot:
    """The current clinic (recomputed only when the data version changed)."""
    global _snapshot
    version = data_version()
    snap = _snapshot
    if snap is not None and snap.version == version:
        return snap
    with _lock:
        if _snapshot is not None and _snapshot.version == version:
            return _snapshot
        histories = load_histories()
        results = list(classify_all(histories))
        snap = ClinicSnapshot(
            version,
            {h.patient_id: h for h in histories},
            {c.patient_id: c for c in results},
            like_this_by_girdle(results),
        )
        _snapshot = snap
        return snap
