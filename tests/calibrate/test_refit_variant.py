"""Building blocks of scripts/refit_variant.py (the refit of the per-limb variant; a candidate, not the
defaults): the base it starts from, the search box, and rebuilding a fitted Sim from its file. No
simulation runs here; the fit itself is a script (docs/calibration.md)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from crpsmap.calibrate import van_rijn_2011
from crpsmap.calibrate.distance import objective, range_penalty
from crpsmap.calibrate.fit import compact_statistics, model_structure
from crpsmap.model import CohortParams, ModelParams, Sim
from script_support import SCRIPTS, load_script


@pytest.fixture(scope="module")
def rv() -> ModuleType:
    return load_script("refit_variant")


def _documented(name: str) -> tuple[float, float]:
    for cls in (ModelParams, CohortParams):
        f = {x.name: x for x in dataclasses.fields(cls)}.get(name)
        if f is not None and f.metadata:
            return float(f.metadata["low"]), float(f.metadata["high"])
    raise KeyError(name)


def test_base_is_the_variant_at_set_a_and_nothing_else_changes(rv: ModuleType) -> None:
    base = rv.variant_base(years=2.0, seed=7)
    assert base.params.mechanisms.limb_representations and base.years == 2.0 and base.seed == 7
    for k, v in rv.SET_A.items():
        assert getattr(base.params, k) == v, k
    changed = {
        f.name
        for f in dataclasses.fields(ModelParams)
        if f.name != "mechanisms" and getattr(base.params, f.name) != getattr(ModelParams(), f.name)
    }
    assert changed <= set(rv.SET_A), f"only set A may differ from the defaults: {changed}"
    assert base.cohort == CohortParams()


def test_search_box_lies_inside_the_documented_ranges(rv: ModuleType) -> None:
    free = rv.variant_free()
    assert [f.name for f in free] == list(rv.VARIANT_FREE)
    assert "lat" not in rv.VARIANT_FREE, "lat is not used by the per-limb nodes"
    for f in free:
        lo, hi = _documented(f.name)
        assert lo <= f.low < f.high <= hi, f.name
        assert (f.low, f.high) == rv.VARIANT_RANGES[f.name]


def test_fitted_file_rebuilds_its_sim(rv: ModuleType) -> None:
    best = {"w_lr": 0.2, "gain_mu": -1.4, "trauma_rate": 0.11, "K": 2.0}
    fitted = {
        "variants_on": ["limb_representations"],
        "settings": {"years": 3.0},
        "fixed": {**rv.SET_A, "c_desc": 0.2},
        "best": best,
    }
    sim = rv.fitted_sim(fitted, seed=5)
    assert sim.params.mechanisms.limb_representations and sim.years == 3.0 and sim.seed == 5
    assert sim.cohort.trauma_rate == 0.11 and sim.cohort.gain_mu == -1.4, "cohort parameters"
    for k in ("w_lr", "K"):
        assert getattr(sim.params, k) == best[k], k
    assert sim.params.c_desc == 0.2 and sim.params.g_cervical == rv.SET_A["g_cervical"]
    with pytest.raises(ValueError, match="per-limb"):
        rv.fitted_sim({**fitted, "variants_on": []})


def test_bundled_fit_is_labelled_and_inside_its_box(rv: ModuleType) -> None:
    if not rv.DEFAULT_OUTPUT.exists():
        pytest.skip("no bundled variant fit")
    data = json.loads(rv.DEFAULT_OUTPUT.read_text())
    assert data["model_output"] is True and "not the defaults" in data["what"]
    assert data["variants_on"] == ["limb_representations"]
    box = {f["name"]: (f["low"], f["high"]) for f in data["free"]}
    assert set(box) == set(data["best"])
    for k, v in data["best"].items():
        assert box[k][0] - 1e-9 <= v <= box[k][1] + 1e-9, k
    assert ModelParams().mechanisms.limb_representations is False, "the variant is not the default"


def test_structures_build_what_they_say(rv: ModuleType) -> None:
    """ "earlier" is the structure the bundled fit was made in; "today" must stay today's defaults (if the
    defaults change, a new name is needed, not a changed meaning of a recorded fit)."""
    today = rv.variant_base(structure="today")
    default = Sim()
    assert today.params.mechanisms.somatotopy == ModelParams().mechanisms.somatotopy is True
    assert today.diagnosis == default.diagnosis == "screen_day"
    earlier = rv.variant_base()
    assert earlier.params.mechanisms.somatotopy is False and earlier.diagnosis == "first_visit"
    for name, sim in (("today", today), ("earlier", earlier)):
        assert sim.params.mechanisms.limb_representations
        assert rv.structure_name(model_structure(sim)) == name, "a fit's recorded structure names it back"


def test_fitted_file_rebuilds_its_structure_and_fixed_values(rv: ModuleType) -> None:
    fitted = {
        "settings": {"years": 2.0},
        "fixed": {**rv.SET_A, "c_ips": 0.1, "c_hom": 0.05},
        "best": {"w_lr": 0.2},
        "structure": {"somatotopy": True, "diagnosis": "screen_day"},  # model_structure of its base
        "variants_on": ["limb_representations", "somatotopy"],  # as fit() reports today's structure
    }
    sim = rv.fitted_sim(fitted)
    assert sim.params.mechanisms.somatotopy and sim.diagnosis == "screen_day"
    assert (sim.params.c_ips, sim.params.c_hom, sim.params.w_lr) == (0.1, 0.05, 0.2)
    with pytest.raises(ValueError, match="per-limb variant in the today structure"):
        rv.fitted_sim({**fitted, "variants_on": ["limb_representations"]})
    before = {k: v for k, v in fitted.items() if k != "structure"} | {"variants_on": ["limb_representations"]}
    old = rv.fitted_sim(before)
    assert not old.params.mechanisms.somatotopy and old.diagnosis == "first_visit", "files before it: earlier"
    with pytest.raises(ValueError, match="unknown structure"):
        rv.fitted_sim({**fitted, "structure": {"somatotopy": True, "diagnosis": "first_visit"}})


def test_held_values_never_name_a_free_parameter(rv: ModuleType) -> None:
    """A second stage may free what the first held (c_desc of set C): the file's fixed values must not
    keep it, and rebuilding the fit must give the fitted value."""
    first = {"fixed": {**rv.SET_A, "c_desc": 0.02}, "best": {"w_lr": 0.21, "K": 1.83}}
    held = rv.held_values(rv.SET_A, first, {"c_desc": 0.07, "K": 1.9})
    assert "c_desc" not in held and "K" not in held
    assert held["w_lr"] == 0.21, "the first stage's fitted value not refitted is held"
    assert held["c_ips"] == rv.SET_A["c_ips"]
    assert rv.held_values({**rv.SET_A}, None, {"c_ips": 0.2}) == {
        k: v for k, v in rv.SET_A.items() if k != "c_ips"
    }
    fitted = {
        "settings": {"years": 2.0},
        "fixed": held,
        "best": {"c_desc": 0.07, "K": 1.9},
        "structure": {"somatotopy": True, "diagnosis": "screen_day"},
        "variants_on": ["limb_representations", "somatotopy"],
    }
    sim = rv.fitted_sim(fitted)
    assert (sim.params.c_desc, sim.params.K, sim.params.w_lr) == (0.07, 1.9, 0.21)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fixed", "w_lr", "0.2"], "also in --free"),
        (["--fixed", "c_diag", "abc"], "not a number"),
        (["--fixed", "nonsense", "1"], "not a model or cohort parameter"),
        (["--fixed", "g_cervical", "0.1"], "outside its documented range"),
        (["--fixed", "c_diag", "nan"], "outside its documented range"),
        (["--start", "c_desc", "0.05"], "not in --free"),
        (["--start", "K", "9"], "outside its documented range"),
        (["--objective-range", "multi_limb"], "no literature range a fit can add"),
        (["--structure", "flat"], "invalid choice"),
    ],
)
def test_bad_options_are_clear_errors(args: list[str], message: str, tmp_path: Path) -> None:
    out = tmp_path / "fit.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / "refit_variant.py"), *args, "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_held_started_and_objective_range_options_reach_the_file(tmp_path: Path) -> None:
    """--fixed holds a parameter outside set A (K_R) and --start starts the search of a free one at a
    documented fit's value: both reach the file, the held one among `fixed`, the started one as the
    first trial and never among `fixed`; --objective-range adds its range to every trial's objective. A
    one-trial fit of 20 patients over two years, with a strong descending cross-talk so that the cranium
    is involved and its range costs something."""
    out = tmp_path / "fit.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "refit_variant.py"),
            "--structure",
            "today",
            "--fixed",
            "K_R",
            "1.49",
            "--fixed",
            "c_desc",
            "0.3",
            "--free",
            "w_lr",
            "K",
            "--start",
            "K",
            "1.6",
            "--trials",
            "1",
            "--patients",
            "20",
            "--years",
            "2",
            "--workers",
            "0",
            "--validate-top",
            "0",
            "--objective-range",
            "cranium_or_face",
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    fitted = json.loads(out.read_text())
    # --objective-range: the assumed cranium range is labelled so, and each trial's objective is van
    # Rijn's and the conversion band's plus (points outside the range)^2
    (held,) = fitted["objective_ranges"]
    assert (held["key"], held["kind"], held["low"], held["high"]) == ("cranium_or_face", "assumed", 0.0, 0.05)
    for trial in fitted["trials"]:
        plain = objective(van_rijn_2011(), compact_statistics(trial))
        assert trial["objective"] == pytest.approx(plain + range_penalty(trial["cranium_or_face"], 0.0, 0.05))
    assert fitted["trials"][0]["cranium_or_face"] > 0.05, "strong cross-talk: the range term was paid"
    assert "cranium_or_face" in fitted["fitted_clinic"]
    assert fitted["fixed"]["K_R"] == 1.49 and fitted["fixed"]["c_desc"] == 0.3
    assert "K" not in fitted["fixed"] and "w_lr" not in fitted["fixed"]
    assert fitted["start"]["K"] == 1.6 and fitted["trials"][0]["K"] == 1.6
    assert fitted["start"]["w_lr"] == fitted["trials"][0]["w_lr"]  # the base's, clipped to the box
