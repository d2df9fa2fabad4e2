"""Calibration targets and the G-statistic distance, checked against scipy's independent G-test."""

from __future__ import annotations

import math

import pytest
from scipy.stats import power_divergence

from crpsmap.calibrate import deviance, targets_from_histories, targets_from_statistics, van_rijn_2011
from crpsmap.calibrate.distance import deviance_parts
from crpsmap.calibrate.targets import Targets, summary_statistics
from crpsmap.data import example_cohort_path
from crpsmap.io import read_csv


def stats(multi: int, n: int, c: int, i: int, d: int) -> dict:  # type: ignore[type-arg]
    return {
        "multi_limb": {"count": multi, "denominator": n},
        "limb_patterns": {
            "contralateral": {"count": c},
            "ipsilateral": {"count": i},
            "diagonal": {"count": d},
        },
    }


def test_van_rijn_targets_are_the_published_counts() -> None:
    t = van_rijn_2011()
    assert (t.multi_limb, t.patients) == (89, 185)
    assert t.patterns == (35, 22, 10)  # 49%, 30%, 14% of 72, rounded
    assert "van Rijn" in t.source and "derived" in t.note


def test_targets_from_report_statistics_and_histories_agree() -> None:
    hs = read_csv(example_cohort_path())
    s = summary_statistics(hs)
    a, b = targets_from_statistics(s), targets_from_histories(hs)
    assert (a.multi_limb, a.patients, a.patterns) == (b.multi_limb, b.patients, b.patterns)
    assert a.patients == len(hs)


def test_impossible_targets_are_refused() -> None:
    with pytest.raises(ValueError):
        Targets(multi_limb=10, patients=5, patterns=(1, 1, 1), source="x")
    with pytest.raises(ValueError):
        Targets(multi_limb=0, patients=0, patterns=(0, 0, 0), source="x")


def test_deviance_is_zero_at_the_observed_shares_and_grows_away() -> None:
    t = van_rijn_2011()
    # a simulated clinic with 10x the counts has (almost) the observed shares; smoothing leaves a trace
    near = deviance(t, stats(890, 1850, 376, 236, 108))  # 720 of 890 identifiable, as 72 of 89
    assert near < 0.05
    assert deviance(t, stats(700, 1850, 350, 220, 100)) > near
    assert deviance(t, stats(890, 1850, 100, 450, 120)) > near


def test_deviance_matches_scipy_g_test() -> None:
    t = Targets(multi_limb=89, patients=185, patterns=(35, 22, 10), source="x")
    sim = stats(321, 800, 150, 70, 30)
    parts = deviance_parts(t, sim)
    p = (321 + 0.5) / (800 + 1)
    g_multi, _ = power_divergence([89, 96], f_exp=[185 * p, 185 * (1 - p)], lambda_="log-likelihood")
    shares = [(k + 0.5) / 251.5 for k in (150, 70, 30)]
    g_pat, _ = power_divergence([35, 22, 10], f_exp=[67 * s for s in shares], lambda_="log-likelihood")
    assert math.isclose(parts["multi_limb"], float(g_multi), rel_tol=1e-12)
    assert math.isclose(parts["limb_patterns"], float(g_pat), rel_tol=1e-12)


def test_a_pattern_the_model_never_produces_costs_finitely() -> None:
    g = deviance(van_rijn_2011(), stats(400, 800, 200, 100, 0))
    assert math.isfinite(g) and g > 10


def test_conversion_outside_the_plausible_range_is_penalised() -> None:
    from crpsmap.calibrate.distance import PLAUSIBLE_CONVERSION, conversion_penalty, objective

    # the sourced band for fractures under strict criteria (docs/plausibility.md 3.1): Dijkstra 2003 1%,
    # Moseley 2014 3.8%, Beerthuizen 2012 7.0%
    assert PLAUSIBLE_CONVERSION == (0.01, 0.07)
    lo, hi = PLAUSIBLE_CONVERSION
    assert conversion_penalty(0.05) == 0 and conversion_penalty(None) == 0
    assert conversion_penalty(lo) == 0 and conversion_penalty(hi) == 0
    assert conversion_penalty(hi + 0.05) == pytest.approx(25.0)  # (5 points outside)^2
    assert conversion_penalty(0.0) == pytest.approx(1.0)
    assert conversion_penalty(0.16) == pytest.approx(81.0)  # about the default clinic's 16%: 9 points
    s = stats(89, 185, 35, 22, 10)
    assert objective(van_rijn_2011(), {**s, "conversion": 0.4}) == pytest.approx(
        deviance(van_rijn_2011(), s) + 33.0**2
    )


def test_plausibility_ranges_enter_the_objective_only_when_asked() -> None:
    """A fit that holds plausibility figures in their ranges (--objective-range) pays (points outside)^2
    for each, as for the conversion band; a clinic without them is judged as before."""
    from crpsmap.calibrate.distance import RANGES_KEY, objective, range_penalty, ranges_penalty

    assert range_penalty(0.25, 0.0, 0.05) == pytest.approx(400.0)  # 20 points above the assumed 5%
    assert range_penalty(0.85, 0.9, 1.0) == pytest.approx(25.0)  # 5 points below
    assert range_penalty(0.05, 0.0, 0.05) == 0 and range_penalty(None, 0.0, 0.05) == 0
    assert range_penalty(float("nan"), 0.0, 0.05) == 0
    s = stats(89, 185, 35, 22, 10)
    plain = objective(van_rijn_2011(), s)
    ranged = {
        **s,
        RANGES_KEY: {"cranium_or_face": [0.25, 0.0, 0.05], "onset_includes_injury": [0.85, 0.9, 1.0]},
    }
    assert ranges_penalty(s) == 0 and ranges_penalty(ranged) == pytest.approx(425.0)
    assert objective(van_rijn_2011(), ranged) == pytest.approx(plain + 425.0)


def test_inside_intervals_by_hand() -> None:
    from crpsmap.calibrate.distance import inside_intervals

    t = van_rijn_2011()
    # 370/800 = 46% multi-limb (interval 41.0-55.3%); of 300 identifiable: 50% / 35% / 15%: all inside
    assert inside_intervals(t, stats(370, 800, 150, 105, 45)) == {
        "multi_limb": True,
        "contralateral": True,
        "ipsilateral": True,
        "diagonal": True,
    }
    # 62% contralateral is above 59.9%; 5% diagonal below 7.7%; 40% multi-limb below 41.0%
    got = inside_intervals(t, stats(320, 800, 186, 99, 15))
    assert got == {"multi_limb": False, "contralateral": False, "ipsilateral": True, "diagonal": False}
