"""Time from onset to the second limb: Kaplan-Meier with censoring at the last follow-up.

Who is in: patients with an identifiable first limb (exactly one limb at the date the first limb was
involved). Time is days from the onset date to the date the second limb was first recorded (event), or to
the last record of any kind (censored). Patients with no limb ever involved and patients whose first
limb is ambiguous (two or more limbs at once, e.g. at onset) are excluded, with their counts.

The estimate is computed with numpy (`km_estimate`), by lifelines' arithmetic: importing lifelines alone
takes seconds, and the tests compare every curve with lifelines' KaplanMeierFitter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from crpsmap.spread import Classification
from crpsmap.stats.proportions import Z95
from crpsmap.stats.table import LOWER_LIMB, NO_DATE, ClassificationTable, as_table


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


def second_limb_data(
    results: Iterable[Classification] | ClassificationTable,
) -> tuple[KMData, dict[str, int]]:
    """Durations and event flags for time to second limb, plus exclusion counts."""
    data, excl, _ = km_arrays(as_table(results))
    return data, excl


def km_arrays(t: ClassificationTable) -> tuple[KMData, dict[str, int], np.ndarray]:
    """`second_limb_data` on a table, plus the girdle of each row as a bool array (True: lower limb)."""
    no_onset = (t.onset == NO_DATE) | (t.last == NO_DATE)
    no_limb = ~no_onset & (t.n_limbs == 0)
    ambiguous = ~no_onset & ~no_limb & (t.first_limb < 0)
    keep = ~(no_onset | no_limb | ambiguous)
    onset = t.onset[keep].astype(np.int64)
    second = t.n_limbs[keep] >= 2
    to_second = t.limb_date[keep, 1].astype(np.int64) - onset
    to_last = np.maximum(0, t.last[keep].astype(np.int64) - onset)
    durations = np.where(second, to_second, to_last).astype(float)
    lower = LOWER_LIMB[t.first_limb[keep].astype(np.int64)]
    girdle = np.where(lower, "lower", "upper")
    data = KMData(
        t.patient_id[keep].tolist(),
        durations,
        second.astype(int),
        girdle.tolist(),
    )
    excl = {
        "no_onset": int(no_onset.sum()),
        "no_limb": int(no_limb.sum()),
        "ambiguous_first_limb": int(ambiguous.sum()),
    }
    return data, excl, lower


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def _first_at_or_below(times: np.ndarray, curve: np.ndarray, q: float = 0.5) -> float:
    """The first time the (non-increasing) curve is at or below q; inf if never (lifelines' rule)."""
    if len(curve) == 0 or curve[-1] > q:
        return math.inf
    return float(times[int(np.searchsorted(-curve, -q, side="left"))])


def km_estimate(
    durations: np.ndarray, observed: np.ndarray, z: float = Z95
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Kaplan-Meier by hand: (times, survival, lower, upper) at 0 and every distinct duration.

    The same arithmetic as lifelines' KaplanMeierFitter (product-limit estimate; exponential Greenwood,
    i.e. log(-log), 95% band; band 1.0 where undefined), so both give the same numbers (the tests check).
    """
    d = np.asarray(durations, dtype=float)
    e = np.asarray(observed).astype(bool)
    times, inverse = np.unique(np.concatenate(([0.0], d)), return_inverse=True)
    inverse = inverse[1:]
    removed = np.bincount(inverse, minlength=len(times)).astype(np.int64)
    deaths = np.bincount(inverse, weights=e, minlength=len(times)).astype(np.int64)
    at_risk = len(d) - np.concatenate(([0], np.cumsum(removed)[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.cumsum(np.log(at_risk - deaths) - np.log(at_risk))
        pop = at_risk.astype(np.uint64)
        step = deaths / (pop * (pop - deaths))  # uint64 - int64 is float64, as in lifelines
        step[step == np.inf] = 0.0
        var = np.cumsum(step)
        survival = np.exp(log_s)
        v = np.log(survival)
        lower = np.exp(-np.exp(np.log(-v) - z * np.sqrt(var) / v))
        upper = np.exp(-np.exp(np.log(-v) + z * np.sqrt(var) / v))
    lower[np.isnan(lower)] = 1.0
    upper[np.isnan(upper)] = 1.0
    return times, survival, lower, upper


def fit_km(durations: np.ndarray, observed: np.ndarray, label: str) -> KMCurve | None:
    """Fit one KM curve; None without patients. Median CI: where the pointwise log(-log) band crosses 0.5."""
    if len(durations) == 0:
        return None
    times, survival, lower, upper = km_estimate(durations, observed)
    return KMCurve(
        label=label,
        n=len(durations),
        events=int(np.asarray(observed).sum()),
        times=tuple(times.tolist()),
        survival=tuple(survival.tolist()),
        ci_low=tuple(lower.tolist()),
        ci_high=tuple(upper.tolist()),
        median_days=_finite(_first_at_or_below(times, survival)),
        median_ci_low=_finite(_first_at_or_below(times, lower)),
        median_ci_high=_finite(_first_at_or_below(times, upper)),
    )


def second_limb_km(results: Iterable[Classification] | ClassificationTable) -> SecondLimbKM:
    """Overall and per-girdle KM curves of time from onset to the second limb."""
    data, excl, lower = km_arrays(as_table(results))
    overall = fit_km(data.durations, data.observed, "all")
    by: dict[str, KMCurve] = {}
    for name, mask in (("upper", ~lower), ("lower", lower)):
        curve = fit_km(data.durations[mask], data.observed[mask], f"{name} limb onset")
        if curve is not None:
            by[name] = curve
    return SecondLimbKM(overall, by, excl["no_limb"], excl["ambiguous_first_limb"], excl["no_onset"])
