"""The bundled judgements of the diagnosis rule "screen_day" (docs/plausibility.md §2, "The diagnosis rule"):
scripts/plausibility_check.py --diagnosis screen_day [--somatotopy], measured before the rule and the
columns became the defaults (2026-11-26). No simulation runs here: the files are checked against the
earlier structure's judgement, today's defaults' judgement and the counts the page quotes."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from crpsmap.calibrate.distance import PLAUSIBLE_CONVERSION
from crpsmap.calibrate.fit import EARLIER_STRUCTURE

#: file -> (somatotopy, seeds inside all four van Rijn intervals, seeds with >= 90% of onsets including
#: the injured area, seeds with <= 25% of arm onsets including the shoulder), as docs/plausibility.md quotes
QUOTED = {
    "plausibility-diagnosis-screen-day.json": (False, 19, 20, 0),
    "plausibility-diagnosis-screen-day-somatotopy.json": (True, 20, 20, 20),
}


def _fitted(name: str) -> dict[str, Any]:
    res = resources.files("crpsmap.calibrate").joinpath("fitted").joinpath(name)
    return dict(json.loads(res.read_text(encoding="utf-8")))


def _summary(judged: dict[str, Any], key: str) -> dict[str, Any]:
    return next(r for r in judged["summary"] if r["key"] == key)


@pytest.mark.parametrize("name", sorted(QUOTED))
def test_a_diagnosis_rule_file_judges_the_defaults_with_that_rule(name: str) -> None:
    somatotopy, inside_all, injured, shoulder = QUOTED[name]
    judged = _fitted(name)
    s = judged["settings"]
    assert judged["model_output"] is True
    assert s["diagnosis"] == "screen_day" and s["somatotopy"] is somatotopy
    assert s["changes"] == {} and s["from_fitted"] is None and s["limb_representations"] is False
    assert s["patients"] == 800 and s["seeds"] == list(range(20))
    assert sum(bool(x["van_rijn"]["inside_all"]) for x in judged["per_seed"]) == inside_all
    assert _summary(judged, "onset_includes_injury")["seeds_inside"] == injured
    assert _summary(judged, "arm_onset_shoulder")["seeds_inside"] == shoulder
    low, high = PLAUSIBLE_CONVERSION
    assert all(low <= x["conversion"] <= high for x in judged["per_seed"])


def test_the_stricter_rule_converts_fewer_injuries_on_every_seed() -> None:
    """The screen_day rule keeps a subset of the first-visit cases of the same injuries, so the same clinic
    size needs more injuries: a lower conversion on each seed than the earlier structure's judgement."""
    default = {x["seed"]: x for x in _fitted("plausibility-defaults-earlier-structure.json")["per_seed"]}
    strict = _fitted("plausibility-diagnosis-screen-day.json")["per_seed"]
    assert all(x["conversion"] < default[x["seed"]]["conversion"] for x in strict)
    assert all(
        x["onset_after_second_injury"] < default[x["seed"]]["onset_after_second_injury"] for x in strict
    )


def test_the_defaults_judgement_is_the_adopted_candidates() -> None:
    """The rule with the columns became the defaults with the fitted values unchanged: the defaults' own
    judgement (recomputed after the adoption) gives every seed exactly the candidate's figures, and the
    earlier structure's judgement was made without either."""
    today = _fitted("plausibility-defaults.json")
    candidate = _fitted("plausibility-diagnosis-screen-day-somatotopy.json")
    assert today["settings"]["somatotopy"] is True and today["settings"]["diagnosis"] == "screen_day"
    drop = {"seconds"}
    assert [{k: v for k, v in x.items() if k not in drop} for x in today["per_seed"]] == [
        {k: v for k, v in x.items() if k not in drop} for x in candidate["per_seed"]
    ]
    earlier = _fitted("plausibility-defaults-earlier-structure.json")["settings"]
    assert {k: earlier.get(k, v) for k, v in EARLIER_STRUCTURE.items()} == EARLIER_STRUCTURE
