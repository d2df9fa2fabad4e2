"""The columnar statistics against the per-object definitions they replaced (stats_reference.py), on the
same inputs: every figure, every Kaplan-Meier curve and every Cox row must be identical."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
import stats_reference as old
from stats_cohorts import NAMES, cohorts

from crpsmap.stats import ClassificationTable, PatientTable, cohort_statistics
from crpsmap.stats.cohort import cohort_figures
from crpsmap.stats.cox import fit_cox, model_table
from crpsmap.stats.literature import extra_figures
from crpsmap.stats.survival import second_limb_data, second_limb_km


@pytest.mark.parametrize("name", NAMES)
def test_figures_identical(name: str) -> None:
    histories, results = cohorts()[name]
    inv = old.involvement_records(histories)
    new, ref = cohort_figures(results, inv), old.cohort_figures(results, inv)
    assert new.to_dict() == ref.to_dict()
    assert list(new.limb_flows.items()) == list(ref.limb_flows.items())
    assert list(new.limb_count.items()) == list(ref.limb_count.items())
    assert new == ref


@pytest.mark.parametrize("name", NAMES)
def test_km_identical(name: str) -> None:
    _, results = cohorts()[name]
    data, excl = second_limb_data(results)
    ref_data, ref_excl = old.second_limb_data(results)
    assert excl == ref_excl
    assert data.patient_ids == ref_data.patient_ids and data.girdle == ref_data.girdle
    assert np.array_equal(data.durations, ref_data.durations)
    assert np.array_equal(data.observed, ref_data.observed)
    assert second_limb_km(results) == old.second_limb_km(results)  # lifelines-fitted curves, exactly


@pytest.mark.parametrize("name", NAMES)
def test_cox_rows_identical(name: str) -> None:
    histories, results = cohorts()[name]
    df, covs, excl, hrv = model_table(results, histories)
    ref_df, ref_covs, ref_excl, ref_hrv = old.model_table(results, histories)
    assert (covs, excl, hrv) == (ref_covs, ref_excl, ref_hrv)
    pd.testing.assert_frame_equal(df, ref_df, check_dtype=len(ref_df) > 0)


@pytest.mark.parametrize("name", NAMES)
def test_literature_extras_identical(name: str) -> None:
    histories, results = cohorts()[name]
    assert extra_figures(results, histories) == old.extra_figures(results, histories)
    assert extra_figures(results, None) == old.extra_figures(results, None)


@pytest.mark.parametrize("name", ["rough", "synthetic", "example"])
def test_order_streaming_and_patient_table_change_nothing(name: str) -> None:
    histories, results = cohorts()[name]
    ref = cohort_statistics(histories, results).to_dict()
    shuffled = list(results)
    random.Random(3).shuffle(shuffled)
    other = cohort_statistics(histories, shuffled).to_dict()
    # the Cox rows come in another order: sums in another order, the same to rounding
    for term, values in ref["cox"].items():
        assert other["cox"].pop(term) == pytest.approx(values, rel=1e-9)
    ref_rest = {k: v for k, v in ref.items() if k != "cox"}
    assert {k: v for k, v in other.items() if k != "cox"} == ref_rest
    table = PatientTable.from_histories(histories)
    assert cohort_statistics(table, iter(results)).to_dict() == ref
    by_columns = PatientTable.from_columns(
        [h.patient_id for h in histories],
        [h.sex.value for h in histories],
        [h.birth_year for h in histories],
        list(table.first_hrv_rmssd),
        list(table.involvement_records),
        involvement_dates=list(table.involvement_dates),
        baseline_segments=table.baseline_segments,
        baseline_units=list(table.baseline_units),
    )
    stats = cohort_statistics(by_columns, ClassificationTable.from_classifications(results))
    assert stats.to_dict() == ref and stats.results == ()


def test_cohort_statistics_equals_the_old_composition() -> None:
    histories, results = cohorts()["rough"]
    d = cohort_statistics(histories, results).to_dict()
    figures = old.cohort_figures(results, old.involvement_records(histories))
    expected = figures.to_dict()
    expected["second_limb_km"] = old.second_limb_km(results).to_dict()
    for k, v in expected.items():
        assert d[k] == v, k
    assert d["cox"] == fit_cox(results, histories).to_dict()


def test_unknown_patients_count_as_unknown() -> None:
    histories, results = cohorts()["synthetic"]
    half = histories[: len(histories) // 2]
    df, _, excl, _ = model_table(results, half)
    ref_df, _, ref_excl, _ = old.model_table(results, half)
    assert excl == ref_excl and excl["no_birth_year"] >= len(histories) - len(half)
    pd.testing.assert_frame_equal(df, ref_df)


def test_patient_table_needs_classifications() -> None:
    with pytest.raises(ValueError):
        cohort_statistics(PatientTable.from_histories([]))


def test_tables_concatenate_in_pieces() -> None:
    histories, results = cohorts()["rough"]
    ref = cohort_statistics(histories, results).to_dict()
    cuts = [0, 7, 150, 151, len(results)]
    classified = ClassificationTable.concat(
        [ClassificationTable.from_classifications(results[a:b]) for a, b in zip(cuts, cuts[1:], strict=False)]
    )
    patients = PatientTable.concat(
        [PatientTable.from_histories(histories[a:b]) for a, b in zip(cuts, cuts[1:], strict=False)]
    )
    assert cohort_statistics(patients, classified).to_dict() == ref
