"""Global sensitivity: the right parameters over their documented ranges, SALib samples mapped onto the
right fields, indices that match known functions, exact zeros for parameters that cannot act under
common random numbers, the identifiability rule, and the command's checks."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from crpsmap.calibrate import sensitivity as sens
from crpsmap.calibrate.fit import simulate_summary
from crpsmap.calibrate.sensitivity import (
    CONSTRAINED_RATIO,
    FIGURES,
    FITTED_FIGURES,
    MorrisResult,
    clinic_figures,
    default_evaluator,
    figures_of,
    identifiability,
    morris,
    morris_delta,
    ranged_parameters,
    sampling_sd,
    sims_for,
    sobol,
)
from crpsmap.calibrate.targets import van_rijn_2011
from crpsmap.model import CohortParams, ModelParams, Sim

BASE = Sim(years=1.0, seed=11)


def documented(name: str) -> tuple[float, float]:
    """The documented range of a field, read from the dataclass metadata directly."""
    for cls in (ModelParams, CohortParams):
        for f in dataclasses.fields(cls):
            if f.name == name:
                return float(f.metadata["low"]), float(f.metadata["high"])
    raise KeyError(name)


def linear(coefs: Mapping[str, float]) -> sens.Evaluator:
    """A stand-in for a clinic: every figure = sum of coef x parameter value (no simulation)."""

    def evaluate(sim: Sim) -> dict[str, float]:
        y = 0.0
        for n, c in coefs.items():
            obj = sim.params if n in ModelParams.__dataclass_fields__ else sim.cohort
            y += c * float(getattr(obj, n))
        return {f: y for f in FIGURES}

    return evaluate


def test_all_documented_ranges_are_varied_and_bad_input_is_refused() -> None:
    ps = ranged_parameters()
    expected = [
        f.name for cls in (ModelParams, CohortParams) for f in dataclasses.fields(cls) if "low" in f.metadata
    ]
    assert [p.name for p in ps] == expected
    for p in ps:
        assert (p.low, p.high) == documented(p.name)
        assert p.group == ("model" if p.name in ModelParams.__dataclass_fields__ else "cohort")
    # the observation model is in: threshold, persistence, recall and the visit schedule
    assert {"theta", "persist_days", "recall_days", "visit_interval_1", "visit_interval_2"} <= set(expected)
    with pytest.raises(ValueError, match="no_such_parameter"):
        ranged_parameters(["w_lr", "no_such_parameter"])
    with pytest.raises(ValueError, match="empty range"):
        ranged_parameters(["theta"], ranges={"theta": (0.5, 0.5)})
    with pytest.raises(ValueError, match="empty range"):
        ranged_parameters(["theta"], ranges={"theta": (0.6, 0.4)})
    with pytest.raises(ValueError, match="finite"):
        ranged_parameters(["theta"], ranges={"theta": (0.4, math.inf)})
    with pytest.raises(ValueError, match="twice"):
        ranged_parameters(["theta", "theta"])
    with pytest.raises(ValueError, match="not varied"):
        ranged_parameters(["theta"], ranges={"w_lr": (0.1, 0.2)})
    with pytest.raises(ValueError, match="no parameters"):
        ranged_parameters([])
    assert ranged_parameters(["theta"], ranges={"theta": (0.45, 0.55)})[0].high == 0.55


def test_local_ranges_are_a_share_of_the_default_inside_the_documented_range() -> None:
    base = dataclasses.replace(BASE, params=BASE.params.replace(w_csf=0.0))
    r = sens.local_ranges(["theta", "h", "w_csf", "gain_mu"], base, 0.1)
    theta = CohortParams().theta
    assert r["theta"] == pytest.approx((0.9 * theta, 1.1 * theta))
    assert r["h"] == pytest.approx((0.9 * ModelParams().h, documented("h")[1]))  # the default is the bound
    assert r["w_csf"] == pytest.approx((0.0, 0.1 * documented("w_csf")[1]))  # 0: a share of the width
    mu = CohortParams().gain_mu  # negative: the range still runs from low to high
    assert r["gain_mu"] == pytest.approx((1.1 * mu, 0.9 * mu))
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="rel"):
            sens.local_ranges(["theta"], base, bad)


def test_a_local_box_leaves_out_the_horizon_while_it_is_fixed_and_keeps_it_once_drawn() -> None:
    names = ["theta", "horizon_median_years", "horizon_q1_years", "rho_age"]
    fixed = [p.name for p in sens.local_box(names, BASE, 0.1)]
    assert fixed == ["theta", "rho_age"]  # a modifier at 0 is a small step; the horizon's 0 is a switch
    drawn = dataclasses.replace(BASE, cohort=BASE.cohort.replace(horizon_median_years=4.0))
    box = {p.name: (p.low, p.high) for p in sens.local_box(names, drawn, 0.1)}
    assert list(box) == names
    assert box["horizon_median_years"] == pytest.approx((3.6, 4.4))


def test_a_sample_row_becomes_those_values_in_the_right_fields() -> None:
    from SALib.sample import morris as morris_sample

    ps = ranged_parameters(["w_lr", "theta", "gain_mu", "persist_days", "e_glia"])
    X = morris_sample.sample(sens.problem(ps), 3, num_levels=4, seed=2)
    sims = sims_for(BASE, ps, X)
    assert len(sims) == X.shape[0] == 3 * (len(ps) + 1)
    untouched = [f.name for f in dataclasses.fields(ModelParams) if f.name not in ("w_lr", "e_glia")]
    for i in (0, 4, len(sims) - 1):
        s = sims[i]
        assert s.params.w_lr == X[i, 0] and s.cohort.theta == X[i, 1] and s.cohort.gain_mu == X[i, 2]
        assert s.cohort.persist_days == X[i, 3] and s.params.e_glia == X[i, 4]
        assert all(getattr(s.params, n) == getattr(BASE.params, n) for n in untouched)
        assert s.cohort.p_female == BASE.cohort.p_female
        assert (s.seed, s.years) == (BASE.seed, BASE.years)  # common random numbers
        lo, hi = documented("theta")
        assert lo <= s.cohort.theta <= hi
    with pytest.raises(ValueError, match="sample must be"):
        sims_for(BASE, ps, X[:, :3])


def test_morris_recovers_the_effects_of_a_known_linear_function() -> None:
    ps = ranged_parameters(["w_lr", "theta", "k_M"])
    coefs = {"w_lr": 2.0, "theta": -0.5}  # k_M has no effect
    r = morris(ps, base=BASE, evaluate=linear(coefs), trajectories=6, levels=4, seed=3, resamples=50)
    assert len(r.outputs) == 6 * 4
    for f in FIGURES:
        ix = r.indices[f]
        assert ix is not None and all(n == 6 for n in r.effects[f].values())
        for name, c in coefs.items():
            lo, hi = documented(name)
            # an elementary effect is the change per unit of the (0-1 scaled) range: c x (high - low)
            assert ix[name]["mu_star"] == pytest.approx(abs(c) * (hi - lo))
            assert ix[name]["mu"] == pytest.approx(c * (hi - lo))
            assert ix[name]["sigma"] == pytest.approx(0.0, abs=1e-9)
        assert ix["k_M"]["mu_star"] == 0.0


def test_a_step_with_an_undefined_figure_is_left_out_for_that_figure_only() -> None:
    ps = ranged_parameters(["w_lr", "theta"])
    lin = linear({"w_lr": 1.0})

    def evaluate(sim: Sim) -> dict[str, float]:
        out = dict(lin(sim))
        if sim.cohort.theta > 0.6:  # e.g. no multi-limb patient: the pattern shares are undefined
            out["contralateral"] = math.nan
        return out

    r = morris(ps, base=BASE, evaluate=evaluate, trajectories=8, seed=5, resamples=50)
    # count, from the design itself, the w_lr steps with theta <= 0.6 (theta does not move in them)
    X = r.X.reshape(8, 3, 2)
    usable = sum(1 for t in range(8) for j in range(2) if X[t, j + 1, 0] != X[t, j, 0] and X[t, j, 1] <= 0.6)
    assert 0 < usable < 8
    assert r.effects["contralateral"]["w_lr"] == usable and r.effects["multi_limb"]["w_lr"] == 8
    ix = r.indices["contralateral"]
    assert ix is not None
    assert ix["w_lr"]["mu_star"] == pytest.approx(documented("w_lr")[1] - documented("w_lr")[0])


def test_indices_equal_salibs_when_every_figure_is_defined() -> None:
    from SALib.analyze import morris as morris_analyze

    ps = ranged_parameters(["w_lr", "theta", "gain_mu"])

    def evaluate(sim: Sim) -> dict[str, float]:  # non-linear, with an interaction
        y = sim.params.w_lr * sim.cohort.theta**2 + math.sin(3 * sim.cohort.gain_mu)
        return dict.fromkeys(FIGURES, y)

    r = morris(ps, base=BASE, evaluate=evaluate, trajectories=7, seed=9, resamples=2000)
    y = np.array([o["multi_limb"] for o in r.outputs])
    ref = morris_analyze.analyze(sens.problem(ps), r.X, y, num_levels=4, num_resamples=2000, seed=1)
    ix = r.indices["multi_limb"]
    assert ix is not None
    for i, p in enumerate(ps):
        assert ix[p.name]["mu"] == pytest.approx(ref["mu"][i])
        assert ix[p.name]["mu_star"] == pytest.approx(ref["mu_star"][i])
        assert ix[p.name]["sigma"] == pytest.approx(ref["sigma"][i])
        half = ix[p.name]["mu_star_high"] - ix[p.name]["mu_star"]
        assert half == pytest.approx(ref["mu_star_conf"][i], rel=0.15)  # two bootstraps


def test_sobol_of_an_additive_function_matches_the_variance_shares() -> None:
    ps = ranged_parameters(["w_lr", "theta"])
    coefs = {"w_lr": 1.0, "theta": 1.0}
    r = sobol(ps, base=BASE, evaluate=linear(coefs), n_base=256, seed=1, resamples=50)
    assert len(r.outputs) == 256 * (2 + 2)
    # Var(c U(lo, hi)) = c^2 (hi - lo)^2 / 12; an additive function has S1 = ST = its share of the variance
    var = {n: (c * (documented(n)[1] - documented(n)[0])) ** 2 / 12 for n, c in coefs.items()}
    ix = r.indices["multi_limb"]
    assert ix is not None
    for n in coefs:
        share = var[n] / sum(var.values())
        assert ix[n]["S1"] == pytest.approx(share, abs=0.08)
        assert ix[n]["ST"] == pytest.approx(share, abs=0.08)
    with pytest.raises(ValueError, match="power of 2"):
        sobol(ps, base=BASE, evaluate=linear(coefs), n_base=12)


def test_clinic_figures_are_the_calibration_figures_and_screening_is_capped() -> None:
    got = clinic_figures(BASE, 40)
    stats = simulate_summary(BASE, 40)  # Sim.clinic: the calibration's own path
    want = figures_of(stats)
    assert {k: got[k] for k in FIGURES} == pytest.approx(want, nan_ok=True)
    assert got["patients"] == 40
    assert want["four_limbs"] == stats["limb_count"].get("4", 0) / 40
    assert want["multi_limb"] == stats["multi_limb"]["count"] / 40
    rare = dataclasses.replace(BASE, cohort=BASE.cohort.replace(gain_mu=-2.0))
    capped = clinic_figures(rare, 40, max_injuries_per_patient=3)
    assert capped["injuries"] <= 40 * 3 and capped["patients"] < 40
    assert capped["conversion"] == pytest.approx(capped["patients"] / capped["injuries"])


def test_an_inert_parameter_has_exactly_zero_effect_an_influential_one_does_not() -> None:
    # e_glia is the strength of a glial inhibitor: with no intervention given it cannot act; under common
    # random numbers each of its elementary effects is then exactly 0, not merely small
    ps = ranged_parameters(["e_glia", "gain_mu"])
    r = morris(ps, base=BASE, evaluate=default_evaluator(50), trajectories=2, seed=4, resamples=50)
    defined = [f for f in FIGURES if r.indices[f] is not None]
    assert "conversion" in defined and "multi_limb" in defined
    for f in defined:
        assert r.mu_star(f, "e_glia") == 0.0
    assert r.mu_star("conversion", "gain_mu") > 0.0
    # mu* is the mean absolute change per unit of the range, recomputed here from the design's points
    y = np.array([o["conversion"] for o in r.outputs]).reshape(2, 3)
    X = r.X.reshape(2, 3, 2)
    lo, hi = documented("gain_mu")
    effects = []
    for t in range(2):
        for j in range(2):
            step = X[t, j + 1] - X[t, j]
            assert np.count_nonzero(step) == 1  # one parameter moves per step
            if step[1] != 0:  # gain_mu moved
                assert abs(step[1]) / (hi - lo) == pytest.approx(morris_delta(4))
                effects.append((y[t, j + 1] - y[t, j]) / (step[1] / (hi - lo)))
    assert len(effects) == 2
    assert r.mu_star("conversion", "gain_mu") == pytest.approx(np.mean(np.abs(effects)))


def fake_morris(mu: Mapping[str, Mapping[str, float]], sigma: float = 0.0) -> MorrisResult:
    """A Morris result with given mean effects per (figure, parameter); mu* = |mu|."""
    names = sorted({n for m in mu.values() for n in m})
    ps = ranged_parameters(names)
    indices: dict[str, dict[str, dict[str, float]] | None] = {}
    for f in FIGURES:
        row = mu.get(f, {})
        indices[f] = {
            n: {
                "mu": row.get(n, 0.0),
                "mu_star": abs(row.get(n, 0.0)),
                "mu_star_low": abs(row.get(n, 0.0)),
                "mu_star_high": abs(row.get(n, 0.0)),
                "sigma": sigma,
            }
            for n in names
        }
    return MorrisResult(ps, 10, 4, 0, np.zeros((0, len(ps))), [], indices, {f: 10 for f in FIGURES})


def test_sampling_sd_is_the_binomial_error_at_van_rijns_size() -> None:
    t = van_rijn_2011()
    sd = sampling_sd(t)
    # the standard deviation of the mean of van Rijn's 0/1 outcomes, computed from the outcomes themselves
    multi = np.r_[np.ones(t.multi_limb), np.zeros(t.patients - t.multi_limb)]
    assert sd["multi_limb"] == pytest.approx(multi.std() / math.sqrt(multi.size))
    contra = np.r_[np.ones(t.patterns[0]), np.zeros(72 - t.patterns[0])]
    assert sd["contralateral"] == pytest.approx(contra.std() / math.sqrt(72))
    assert set(sd) == set(FITTED_FIGURES)


def test_identifiability_verdicts_and_tradeoffs_follow_the_rule() -> None:
    sd = sampling_sd(van_rijn_2011())
    s = sd["multi_limb"]
    mu = {
        # theta moves multi-limb by 3 SD, w_lr by 1.5 SD along the same figures (they trade off)
        "multi_limb": {"theta": 3 * s, "w_lr": 1.5 * s, "k_M": 0.2 * s},
        "contralateral": {"theta": 3 * sd["contralateral"], "w_lr": 1.5 * sd["contralateral"]},
        # lat moves only the ipsilateral share, by 2.5 SD: constrained, no trade-off with the others
        "ipsilateral": {"lat": -2.5 * sd["ipsilateral"]},
        "conversion": {"e_IT": 0.0},
    }
    ident = identifiability(fake_morris(mu), sd, {f: 0.0 for f in FIGURES})
    v = {x.name: x for x in ident.verdicts}
    assert v["theta"].verdict == "constrained" and v["theta"].max_ratio == pytest.approx(3.0)
    assert set(v["theta"].by) == {"multi_limb", "contralateral"}
    assert v["w_lr"].verdict == "weakly constrained"
    assert v["k_M"].verdict == "not constrained"
    assert v["lat"].verdict == "constrained" and v["lat"].by == ("ipsilateral",)
    assert v["e_IT"].verdict == "no effect"
    assert [(a, b) for a, b, _ in ident.tradeoffs] == [("theta", "w_lr")]
    assert ident.tradeoffs[0][2] == pytest.approx(1.0)
    # two independent directions (theta/w_lr together, lat alone), both beyond CONSTRAINED_RATIO SDs
    assert (
        CONSTRAINED_RATIO < 2.5
        and ident.resolvable == 2
        and len([s for s in ident.singular_values if s > 1e-9]) == 2
    )
    # a run too small to see the effect: the noise floor turns a verdict into "not constrained"
    loud = identifiability(fake_morris(mu), sd, {f: 10.0 for f in FIGURES})
    assert all(x.verdict in ("not constrained", "no effect") for x in loud.verdicts)


@contextlib.contextmanager
def no_cluster(scheduler: str | None, workers: int | None) -> Iterator[None]:
    yield None


def cli_app() -> typer.Typer:
    from crpsmap.cli.sensitivity import sensitivity as command

    app = typer.Typer()
    app.command()(command)
    app.command("noop")(lambda: None)  # a second command, so the first is called by its name
    return app


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--param", "no_such_parameter"], "unknown parameter 'no_such_parameter'"),
        (["--param", "theta", "--param", "theta"], "named twice"),
        (["--levels", "5"], "even"),
        (["--sobol-n", "12"], "power of 2"),
        (["--param", "theta", "--sobol-top", "2"], "--sobol-top 2"),
        (["--trajectories", "1"], "--trajectories"),
        (["--local", "0"], "--local"),
        (["--local", "1.5"], "--local"),
        (["--local", "nan"], "--local"),
    ],
)
def test_the_command_refuses_bad_input_with_status_2(args: list[str], fragment: str, tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    res = CliRunner().invoke(cli_app(), ["sensitivity", *args, "-o", str(out)])
    assert res.exit_code == 2, res.output
    assert fragment in res.output
    assert not out.exists()


def test_the_command_writes_labelled_model_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crpsmap.cli import cluster

    monkeypatch.setattr(cluster, "dask", no_cluster)
    monkeypatch.setattr(sens, "default_evaluator", lambda n, *a: linear({"theta": 1.0}))
    out = tmp_path / "s.json"
    args = ["sensitivity", "--param", "theta", "--param", "e_glia", "--trajectories", "3", "--sobol-top", "1"]
    res = CliRunner().invoke(cli_app(), [*args, "--sobol-n", "8", "-o", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["model_output"] is True
    assert [p["name"] for p in data["settings"]["parameters"]] == ["theta", "e_glia"]
    assert data["morris"]["indices"]["multi_limb"]["e_glia"]["mu_star"] == 0.0
    lo, hi = documented("theta")
    assert data["morris"]["indices"]["multi_limb"]["theta"]["mu_star"] == pytest.approx(hi - lo)
    assert [p["name"] for p in data["sobol"]["parameters"]] == ["theta"]
    assert "MODEL OUTPUT" in res.output
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]  # no temporary file left


def test_design_summary_counts_runs_inside_van_rijns_intervals() -> None:
    t = van_rijn_2011()
    at_van_rijn = {
        "multi_limb": t.multi_limb / t.patients,
        **{p: k / 72 for p, k in zip(("contralateral", "ipsilateral", "diagonal"), t.patterns, strict=True)},
        "conversion": 0.04,  # inside distance.PLAUSIBLE_CONVERSION (1-7%)
    }
    everything = {"multi_limb": 1.0, "contralateral": math.nan, "conversion": 0.9}
    d = sens.design_summary([at_van_rijn, everything, {**at_van_rijn, "diagonal": 0.5}], t)
    assert d["runs"] == 3
    assert d["conversion_plausible"] == pytest.approx(2 / 3)
    assert d["multi_limb_above_90_percent"] == pytest.approx(1 / 3)
    assert d["inside"]["multi_limb"] == pytest.approx(2 / 3) and d["inside"]["diagonal"] == pytest.approx(
        1 / 3
    )
    assert d["inside_all"] == pytest.approx(1 / 3)


def test_the_command_varies_a_local_box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crpsmap.cli import cluster

    monkeypatch.setattr(cluster, "dask", no_cluster)
    monkeypatch.setattr(sens, "default_evaluator", lambda n, *a: linear({"theta": 1.0}))
    out = tmp_path / "s.json"
    args = ["sensitivity", "--param", "theta", "--param", "w_lr", "--local", "0.2", "--trajectories", "2"]
    res = CliRunner().invoke(cli_app(), [*args, "-o", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    got = {p["name"]: (p["low"], p["high"]) for p in data["settings"]["parameters"]}
    assert got["theta"] == pytest.approx((0.8 * CohortParams().theta, 1.2 * CohortParams().theta))
    assert got["w_lr"] == pytest.approx((0.8 * ModelParams().w_lr, 1.2 * ModelParams().w_lr))
    assert data["settings"]["box"].startswith("local")
    # an effect is per unit of the (local) range: the linear figure moves by the range's width
    assert data["morris"]["indices"]["multi_limb"]["theta"]["mu_star"] == pytest.approx(
        0.4 * CohortParams().theta
    )


def test_dask_workers_give_the_in_process_result_in_order() -> None:
    from crpsmap.scale import dask_client

    ps = ranged_parameters(["w_lr", "theta"])
    evaluate = linear({"w_lr": 1.0, "theta": -2.0})
    seen: list[tuple[str, int, int]] = []
    with dask_client(workers=1) as client:
        remote = morris(
            ps,
            base=BASE,
            evaluate=evaluate,
            trajectories=3,
            seed=2,
            resamples=20,
            client=client,
            progress=lambda *a: seen.append(a),
        )
    local = morris(ps, base=BASE, evaluate=evaluate, trajectories=3, seed=2, resamples=20)
    assert remote.outputs == local.outputs and remote.indices == local.indices
    assert seen[-1] == ("Morris", 9, 9) and len(seen) == 9
