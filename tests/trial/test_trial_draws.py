"""Trials over draws: identical draws give back the point interval exactly, differing draws widen it,
each draw really runs with its own parameters, and the mixture quantiles match a Monte Carlo check."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crpsmap.calibrate.draws import PosteriorDraws
from crpsmap.model import CohortParams, ModelParams
from crpsmap.trial import BINARY_OUTCOMES, TrialResult, TrialSpec, run_trial
from crpsmap.trial.priors import EffectPrior, prior_for
from crpsmap.trial.uncertainty import (
    DrawsTrialResult,
    OverDraws,
    effect_levels,
    mixture_quantile,
    run_trial_draws,
    select_draws,
)

N, YEARS, SEED = 60, 1.0, 4


def spec(name: str = "glial_inhibitor") -> TrialSpec:
    return TrialSpec(name, patients=N, years=YEARS, seed=SEED)


@pytest.fixture(scope="module")
def point() -> TrialResult:
    return run_trial(spec())


def test_identical_draws_give_the_point_interval(point: TrialResult) -> None:
    """K identical posterior draws (the defaults) and a fixed strength: every draw is the point run, and
    the intervals over draws equal the point run's paired intervals."""
    w_lr = ModelParams().w_lr
    same = PosteriorDraws(("w_lr",), np.full((3, 1), w_lr), np.ones(3), what="identical")
    r = run_trial_draws(spec(), same, draws=3, prior=EffectPrior.fixed("glial_inhibitor"))
    assert r.source.posterior and r.k == 3
    for key in BINARY_OUTCOMES:
        b, o = point.binary[key], r.binary[key]
        assert b.difference is not None and b.ci_low is not None and b.ci_high is not None
        assert o.median == pytest.approx(b.difference, abs=1e-12)
        assert o.interval95 is not None and o.within95 is not None and o.interval90 is not None
        assert o.interval95 == pytest.approx((b.ci_low, b.ci_high), abs=1e-9)
        assert o.within95 == pytest.approx((b.ci_low, b.ci_high), abs=1e-12)
        assert o.interval90[0] >= o.interval95[0] - 1e-12 and o.interval90[1] <= o.interval95[1] + 1e-12
    h = point.hrv.difference
    assert r.hrv.interval95 == pytest.approx((h.ci_low, h.ci_high), abs=1e-9)


def test_differing_draws_widen_the_interval(point: TrialResult) -> None:
    """Posterior draws that differ and the glial prior (uniform e_glia): the 95% interval over draws is at
    least as wide as the point run's, and each draw ran with its own parameters."""
    post = PosteriorDraws(
        ("gain_mu", "w_lr"),
        np.array([[-0.70, 0.14], [-0.79, 0.12], [-0.88, 0.15], [-0.75, 0.13]]),
        np.ones(4),
        what="test posterior",
    )
    r = run_trial_draws(spec(), post, draws=4)
    s, b = r.binary["spread"], point.binary["spread"]
    assert s.interval95 is not None and b.ci_low is not None and b.ci_high is not None
    assert s.interval95[1] - s.interval95[0] >= b.ci_high - b.ci_low
    assert s.interval95[0] <= min(e for e in s.estimates if e is not None)
    assert s.interval95[1] >= max(e for e in s.estimates if e is not None)
    effects = [d.effect for d in r.draws]
    assert len(set(effects)) == 4 and all(0 <= e <= 1 for e in effects)
    for d in r.draws:
        assert d.posterior_index is not None
        row = post.draw(d.posterior_index)
        assert d.result.spec.cohort.gain_mu == row["gain_mu"] and d.result.spec.params.w_lr == row["w_lr"]
        assert d.result.spec.params.e_glia == d.effect
    assert sorted(d.posterior_index for d in r.draws) == [0, 1, 2, 3]  # equal weights: each once


def test_mixture_quantiles_match_monte_carlo() -> None:
    centres = [-0.3, -0.1, 0.05]
    lows = [-0.45, -0.2, -0.05]
    highs = [-0.2, 0.05, 0.1]
    z = 1.959963984540054
    rng = np.random.default_rng(0)
    samples = []
    for c, lo, hi in zip(centres, lows, highs, strict=True):
        half = rng.standard_normal(400_000)
        samples.append(c + np.where(half < 0, half * (c - lo) / z, half * (hi - c) / z))
    mc = np.concatenate(samples)
    for q in (0.025, 0.05, 0.5, 0.95, 0.975):
        assert mixture_quantile(centres, lows, highs, q) == pytest.approx(np.quantile(mc, q), abs=2e-3)
    # one component gives back its own interval; a point mass gives its value
    assert mixture_quantile([0.1], [0.0], [0.3], 0.025) == pytest.approx(0.0, abs=1e-12)
    assert mixture_quantile([0.1], [0.0], [0.3], 0.975) == pytest.approx(0.3, abs=1e-12)
    assert mixture_quantile([0.2, 0.2], [0.2, 0.2], [0.2, 0.2], 0.9) == pytest.approx(0.2, abs=1e-12)


