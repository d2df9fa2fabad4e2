"""The bundled candidates on the way to today's defaults (docs/calibration.md, "A candidate for the defaults:
the fracture drive fitted at the sourced conversion band", "The defaults: a new injury of a patient with
CRPS drives harder"): scripts/calibrate_defaults.py --output, judged by scripts/plausibility_check.py
--from-fitted. No simulation runs here: the files are checked against each other, the search box and the
sourced conversion band."""

from __future__ import annotations

import dataclasses
import json
from importlib import resources
from typing import Any

import pytest

from crpsmap.calibrate.distance import PLAUSIBLE_CONVERSION
from crpsmap.calibrate.fit import EARLIER_STRUCTURE, SEARCH_RANGES, FreeParam, apply, with_ranges
from crpsmap.model import CohortParams, ModelParams, Sim

#: seeds 0-19 of the default clinic (800 patients) inside all four van Rijn intervals, as the docs quote
SEEDS_INSIDE_ALL = 20
#: the fit judged on fresh seeds 100-119: (clinic size, seeds inside all four, structure judged in), as
#: docs/calibration.md quotes
FRESH_SEEDS = ((800, 20, (True, "screen_day")), (185, 14, (True, "screen_day")))


def _fitted(name: str) -> dict[str, Any]:
    res = resources.files("crpsmap.calibrate").joinpath("fitted").joinpath(name)
    return dict(json.loads(res.read_text(encoding="utf-8")))


def _judged(name: str, changes: dict[str, float], first: int) -> dict[str, Any]:
    """A plausibility_check.py file judging these parameter changes on 20 seeds from `first`, every seed
    converting inside the sourced band."""
    judged = _fitted(name)
    assert judged["model_output"] is True and judged["settings"]["changes"] == changes
    per_seed = judged["per_seed"]
    assert [s["seed"] for s in per_seed] == list(range(first, first + 20))
    low, high = PLAUSIBLE_CONVERSION
    assert all(low <= s["conversion"] <= high for s in per_seed)
    return judged


def _inside_all(judged: dict[str, Any]) -> int:
    """Seeds inside all four van Rijn intervals."""
    return sum(bool(s["van_rijn"]["inside_all"]) for s in judged["per_seed"])


def _structure(judged: dict[str, Any]) -> tuple[bool, str]:
    """(somatotopic columns, diagnosis rule) a judgement was made in; files written before the columns
    existed record neither (flat dorsal horn, first-visit rule)."""
    s = {**EARLIER_STRUCTURE, **judged["settings"]}
    return bool(s["somatotopy"]), str(s["diagnosis"])


def _documented(name: str) -> tuple[float, float]:
    f = FreeParam.of(name)
    return f.low, f.high


def test_candidate_is_labelled_and_inside_its_box() -> None:
    cand = _fitted("candidate-sourced-conversion.json")
    assert cand["model_output"] is True and "not adopted" in cand["what"]
    settings = cand["settings"]
    assert list(cand["best"]) == settings["free"]
    box = with_ranges(SEARCH_RANGES, settings["range"])
    for name, value in cand["best"].items():
        lo, hi = box.get(name, _documented(name))
        dlo, dhi = _documented(name)
        assert dlo <= lo <= value <= hi <= dhi, name
    # judged at the band it was fitted for: every seed of its final check converts inside it
    low, high = PLAUSIBLE_CONVERSION
    assert all(low <= s["conversion"] <= high for s in cand["seeds_check"])


def test_candidate_judgement_is_of_the_candidate() -> None:
    cand = _fitted("candidate-sourced-conversion.json")
    judged = _fitted("plausibility-candidate.json")
    assert judged["model_output"] is True
    assert judged["settings"]["from_fitted"].endswith("candidate-sourced-conversion.json")
    assert judged["settings"]["changes"] == cand["best"]
    per_seed = judged["per_seed"]
    assert [s["seed"] for s in per_seed] == list(range(20))
    inside = sum(bool(s["van_rijn"]["inside_all"]) for s in per_seed)
    by_key = {r["key"]: r for r in judged["summary"] if isinstance(r, dict) and "key" in r}
    assert by_key["conversion"]["seeds_inside"] == 20
    # the figure docs/calibration.md quotes
    assert inside == 8
    # the candidate is a Sim of the defaults with its values, nothing else changed
    sim = apply(Sim(), cand["best"])
    assert sim.cohort.drive_fracture == cand["best"]["drive_fracture"] != CohortParams().drive_fracture
    assert (
        dataclasses.replace(
            sim.params, **{k: getattr(ModelParams(), k) for k in ("w_lr", "w_desc", "lat", "beta_bbb")}
        )
        == ModelParams()
    )


