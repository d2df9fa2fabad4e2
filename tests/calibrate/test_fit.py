"""Fitting: reproducible, never worse than the start, parallel = sequential, and it recovers a known truth."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from crpsmap.calibrate import fit, targets_from_histories, van_rijn_2011
from crpsmap.calibrate.fit import DEFAULT_FREE, FreeParam, apply, evaluate, free_params
from crpsmap.calibrate.mechanisms import CANDIDATES, Budget, compare_mechanisms
from crpsmap.calibrate.posterior import abc_posterior
from crpsmap.model import Sim
from crpsmap.scale import dask_client

BASE = Sim(years=2.0, seed=5)


def _flat(sim: Sim) -> Sim:
    """`sim` in the structure of the defaults before 2026-11-26 (flat dorsal horn, first-visit rule):
    about 2.3 times cheaper per clinic, for tests of the fitting machinery rather than of the anatomy."""
    mech = dataclasses.replace(sim.params.mechanisms, somatotopy=False)
    return dataclasses.replace(sim, params=sim.params.replace(mechanisms=mech), diagnosis="first_visit")


#: the fitting machinery's base: the flat structure, cheaper per clinic than today's defaults; what these
#: tests check (reproducibility, the start point, validation, parallel = sequential) holds in any structure
MACHINERY = _flat(BASE)


def test_free_params_take_documented_ranges_and_apply() -> None:
    (w,) = free_params(["w_lr"])
    assert (w.low, w.high, w.group) == (0.05, 0.4, "model")
    assert FreeParam.of("gain_mu").group == "cohort"
    sim = apply(BASE, {"w_lr": 0.2, "gain_mu": -1.0})
    assert sim.params.w_lr == 0.2 and sim.cohort.gain_mu == -1.0 and sim.seed == BASE.seed
    with pytest.raises(ValueError):
        FreeParam.of("no_such_parameter")
    assert w.check(0.05) == 0.05 and w.check(0.4) == 0.4  # the ends are inside
    for outside in (0.049, 0.41, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="outside its documented range 0.05-0.4"):
            w.check(outside)


def test_fit_is_reproducible_and_starts_from_the_base() -> None:
    t = van_rijn_2011()
    a = fit(t, base=MACHINERY, free=free_params(["w_lr", "gain_mu"]), n_patients=80, n_trials=5, seed=1)
    b = fit(t, base=MACHINERY, free=free_params(["w_lr", "gain_mu"]), n_patients=80, n_trials=5, seed=1)
    assert a.best == b.best and a.deviance == b.deviance
    first = a.trials[0]
    assert first["w_lr"] == MACHINERY.params.w_lr and first["gain_mu"] == MACHINERY.cohort.gain_mu
    start, _ = evaluate(MACHINERY, 80, t)
    assert first["objective"] == start
    best = min(r["objective"] for r in a.trials)
    assert best <= start and a.deviance <= best  # the best is re-simulated with the same seed
    assert json.loads(json.dumps(a.to_dict()))["model_output"] is True


def test_validation_rejudges_the_best_trials_on_fresh_patients() -> None:
    t = van_rijn_2011()
    free = free_params(["w_lr", "gain_mu"])
    r = fit(
        t, base=MACHINERY, free=free, n_patients=60, n_trials=5, seed=1, validate_top=3, validate_seeds=(7, 8)
    )
    top = sorted(r.trials, key=lambda x: x["objective"])[:3]
    assert [v["trial"] for v in r.validation] == [x["trial"] for x in top]
    for v, x in zip(r.validation, top, strict=True):
        # each validation objective is an independent simulation with the validation seed
        theta = {f.name: x[f.name] for f in free}
        again, _ = evaluate(dataclasses.replace(apply(MACHINERY, theta), seed=8), 60, t)
        assert v["objectives"][1] == again
        assert v["mean_objective"] == pytest.approx(sum(v["objectives"]) / 2)
    chosen = min(r.validation, key=lambda v: v["mean_objective"])["trial"]
    picked = next(x for x in r.trials if x["trial"] == chosen)
    assert r.best == {f.name: picked[f.name] for f in free}


def test_parallel_fit_equals_sequential_fit() -> None:
    t = van_rijn_2011()
    kw = {
        "base": MACHINERY,
        "free": free_params(["w_lr"]),
        "n_patients": 60,
        "n_trials": 4,
        "seed": 2,
        "batch": 2,
    }
    seq = fit(t, **kw)  # type: ignore[arg-type]
    with dask_client(workers=2) as client:
        par = fit(t, client=client, **kw)  # type: ignore[arg-type]
    assert seq.trials == par.trials


def test_abc_recovers_a_known_parameter() -> None:
    """The ABC machinery, not the anatomy: the flat structure with a susceptibility at which about 10% of
    injuries become CRPS, so that each of the ~70 simulated clinics screens few injuries (screening is
    most of a clinic's cost). With 120 patients and 12 particles the interval still narrows the prior by
    more than half (seeds 3-5: widths 0.10-0.14 of 0.35)."""
    truth = 0.2
    base = apply(MACHINERY, {"gain_mu": -0.6})
    observed = apply(dataclasses.replace(base, seed=99), {"w_lr": truth}).clinic(120).histories
    targets = targets_from_histories(observed, "simulated with w_lr = 0.2")
    post = abc_posterior(
        targets, base=base, free=free_params(["w_lr"]), n_patients=120, population=12, generations=2, seed=3
    )
    lo, hi = post.interval()["w_lr"]
    assert lo <= truth <= hi
    assert hi - lo < 0.5 * (0.4 - 0.05)  # the data narrowed the prior
    assert post.simulations >= 12


def test_mechanism_comparison_weighs_candidates() -> None:
    """The weighing, not the anatomy: in the flat structure, where spinal-only clinics still convert
    about 2% of injuries (with today's columns and diagnosis rule under 1%, so a tiny clinic screens tens
    of thousands of injuries; tests/calibrate/test_mechanisms.py compares in today's structure)."""
    cands = [c for c in CANDIDATES if c.name in ("spinal", "all")]
    budget = Budget(starts=1, trials=2, startup=1, patients=30, heldout_seeds=3, heldout_patients=30)
    cmp = compare_mechanisms(
        van_rijn_2011(),
        base=_flat(BASE),
        candidates=cands,
        budget=budget,
        ranges={"gain_mu": (-0.7, -0.5)},
        seed=4,
    )
    weights = [f.weight for f in cmp.fits]
    assert abs(sum(weights) - 1) < 1e-12 and all(0 <= w <= 1 for w in weights)
    assert cmp.favoured.weight == max(weights)
    assert "not evidence" in cmp.sentence()
    d = cmp.to_dict()
    assert d["favoured"] in ("spinal", "all") and len(d["candidates"]) == 2


def test_calibrate_command_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "cal.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "crpsmap",
            "calibrate",
            "--target",
            "vanrijn2011",
            "--trials",
            "2",
            "--patients",
            "40",
            "--years",
            "1",
            "--workers",
            "1",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "MODEL OUTPUT" in run.stdout
    d = json.loads(out.read_text())
    assert set(d["fit"]["best"]) == set(DEFAULT_FREE)
    bad = subprocess.run([sys.executable, "-m", "crpsmap", "calibrate"], capture_output=True, text=True)
    assert bad.returncode == 2
