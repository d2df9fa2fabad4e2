"""Paired statistics: Newcombe's interval against a published value, its large-n limit and its coverage."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from crpsmap.trial.paired import (
    MeanCI,
    PairedBinary,
    PairedMean,
    PairedTable,
    mcnemar_exact_p,
    newcombe_paired_interval,
)


def test_newcombe_matches_the_published_cavo_example() -> None:
    """Fagerland, Lydersen & Laake, Statistical Analysis of Contingency Tables (2017), ch. 8: complete
    response before/after consolidation (Cavo 2012), table 59 6 / 16 80: -0.0621 (-0.1186 to -0.0046)."""
    ci = newcombe_paired_interval(PairedTable(59, 6, 16, 80))
    assert ci is not None
    assert ci == pytest.approx((-0.0621, -0.1186, -0.0046), abs=5e-5)


def test_newcombe_by_hand_when_the_corrected_phi_is_zero() -> None:
    """Bentur 2009 table worked step by step: 0 <= AD - BC = 5 <= n/2, so phi* = 0 and the limits are
    the plain square-and-add of the Wilson distances."""
    t = PairedTable(1, 1, 7, 12)
    z = 1.959963984540054
    n = 21

    def wilson(x: int) -> tuple[float, float]:
        p = x / n
        c = (p + z * z / (2 * n)) / (1 + z * z / n)
        h = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return c - h, c + h

    p1, p2 = 2 / n, 8 / n
    (l1, u1), (l2, u2) = wilson(2), wilson(8)
    lower = (p1 - p2) - math.hypot(p1 - l1, u2 - p2)
    upper = (p1 - p2) + math.hypot(u1 - p1, p2 - l2)
    assert newcombe_paired_interval(t) == pytest.approx((p1 - p2, lower, upper), abs=1e-12)


def test_swapping_the_arms_mirrors_the_interval() -> None:
    for t in (PairedTable(10, 3, 9, 30), PairedTable(0, 5, 1, 2), PairedTable(40, 0, 0, 1)):
        d, lo, hi = newcombe_paired_interval(t) or (0, 0, 0)
        d2, lo2, hi2 = newcombe_paired_interval(
            PairedTable(t.both, t.second_only, t.first_only, t.neither)
        ) or (
            0,
            0,
            0,
        )
        assert (d2, lo2, hi2) == pytest.approx((-d, -hi, -lo), abs=1e-12)
        assert lo <= d <= hi


def test_newcombe_tends_to_the_wald_interval_for_large_n() -> None:
    n, b, c, a = 200_000, 6_000, 4_000, 50_000
    t = PairedTable(a, b, c, n - a - b - c)
    d, lo, hi = newcombe_paired_interval(t) or (0, 0, 0)
    se = math.sqrt(b + c - (b - c) ** 2 / n) / n
    assert d == pytest.approx((b - c) / n)
    assert lo == pytest.approx(d - 1.959963984540054 * se, abs=2e-5)
    assert hi == pytest.approx(d + 1.959963984540054 * se, abs=2e-5)


@pytest.mark.parametrize(
    "probs",
    [(0.2, 0.1, 0.05, 0.65), (0.05, 0.15, 0.15, 0.65), (0.4, 0.02, 0.1, 0.48)],
)
def test_exact_coverage_is_close_to_95_percent(probs: tuple[float, float, float, float]) -> None:
    """Brute force, independent of the formula: sum the multinomial probability of every table of n = 40
    whose interval contains the true difference."""
    n = 40
    truth = probs[1] - probs[2]
    coverage = 0.0
    logp = np.log(probs)
    for a, b, c in itertools.product(range(n + 1), repeat=3):
        d = n - a - b - c
        if d < 0:
            continue
        _, lo, hi = newcombe_paired_interval(PairedTable(a, b, c, d)) or (0, 0, 0)
        if lo - 1e-12 <= truth <= hi + 1e-12:
            lg = math.lgamma(n + 1) - sum(math.lgamma(k + 1) for k in (a, b, c, d))
            coverage += math.exp(lg + a * logp[0] + b * logp[1] + c * logp[2] + d * logp[3])
    assert 0.93 <= coverage <= 0.99, coverage


def test_mcnemar_exact_is_the_binomial_test_on_discordant_pairs() -> None:
    for b, c in ((6, 16), (0, 7), (3, 3), (1, 0)):
        t = PairedTable(20, b, c, 30)
        expected = min(1.0, 2 * stats.binom.cdf(min(b, c), b + c, 0.5))
        assert mcnemar_exact_p(t) == pytest.approx(expected)
    assert mcnemar_exact_p(PairedTable(5, 0, 0, 5)) == 1.0


def test_paired_binary_counts_pairs() -> None:
    control = [True, True, False, False, True]
    treated = [True, False, False, True, False]
    pb = PairedBinary.of(control, treated)
    assert pb.table == PairedTable(both=1, first_only=1, second_only=2, neither=1)
    assert pb.control.count == 3 and pb.intervention.count == 2 and pb.control.denominator == 5
    assert pb.difference == pytest.approx(-0.2)
    assert pb.to_dict()["discordant_pairs"] == 3
    with pytest.raises(ValueError):
        PairedBinary.of([True], [True, False])


def test_paired_mean_agrees_with_scipy_ttest_rel() -> None:
    rng = np.random.default_rng(3)
    control = rng.normal(40, 10, 50)
    treated = control + rng.normal(2, 3, 50)
    pm = PairedMean.of(control.tolist(), treated.tolist())
    ref = stats.ttest_rel(treated, control)
    ci = ref.confidence_interval(0.95)
    assert pm.difference.mean == pytest.approx(float(np.mean(treated - control)))
    assert (pm.difference.ci_low, pm.difference.ci_high) == pytest.approx((ci.low, ci.high))
    assert pm.p_value == pytest.approx(ref.pvalue)
    assert MeanCI.of([]).mean is None and MeanCI.of([1.0]).ci_low is None


def test_identical_arms_give_zero_difference() -> None:
    same = [True, False, True, True]
    pb = PairedBinary.of(same, same)
    assert pb.difference == 0.0 and pb.table.discordant == 0 and pb.mcnemar_p == 1.0
    assert pb.ci_low is not None and pb.ci_low < 0 < (pb.ci_high or 0)
    pm = PairedMean.of([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert pm.difference.mean == 0.0 and pm.p_value == 1.0
