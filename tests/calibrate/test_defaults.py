"""The defaults are the kept fit to van Rijn 2011, the default virtual clinic lands in its intervals, and
the bundled posterior of the defaults belongs to that fit.

Judged as the issue asks: the default clinic (800 patients, 5 years, seed 0) written as the CSV that
`crpsmap simulate` writes, read back, and compared with the literature by the code of `crpsmap report`.
"""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from typing import Any

import pytest

from crpsmap.calibrate import van_rijn_2011
from crpsmap.calibrate.distance import PLAUSIBLE_CONVERSION
from crpsmap.calibrate.draws import default_draws
from crpsmap.calibrate.fit import DEFAULT_FREE, SEARCH_RANGES, apply
from crpsmap.io.csv_long import read_csv_text, write_csv_text
from crpsmap.model import CohortParams, ModelParams, Sim
from crpsmap.stats.summary import cohort_statistics

VAN_RIJN = (
    "vanrijn2011_multilimb_fraction",
    "vanrijn2011_pattern_contralateral",
    "vanrijn2011_pattern_ipsilateral",
    "vanrijn2011_pattern_diagonal",
)


def fitted() -> dict[str, Any]:
    res = resources.files("crpsmap.calibrate").joinpath("fitted").joinpath("vanrijn2011.json")
    return dict(json.loads(res.read_text(encoding="utf-8")))


def test_defaults_equal_the_kept_fit() -> None:
    fit = fitted()
    best = fit["best"]
    assert set(best) == set(DEFAULT_FREE)
    for name, value in best.items():
        obj: ModelParams | CohortParams = (
            ModelParams() if name in ModelParams.__dataclass_fields__ else CohortParams()
        )
        assert getattr(obj, name) == value, name
    # the fit was judged on the clinic the defaults give (same size, horizon and seed)
    assert fit["settings"]["check_patients"] == 800 and fit["settings"]["years"] == 5.0
    assert apply(Sim(), best) == Sim()


@pytest.fixture(scope="module")
def report_of_default_clinic() -> dict[str, dict[str, Any]]:
    clinic = Sim(years=5.0, seed=0).clinic(800)
    low, high = PLAUSIBLE_CONVERSION  # the sourced share of injuries that become CRPS
    assert low <= clinic.conversion <= high, clinic.conversion
    histories = read_csv_text(write_csv_text(clinic.histories), today=dt.date(2026, 11, 25))
    stats = cohort_statistics(histories)
    return {c.target_id: c.to_dict() for c in stats.literature}


@pytest.mark.parametrize("target_id", VAN_RIJN)
def test_default_virtual_clinic_inside_the_published_interval(
    report_of_default_clinic: dict[str, dict[str, Any]], target_id: str
) -> None:
    c = report_of_default_clinic[target_id]
    lo, hi = c["published_ci"]
    share = c["cohort"]["proportion"]
    assert c["inside_published_ci"] is True, (target_id, share, lo, hi)
    assert lo <= share <= hi


def test_default_clinic_spread_order_is_mostly_identifiable(
    report_of_default_clinic: dict[str, dict[str, Any]],
) -> None:
    """Not a figure the fit may trade away: van Rijn could tell the second limb in 72 of 89 patients."""
    c = report_of_default_clinic["vanrijn2011_first_to_second_spread_fraction"]
    assert c["cohort"]["proportion"] >= 0.6, c["cohort"]


def test_bundled_posterior_belongs_to_the_defaults_fit() -> None:
    """The bundled posterior (scripts/posterior_defaults.py --posterior, docs/posterior.md) is of the
    fitted parameters, given van Rijn 2011, with the search box as its uniform prior; if the box, the free
    set or the targets change, it is stale and this fails."""
    draws = default_draws()
    assert draws is not None, "run scripts/posterior_defaults.py --posterior"
    assert draws.names == DEFAULT_FREE
    assert draws.to_dict()["model_output"] is True and "MODEL OUTPUT" in draws.what
    settings = draws.settings
    assert {k: tuple(v) for k, v in settings["prior"].items()} == SEARCH_RANGES
    assert settings["targets"] == van_rijn_2011().to_dict()
    assert len(draws) == settings["population"] and abs(float(draws.weights.sum()) - 1) < 1e-9
    for i, name in enumerate(draws.names):
        lo, hi = SEARCH_RANGES[name]
        assert lo <= draws.values[:, i].min() and draws.values[:, i].max() <= hi, name
    # the draws give the parameters the trials run with: each a valid ModelParams / CohortParams
    model, cohort = draws.params(0)
    for i, name in enumerate(draws.names):
        obj = model if name in ModelParams.__dataclass_fields__ else cohort
        assert getattr(obj, name) == draws.values[0, i]


def test_a_posterior_of_another_structure_says_so_where_it_is_used() -> None:
    """The columns and the screen_day rule became the defaults after the bundled posterior was computed:
    while its recorded structure is not today's, its description (which the trial page prints as the
    source of its parameter draws) and docs/posterior.md must say so."""
    from pathlib import Path

    from crpsmap.calibrate.fit import model_structure

    draws = default_draws()
    assert draws is not None
    made, today = draws.settings["structure"], model_structure(Sim())
    assert set(made) == set(today)
    if made != today:
        assert "earlier model structure" in draws.what and "not yet recomputed" in draws.what
        page = Path(__file__).resolve().parents[2] / "docs" / "posterior.md"
        assert "not yet recomputed" in " ".join(page.read_text().split())
