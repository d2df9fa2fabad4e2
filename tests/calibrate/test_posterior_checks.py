"""The machinery of the posterior checks: SBC ranks and uniformity, rejection-ABC SBC, predictive
intervals and figures, seed coverage, and the JSON hand-over of posterior draws.

Each test compares with an independent computation (a hand example, a conjugate normal model with a
known posterior, scipy's binomial, the report's statistics read another way), so a broken implementation
fails. Tiny sizes: the real runs are scripts/posterior_defaults.py (docs/posterior.md).
"""

from __future__ import annotations

import dataclasses
import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats as sps

from crpsmap.calibrate import van_rijn_2011
from crpsmap.calibrate.distance import inside_intervals, objective
from crpsmap.calibrate.draws import PosteriorDraws, load_draws, save_draws
from crpsmap.calibrate.fit import compact, free_params, simulate_summary
from crpsmap.calibrate.posterior import Posterior
from crpsmap.calibrate.predictive import (
    above_one,
    clinic_figures,
    coverage_shares,
    ideal_coverage,
    predictive_check,
    predictive_interval,
    published_figures,
    seed_coverage,
    tail_probability,
)
from crpsmap.calibrate.sbc import (
    Replicate,
    SBCResult,
    prior_sd,
    rank_histogram,
    sbc_rank,
    table_sbc,
    targets_of,
    uniformity,
)
from crpsmap.calibrate.targets import summary_statistics
from crpsmap.model import Sim
from crpsmap.spread import classify_all
from crpsmap.stats.proportions import wilson_interval

SMALL = Sim(years=1.0, seed=5)


# --- SBC ---------------------------------------------------------------------------------------------


def test_rank_is_the_number_of_draws_below_the_truth() -> None:
    rng = np.random.default_rng(0)
    assert sbc_rank(0.4, [0.1, 0.5, 0.3, 0.9], rng) == 2
    assert sbc_rank(-1.0, [0.1, 0.5], rng) == 0
    assert sbc_rank(2.0, [0.1, 0.5], rng) == 2
    # ties are split at random: with one draw below and two equal, ranks 1, 2, 3 equally often
    counts = Counter(sbc_rank(0.4, [0.2, 0.4, 0.4], rng) for _ in range(3000))
    assert set(counts) == {1, 2, 3}
    assert all(abs(c / 3000 - 1 / 3) < 0.04 for c in counts.values())


def test_rank_histogram_and_uniformity_tests() -> None:
    ranks = list(range(10)) * 8  # every rank 0..9 equally often
    assert rank_histogram(ranks, 9, 5).tolist() == [16] * 5
    u = uniformity(ranks, 9, 5)
    assert u["chi2"] == 0 and u["chi2_p"] == 1.0 and u["df"] == 4
    piled = [0] * 40 + [9] * 40  # a U shape: an overconfident posterior
    assert rank_histogram(piled, 9, 5).tolist() == [40, 0, 0, 0, 40]
    expected = 3 * (0 - 16) ** 2 / 16 + 2 * (40 - 16) ** 2 / 16  # chi-square by hand: 48 + 72
    bad = uniformity(piled, 9, 5)
    assert bad["chi2"] == pytest.approx(expected)
    assert bad["chi2_p"] == pytest.approx(sps.chi2.sf(expected, 4)) and bad["chi2_p"] < 1e-6
    assert bad["ks_p"] < 1e-3
    with pytest.raises(ValueError):
        rank_histogram(ranks, 9, 3)  # 10 ranks do not split into 3 equal bins
    with pytest.raises(ValueError):
        rank_histogram([10], 9, 5)


@pytest.mark.parametrize(("sd_factor", "uniform"), [(1.0, True), (0.3, False), (3.0, False)])
def test_sbc_tells_an_exact_posterior_from_a_wrong_one(sd_factor: float, uniform: bool) -> None:
    """Conjugate normal model (prior N(0, 1), y ~ N(theta, 1), posterior N(y/2, 1/2)): ranks from the exact
    posterior are uniform; a posterior 0.3x or 3x as wide is rejected (U shape, hump)."""
    rng = np.random.default_rng(42)
    ranks = []
    for _ in range(500):
        theta = rng.normal()
        y = rng.normal(theta, 1.0)
        draws = rng.normal(y / 2, sd_factor * np.sqrt(0.5), size=19)
        ranks.append(sbc_rank(theta, draws, rng))
    p = uniformity(ranks, 19, 5)["chi2_p"]
    assert (p > 0.01) if uniform else (p < 1e-4)


