"""KM figures against an independent computation (statsmodels SurvfuncRight + exponential Greenwood)."""

from __future__ import annotations

import numpy as np
import pytest
from stats_cohort import cohort_data
from statsmodels.duration.survfunc import SurvfuncRight

from crpsmap.stats.survival import second_limb_data, second_limb_km

Z = 1.959963984540054


def _independent_median(durations: np.ndarray, observed: np.ndarray) -> tuple[float, float, float]:
    sf = SurvfuncRight(durations, observed)
    t, s, se = sf.surv_times, sf.surv_prob, sf.surv_prob_se

    def first_below(curve: np.ndarray) -> float:
        idx = np.nonzero(curve <= 0.5)[0]
        return float(t[idx[0]]) if len(idx) else float("inf")

    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.sqrt((se / s) ** 2 / np.log(s) ** 2)
        lower = np.where(s < 1, s ** np.exp(Z * v), 1.0)  # lower survival band
        upper = np.where(s < 1, s ** np.exp(-Z * v), 1.0)
    return first_below(s), first_below(lower), first_below(upper)


def test_km_median_and_interval_match_independent() -> None:
    _, results = cohort_data()
    km = second_limb_km(results)
    data, _ = second_limb_data(results)
    med, lo, hi = _independent_median(data.durations, data.observed)
    assert km.overall is not None
    assert km.overall.median_days == pytest.approx(med)
    assert km.overall.median_ci_low == pytest.approx(lo)
    assert km.overall.median_ci_high == pytest.approx(hi)
    assert set(km.by_girdle) == {"upper", "lower"}
    assert sum(c.n for c in km.by_girdle.values()) == km.overall.n


def test_km_rows_follow_the_definition() -> None:
    _, results = cohort_data()
    data, excl = second_limb_data(results)
    by_id = {c.patient_id: c for c in results}
    for pid, d, e in zip(data.patient_ids, data.durations, data.observed, strict=True):
        c = by_id[pid]
        assert c.first_limb is not None and c.onset_date is not None and c.last_date is not None
        if e:
            assert d == (c.limb_dates[1] - c.onset_date).days
        else:
            assert len(c.limbs) == 1 and d == (c.last_date - c.onset_date).days
    assert len(data.patient_ids) + sum(excl.values()) == len(results)


def test_km_empty() -> None:
    km = second_limb_km([])
    assert km.overall is None
    assert km.to_dict()["median_days"] is None


def _lifelines_curve(durations: np.ndarray, observed: np.ndarray):  # type: ignore[no-untyped-def]
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    kmf = KaplanMeierFitter(alpha=0.05).fit(durations, observed)
    return kmf, median_survival_times(kmf.confidence_interval_)


@pytest.mark.parametrize("seed", range(12))
def test_km_by_hand_is_lifelines_exactly(seed: int) -> None:
    from crpsmap.stats.survival import fit_km, km_estimate

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    # coarse times (many ties), zeros, all-events and all-censored samples
    durations = (rng.integers(0, 40, n) * rng.choice([1, 30])).astype(float)
    observed = (rng.random(n) < [0.0, 1.0, 0.3, 0.7][seed % 4]).astype(int)
    times, surv, lo, hi = km_estimate(durations, observed)
    kmf, mci = _lifelines_curve(durations, observed)
    assert np.array_equal(times, kmf.survival_function_.index.to_numpy())
    assert np.array_equal(surv, kmf.survival_function_.iloc[:, 0].to_numpy())
    assert np.array_equal(lo, kmf.confidence_interval_.iloc[:, 0].to_numpy())
    assert np.array_equal(hi, kmf.confidence_interval_.iloc[:, 1].to_numpy())
    curve = fit_km(durations, observed, "x")
    assert curve is not None

    def finite(x: float) -> float | None:
        return float(x) if np.isfinite(x) else None

    assert curve.median_days == finite(kmf.median_survival_time_)
    assert (curve.median_ci_low, curve.median_ci_high) == (finite(mci.iloc[0, 0]), finite(mci.iloc[0, 1]))
