"""Parameters: every number has a unit, a plausible range containing its default, and a source."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from crpsmap.model import CohortParams, Mechanisms, ModelParams, describe
from crpsmap.model.params import PI


@pytest.mark.parametrize("obj", [ModelParams(), CohortParams()])
def test_every_parameter_is_documented_and_in_range(obj: object) -> None:
    rows = describe(obj)  # type: ignore[arg-type]
    names = {f.name for f in dataclasses.fields(obj)} - {"mechanisms"}  # type: ignore[arg-type]
    assert {r["name"] for r in rows} == names
    for r in rows:
        assert r["unit"] and r["source"], r["name"]
        assert r["low"] <= r["value"] <= r["high"], r


def test_switching_a_mechanism_off_zeroes_its_couplings() -> None:
    v = ModelParams(mechanisms=Mechanisms.only("rostrocaudal")).vector()
    for name in ("w_lr", "w_gap", "w_csf", "w_desc", "k_R", "beta_bbb", "eps_V", "pi_rho", "k_O", "n_eff"):
        assert v[PI[name]] == 0.0, name
    assert v[PI["w_rc"]] > 0
    assert np.array_equal(ModelParams().vector(), ModelParams(mechanisms=Mechanisms()).vector())
    assert Mechanisms.without("supraspinal") == Mechanisms(supraspinal=False)
    with pytest.raises(ValueError, match="unknown mechanism"):
        Mechanisms.only("telepathy")


def test_params_are_frozen_and_replace_returns_a_copy() -> None:
    p = ModelParams()
    q = p.replace(k_M=1.0)
    assert p.k_M != 1.0 and q.k_M == 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.k_M = 2.0  # type: ignore[misc]