def _replicate(i: int, truth: float, ranks: int, sd: float) -> Replicate:
    return Replicate(i, {"w_lr": truth}, {}, {"w_lr": ranks}, {"w_lr": truth}, {"w_lr": sd})


def test_sbc_summary_contraction_and_coverage() -> None:
    free = free_params(["w_lr"], {"w_lr": (0.1, 0.4)})
    reps = tuple(_replicate(i, 0.2, r, 0.03) for i, r in enumerate([0, 5, 9, 9, 4]))
    res = SBCResult("test", free, 9, reps)
    s = res.summary(bins=5)["w_lr"]
    assert s["histogram"] == [1, 0, 2, 0, 2]  # bins of two ranks: 0-1, 2-3, 4-5, 6-7, 8-9
    assert prior_sd(free[0]) == pytest.approx(0.3 / np.sqrt(12))
    assert s["contraction"] == pytest.approx(1 - 0.03**2 / (0.3**2 / 12))
    # central 90% of 9 draws: ranks 0.45..8.55, i.e. 1..8 -> 5 and 4 of the five
    assert s["central90"] == pytest.approx(2 / 5)
    json.dumps(res.to_dict(bins=5))  # serialisable


def _fake_row(theta: float) -> dict[str, int]:
    """A clinic whose figures are a smooth function of theta (no simulation)."""
    multi = round(60 + 100 * theta)
    contra = round(40 * theta + 5)
    return {"multi_limb": multi, "patients": 185, "contralateral": contra, "ipsilateral": 20, "diagonal": 8}


def test_table_sbc_ranks_against_the_nearest_rows_recomputed() -> None:
    free = free_params(["w_lr"], {"w_lr": (0.0, 1.0)})
    values = np.random.default_rng(3).uniform(size=(30, 1))
    rows = [_fake_row(float(v)) for v in values[:, 0]]
    res = table_sbc(free, values, rows, accept=5, seed=1)
    assert len(res.replicates) == 30 and res.n_draws == 5
    for j in (0, 7, 29):
        stats = {
            "multi_limb": {"count": rows[j]["multi_limb"], "denominator": 185},
            "limb_patterns": {p: {"count": rows[j][p]} for p in ("contralateral", "ipsilateral", "diagonal")},
        }
        targets = targets_of(stats, "row")
        d = []
        for i, r in enumerate(rows):
            if i != j:
                s = {
                    "multi_limb": {"count": r["multi_limb"], "denominator": 185},
                    "limb_patterns": {
                        p: {"count": r[p]} for p in ("contralateral", "ipsilateral", "diagonal")
                    },
                }
                d.append((objective(targets, s), i))
        near = [i for _, i in sorted(d)[:5]]
        expected = sum(values[i, 0] < values[j, 0] for i in near)
        assert res.replicates[j].ranks["w_lr"] == expected
        assert res.replicates[j].posterior_mean["w_lr"] == pytest.approx(values[near, 0].mean())
    # figures that follow theta closely: the nearest rows pin theta down (contraction well above 0)
    assert res.contraction("w_lr") > 0.5


# --- predictive checks --------------------------------------------------------------------------------


def test_predictive_interval_and_tail_probability_by_hand() -> None:
    values = [0.1, None, 0.5, 0.3, 0.2, float("nan"), 0.4]
    ci = predictive_interval(values, level=0.5)
    clean = [0.1, 0.5, 0.3, 0.2, 0.4]
    assert ci["n"] == 5
    assert ci["low"] == pytest.approx(np.percentile(clean, 25))
    assert ci["high"] == pytest.approx(np.percentile(clean, 75))
    assert ci["median"] == pytest.approx(statistics.median(clean))
    assert predictive_interval([None])["low"] is None
    # 1 of 5 at or below 0.1, 5 of 5 at or above: p = 2 x 1/5
    assert tail_probability(values, 0.1) == pytest.approx(0.4)
    assert tail_probability(values, 0.9) == 0.0
    assert tail_probability(values, 0.3) == 1.0  # 3/5 each side, capped
    # a ratio's direction: 2 of the 4 defined ratios above 1 (exactly 1 is not above; None, inf dropped)
    assert above_one([2.0, None, 1.0, 0.5, float("inf"), 4.4]) == {"share": 0.5, "n": 4}
    assert above_one([None, float("nan")]) == {"share": None, "n": 0}


