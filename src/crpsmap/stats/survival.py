"""Time from onset to the second limb: Kaplan-Meier with censoring at the last follow-up (lifelines).

Who is in: patients with an identifiable first limb (exactly one limb at the date the first limb was
involved). Time is days from the onset date to the date the second limb was first recorded (event), or to
the last record of any kind (censored). Patients with no limb ever involved and patients whose first
limb is ambiguous (two or more limbs at once, e.g. at onset) are excluded, with their counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from crpsmap.spread import Classification


@dataclass(frozen=True)
class KMCurve:
    """One Kaplan-Meier curve: step times (days) with survival (no second limb yet) and its 95% band."""

    label: str
    n: int
    events: int
    times: tuple[float, ...]
    survival: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    median_days: float | None
    median_ci_low: float | None
    median_ci_high: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "n": self.n,
            "events": self.events,
            "median_days": self.median_days,
            "ci_low": self.median_ci_low,
            "ci_high": self.median_ci_high,
        }


@dataclass(frozen=True)
class SecondLimbKM:
    """KM of time to the second limb, overall and by onset girdle (upper / lower limb)."""

    overall: KMCurve | None
    by_girdle: dict[str, KMCurve]
    excluded_no_limb: int
    excluded_ambiguous_first_limb: int
    excluded_no_onset: int

    def to_dict(self) -> dict[str, Any]:
        o = self.overall
        return {
            "median_days": o.median_days if o else None,
            "ci_low": o.median_ci_low if o else None,
            "ci_high": o.median_ci_high if o else None,
            "n": o.n if o else 0,
            "events": o.events if o else 0,
            "by_girdle": {k: v.to_dict() for k, v in self.by_girdle.items()},
            "excluded": {
                "no_limb": self.excluded_no_limb,
                "ambiguous_first_limb": self.excluded_ambiguous_first_limb,
                "no_onset": self.excluded_no_onset,
            },
        }


@dataclass(frozen=True)
class KMData:
    """The analysis table: one row per eligible patient."""

    patient_ids: list[str]
    durations: np.ndarray  # days
    observed: np.ndarray  # 1 = second limb seen
    girdle: list[str]  # "upper" / "lower": girdle of the first limb


def second_limb_data(results: Sequence[Classification]) -> tuple[KMData, dict[str, int]]:
    """Durations and event flags for time to second limb, plus exclusion counts."""
    ids: list[str] = []
    dur: list[float] = []
    obs: list[int] = []
    girdle: list[str] = []
    excl = {"no_onset": 0, "no_limb": 0, "ambiguous_first_limb": 0}
    for c in results:
        if c.onset_date is None or c.last_date is None:
            excl["no_onset"] += 1
            continue
        if not c.limbs:
            excl["no_limb"] += 1
            continue
        if c.first_limb is None:
            excl["ambiguous_first_limb"] += 1
            continue
        ids.append(c.patient_id)
        girdle.append(c.first_limb.split("_")[0])
        if len(c.limbs) >= 2:
            dur.append(float((c.limb_dates[1] - c.onset_date).days))
            obs.append(1)
        else:
            dur.append(float(max(0, (c.last_date - c.onset_date).days)))
            obs.append(0)
    return KMData(ids, np.asarray(dur, dtype=float), np.asarray(obs, dtype=int), girdle), excl


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def fit_km(durations: np.ndarray, observed: np.ndarray, label: str) -> KMCurve | None:
    """Fit one KM curve; None without patients. Median CI: where the pointwise log(-log) band crosses 0.5."""
    if len(durations) == 0:
        return None
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    kmf = KaplanMeierFitter(alpha=0.05)
    kmf.fit(durations, observed, label=label)
    sf = kmf.survival_function_
    ci = kmf.confidence_interval_
    median = _finite(kmf.median_survival_time_)
    mci = median_survival_times(ci)
    return KMCurve(
        label=label,
        n=len(durations),
        events=int(observed.sum()),
        times=tuple(float(t) for t in sf.index),
        survival=tuple(float(s) for s in sf.iloc[:, 0]),
        ci_low=tuple(float(s) for s in ci.iloc[:, 0]),
        ci_high=tuple(float(s) for s in ci.iloc[:, 1]),
        median_days=median,
        median_ci_low=_finite(mci.iloc[0, 0]),
        median_ci_high=_finite(mci.iloc[0, 1]),
    )


def second_limb_km(results: Sequence[Classification]) -> SecondLimbKM:
    """Overall and per-girdle KM curves of time from onset to the second limb."""
    data, excl = second_limb_data(results)
    overall = fit_km(data.durations, data.observed, "all")
    by: dict[str, KMCurve] = {}
    g = np.asarray(data.girdle)
    for name in ("upper", "lower"):
        mask = g == name
        curve = fit_km(data.durations[mask], data.observed[mask], f"{name} limb onset")
        if curve is not None:
            by[name] = curve
    return SecondLimbKM(overall, by, excl["no_limb"], excl["ambiguous_first_limb"], excl["no_onset"])
