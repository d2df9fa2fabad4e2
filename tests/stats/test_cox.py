"""Cox coefficients: lifelines against statsmodels PHReg on the same counting-process rows."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from stats_cohort import cohort_data

from crpsmap.data.synthetic import random_histories
from crpsmap.spread import classify_all
from crpsmap.stats.cox import fit_cox, model_table


def _statsmodels(df, covs):  # type: ignore[no-untyped-def]
    # PHReg counts a row at risk when entry <= t; lifelines when start < t. Whole-day times: entry + 0.5.
    model = sm.PHReg(
        df["stop"].to_numpy(),
        df[list(covs)].to_numpy(float),
        status=df["event"].to_numpy(),
        entry=df["start"].to_numpy() + 0.5,
        ties="efron",
    )
    return model.fit(method="newton", maxiter=100)


def test_lifelines_matches_statsmodels() -> None:
    histories, results = cohort_data()
    res = fit_cox(results, histories, fitter="lifelines")
    assert res.fitted, res.note
    assert res.fitter.startswith("lifelines")
    df, covs, _, _ = model_table(results, histories)
    sm_fit = _statsmodels(df, covs)
    for i, c in enumerate(covs):
        assert abs(res.terms[c].coef - sm_fit.params[i]) < 1e-6, c
        assert res.terms[c].p == pytest.approx(sm_fit.pvalues[i], rel=1e-4, abs=1e-12)
    assert "limbs_affected" in res.terms and "hrv_rmssd" in res.terms


def test_statsmodels_path_agrees_with_lifelines() -> None:
    histories, results = cohort_data()
    a = fit_cox(results, histories, fitter="lifelines")
    b = fit_cox(results, histories, fitter="statsmodels")
    for c in a.terms:
        assert abs(a.terms[c].coef - b.terms[c].coef) < 1e-6
        assert a.terms[c].ci_low == pytest.approx(b.terms[c].ci_low, rel=1e-4)


def test_counting_process_rows() -> None:
    histories, results = cohort_data()
    df, _, _, _ = model_table(results, histories)
    assert (df["stop"] > df["start"]).all()
    for _, g in df.groupby("id"):
        starts, stops = g["start"].to_numpy(), g["stop"].to_numpy()
        assert np.all(starts[1:] == stops[:-1])  # contiguous intervals
        assert np.all(np.diff(g["limbs_affected"].to_numpy()) > 0)
        assert g["event"].to_numpy()[:-1].all()  # every interval but the last ends with a new limb


def test_too_few_events_says_so() -> None:
    histories = random_histories(4, seed=3, records_per_patient=2)
    res = fit_cox(list(classify_all(histories)), histories)
    assert not res.fitted
    assert res.note and "not fitted" in res.note
    assert res.to_dict() == {}