@pytest.fixture(scope="module")
def tiny_clinic() -> list:  # type: ignore[type-arg]
    return list(SMALL.clinic(120).histories)


def test_clinic_figures_recomputed_from_the_classifications(tiny_clinic: list) -> None:  # type: ignore[type-arg]
    figs = clinic_figures(tiny_clinic, maleki_n=10)
    results = list(classify_all(tiny_clinic))
    with_onset = [c for c in results if c.onset_date is not None]
    n_limbs = Counter(len(c.limbs) for c in with_onset)
    for k in (1, 2, 3, 4):
        assert figs[f"limbs_{k}"] == pytest.approx(n_limbs[k] / len(with_onset))
    multi = sum(v for k, v in n_limbs.items() if k >= 2)
    if multi:
        assert figs["three_plus_of_multi"] == pytest.approx((n_limbs[3] + n_limbs[4]) / multi)
    # time to the second limb among those with an identifiable first limb and a second one
    days = [
        (c.limb_dates[1] - c.onset_date).days
        for c in with_onset
        if c.first_limb is not None and len(c.limbs) >= 2
    ]
    if days:
        assert figs["second_limb_median_days_observed"] == pytest.approx(statistics.median(days))
    # the report's own statistics give the same trauma shares and fitted figures
    stats = summary_statistics(tiny_clinic)
    by = stats["limb_patterns"]["by_trigger"]
    for p in ("contralateral", "ipsilateral", "diagonal"):
        t, s = by["trauma"][p]["count"], by["spontaneous"][p]["count"]
        assert figs[f"trauma_{p}"] == (t / (t + s) if t + s else None)
    assert figs["fitted_multi_limb"] == pytest.approx(stats["multi_limb"]["proportion"])
    assert figs["inside_all"] == float(
        all(v is True for v in inside_intervals(van_rijn_2011(), stats).values())
    )
    # Maleki's patterns among the first 10 patients who spread, from their events
    spread = [c for c in with_onset if c.spread][:10]
    assert figs["maleki_n"] == len(spread)
    if spread:
        mirror = sum(any(e.pattern == "mirror" for e in c.events) for c in spread)
        assert figs["maleki_mirror"] == pytest.approx(mirror / len(spread))


def test_the_age_gap_is_one_limb_minus_multi_limb_mean_age_at_onset() -> None:
    """Three one-limb patients aged 50, 52, 54 at onset and two multi-limb ones aged 40, 44: 52 - 42 = 10
    years (van Rijn 2011's figure is 7); a patient without a birth year or a limb is left out; one group
    empty: no figure."""
    from conftest import build_history
    from crpsmap.calibrate.predictive import age_gap

    one = [("2020-03-01", "onset", "hand_right")]
    two = [("2020-03-01", "onset", "hand_right"), ("2021-01-01", "assessment", "hand_left")]
    cohort = [
        build_history(one, "a", birth_year=1970),
        build_history(one, "b", birth_year=1968),
        build_history(one, "c", birth_year=1966),
        build_history(two, "d", birth_year=1980),
        build_history(two, "e", birth_year=1976),
        build_history(two, "f"),  # no birth year
        build_history([("2020-03-01", "onset", "chest_right")], "g", birth_year=1900),  # no limb
    ]
    results = list(classify_all(cohort))
    assert age_gap(cohort, results) == pytest.approx(10.0)
    assert age_gap(cohort[:3], results[:3]) is None
    assert {p.key: p.value for p in published_figures()}["age_gap_years"] == 7.0


