"""Virtual trials on the simulator: null interventions change nothing, strong ones lower spread, Dask = local.

Small cohorts (80 patients, 2 years) keep this fast; the direction checks use interventions that the model's
own experiments verified (tests/model/test_model_facts.py) and leave wide margins.
"""

from __future__ import annotations

import dataclasses

import pytest

from crpsmap.io.csv_long import write_csv_text
from crpsmap.model import ModelParams
from crpsmap.scale import dask_client
from crpsmap.trial import BINARY_OUTCOMES, TrialResult, TrialSpec, run_trial
from crpsmap.trial.outcomes import patient_outcome

N, YEARS, SEED = 80, 2.0, 5


def spec(name: str, **kw: object) -> TrialSpec:
    return TrialSpec(name, patients=N, years=YEARS, seed=SEED, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def glial() -> TrialResult:
    return run_trial(spec("glial_inhibitor"), block=32)


def assert_identical_arms(r: TrialResult) -> None:
    assert [o.to_dict() for o in r.control] == [o.to_dict() for o in r.intervention]
    for key in BINARY_OUTCOMES:
        b = r.binary[key]
        assert b.difference == 0.0
        assert b.table.discordant == 0 and b.mcnemar_p == 1.0
        assert b.table.n == N
    assert r.hrv.difference.n == 0 or r.hrv.difference.mean == 0.0


def test_intervention_after_the_horizon_gives_identical_arms() -> None:
    r = run_trial(spec("intrathecal_anticytokine", start_day=5000))
    assert_identical_arms(r)
    assert r.observed_after_start == 0  # nothing is counted after a start beyond follow-up
    assert all(not b.control.count for b in r.binary.values())


def test_placebo_with_zero_strength_gives_identical_arms_with_events() -> None:
    """A glial inhibitor of strength 0 from enrolment: the same events in both arms, pair by pair."""
    r = run_trial(spec("glial_inhibitor", params=ModelParams(e_glia=0.0)))
    assert_identical_arms(r)
    assert r.binary["spread"].control.count >= 5  # a non-trivial null: events happen, identically
    assert r.hrv.difference.n == N and r.hrv.p_value == 1.0
    assert r.spec.changed_parameters() == {"e_glia": 0.0}


def test_arms_are_identical_up_to_the_start_day() -> None:
    """Common random numbers: records dated on or before the first dose are the same in both arms."""
    s = spec("intrathecal_anticytokine", start_day=180)
    control, treated = s.sims()
    cases, _ = control.find_cases(30)
    for a, b in zip(control.follow(cases), treated.follow(cases), strict=True):
        start = patient_outcome(a, 180).start
        early_a = [r for r in a.records if r.date <= start and r.kind != "treatment_start"]
        early_b = [r for r in b.records if r.date <= start and r.kind != "treatment_start"]
        assert write_csv_text([a.model_copy(update={"records": tuple(early_a)})]) == write_csv_text(
            [b.model_copy(update={"records": tuple(early_b)})]
        )


@pytest.mark.parametrize("name", ["glial_inhibitor", "intrathecal_anticytokine"])
def test_interventions_verified_by_the_model_lower_spread(name: str, glial: TrialResult) -> None:
    """Early glial inhibition prevents spread and intrathecal anti-cytokine suppresses sensitisation while
    given (model facts); from enrolment on, both must lower new spread clearly."""
    r = glial if name == "glial_inhibitor" else run_trial(spec(name))
    s = r.binary["spread"]
    assert s.control.count >= 10
    assert s.difference is not None and s.difference <= -0.1
    assert s.ci_high is not None and s.ci_high < 0
    assert s.table.first_only <= 1  # hardly anyone spreads only when treated
    assert s.mcnemar_p is not None and s.mcnemar_p < 0.01


def test_result_json_has_the_promised_fields(glial: TrialResult) -> None:
    d = glial.to_dict(patients=True)
    assert d["model_result"] is True and "not clinical evidence" in d["disclaimer"]
    assert set(d["outcomes"]) == {"spread", "new_limb", "generalized", "visceral"}
    one = d["outcomes"]["new_limb"]
    for key in ("control", "intervention", "difference", "ci_low", "ci_high", "mcnemar_exact_p"):
        assert key in one
    assert one["discordant_pairs"] == one["only_control"] + one["only_intervention"]
    assert len(d["patient_outcomes"]) == N
    assert d["settings"]["intervention"] == "glial_inhibitor"


def test_block_size_does_not_change_the_result(glial: TrialResult) -> None:
    other = run_trial(spec("glial_inhibitor"), block=500)
    assert other.to_dict(patients=True) == glial.to_dict(patients=True)


def test_dask_blocks_equal_the_in_process_run(glial: TrialResult) -> None:
    with dask_client(workers=2) as client:
        remote = run_trial(spec("glial_inhibitor"), block=17, client=client)
    assert remote.to_dict(patients=True) == glial.to_dict(patients=True)


def test_bad_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown intervention"):
        TrialSpec("homeopathy")
    with pytest.raises(ValueError, match="stop_day"):
        TrialSpec("glial_inhibitor", start_day=30, stop_day=10)
    with pytest.raises(ValueError):
        TrialSpec("glial_inhibitor", start_day=-1)
    with pytest.raises(ValueError):
        dataclasses.replace(spec("glial_inhibitor"), patients=0)


def test_the_page_names_a_structure_set_away_from_the_defaults() -> None:
    """The columns are on by default: a trial without them must say so, one with the defaults says
    nothing; arms switched off are named as before."""
    from crpsmap.model import Mechanisms

    assert TrialSpec("vagal_stimulation").changed_parameters() == {}
    flat = TrialSpec(
        "vagal_stimulation", params=ModelParams(mechanisms=Mechanisms.without("somatotopy", "vagal"))
    )
    assert flat.changed_parameters() == {
        "mechanisms_off": ["vagal"],
        "variants_changed": {"somatotopy": False},
    }