def test_with_ranges_replaces_only_the_named_boxes() -> None:
    box = {"w_lr": (0.13, 0.2), "lat": (0.8, 0.93)}
    out = with_ranges(box, [["lat", "0.85", "0.9"], ["drive_fracture", "0.6", "1"]])
    assert out == {"w_lr": (0.13, 0.2), "lat": (0.85, 0.9), "drive_fracture": (0.6, 1.0)}
    assert box == {"w_lr": (0.13, 0.2), "lat": (0.8, 0.93)}  # the box given is not changed


def test_hand_set_drive_after_crps_candidate_and_its_judgement() -> None:
    """The hand-set candidate is the fitted one plus drive_after_crps, and its two judgements (fresh
    seeds 100-119, seeds 0-19) are of it and give the counts docs/calibration.md quotes."""
    fitted = _fitted("candidate-sourced-conversion.json")["best"]
    hand = _fitted("candidate-after-crps-drive.json")
    assert hand["model_output"] is True and "not adopted" in hand["what"]
    assert hand["best"] == {**fitted, "drive_after_crps": 1.5}
    for name, first, inside_all in (
        ("seeds100", 100, 19),
        ("seeds0", 0, 20),
        ("185", 100, 12),  # van Rijn's clinic size
    ):
        judged = _judged(f"plausibility-after-crps-{name}.json", hand["best"], first)
        assert _inside_all(judged) == inside_all
    assert CohortParams().drive_after_crps != hand["best"]["drive_after_crps"], "not the defaults' value"


def test_defaults_fit_with_drive_after_crps_and_its_judgement() -> None:
    """The defaults' fit (drive_after_crps free): inside its box, and judged (fresh seeds 100-119, 800 and
    185 patients) as docs/calibration.md quotes."""
    fit = _fitted("vanrijn2011.json")
    assert fit["model_output"] is True and "adopted as the defaults" in fit["what"]
    box = with_ranges(SEARCH_RANGES, fit["settings"]["range"])
    assert set(fit["best"]) == set(fit["settings"]["free"]) >= {"drive_after_crps", "drive_fracture"}
    for name, value in fit["best"].items():
        lo, hi = box.get(name, _documented(name))
        assert lo <= value <= hi, name
    for size, inside_all, structure in FRESH_SEEDS:
        judged = _judged(f"plausibility-defaults-fresh-seeds-{size}.json", fit["best"], 100)
        assert _inside_all(judged) == inside_all
        assert _structure(judged) == structure, size


def test_defaults_plausibility_file_is_of_the_defaults() -> None:
    """plausibility-defaults.json (scripts/plausibility_check.py with no parameter given) judged today's
    defaults: its first seeds reproduce the fit's own seed check exactly (same clinics), and it gives the
    count of seeds inside all four van Rijn intervals that docs/calibration.md and plausibility.md quote."""
    fit = _fitted("vanrijn2011.json")
    judged = _judged("plausibility-defaults.json", {}, 0)
    assert judged["settings"]["from_fitted"] is None
    assert judged["settings"]["patients"] == 800 and judged["settings"]["seeds"] == list(range(20))
    per_seed = {s["seed"]: s for s in judged["per_seed"]}
    for check in fit["seeds_check"]:
        got = per_seed[check["seed"]]
        identifiable = check["contralateral"] + check["ipsilateral"] + check["diagonal"]
        assert got["conversion"] == pytest.approx(check["conversion"], abs=1e-12)
        shares = got["van_rijn"]["shares"]
        assert shares["multi_limb"] == pytest.approx(check["multi_limb"] / check["patients"], abs=1e-12)
        assert shares["diagonal"] == pytest.approx(check["diagonal"] / identifiable, abs=1e-12)
    assert _inside_all(judged) == SEEDS_INSIDE_ALL


def test_defaults_at_van_rijns_size_file_is_of_the_defaults() -> None:
    """plausibility-defaults-185.json: today's defaults (structure included) on seeds 0-19 at van Rijn's
    size, with the count docs/posterior.md §4 and docs/calibration.md quote."""
    judged = _judged("plausibility-defaults-185.json", {}, 0)
    assert judged["settings"]["from_fitted"] is None and judged["settings"]["patients"] == 185
    assert _structure(judged) == (Sim().params.mechanisms.somatotopy, Sim().diagnosis)
    assert _inside_all(judged) == 12