def test_the_further_limb_rate_ratio_counts_time_and_steps_by_hand() -> None:
    """van Rijn 2011: "the hazard of spread increased with the number of limbs affected". By hand: a one-limb
    patient followed 366 days; one who gains a second limb after 182 days, a third 92 days later and is
    followed 92 more; one with two limbs at once, followed 100 days. One limb: 1 step in 548 days; two or
    three: 1 step in 284 days; the ratio (1/284)/(1/548). Without a second-limb step: no figure."""
    from conftest import build_history
    from crpsmap.calibrate.predictive import further_limb_rate_ratio

    cohort = [
        build_history(
            [("2020-01-01", "onset", "hand_right"), ("2021-01-01", "assessment", "hand_right")], "a"
        ),
        build_history(
            [
                ("2020-01-01", "onset", "hand_right"),
                ("2020-07-01", "assessment", "hand_left"),
                ("2020-10-01", "assessment", "foot_right"),
                ("2021-01-01", "assessment", "hand_right"),
            ],
            "b",
        ),
        build_history(
            [("2020-01-01", "onset", ["hand_right", "hand_left"]), ("2020-04-10", "assessment", "hand_left")],
            "c",
        ),
    ]
    results = list(classify_all(cohort))
    assert [len(c.limbs) for c in results] == [1, 3, 2]
    assert further_limb_rate_ratio(results) == pytest.approx((1 / 284) / (1 / 548))
    assert further_limb_rate_ratio(results[:1] + results[2:]) is None
    row = {p.key: p for p in published_figures()}["further_limb_rate_ratio"]
    assert row.value is None and "increased with the number of limbs" in row.note


def test_predictive_check_marks_inside_and_outside() -> None:
    pub = [p for p in published_figures() if p.key in ("maleki_mirror", "limbs_2", "trauma_diagonal")]
    sample = [
        {"maleki_mirror": x, "limbs_2": 0.1, "trauma_diagonal": None} for x in (0.0, 0.05, 0.1, 0.2, 0.3)
    ]
    rows = {r["key"]: r for r in predictive_check(sample, pub)}
    assert rows["maleki_mirror"]["value"] == pytest.approx(4 / 27, abs=0.001)
    assert rows["maleki_mirror"]["inside"] is True
    assert rows["limbs_2"]["value"] is None and rows["limbs_2"]["inside"] is None  # nothing published
    assert rows["trauma_diagonal"]["predictive"]["n"] == 0 and rows["trauma_diagonal"]["inside"] is None
    far = predictive_check([{"maleki_mirror": 0.9}] * 4, pub[:1] if pub[0].key == "maleki_mirror" else pub)
    assert next(r for r in far if r["key"] == "maleki_mirror")["inside"] is False


def test_published_figures_cite_their_sources() -> None:
    pub = {p.key: p for p in published_figures()}
    assert pub["trauma_diagonal"].value == 0.91 and pub["trauma_diagonal"].denominator == 10
    assert "van Rijn" in pub["trauma_diagonal"].source and "doi" in pub["trauma_diagonal"].source
    assert pub["maleki_independent"].count == 19 and pub["maleki_independent"].denominator == 27
    assert "Maleki" in pub["maleki_independent"].source
    assert pub["limbs_3"].value is None and "not" in pub["limbs_3"].note
    assert pub["fitted_multi_limb"].fitted and pub["fitted_multi_limb"].value == pytest.approx(89 / 185)


# --- seed coverage ------------------------------------------------------------------------------------


def test_coverage_counting() -> None:
    runs = [
        {"inside": {"a": True, "b": True}},
        {"inside": {"a": True, "b": False}},
        {"inside": {"a": None, "b": True}},  # a figure the run could not compute counts as outside
        {"inside": {"a": True, "b": True}},
    ]
    c = coverage_shares(runs)
    assert c["inside_all"] == 0.5 and c["inside"] == {"a": 0.75, "b": 0.75}


