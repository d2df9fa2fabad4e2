"""scripts/posterior_defaults.py keeps a check of the old posterior only while it is still of this model
(model source, defaults included) and of this prior box, and the bundled file's checks pass that rule.
No simulation runs here."""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any

import pytest

from crpsmap.calibrate.draws import default_draws
from crpsmap.calibrate.fit import DEFAULT_FREE, SEARCH_RANGES, free_params
from script_support import load_script


@pytest.fixture(scope="module")
def pd() -> ModuleType:
    return load_script("posterior_defaults")


def _prior() -> dict[str, list[float]]:
    return {f.name: [f.low, f.high] for f in free_params(DEFAULT_FREE, SEARCH_RANGES)}


def _free() -> list[dict[str, Any]]:
    return [dataclasses.asdict(f) for f in free_params(DEFAULT_FREE, SEARCH_RANGES)]  # as sbc.py writes it


def test_a_check_of_another_model_source_is_dropped(pd: ModuleType) -> None:
    here = pd.model_fingerprint()["model_source_sha256"]
    assert pd.still_valid({"model_source_sha256": here}, _prior(), here)
    assert not pd.still_valid({"model_source_sha256": "0" * 64}, _prior(), here)
    assert not pd.still_valid({}, _prior(), here)
    assert not pd.still_valid(None, _prior(), here)


def test_a_check_of_another_prior_box_is_dropped(pd: ModuleType) -> None:
    here = pd.model_fingerprint()["model_source_sha256"]
    assert pd.still_valid({"model_source_sha256": here, "free": _free()}, _prior(), here)
    narrower = _free()
    narrower[0]["high"] -= 0.01
    assert not pd.still_valid({"model_source_sha256": here, "free": narrower}, _prior(), here)
    assert not pd.still_valid({"model_source_sha256": here, "free": _free()[:-1]}, _prior(), here)


def test_the_bundled_checks_are_of_the_posterior_s_model_and_box(pd: ModuleType) -> None:
    """Every check in the bundled posterior file was computed with the model source the posterior itself
    was computed with (so with the same defaults), and those that drew parameters with today's box: the
    rule a recomputed posterior keeps them by."""
    draws = default_draws()
    assert draws is not None
    assert set(draws.checks) >= {"predictive", "predictive_point", "coverage", "sbc_table"}
    assert draws.settings["prior"] == _prior()
    for name, check in draws.checks.items():
        assert pd.still_valid(check, draws.settings["prior"], draws.settings["model_source_sha256"]), name