def test_over_draws_skips_missing_estimates_and_clips() -> None:
    o = OverDraws.of([None, 0.95, 0.9], [None, 0.8, 0.7], [None, 1.0, 1.0], (-1.0, 1.0))
    assert o.median == pytest.approx(0.925)
    assert o.interval95 is not None and o.interval95[1] <= 1.0
    assert OverDraws.of([None], [None], [None]).median is None


def test_draw_selection_and_effect_levels() -> None:
    post = PosteriorDraws(("w_lr",), np.arange(10.0).reshape(10, 1) / 100, np.ones(10))
    idx = select_draws(post, 5, seed=1)
    assert len(set(idx.tolist())) == 5  # evenly spread, no repeats
    heavy = PosteriorDraws(("w_lr",), np.array([[0.1], [0.2]]), np.array([0.9, 0.1]))
    assert list(select_draws(heavy, 10, seed=0)).count(0) == 9
    u = effect_levels(8, seed=3)
    assert sorted(np.floor(u * 8).astype(int).tolist()) == list(range(8))  # one per stratum
    assert not np.array_equal(effect_levels(8, seed=4), u)


def test_vagal_prior_is_carried_through_the_cohort_of_each_draw() -> None:
    """The RMSSD prior maps to vns_dV with the draw's own cohort (RMSSD_ref, V0_mean)."""
    post = PosteriorDraws(("rmssd_ref",), np.array([[30.0], [60.0]]), np.ones(2))
    r = run_trial_draws(TrialSpec("vagal_stimulation", patients=20, years=1.0, seed=1), post, draws=2)
    p = prior_for("vagal_stimulation")
    for d in r.draws:
        cohort = CohortParams(rmssd_ref=d.parameters["rmssd_ref"])
        assert d.effect == pytest.approx(p.scale_quantile(d.effect_level) * cohort.v0_mean / cohort.rmssd_ref)


def test_without_a_posterior_the_result_says_parameters_are_fixed() -> None:
    r = run_trial_draws(TrialSpec("intrathecal_anticytokine", patients=20, years=1.0, seed=1), None, draws=2)
    assert isinstance(r, DrawsTrialResult) and not r.source.posterior
    d = r.to_dict()
    u = d["uncertainty"]
    assert u["parameter_uncertainty_included"] is False and "NOT varied" in u["sentence"]
    assert "absent" in u["parameter_source"] and u["effect_prior"]["basis"] == "ASSUMED"
    assert d["model_result"] is True and "not clinical evidence" in d["disclaimer"]
    assert all(math.isfinite(x["effect"]["e_IT"]) for x in d["draws"])
    with pytest.raises(ValueError, match="draws"):
        run_trial_draws(spec(), None, draws=0)


def test_an_unfinished_posterior_is_said_to_be_one_where_its_draws_are_used() -> None:
    """A posterior whose ABC run stopped above its target threshold is wider than the finished one: the
    source of a trial's draws (the page's and the JSON's sentence) says so, and a finished one does not."""
    from crpsmap.trial.page import uncertainty_sentence
    from crpsmap.trial.uncertainty import ParameterSource

    values, weights = np.array([[0.15], [0.16]]), np.ones(2)

    def posterior(reached: bool, eps: float) -> PosteriorDraws:
        settings = {"reached_floor": reached, "epsilon": eps, "epsilon_floor": 21.189}
        return PosteriorDraws(("w_lr",), values, weights, what="MODEL OUTPUT: a posterior", settings=settings)

    stopped, finished = posterior(False, 29.017), posterior(True, 14.1)
    assert (
        "unfinished posterior" in stopped.unfinished()
        and "(threshold 29.0, target 21.2)" in stopped.unfinished()
    )
    assert finished.unfinished() == "" and PosteriorDraws(("w_lr",), values, weights).unfinished() == ""
    assert "unfinished posterior" in ParameterSource.of(stopped).label
    assert "unfinished" not in ParameterSource.of(finished).label
    r = run_trial_draws(TrialSpec("glial_inhibitor", patients=20, years=1.0, seed=1), stopped, draws=2)
    assert "unfinished posterior" in uncertainty_sentence(r)
    assert "unfinished posterior" in r.to_dict()["uncertainty"]["parameter_source"]