def test_seed_coverage_recomputed(tiny_clinic: list) -> None:  # type: ignore[type-arg]
    t = van_rijn_2011()
    cov = seed_coverage(SMALL, t, 40, [0, 3])
    for row in cov["per_seed"]:
        st = simulate_summary(dataclasses.replace(SMALL, seed=row["seed"]), 40)
        assert row["inside"] == inside_intervals(t, st)
        assert row["multi_limb"] == compact(st)["multi_limb"]
    assert cov["inside_all"] == np.mean(
        [all(v is True for v in r["inside"].values()) for r in cov["per_seed"]]
    )


def test_ideal_coverage_matches_the_binomial() -> None:
    """The multi-limb part of the ideal model is Binomial(n, 89/185): its chance of landing inside the
    Wilson interval of 89/185 follows from scipy's binomial, independently of the simulation."""
    t = van_rijn_2011()
    lo, hi = wilson_interval(t.multi_limb, t.patients)  # type: ignore[misc]
    n = 185
    k = np.arange(n + 1)
    exact = float(sps.binom.pmf(k, n, t.multi_limb / t.patients)[(k / n >= lo) & (k / n <= hi)].sum())
    ideal = ideal_coverage(t, n, reps=5_000, seed=1)
    assert ideal["inside"]["multi_limb"] == pytest.approx(exact, abs=0.01)
    assert 0 < ideal["inside_all"] <= min(ideal["inside"].values())
    assert ideal_coverage(t, 100_000, reps=500)["inside_all"] == 1.0  # no noise left: always inside


# --- posterior draws ----------------------------------------------------------------------------------


def test_posterior_to_draws_json_round_trip(tmp_path: Path) -> None:
    post = Posterior(
        ("w_lr", "gain_mu"),
        np.array([[0.13, -0.8], [0.15, -0.9], [0.17, -0.7]]),
        np.array([0.2, 0.3, 0.5]),
        12.5,
        3,
        400,
        epsilons=(300.0, 40.0, 12.5),
        generation_simulations=(100, 130, 170),
    )
    d = post.to_draws("MODEL OUTPUT: test", {"prior": {"w_lr": [0.13, 0.2]}})
    d = dataclasses.replace(d, checks={"coverage": {"inside_all": 0.5}})
    path = tmp_path / "post.json"
    save_draws(d, path)
    assert [p.name for p in tmp_path.iterdir()] == ["post.json"]  # the temporary file is gone
    back = load_draws(path)
    assert back.names == post.names
    np.testing.assert_array_equal(back.values, post.samples)
    np.testing.assert_allclose(back.weights, post.weights)
    assert back.settings["epsilons"] == [300.0, 40.0, 12.5] and back.settings["prior"] == {
        "w_lr": [0.13, 0.2]
    }
    assert back.checks == {"coverage": {"inside_all": 0.5}}
    assert back.method.startswith("pyABC") and json.loads(path.read_text())["model_output"] is True
    # the posterior's weighted SD, recomputed
    m = np.average(post.samples[:, 0], weights=post.weights)
    sd = np.sqrt(np.average((post.samples[:, 0] - m) ** 2, weights=post.weights))
    assert post.sd()["w_lr"] == pytest.approx(sd)
    # a file without checks (the format before them) still loads
    raw = json.loads(path.read_text())
    del raw["checks"]
    assert PosteriorDraws.from_dict(raw).checks == {}


def _fake_summary(sim: Sim, n_patients: int, **_: Any) -> dict[str, Any]:
    """A stand-in for the simulator (the test is about pyABC's database, not the model): figures that
    move with w_lr, with noise from the proposal's seed."""
    rng = np.random.default_rng(sim.seed)
    multi = int(rng.binomial(n_patients, min(0.95, 0.2 + sim.params.w_lr)))
    pat = rng.multinomial(int(0.8 * multi), [0.5, 0.35, 0.15])
    return {
        "multi_limb": {"count": multi, "denominator": n_patients},
        "limb_patterns": {
            p: {"count": int(k)}
            for p, k in zip(("contralateral", "ipsilateral", "diagonal"), pat, strict=True)
        },
        "conversion": 0.1,
    }


