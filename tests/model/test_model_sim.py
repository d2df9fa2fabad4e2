"""The virtual clinic: bit-identical repeats, chunk invariance, common random numbers, valid histories."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from crpsmap.calibrate.distance import PLAUSIBLE_CONVERSION
from crpsmap.history import PatientHistory, RecordKind
from crpsmap.io.csv_long import read_csv_text, write_csv_text
from crpsmap.model import Intervention, Sim, parse_intervention
from crpsmap.model.cohort import LATEST_DATE
from crpsmap.spread import classify

SIM = Sim(years=1.5, seed=11)


@pytest.fixture(scope="module")
def clinic_csv() -> str:
    return write_csv_text(SIM.clinic(40).histories)


def test_same_seed_same_cohort_bit_identical(clinic_csv: str) -> None:
    assert write_csv_text(Sim(years=1.5, seed=11).clinic(40).histories) == clinic_csv
    assert write_csv_text(Sim(years=1.5, seed=12).clinic(40).histories) != clinic_csv


def test_chunks_give_identical_histories() -> None:
    whole = SIM.chunk(0, 100)
    a, b = SIM.chunk(0, 37), SIM.chunk(37, 100)
    assert np.array_equal(whole.cases, np.concatenate([a.cases, b.cases]))
    assert whole.cases.size > 0
    assert write_csv_text(whole.histories) == write_csv_text(a.histories + b.histories)


def test_clinic_is_the_first_n_cases_whatever_the_block_size() -> None:
    a = SIM.find_cases(15, block=64)
    b = SIM.find_cases(15, block=1000)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]


def test_find_cases_returns_the_first_n_cases_of_one_screening_of_all_injuries() -> None:
    """Blocks, and the part of a block screened first once the conversion is known, change only how many
    injuries are simulated: the cases are the first n of one screening of every injury, and the count of
    injuries screened ends at the n-th case (or at a block's end when the search gave up)."""
    every = np.flatnonzero(SIM.screen(np.arange(3000)))
    assert every.size > 60
    for n, block in ((1, 64), (15, 64), (15, 2048), (60, 256), (60, 5000)):
        cases, screened = SIM.find_cases(n, block=block)
        assert np.array_equal(cases, every[:n]) and screened == every[n - 1] + 1


def test_the_screen_day_rule_is_one_run_with_both_looks() -> None:
    """Simulating every injury to screen_day and only those involved then on to their visit gives what one
    run of every injury to its visit, looking on both days, gives (the definition, computed here)."""
    from crpsmap.model.cohort import draw_patients
    from crpsmap.model.network import topology

    sim = Sim(seed=4)
    idx = np.arange(2000)
    inputs, _ = draw_patients(
        sim.seed, idx, sim.cohort, sim.n_days, sim.config().steps_per_day, (), visits=False
    )
    day, first = int(sim.cohort.screen_day), inputs.visit_day[:, :1]
    looks = np.hstack([np.full_like(first, day), np.where(first > day, first, -1)])
    out = sim.run(dataclasses.replace(inputs, visit_day=looks), n_days=int(looks.max()))
    seen = ((out.visit_mask & ((1 << topology().n_areas) - 1)) != 0) | (looks < 0)
    expected = np.all(seen, axis=1)
    assert expected.sum() > 0 and np.array_equal(sim.screen(idx), expected)


def test_follow_does_not_depend_on_other_patients() -> None:
    cases = SIM.chunk(0, 200).cases
    alone = SIM.follow(cases[-1:])
    together = SIM.follow(cases)
    assert write_csv_text(alone) == write_csv_text(together[-1:])


def test_intervention_after_horizon_changes_nothing(clinic_csv: str) -> None:
    late = Sim(years=1.5, seed=11, interventions=(Intervention("glial_inhibitor", 5000),))
    assert write_csv_text(late.clinic(40).histories) == clinic_csv


def test_intervention_changes_course_and_is_recorded(clinic_csv: str) -> None:
    treated = Sim(years=1.5, seed=11, interventions=(parse_intervention("intrathecal_anticytokine@0"),))
    text = write_csv_text(treated.clinic(40).histories)
    assert text != clinic_csv
    assert "treatment_start" in text and "intrathecal_anticytokine" in text


def test_histories_are_valid_and_read_back(clinic_csv: str) -> None:
    histories = read_csv_text(clinic_csv)
    assert len(histories) == 40
    for h in histories:
        PatientHistory.model_validate(h.model_dump())
        assert h.patient_id.startswith("V")
        assert h.crps_type.value == "I"
        assert all(r.date <= LATEST_DATE for r in h.records)
        kinds = [r.kind for r in h.records]
        assert kinds.count(RecordKind.onset) == 1, "a clinic patient is involved at the first visit"
        assert h.last_date is not None and h.records[-1].kind in (RecordKind.onset, RecordKind.assessment)
        involvement = [r for r in h.records if r.kind in (RecordKind.onset, RecordKind.assessment)]
        # HRV at every visit; records dated by the patient's recall measured nothing
        assert all((r.hrv_rmssd is None) == (r.extra.get("dated") == "recall") for r in involvement)
        assert all(r.extra.get("source") == "model" for r in h.records)
    classified = [classify(h) for h in histories]
    assert all(c.onset_date is not None and c.onset_areas for c in classified)


def test_conversion_is_plausible() -> None:
    """The share of injuries that become CRPS, held to the sourced band in the fit (calibrate/distance.py)."""
    c = SIM.clinic(60)
    low, high = PLAUSIBLE_CONVERSION
    assert low <= c.conversion <= high, c.conversion


def test_follow_up_must_end_by_the_fixed_today() -> None:
    with pytest.raises(ValueError, match="cannot end"):
        Sim(years=70).clinic(1)
    long = Sim(years=45).follow(np.arange(40))
    assert all(h.birth_year is not None and h.birth_year >= 1900 for h in long)
    assert dt.date(2026, 11, 25) == LATEST_DATE


def test_parse_intervention() -> None:
    assert parse_intervention("vagal_stimulation") == Intervention("vagal_stimulation")
    assert parse_intervention("glial_inhibitor@injury+3:30") == Intervention(
        "glial_inhibitor", 3, 30, "injury"
    )
    with pytest.raises(ValueError):
        parse_intervention("homeopathy")


def test_diagnosis_on_screen_day_is_involvement_at_both_observations() -> None:
    """The "screen_day" rule keeps exactly the injuries with an area involved on screen_day (a screening
    whose first visit is on screen_day) and at the diagnostic visit (the default screening): two runs
    of the first-visit rule, against the rule's one run with two observations."""
    idx = np.arange(6000)
    base = Sim(seed=4, diagnosis="first_visit")
    on_day = dataclasses.replace(base, cohort=base.cohort.replace(first_visit_delay=0.0))
    both = base.screen(idx) & on_day.screen(idx)
    rule = dataclasses.replace(base, diagnosis="screen_day").screen(idx)
    assert np.array_equal(rule, both)
    assert 0 < rule.sum() < base.screen(idx).sum()  # some first-visit cases were not CRPS on screen_day


def test_an_unknown_diagnosis_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="diagnosis rule"):
        Sim(diagnosis="last_visit")


