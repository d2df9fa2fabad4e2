"""Injury -> CRPS conversion by kind of injury: the fracture flag kept by the cohort is the one the
dynamics used, the split counts match a direct count over the screened injuries, and the fracture studies
carry their published figures."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from crpsmap.calibrate.conversion import (
    FRACTURE_STUDIES,
    ConversionSplit,
    clinic_conversion,
    split,
    split_of_cases,
)
from crpsmap.calibrate.distance import PLAUSIBLE_CONVERSION
from crpsmap.model import CohortParams, Sim
from crpsmap.model.cohort import draw_patients, injury_is_fracture

SIM = Sim(years=1.0, seed=5)


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval written out (independent of crpsmap.stats)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_split_counts_match_a_direct_count() -> None:
    rng = np.random.default_rng(3)
    fracture = rng.random(500) < 0.4
    converted = rng.random(500) < np.where(fracture, 0.2, 0.05)
    s = split(fracture, converted)
    f_cases = sum(1 for f, c in zip(fracture, converted, strict=True) if f and c)
    o_cases = sum(1 for f, c in zip(fracture, converted, strict=True) if not f and c)
    assert (s.injuries, s.cases) == (500, f_cases + o_cases)
    assert s.fractures.proportion == pytest.approx(f_cases / int(fracture.sum()))
    assert s.other.proportion == pytest.approx(o_cases / int((~fracture).sum()))
    assert s.overall.proportion == pytest.approx((f_cases + o_cases) / 500)
    with pytest.raises(ValueError):
        split(fracture, converted[:-1])


def test_impossible_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        ConversionSplit(injuries=10, cases=3, fracture_injuries=2, fracture_cases=3)
    with pytest.raises(ValueError):
        ConversionSplit(injuries=10, cases=9, fracture_injuries=5, fracture_cases=1)  # 8 of 5 others


def test_kept_fracture_flag_is_the_one_that_set_the_injury_drive() -> None:
    """With no severity spread the inciting injury's drive is drive_fracture for a fracture, else
    drive_other: the kept flag must be the one the dynamics were given."""
    cp = CohortParams(drive_sd=0.0, drive_fracture=1.7, drive_other=0.3)
    patients = np.arange(300, dtype=np.int64)
    inputs, demo = draw_patients(9, patients, cp, 400, 4, visits=False)
    assert demo.fracture.dtype == bool and demo.fracture.shape == (300,)
    assert 0 < demo.fracture.sum() < 300
    inciting = inputs.ev_step == 0  # the first injury is the only event on step 0 with a limb unit
    amp = np.where(inciting & (inputs.ev_unit >= 0), inputs.ev_amp, 0.0).max(axis=1)
    assert np.allclose(amp, np.where(demo.fracture, 1.7, 0.3))


def test_fracture_flag_depends_only_on_the_injury() -> None:
    """Chunks, order and subsets give each injury the same flag (common random numbers)."""
    cp = CohortParams()
    whole = injury_is_fracture(4, np.arange(200), cp)
    part = injury_is_fracture(4, np.array([150, 7, 99]), cp)
    assert np.array_equal(part, whole[[150, 7, 99]])
    _, demo = draw_patients(4, np.arange(200), cp, 400, 4, visits=False)
    assert np.array_equal(demo.fracture, whole)
    share = whole.mean()
    assert abs(share - cp.p_fracture) < 4 * math.sqrt(cp.p_fracture * (1 - cp.p_fracture) / 200)
    assert not injury_is_fracture(4, np.arange(200), dataclasses.replace(cp, p_fracture=0.0)).any()


def test_clinic_split_equals_screening_every_injury() -> None:
    """The split of the clinic's funnel equals screening injuries 0..n-1 one by one and reading the
    demography's fracture flags (an independent path through Sim.screen and draw_patients)."""
    s = clinic_conversion(SIM, 12)
    n = s.injuries
    idx = np.arange(n, dtype=np.int64)
    converted = SIM.screen(idx)
    _, demo = draw_patients(SIM.seed, idx, SIM.cohort, SIM.n_days, SIM.config().steps_per_day, visits=False)
    assert s.cases == 12 == int(converted.sum()) and converted[-1]  # the funnel stops at the 12th case
    assert s.fracture_injuries == int(demo.fracture.sum())
    assert s.fracture_cases == int((demo.fracture & converted).sum())
    cases, screened = SIM.find_cases(12)
    assert split_of_cases(SIM, cases, screened) == s
    with pytest.raises(ValueError):
        split_of_cases(SIM, np.array([screened]), screened)


def test_fracture_studies_carry_their_published_figures() -> None:
    by_key = {s.key: s for s in FRACTURE_STUDIES}
    moseley, beerthuizen = by_key["moseley2014"], by_key["beerthuizen2012"]
    # Moseley 2014, J Pain 15:16: 3.8% (95% CI 2.9-4.8%); Beerthuizen 2012, Pain 153:1187: 42/596
    assert (moseley.share, moseley.ci_low, moseley.ci_high) == (0.038, 0.029, 0.048)
    assert "10.1016/j.jpain.2013.08.009" in moseley.source
    assert beerthuizen.share == pytest.approx(42 / 596)
    assert (beerthuizen.ci_low, beerthuizen.ci_high) == pytest.approx(_wilson(42, 596))
    assert "10.1016/j.pain.2012.01.026" in beerthuizen.source
    for st in FRACTURE_STUDIES:
        assert st.ci_low < st.share < st.ci_high
    # the calibration's band is the one these studies support: Moseley inside, the upper end Beerthuizen's
    # 7.0% as published (42/596 = 7.05%)
    lo, hi = PLAUSIBLE_CONVERSION
    assert lo < moseley.share < hi
    assert hi == pytest.approx(beerthuizen.share, abs=0.0005)


def test_comparison_says_whether_the_intervals_overlap() -> None:
    near = ConversionSplit(injuries=4000, cases=120, fracture_injuries=2000, fracture_cases=100)  # 5%
    far = ConversionSplit(injuries=4000, cases=700, fracture_injuries=2000, fracture_cases=500)  # 25%
    none = ConversionSplit(injuries=100, cases=5, fracture_injuries=0, fracture_cases=0)
    assert [c["intervals_overlap"] for c in near.compare()] == [True, True]
    assert [c["intervals_overlap"] for c in far.compare()] == [False, False]
    assert [c["intervals_overlap"] for c in none.compare()] == [None, None]
    d = far.to_dict()
    assert d["model_output"] is True and d["overall_inside_band"] is False
    assert near.to_dict()["overall_inside_band"] is True
    assert d["fractures"]["proportion"] == pytest.approx(0.25)
    assert d["other_injuries"]["proportion"] == pytest.approx(200 / 2000)
    assert near.to_dict()["other_injuries"]["proportion"] == pytest.approx(20 / 2000)
