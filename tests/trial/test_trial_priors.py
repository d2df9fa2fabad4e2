"""Effect priors: every intervention has one, each shows its source or ASSUMED, assumed ones span the
parameter's documented range, and the RMSSD prior for vagal stimulation maps (through the simulator,
not a formula in the test) to a model RMSSD change inside the human range."""

from __future__ import annotations

import dataclasses
import re

import pytest

from crpsmap.model import CATALOGUE, ModelParams
from crpsmap.trial import TrialSpec, run_trial
from crpsmap.trial.priors import ANCHORED, ASSUMED, PRIORS, EffectPrior, prior_for

# Published figures (inputs, not outputs of a run): Wolf et al. 2021, Psychophysiology 58:e13933,
# taVNS vs sham on vagally mediated HRV, g 95% shortest credible interval; Nunan et al. 2010, Pacing
# Clin Electrophysiol 33:1407, short-term RMSSD 42 ± 15 ms.
WOLF_G_LOW, WOLF_G_HIGH = -0.103, 0.132
NUNAN_SD_MS = 15.0
HUMAN_LOW_MS, HUMAN_HIGH_MS = WOLF_G_LOW * NUNAN_SD_MS, WOLF_G_HIGH * NUNAN_SD_MS


def _meta(param: str) -> dict[str, object]:
    return dict({f.name: f.metadata for f in dataclasses.fields(ModelParams)}[param])


def test_every_intervention_of_the_catalogue_has_a_prior() -> None:
    assert set(PRIORS) == set(CATALOGUE)
    for name, p in PRIORS.items():
        assert p.intervention == name and prior_for(name) is p
        assert hasattr(ModelParams(), p.parameter)
    with pytest.raises(ValueError, match="no effect prior"):
        prior_for("homeopathy")


def test_the_strength_parameter_is_the_one_the_model_uses() -> None:
    """Where the model's table of effects exists, it must name the same strength parameter."""
    effects = pytest.importorskip("crpsmap.model.effects")
    table = effects.default_table()
    for name, p in PRIORS.items():
        assert table.strength(name) == p.parameter


def test_every_prior_shows_its_source_or_assumed() -> None:
    year = re.compile(r"\b(19|20)\d\d\b")
    for p in PRIORS.values():
        if p.anchored:
            assert p.label == ANCHORED
            assert p.sources, f"{p.intervention}: an anchored prior needs its sources"
            assert all(year.search(s) for s in p.sources)
        else:
            assert p.label == ASSUMED
        for s in p.sources:  # every citation names authors, year and journal
            assert year.search(s) and ";" in s, s
    vns = prior_for("vagal_stimulation")
    assert vns.anchored and vns.scale == "rmssd_ms"
    assert any("Wolf" in s and "10.1111/psyp.13933" in s for s in vns.sources)
    assert any("Nunan" in s and "10.1111/j.1540-8159.2010.02841.x" in s for s in vns.sources)
    assert any("Dirckx" in s and "Pain Pract 2013" in s for s in prior_for("anti_inflammatory").sources)
    # the anti-TNF trial is cited, but it cannot constrain e_sys: the prior is labelled assumed
    assert prior_for("anti_inflammatory").label == ASSUMED


def test_assumed_priors_are_wide_over_the_documented_range() -> None:
    for p in PRIORS.values():
        if p.anchored:
            continue
        meta = _meta(p.parameter)
        assert p.distribution in ("uniform", "loguniform")
        assert (p.a, p.b) == (meta["low"], meta["high"]), p.intervention
        lo, _, hi = p.central()
        assert lo < hi


def test_quantiles_follow_the_distribution() -> None:
    u = EffectPrior("glial_inhibitor", "e_glia", "uniform", 0.2, 0.6)
    assert u.quantile(0.5) == pytest.approx(0.4)
    lu = EffectPrior("infection_cleared", "tau_clear", "loguniform", 4.0, 64.0)
    assert lu.quantile(0.5) == pytest.approx(16.0)  # geometric midpoint
    n = EffectPrior("anti_inflammatory", "e_sys", "normal", 0.5, 0.1)
    assert n.quantile(0.975) == pytest.approx(0.5 + 1.959964 * 0.1, rel=1e-6)
    assert EffectPrior.fixed("glial_inhibitor").quantile(0.3) == ModelParams().e_glia
    with pytest.raises(ValueError):
        u.quantile(1.0)
    with pytest.raises(ValueError, match="RMSSD"):
        EffectPrior("glial_inhibitor", "e_glia", "normal", 0.0, 1.0, scale="rmssd_ms")


def test_vns_prior_covers_all_that_wolf_2021_supports() -> None:
    """The prior's central 95% (in ms of RMSSD change) contains Wolf's whole 95% interval times Nunan's SD,
    its upper bound included, and is centred on Wolf's g; it is not wider than it needs to be (the
    wider side of the interval sets it)."""
    p = prior_for("vagal_stimulation")
    lo, mid, hi = (p.scale_quantile(q) for q in (0.025, 0.5, 0.975))
    assert lo <= HUMAN_LOW_MS and hi >= HUMAN_HIGH_MS, (lo, hi)
    assert mid == pytest.approx(0.014 * NUNAN_SD_MS)
    assert min(HUMAN_LOW_MS - lo, hi - HUMAN_HIGH_MS) == pytest.approx(0.0, abs=1e-9)


def _model_rmssd_change(vns_dv: float) -> float:
    """The simulator's paired RMSSD difference (intervention − control, ms) for a given vns_dV."""
    spec = TrialSpec("vagal_stimulation", patients=60, years=1.0, seed=2, params=ModelParams(vns_dV=vns_dv))
    d = run_trial(spec).hrv.difference
    assert d.n >= 30 and d.mean is not None
    return d.mean


def test_rmssd_prior_maps_to_a_model_rmssd_change_in_the_human_range() -> None:
    """vns_dV drawn at the prior's 5%, 50% and 95% points: the model's own RMSSD change (computed by the
    simulator through its observation model, with feedbacks) lies in the human 95% range, and near the
    prior's value in ms; the old default strength lies far outside."""
    p = prior_for("vagal_stimulation")
    for q in (0.05, 0.5, 0.95):
        target_ms = p.scale_quantile(q)
        change = _model_rmssd_change(p.quantile(q))
        assert HUMAN_LOW_MS <= change <= HUMAN_HIGH_MS, (q, change)
        assert change == pytest.approx(target_ms, abs=0.35), (q, change, target_ms)
    assert _model_rmssd_change(ModelParams().vns_dV) > 5 * HUMAN_HIGH_MS
