"""The fair mechanism comparison, the model-recovery check and the Markov baseline (calibrate/mechanisms.py,
recovery.py, baseline.py). Tiny clinics (30 virtual patients, 1 year): these check the bookkeeping and the
arithmetic, not the verdict."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
from scipy.stats import power_divergence

from crpsmap.calibrate import van_rijn_2011
from crpsmap.calibrate.baseline import (
    VAN_RIJN_2011_TRAUMA_SHARES,
    MarkovBaseline,
    fit_markov,
    pooled_trauma,
    saturated_log_likelihood,
    trauma_deviance,
    van_rijn_2011_trauma,
)
from crpsmap.calibrate.distance import conversion_penalty, deviance
from crpsmap.calibrate.fit import apply, free_params, simulate_summary
from crpsmap.calibrate.mechanisms import (
    AIC_CLOSE,
    CANDIDATES,
    COMPARISON_RANGES,
    CRITERIA,
    SHARED_FREE,
    SPREAD_Z,
    Budget,
    Spread,
    as_statistics,
    candidate_sim,
    compare_mechanisms,
    design_point,
    mean_sd,
    parameter_union,
    scored,
    separated,
    start_design,
)
from crpsmap.calibrate.recovery import bank_fit, targets_of
from crpsmap.calibrate.targets import PATTERNS, Targets
from crpsmap.model import Sim
from crpsmap.model.sim import NoCasesError

BASE = Sim(years=1.0, seed=3)
#: a susceptibility where many injuries become CRPS, so that tiny clinics screen few injuries
CHEAP = {"gain_mu": (-0.7, -0.5)}
TINY = Budget(starts=2, trials=2, startup=1, patients=30, heldout_seeds=3, heldout_patients=30)
PAIR = [c for c in CANDIDATES if c.name in ("spinal+supraspinal", "all")]


@pytest.fixture(scope="module")
def cmp():  # type: ignore[no-untyped-def]
    t = van_rijn_2011()
    return compare_mechanisms(
        t,
        base=BASE,
        candidates=PAIR,
        budget=TINY,
        seed=3,
        heldout_trauma=van_rijn_2011_trauma(t),
        recovery_replicates=1,
        recovery_patients=30,
        ranges=CHEAP,
    )


# ---- the Markov baseline -------------------------------------------------------------------------------


def test_markov_likelihood_matches_a_hand_computation() -> None:
    t = Targets(multi_limb=3, patients=5, patterns=(1, 1, 0), source="hand", identifiable=2)
    model = MarkovBaseline(
        {"contralateral": 0.2, "ipsilateral": 0.1, "diagonal": 0.1, "together": 0.1},
        years=2.0,
        n_parameters=4,
    )
    # L = 0.5 per year over 2 years: P(multi) = 1 - e^-1; P(identifiable | multi) = 0.4 / 0.5;
    # patterns 0.2 / 0.4, 0.1 / 0.4, 0.1 / 0.4
    p_multi = 1 - math.exp(-1.0)
    hand = 3 * math.log(p_multi) + 2 * math.log(math.exp(-1.0)) + 2 * math.log(0.8) + math.log(0.2)
    hand += math.log(0.5) + math.log(0.25)
    assert model.log_likelihood(t) == pytest.approx(hand, rel=1e-12)
    # G against the saturated model (observed shares 3/5, 2/3, 1/2, 1/2, 0)
    sat = 3 * math.log(0.6) + 2 * math.log(0.4) + 2 * math.log(2 / 3) + math.log(1 / 3) + 2 * math.log(0.5)
    assert saturated_log_likelihood(t) == pytest.approx(sat, rel=1e-12)
    assert model.deviance(t) == pytest.approx(2 * (sat - hand), rel=1e-9)
    assert model.aic(t) == pytest.approx(2 * (sat - hand) + 8, rel=1e-9)


def test_markov_fit_is_saturated_on_the_four_figures_and_a_maximum() -> None:
    t = van_rijn_2011()
    m = fit_markov(t, years=5.0)
    assert m.n_parameters == 4
    assert m.deviance(t) == pytest.approx(0.0, abs=1e-9) and m.aic(t) == pytest.approx(8.0, abs=1e-9)
    p = m.probabilities()
    assert p["multi_limb"] == pytest.approx(89 / 185) and p["identifiable"] == pytest.approx(72 / 89)
    for name, k in zip(PATTERNS, t.patterns, strict=True):
        assert p[name] == pytest.approx(k / t.n_patterns)
    best = m.log_likelihood(t)
    for r in m.rates:
        for f in (0.9, 1.1):
            moved = dataclasses.replace(m, rates={**m.rates, r: m.rates[r] * f})
            assert moved.log_likelihood(t) < best
    # a clinic's own statistics have no identifiable count: three rates, `together` not identified
    own = Targets(multi_limb=40, patients=100, patterns=(20, 10, 5), source="clinic")
    m3 = fit_markov(own, years=5.0)
    assert (
        m3.n_parameters == 3 and m3.rates["together"] == 0 and m3.deviance(own) == pytest.approx(0, abs=1e-9)
    )


def test_trauma_figures_and_their_g_follow_an_independent_g_test() -> None:
    t = van_rijn_2011()
    obs = van_rijn_2011_trauma(t)
    for p, n in zip(PATTERNS, t.patterns, strict=True):
        k, total = obs[p]
        assert total == n and abs(k / n - VAN_RIJN_2011_TRAUMA_SHARES[p]) <= 0.5 / n
    pooled = pooled_trauma(obs)
    share = sum(k for k, _ in obs.values()) / sum(n for _, n in obs.values())
    ref = 0.0
    for k, n in obs.values():
        ref += power_divergence([k, n - k], [n * share, n * (1 - share)], lambda_="log-likelihood").statistic
    assert pooled["deviance"] == pytest.approx(ref, rel=1e-9) and pooled["aic"] == pytest.approx(ref + 2)
    # a simulated clinic's trauma shares (half-count smoothing, as the calibration distance)
    trauma, pats = (
        {"contralateral": 30, "ipsilateral": 20, "diagonal": 9},
        {"contralateral": 90, "ipsilateral": 40, "diagonal": 10},
    )
    ref = 0.0
    for p, (k, n) in obs.items():
        q = (trauma[p] + 0.5) / (pats[p] + 1.0)
        ref += power_divergence([k, n - k], [n * q, n * (1 - q)], lambda_="log-likelihood").statistic
    assert trauma_deviance(obs, trauma, pats) == pytest.approx(ref, rel=1e-9)
    # with one common log-odds shift: the best shift on a fine grid, and never worse than no shift
    shifted = trauma_deviance(obs, trauma, pats, shift=True)
    grid = []
    for i in range(-200, 201):
        d = i / 50
        g = 0.0
        for p, (k, n) in obs.items():
            q0 = (trauma[p] + 0.5) / (pats[p] + 1.0)
            q = 1 / (1 + math.exp(-(math.log(q0 / (1 - q0)) + d)))
            g += power_divergence([k, n - k], [n * q, n * (1 - q)], lambda_="log-likelihood").statistic
        grid.append(g)
    assert min(grid) - 2e-3 <= shifted <= min(grid) + 1e-9 and shifted <= ref
    # a clinic whose trauma shares do not depend on the pattern, shifted, is the pooled baseline
    flat = {p: 10 for p in PATTERNS}
    same = trauma_deviance(obs, flat, {p: 20 for p in PATTERNS}, shift=True)
    assert same == pytest.approx(pooled["deviance"], abs=1e-6)


# ---- the rule that says whether two explanations are told apart ----------------------------------------


def test_separation_needs_disjoint_intervals_and_a_real_gap() -> None:
    assert separated((10.0, 1.0), (20.0, 1.0))
    assert not separated((10.0, 3.0), (20.0, 3.0))  # 10 + 2*3 = 16 > 20 - 2*3 = 14: overlap
    assert not separated((10.0, 0.0), (10.0 + AIC_CLOSE / 2, 0.0))  # no spread, but too close
    assert not separated((20.0, 1.0), (10.0, 1.0))  # the "best" is worse
    s = Spread((1.0, 2.0, 3.0, 6.0))
    assert s.mean == 3.0 and s.sd == pytest.approx(math.sqrt(14 / 3))
    assert s.interval() == pytest.approx((3 - SPREAD_Z * s.sd, 3 + SPREAD_Z * s.sd))
    assert mean_sd(29.94, 10.06) == "29.9 ± 10.1" and mean_sd(-0.04, 0.0) == "-0.0 ± 0.0"


# ---- equal budgets and fair starts ---------------------------------------------------------------------


def test_start_design_gives_shared_parameters_the_same_values_for_every_candidate() -> None:
    b = Budget(starts=3, trials=4, startup=2)
    cols = parameter_union(CANDIDATES)
    assert cols[: len(SHARED_FREE)] == SHARED_FREE
    design = start_design(CANDIDATES, b, seed=7)
    assert design.shape == (6, len(cols))
    for row in design:
        points = [design_point(row, free_params(c.free, COMPARISON_RANGES), cols) for c in CANDIDATES]
        for name in SHARED_FREE:
            assert len({p[name] for p in points}) == 1
        for c, p in zip(CANDIDATES, points, strict=True):  # inside each candidate's box
            for f in free_params(c.free, COMPARISON_RANGES):
                assert f.low <= p[f.name] <= f.high
    # the design does not come from the defaults (the kept fit of the full model)
    assert not any(design_point(row, free_params(SHARED_FREE), cols)["w_lr"] == 0.136 for row in design)


def test_every_candidate_gets_the_same_budget(cmp) -> None:  # type: ignore[no-untyped-def]
    """The same number of scored search clinics per start for every candidate; failed trials (conversion
    under the floor) are asked on top and have no clinic."""
    for f in cmp.fits:
        failed = sum(1 for r in f.records if r.get("no_cases"))
        assert f.simulations == TINY.starts * TINY.trials + failed
        assert f.patients_simulated == TINY.starts * TINY.trials * TINY.patients
        assert f.to_dict()["scored_trials"] == TINY.starts * TINY.trials
        for j in range(TINY.starts):
            assert sum(1 for r in f.records if r["start"] == j and not r.get("no_cases")) == TINY.trials
        for name in CRITERIA:
            assert len(f.criterion[name].values) == TINY.heldout_seeds
    # the first trial of each start is the shared design point: same shared values for both candidates
    firsts = [[next(r for r in f.records if r["start"] == j) for j in range(TINY.starts)] for f in cmp.fits]
    for a, b in zip(*firsts, strict=True):
        assert all(a[n] == b[n] for n in SHARED_FREE)
    with pytest.raises(ValueError):
        Budget(trials=2, startup=3)


# ---- the criterion ---------------------------------------------------------------------------------------


def test_criterion_per_held_out_clinic_equals_an_independent_recomputation(cmp) -> None:  # type: ignore[no-untyped-def]
    t = van_rijn_2011()
    for f in cmp.fits:
        k = len(f.candidate.free)
        for name in CRITERIA:
            held = f.heldout[name]
            assert len(held.summaries) == len(cmp.heldout_seeds)
            for summary, value in zip(held.summaries, f.criterion[name].values, strict=True):
                g = deviance(t, as_statistics(summary))
                pen = conversion_penalty(summary["conversion"]) if name == "with_conversion" else 0.0
                assert value == pytest.approx(g + pen + 2 * k, rel=1e-12)
    # one held-out clinic re-simulated from scratch gives the same G
    f = cmp.fits[0]
    theta = f.heldout["with_conversion"].theta
    sim = dataclasses.replace(candidate_sim(BASE, f.candidate, theta), seed=cmp.heldout_seeds[1])
    stats = simulate_summary(sim, TINY.heldout_patients)
    expected = deviance(t, stats) + conversion_penalty(stats["conversion"]) + 2 * len(f.candidate.free)
    assert f.criterion["with_conversion"].values[1] == pytest.approx(expected, rel=1e-12)
    # each held-out clinic has one best candidate; the chosen sets are the search's best by each criterion
    for name in CRITERIA:
        assert sum(f.share_best[name] for f in cmp.fits) == pytest.approx(1.0)
    for f in cmp.fits:
        assert f.chosen("with_conversion")["objective"] == min(
            r["objective"] for r in scored(f.records, "objective")
        )
        assert f.chosen("without_conversion")["deviance"] == min(
            r["deviance"] for r in scored(f.records, "deviance")
        )
    assert math.isclose(sum(f.weight for f in cmp.fits), 1.0)


def test_comparison_json_carries_spread_verdict_baseline_and_recovery(cmp) -> None:  # type: ignore[no-untyped-def]
    from crpsmap.cli.cohort import check_comparison

    d = json.loads(json.dumps(cmp.to_dict()))
    assert d["model_output"] is True and d["budget"]["heldout_seeds"] == TINY.heldout_seeds
    check_comparison(d, Path("x.json"))  # old readers still accept it
    for c in d["candidates"]:
        block = c["criterion"]["with_conversion"]
        assert block["mean"] == pytest.approx(sum(block["values"]) / len(block["values"]))
        for kind in ("as_predicted", "pattern"):
            block = c["heldout_trauma"][kind]
            assert block["mean"] == pytest.approx(sum(block["values"]) / len(block["values"]))
        # one common shift fitted to the held-out figure can only lower G
        assert all(
            p <= a + 1e-9
            for p, a in zip(
                c["heldout_trauma"]["pattern"]["values"],
                c["heldout_trauma"]["as_predicted"]["values"],
                strict=True,
            )
        )
    v = d["verdict"]["with_conversion"]
    a, b = sorted(d["candidates"], key=lambda c: c["criterion"]["with_conversion"]["mean"])
    sa, sb = a["criterion"]["with_conversion"], b["criterion"]["with_conversion"]
    assert v["leader"] == a["name"] and v["separated"] == separated(
        (sa["mean"], sa["sd"]), (sb["mean"], sb["sd"])
    )
    assert d["baseline"]["aic"] == pytest.approx(8.0) and d["baseline"]["heldout_trauma"]["n_parameters"] == 1
    rec = d["recovery"]
    for name in CRITERIA:
        rows = rec["confusion"][name]
        assert all(sum(row.values()) == 1 for row in rows.values())
        right = sum(rows[c][c] for c in rows) / len(rows)
        assert rec["accuracy"][name] == pytest.approx(right)
    assert "not evidence" in cmp.sentence()


def test_recovery_fits_a_clinic_from_each_candidates_bank(cmp) -> None:  # type: ignore[no-untyped-def]
    f = cmp.fits[0]
    usable = scored(f.records, "deviance")  # a failed trial (no clinic) is in the bank but never fits
    r = usable[0]
    t = targets_of(r, "a banked clinic")
    assert t.identifiable == sum(int(r[p]) for p in PATTERNS)
    value, chosen = bank_fit(t, f, "without_conversion")
    # a clinic's own banked record fits it at least as well as its G against itself
    assert value <= deviance(t, as_statistics(r)) + 2 * len(f.candidate.free) + 1e-9
    assert chosen["deviance"] == min(deviance(t, as_statistics(x)) for x in usable)


def test_a_setting_without_crps_cases_is_a_failed_trial_never_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Values under which no injury becomes CRPS give no clinic: the comparison records a failed trial
    (no score, valid JSON) and chooses among the others under both criteria, instead of ending."""
    import crpsmap.calibrate.distance as distance_module
    from crpsmap.calibrate.mechanisms import choose, criterion, summarise

    monkeypatch.setattr(distance_module, "FAILED_BELOW_CONVERSION", 1 / 20)  # after 20 injuries a case
    silent = apply(Sim(years=1), {"drive_fracture": 0.0, "drive_other": 0.0, "p_spontaneous": 0.0})
    failed = summarise(silent, 5)
    assert failed["no_cases"] is True and failed["patients"] == 0 and failed["conversion"] is None
    targets = van_rijn_2011()
    for constrained in (True, False):
        assert criterion(targets, failed, constrained=constrained) == math.inf
    ok = {"multi_limb": 40, "patients": 100, "contralateral": 15, "ipsilateral": 10, "diagonal": 5}
    ok = {**ok, "conversion": 0.03}
    records = [
        {"trial": 0, "objective": None, "deviance": None, **failed},
        {
            "trial": 1,
            "objective": criterion(targets, ok, constrained=True),
            "deviance": criterion(targets, ok, constrained=False),
            **ok,
        },
    ]
    for name in CRITERIA:
        assert choose(records, name)["trial"] == 1
    json.dumps(records, allow_nan=False)  # the failed trial is standard JSON
    with pytest.raises(NoCasesError, match="no trial gave a clinic"):
        choose(records[:1], CRITERIA[0])


