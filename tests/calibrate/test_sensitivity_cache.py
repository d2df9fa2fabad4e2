"""The sensitivity script's cache of simulated clinics (calibrate/store.py underneath) never hands back a
clinic of other settings or other code, and hands back a kept one as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crpsmap.model import Sim
from script_support import load_script


def test_a_kept_clinic_of_other_code_is_simulated_afresh_and_one_of_today_is_reused(tmp_path: Path) -> None:
    """An entry written under another source digest is not found; one under today's is used as it is."""
    script = load_script("sensitivity_defaults")
    cache = tmp_path / "cache.jsonl"
    base = Sim(years=1)
    stale = script.CachedEvaluator(50, None, None)
    stale.store.code = "0" * 64  # the same settings run by other code
    figures = {name: 0.5 for name in script.FIGURES}
    cache.write_text(json.dumps({"key": stale.key(base), "result": figures}) + "\n")
    ev = script.CachedEvaluator(50, cache, max_new=0)
    with pytest.raises(script.BudgetSpent):  # not found: it would be simulated, which max_new=0 forbids
        ev(base)
    cache.write_text(json.dumps({"key": ev.key(base), "result": figures}) + "\n")
    assert script.CachedEvaluator(50, cache, max_new=0)(base) == figures
    assert script.CachedEvaluator(60, cache, max_new=0).key(base) != ev.key(base)  # clinic size
