"""The bundled sensitivity run (calibrate/fitted/sensitivity-vanrijn2011.json) is the one that
docs/identifiability.md describes: made at today's defaults, with the local box the library builds today,
and the page's table and headline counts are the file's."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from crpsmap.calibrate.fit import model_structure
from crpsmap.calibrate.sensitivity import switched_off
from crpsmap.model import Sim
from script_support import load_script

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "src" / "crpsmap" / "calibrate" / "fitted" / "sensitivity-vanrijn2011.json"
PAGE = ROOT / "docs" / "identifiability.md"


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    return json.loads(BUNDLED.read_text())


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script("sensitivity_defaults")


def _verdicts(run: dict[str, Any], box: str) -> dict[str, str]:
    return {p["name"]: p["verdict"] for p in run[box]["identifiability"]["parameters"]}


def test_the_run_was_made_at_todays_defaults(run: dict[str, Any]) -> None:
    sim = Sim()
    for box in ("global", "local"):
        for p in run[box]["settings"]["parameters"]:
            today = getattr(sim.params if p["group"] == "model" else sim.cohort, p["name"])
            assert p["base"] == pytest.approx(float(today)), (box, p["name"])


def test_its_local_box_leaves_out_what_the_library_leaves_out_today(run: dict[str, Any]) -> None:
    everything = {p["name"] for p in run["global"]["settings"]["parameters"]}
    local = {p["name"] for p in run["local"]["settings"]["parameters"]}
    assert switched_off(Sim())  # the defaults' horizon is fixed
    assert local == everything - switched_off(Sim())


def test_the_page_shows_the_runs_table(run: dict[str, Any], script: ModuleType) -> None:
    table = script.markdown(run)
    assert table.count("\n") > 80  # one row per ranged parameter
    assert table in PAGE.read_text()


def test_the_pages_headline_counts_are_the_runs(run: dict[str, Any]) -> None:
    page = " ".join(PAGE.read_text().split())
    local, documented = _verdicts(run, "local"), _verdicts(run, "global")
    constrained = sum(v == "constrained" for v in local.values())
    inert = sum(v == "no effect" and documented[n] == "no effect" for n, v in local.items())
    word = _words(constrained).capitalize()  # the page spells a sentence's first number
    assert f"{word} parameters move a fitted figure by at least 2 sampling SDs" in page
    assert f"**{inert} parameters cannot act on the figures at all**" in page
    runs = run["global"]["morris"]["runs"], run["local"]["morris"]["runs"]
    assert f"Of the {runs[0]} Morris clinics" in page and f"({runs[1]} clinics)" in page


WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
]


def _words(n: int) -> str:
    """How the page spells a count in prose."""
    return WORDS[n] if n < len(WORDS) else str(n)


def _pct(x: float) -> str:
    """A share as the page writes it: one decimal below 10% and above 90%, none between."""
    return f"{100 * x:.0f}" if 10 <= 100 * x <= 90 else f"{100 * x:.1f}"


def test_the_pages_summary_numbers_are_the_runs(run: dict[str, Any], script: ModuleType) -> None:
    """The 'In short' sentences quote `headline` (scripts/sensitivity_defaults.py --summary): a rerun that
    changes a share, a spread, a parameter's effect or the resolved combinations fails here until the
    page says the new number."""
    h = script.headline(run)
    page = " ".join(PAGE.read_text().split())
    g, loc = h["global"], h["local"]
    assert (
        f"Of the {g['runs']} Morris clinics drawn over all {g['parameters']} documented ranges, "
        f"{_pct(g['multi_limb_above_90_percent'])}% had more than 90% multi-limb patients, only "
        f"{_pct(g['conversion_plausible'])}% converted injuries at the sourced 1–7% (median "
        f"{100 * g['figures']['conversion']['median']:.0f}%), "
        f"{100 * g['no_identifiable_spread']:.0f}% had no identifiable first-to-second-limb spread"
    ) in page
    ml = loc["figures"]["multi_limb"]
    assert (
        f"({loc['runs']} clinics), the multi-limb share ranged {100 * ml['p5']:.0f}–{100 * ml['p95']:.0f}%"
        in page
    )
    assert f"{_pct(loc['inside_all'])}% of those clinics lay inside all four intervals" in page
    fitted = [c for c in h["constrained"] if c["fitted"]]
    other = [c for c in h["constrained"] if not c["fitted"]]
    first, *rest = fitted
    listed = ", ".join(
        [f"`{first['name']}` {first['sd']:.1f} SD", *(f"`{c['name']}` {c['sd']:.1f}" for c in rest)]
    )
    assert f"{_words(len(fitted))} fitted ({listed})" in page
    first, *rest = other
    listed = ", ".join(
        [f"`{first['name']}` ({first['sd']:.1f} SD)", *(f"`{c['name']}` ({c['sd']:.1f})" for c in rest)]
    )
    assert f"**{_words(len(other))} not fitted**: {listed}" in page
    sv = h["fitted_singular_values"]
    assert "singular values " + ", ".join(f"{x:.1f}" for x in sv[:-1]) + ", 0" in page
    assert sv[-1] == pytest.approx(0.0, abs=1e-9)  # the three pattern shares sum to 1


def test_the_run_records_its_structure_and_the_page_says_when_it_is_not_todays(run: dict[str, Any]) -> None:
    """The columns and the screen_day rule became the defaults after this run was made: the file records
    the structure it was made in, and while that is not today's the page must say so."""
    made = run["settings"]["structure"]
    assert set(made) == set(model_structure(Sim()))
    if made != model_structure(Sim()):
        page = " ".join(PAGE.read_text().split())
        assert "made at the earlier structure" in page and "not yet recomputed" in page