def test_a_failed_trial_is_replaced_so_every_search_scores_its_clinics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A search asks again after a failed trial until it has `trials` scored clinics; a box that is all
    under the floor stops at `ask_limit` trials and says so (a warning, and fewer scored trials)."""
    import crpsmap.calibrate.distance as distance_module
    from crpsmap.calibrate.mechanisms import search

    monkeypatch.setattr(distance_module, "FAILED_BELOW_CONVERSION", 1 / 20)  # a search clinic of 10 needs
    # its cases within the first block of 2,048 injuries (about 0.5% conversion), else it fails
    full = next(c for c in CANDIDATES if c.name == "all")
    budget = Budget(starts=1, trials=2, startup=1, patients=10, heldout_seeds=1, heldout_patients=10, batch=2)
    t, sim = van_rijn_2011(), Sim(years=0.5, seed=3)
    records = search([full], t, sim, budget, 3, ranges={"gain_mu": (-1.4, -0.5)})[full.name]
    failed = [r for r in records if r.get("no_cases")]
    assert failed and len(records) - len(failed) == budget.trials <= len(records) <= budget.ask_limit
    dead = Budget(starts=1, trials=1, startup=1, patients=10, heldout_seeds=1, heldout_patients=10)
    spinal = next(c for c in CANDIDATES if c.name == "spinal")
    with pytest.warns(UserWarning, match="fewer than 1 scored clinics in 3 trials"):
        none = search([spinal], t, sim, dead, 3, ranges={"gain_mu": (-6.0, -5.9)})[spinal.name]
    assert len(none) == dead.ask_limit == 3 and all(r.get("no_cases") for r in none)


def test_a_setting_converting_below_the_floor_is_a_failed_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below FAILED_BELOW_CONVERSION (a tenth of the sourced band's floor) a setting is a failed trial
    without filling its clinic: the same setting counts when the floor lies below its conversion. (The
    floor is checked between blocks of 2,048 injuries: 100 patients need more than one block.)"""
    import crpsmap.calibrate.distance as distance_module
    from crpsmap.calibrate.distance import FAILED_BELOW_CONVERSION
    from crpsmap.calibrate.mechanisms import summarise

    sim = Sim(years=0.5, seed=3)
    counted = summarise(sim, 100)
    assert not counted.get("no_cases") and counted["patients"] == 100
    assert counted["conversion"] > FAILED_BELOW_CONVERSION
    monkeypatch.setattr(distance_module, "FAILED_BELOW_CONVERSION", 2 * counted["conversion"])
    assert summarise(sim, 100)["no_cases"] is True
