"""Kept clinics (calibrate/store.py): the key tells apart everything that makes a clinic, the file survives
a stop in the middle of a write, and a comparison run again from its store simulates only what is missing
and ends with the same result."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crpsmap.calibrate import van_rijn_2011
from crpsmap.calibrate.mechanisms import CANDIDATES, SUMMARY_KIND, Budget, run_all, search
from crpsmap.calibrate.store import ClinicStore, clinic_key
from crpsmap.model import Intervention, Sim

BASE = Sim(years=1, seed=3)


def test_the_key_tells_apart_what_makes_a_clinic() -> None:
    key = clinic_key(BASE, 50, "k", "c")
    assert clinic_key(dataclasses.replace(BASE), 50, "k", "c") == key
    others = [
        clinic_key(dataclasses.replace(BASE, diagnosis="first_visit"), 50, "k", "c"),
        clinic_key(dataclasses.replace(BASE, seed=4), 50, "k", "c"),
        clinic_key(dataclasses.replace(BASE, years=2), 50, "k", "c"),
        clinic_key(
            dataclasses.replace(BASE, params=BASE.params.replace(w_lr=BASE.params.w_lr * 1.1)), 50, "k", "c"
        ),
        clinic_key(
            dataclasses.replace(BASE, cohort=dataclasses.replace(BASE.cohort, theta=0.55)), 50, "k", "c"
        ),
        clinic_key(dataclasses.replace(BASE, interventions=(Intervention("glial_inhibitor"),)), 50, "k", "c"),
        clinic_key(BASE, 60, "k", "c"),  # clinic size
        clinic_key(BASE, 50, "other kind", "c"),
        clinic_key(BASE, 50, "k", "other code"),
    ]
    assert key not in others and len(set(others)) == len(others)


def test_the_key_is_the_same_in_another_process() -> None:
    """A piece run tomorrow (another process, another hash seed) must find today's clinics."""
    sim = dataclasses.replace(BASE, interventions=(Intervention("vagal_stimulation", 30, 90),))
    code = (
        "from crpsmap.calibrate.store import clinic_key; from crpsmap.model import Intervention, Sim; "
        "print(clinic_key(Sim(years=1, seed=3, interventions=(Intervention('vagal_stimulation', 30, 90),)),"
        " 50, 'k', 'c'))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == clinic_key(sim, 50, "k", "c")


def test_kept_results_come_back_from_the_file_and_a_torn_last_line_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "clinics.jsonl"
    store = ClinicStore(path, "k", code="c")
    store.put("a", {"x": 1}, 2.5)
    store.put("b", {"x": 2})
    with path.open("a", encoding="utf-8") as fh:  # a piece stopped while writing its third line
        fh.write('{"key": "c", "res')
    again = ClinicStore(path, "k", code="c")
    assert again.get("a") == {"x": 1} and again.get("b") == {"x": 2} and again.get("c") is None
    assert again.reused == 2 and again.seconds("a") == 2.5 and again.seconds("b") == 0.0
    again.put("c", {"x": 3})  # appended on a line of its own, after the torn one was cut off
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["key"] for line in lines] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="not JSON or NaN"):
        store.put("d", {"x": float("nan")})  # not standard JSON: refused, nothing written
    assert len(path.read_text(encoding="utf-8").splitlines()) == 3


def test_a_damaged_line_is_named_not_skipped(tmp_path: Path) -> None:
    path = tmp_path / "clinics.jsonl"
    path.write_text('{"key": "a", "result": 1}\nnot json\n{"key": "b", "result": 2}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"clinics\.jsonl: line 2: not JSON"):
        ClinicStore(path, "k", code="c")
    path.write_text('{"key": "a"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: not a kept clinic"):
        ClinicStore(path, "k", code="c")


def test_a_search_run_again_from_its_store_goes_on_where_it_stopped(tmp_path: Path) -> None:
    """The whole search, then again from a full store (nothing simulated), then from a store holding only
    its first clinics (a stopped run): the same trials and clinics each time."""
    full = next(c for c in CANDIDATES if c.name == "all")
    budget = Budget(starts=1, trials=2, startup=1, patients=10, heldout_seeds=1, heldout_patients=10, batch=1)
    t, sim, cheap = van_rijn_2011(), Sim(years=0.5, seed=3), {"gain_mu": (-0.7, -0.5)}
    path = tmp_path / "clinics.jsonl"
    first = ClinicStore(path, SUMMARY_KIND)
    records = search([full], t, sim, budget, 3, ranges=cheap, store=first)[full.name]
    assert first.new == len(records) == budget.trials and first.reused == 0
    assert records == search([full], t, sim, budget, 3, ranges=cheap)[full.name]  # the store changes nothing
    again = ClinicStore(path, SUMMARY_KIND)
    assert search([full], t, sim, budget, 3, ranges=cheap, store=again)[full.name] == records
    assert again.new == 0 and again.reused == budget.trials
    path.write_text(path.read_text(encoding="utf-8").splitlines(keepends=True)[0], encoding="utf-8")
    resumed = ClinicStore(path, SUMMARY_KIND)
    assert search([full], t, sim, budget, 3, ranges=cheap, store=resumed)[full.name] == records
    assert (resumed.reused, resumed.new) == (1, budget.trials - 1)


def test_clinics_run_on_dask_are_kept_as_they_finish(tmp_path: Path) -> None:
    from crpsmap.scale import dask_client

    sims = [dataclasses.replace(Sim(years=0.5), seed=s) for s in (3, 4, 3)]  # the third is the first again
    expected = run_all(sims, 10, None)
    store = ClinicStore(tmp_path / "clinics.jsonl", SUMMARY_KIND)
    with dask_client(workers=1) as client:
        assert run_all(sims, 10, client, store) == expected
    assert store.new == 2  # one clinic per distinct setting
    assert ClinicStore(tmp_path / "clinics.jsonl", SUMMARY_KIND).get(store.key(sims[1], 10)) == expected[1]
    with pytest.raises(ValueError, match="cannot hold 'mechanisms.summarise'"):
        run_all(sims, 10, None, ClinicStore(None, "sensitivity.figures"))


def test_the_posterior_checks_go_on_from_their_store(tmp_path: Path) -> None:
    """Seed coverage and the predictive sample (the posterior script's --cache): the same result from a
    store as without one, and nothing simulated again."""
    import numpy as np

    from crpsmap.calibrate.draws import PosteriorDraws
    from crpsmap.calibrate.fit import COMPACT_KIND
    from crpsmap.calibrate.predictive import FIGURES_KIND, predictive_sample, seed_coverage

    t, sim, path = van_rijn_2011(), Sim(years=0.5, seed=3), tmp_path / "clinics.jsonl"
    plain = seed_coverage(sim, t, 12, [0, 1])
    assert seed_coverage(sim, t, 12, [0, 1], store=ClinicStore(path, COMPACT_KIND)) == plain
    again = ClinicStore(path, COMPACT_KIND)
    assert seed_coverage(sim, t, 12, [0, 1], store=again) == plain and (again.new, again.reused) == (0, 2)
    draws = PosteriorDraws(("w_lr",), np.array([[0.15], [0.18]]), np.array([0.5, 0.5]))
    sample = predictive_sample(draws, n_draws=2, n_patients=12, base=sim)
    assert (
        predictive_sample(draws, n_draws=2, n_patients=12, base=sim, store=ClinicStore(path, FIGURES_KIND))
        == sample
    )
    kept = ClinicStore(path, FIGURES_KIND)
    assert predictive_sample(draws, n_draws=2, n_patients=12, base=sim, store=kept) == sample
    assert kept.new == 0 and kept.reused == 2
