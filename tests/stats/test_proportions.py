from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from crpsmap.stats.proportions import Proportion, wilson_interval


@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_matches_statsmodels(kn: tuple[int, int]) -> None:
    k, n = kn
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    ours = wilson_interval(k, n)
    assert ours is not None
    assert ours[0] == pytest.approx(lo, abs=1e-12)
    assert ours[1] == pytest.approx(hi, abs=1e-12)


def test_zero_denominator_gives_nulls() -> None:
    p = Proportion.of(0, 0)
    assert p.to_dict() == {"count": 0, "denominator": 0, "proportion": None, "ci_low": None, "ci_high": None}
    assert "not estimable" in p.percent()


def test_invalid_counts_rejected() -> None:
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_percent_text() -> None:
    assert Proportion.of(61, 100).percent() == "61% (95% CI 51–70%)"
