"""The sensitivity script's cache of simulated clinics never hands back a clinic of other settings: its
key changes with anything that changes a clinic, the diagnosis rule and the model's code included."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from crpsmap.model import Sim
from script_support import load_script


def test_the_cache_key_tells_apart_what_changes_a_clinic() -> None:
    script = load_script("sensitivity_defaults")
    ev = script.CachedEvaluator(50, None, None)
    base = Sim(years=1)
    key = ev.key(base)
    assert ev.key(dataclasses.replace(base)) == key
    for other in (
        dataclasses.replace(base, diagnosis="first_visit"),
        dataclasses.replace(base, seed=1),
        dataclasses.replace(base, years=2),
        dataclasses.replace(base, params=base.params.replace(w_lr=base.params.w_lr * 1.1)),
    ):
        assert ev.key(other) != key
    assert script.CachedEvaluator(60, None, None).key(base) != key
    elsewhere = script.CachedEvaluator(50, None, None)
    elsewhere.model_source = "0" * 64  # the same values run by other model code
    assert elsewhere.key(base) != key


def test_a_cached_clinic_of_other_model_code_is_simulated_afresh(tmp_path: Path) -> None:
    """An entry written under another model digest is not found; one under today's is used as it is."""
    script = load_script("sensitivity_defaults")
    cache = tmp_path / "cache.jsonl"
    base = Sim(years=1)
    stale = script.CachedEvaluator(50, None, None)
    stale.model_source = "0" * 64
    figures = {name: 0.5 for name in script.FIGURES}
    cache.write_text(json.dumps({"key": stale.key(base), "figures": figures}) + "\n")
    ev = script.CachedEvaluator(50, cache, max_new=0)
    with pytest.raises(script.BudgetSpent):  # not found: it would be simulated, which max_new=0 forbids
        ev(base)
    cache.write_text(json.dumps({"key": ev.key(base), "figures": figures}) + "\n")
    assert script.CachedEvaluator(50, cache, max_new=0)(base) == figures