def test_a_clinic_gives_up_below_its_conversion_floor() -> None:
    """`max_injuries_per_case` only decides when to give up: a clinic it lets through is the default's
    clinic, one whose conversion lies below 1 in that many raises NoCasesError."""
    from crpsmap.model.sim import NoCasesError

    sim = Sim(years=0.5, seed=4)
    clinic = sim.clinic(8)
    per_case = clinic.n_injuries / clinic.n_cases
    assert sim.clinic(8, max_injuries_per_case=int(per_case) + 50).histories == clinic.histories
    with pytest.raises(NoCasesError, match="fewer than 1 in 2 injuries"):  # checked between blocks
        sim.clinic(8, block=4, max_injuries_per_case=2)


def test_the_poisson_bound_is_the_mean_under_which_so_few_cases_are_that_unlikely() -> None:
    """Garwood's bound by its definition: P(X <= count | upper) = 1 - confidence (and -ln 0.05 for none)."""
    from scipy.stats import poisson

    from crpsmap.model.sim import _poisson_upper

    assert _poisson_upper(0, 0.95) == pytest.approx(-np.log(0.05), rel=1e-9)
    for count in (0, 3, 57):
        upper = _poisson_upper(count, 0.999)
        assert poisson.cdf(count, upper) == pytest.approx(0.001, rel=1e-6)


def test_a_confident_floor_gives_up_early_and_keeps_every_clinic_it_lets_through() -> None:
    """With `confidence` a setting converting well below the floor is given up after a fraction of the
    injuries the budget rule alone screens (n x max_injuries_per_case); a clinic above the floor is the
    same clinic as without it."""
    from crpsmap.model.sim import NoCasesError

    sim = Sim(years=0.5, seed=4)
    clinic = sim.clinic(8)
    per_case = clinic.n_injuries / clinic.n_cases
    lenient = sim.clinic(8, max_injuries_per_case=int(3 * per_case) + 1, confidence=0.999)
    assert lenient.histories == clinic.histories and lenient.n_injuries == clinic.n_injuries
    n, floor_per_case = 200, max(2, int(per_case / 5))  # a floor about 5 times this setting's conversion
    screened: list[int] = []
    with pytest.raises(NoCasesError, match=f"fewer than 1 in {floor_per_case} injuries"):
        sim.find_cases(
            n,
            block=64,
            max_injuries_per_case=floor_per_case,
            confidence=0.999,
            progress=lambda _c, s: screened.append(s),
        )
    assert 0 < screened[-1] < n * floor_per_case / 4