def test_abc_posterior_continues_a_kept_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long posterior can be computed in pieces: the second call continues the first run's database."""
    from crpsmap.calibrate import posterior

    monkeypatch.setattr(posterior, "summary_above_floor", _fake_summary)
    db = tmp_path / "abc.db"
    kw = {"base": SMALL, "free": free_params(["w_lr"]), "n_patients": 185, "population": 10, "seed": 1}
    first = posterior.abc_posterior(van_rijn_2011(), generations=1, history=db, **kw)  # type: ignore[arg-type]
    assert db.is_file() and first.populations == 1
    second = posterior.abc_posterior(van_rijn_2011(), generations=1, history=db, **kw)  # type: ignore[arg-type]
    assert second.populations == 2 and second.simulations > first.simulations
    assert len(second.epsilons) == 2 and second.epsilons[0] == first.epsilons[0]
    assert second.epsilons[1] < second.epsilons[0]
    # a run without a history leaves nothing behind and starts afresh
    fresh = posterior.abc_posterior(van_rijn_2011(), generations=1, **kw)  # type: ignore[arg-type]
    assert fresh.populations == 1 and fresh.epsilons[0] == first.epsilons[0]


def test_a_kept_history_is_continued_only_with_its_model_code_and_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generations of two models (or settings) in one posterior would be the posterior of neither: the run
    file beside the database records what the run was started with, and continuing under anything else
    (other model code, clinic size, box, or no run file at all) raises instead of mixing."""
    from crpsmap.calibrate import posterior

    monkeypatch.setattr(posterior, "summary_above_floor", _fake_summary)
    db = tmp_path / "abc.db"
    kw = {"base": SMALL, "free": free_params(["w_lr"]), "population": 10, "seed": 1}
    posterior.abc_posterior(van_rijn_2011(), generations=1, history=db, n_patients=185, **kw)  # type: ignore[arg-type]
    run_file = tmp_path / "abc.db.run.json"
    kept = json.loads(run_file.read_text())
    w_lr = free_params(["w_lr"])[0]
    assert kept["n_patients"] == 185 and kept["free"] == [["w_lr", w_lr.low, w_lr.high]]
    with pytest.raises(ValueError, match="differs in n_patients"):
        posterior.abc_posterior(van_rijn_2011(), generations=1, history=db, n_patients=100, **kw)  # type: ignore[arg-type]
    run_file.write_text(json.dumps({**kept, "model_source_sha256": "0" * 64}))
    with pytest.raises(ValueError, match="differs in model_source_sha256"):
        posterior.abc_posterior(van_rijn_2011(), generations=1, history=db, n_patients=185, **kw)  # type: ignore[arg-type]
    run_file.unlink()
    with pytest.raises(ValueError, match="says what this run was computed with"):
        posterior.abc_posterior(van_rijn_2011(), generations=1, history=db, n_patients=185, **kw)  # type: ignore[arg-type]


def test_a_proposal_below_the_conversion_floor_has_no_clinic_and_an_infinite_distance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An ABC proposal that converts fewer than FAILED_BELOW_CONVERSION of injuries is never accepted
    (infinite distance) instead of ending the run; above the floor its distance is the objective of its
    clinic, with or without the conversion penalty."""
    import crpsmap.calibrate.distance as distance_module
    from crpsmap.calibrate.distance import FAILED_BELOW_CONVERSION
    from crpsmap.calibrate.posterior import abc_distance, summary_vector

    t = van_rijn_2011()
    sim = Sim(years=0.5, seed=3)
    x = summary_vector(sim, 100)
    stats = simulate_summary(sim, 100)
    assert x["patients"] == 100 and x["conversion"] == stats["conversion"] > FAILED_BELOW_CONVERSION
    assert abc_distance(t, x, conversion_penalty=True) == pytest.approx(objective(t, stats), rel=1e-12)
    no_conversion = {**stats, "conversion": None}
    assert abc_distance(t, x, conversion_penalty=False) == pytest.approx(objective(t, no_conversion))
    # a floor above this clinic's conversion: no clinic (found after a block of 2,048 injuries, not 100)
    monkeypatch.setattr(distance_module, "FAILED_BELOW_CONVERSION", 2 * stats["conversion"])
    none = summary_vector(sim, 100)
    assert none["patients"] == 0
    for penalty in (True, False):
        assert abc_distance(t, none, conversion_penalty=penalty) == float("inf")
