"""Cox model: statsmodels PHReg (the fitter) against lifelines' CoxTimeVaryingFitter (the cross-check) on
the same counting-process rows, and plain-language notes when the model cannot be fitted."""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import pytest
import statsmodels.api as sm
from stats_cohort import cohort_data
from stats_cohorts import cohorts

from crpsmap.data.synthetic import random_histories
from crpsmap.history import PatientHistory, Record, RecordKind, Sex
from crpsmap.spread import Classification, classify_all
from crpsmap.stats.cox import MIN_EVENTS, CoxResult, fit_cox, model_table, phreg_model

# Measured on 40 to 20,000 patients: coefficients within 2e-12, SEs and 95% limits within a relative 1e-6
# (lifelines takes its SEs from the Hessian of its last-but-one Newton step), p-values within 5e-5
# relative (p below 1e-10, where a tiny change in z moves p by a large factor).
COEF_ABS = 1e-10
SE_REL = 1e-5
P_REL = 1e-3


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


@cache
def _big() -> tuple[list[PatientHistory], list[Classification]]:
    h = random_histories(1500, seed=21)
    return h, list(classify_all(h))


def _datasets() -> dict[str, tuple[list[PatientHistory], list[Classification]]]:
    out = {k: cohorts()[k] for k in ("synthetic", "rough", "rough_ties", "rough_no_hrv", "example")}
    out["shared400"] = cohort_data()
    out["synthetic1500"] = _big()
    return out


@pytest.mark.parametrize(
    "name", ["synthetic", "rough", "rough_ties", "rough_no_hrv", "example", "shared400", "synthetic1500"]
)
def test_phreg_agrees_with_lifelines(name: str) -> None:
    histories, results = _datasets()[name]
    a = fit_cox(results, histories, keep_model=True)
    b = fit_cox(results, histories, fitter="lifelines", keep_model=True)
    assert a.fitted and b.fitted, (a.note, b.note)
    assert a.fitter.startswith("statsmodels PHReg") and b.fitter.startswith("lifelines")
    assert "limbs_affected" in a.terms and a.covariates == b.covariates
    df, _, _, _ = model_table(results, histories)
    assert df.groupby("id")["limbs_affected"].nunique().max() > 1  # time-varying in these data
    summary = b.model.summary
    for i, c in enumerate(a.covariates):
        ta, tb = a.terms[c], b.terms[c]
        assert abs(ta.coef - tb.coef) < COEF_ABS, c
        assert float(a.model.bse[i]) == pytest.approx(summary.loc[c, "se(coef)"], rel=SE_REL), c
        assert ta.ci_low == pytest.approx(tb.ci_low, rel=SE_REL)
        assert ta.ci_high == pytest.approx(tb.ci_high, rel=SE_REL)
        assert ta.hazard_ratio == pytest.approx(tb.hazard_ratio, rel=1e-10)
        assert ta.p == pytest.approx(tb.p, rel=P_REL, abs=1e-12)


def test_ties_are_efron_in_both() -> None:
    histories, results = cohorts()["rough_ties"]
    df, covs, _, _ = model_table(results, histories)
    events = df[df["event"] == 1]
    assert events.groupby("stop").size().max() >= 3  # several new limbs on one day
    a = fit_cox(results, histories, keep_model=True)
    assert a.model.model.ties == "efron"
    breslow = sm.PHReg(
        df["stop"].to_numpy(),
        df[list(covs)].to_numpy(float),
        status=df["event"].to_numpy(),
        entry=df["start"].to_numpy() + 0.5,
        ties="breslow",
    ).fit(method="newton")
    # lifelines has only Efron; Breslow differs with these ties, so agreement is not by accident
    lifelines = fit_cox(results, histories, fitter="lifelines")
    worst = max(abs(a.terms[c].coef - lifelines.terms[c].coef) for c in covs)
    assert worst < COEF_ABS < max(abs(a.terms[c].coef - breslow.params[i]) for i, c in enumerate(covs))


SURVIVAL_TIME_ATTRIBUTES = (
    "nstrat",
    "nstrat_orig",
    "n_obs",
    "stratum_names",
    "offset_s",
    "stratum_rows",
    "time_s",
    "exog_s",
    "status_s",
    "entry_s",
    "ufailt",
    "ufailt_ix",
    "risk_enter",
    "risk_exit",
)


def _identical(a: object, b: object) -> bool:
    if isinstance(a, list):
        return (
            isinstance(b, list)
            and len(a) == len(b)
            and all(_identical(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return bool(a == b)


@pytest.mark.parametrize("name", ["synthetic", "rough", "rough_ties", "example", "synthetic1500"])
def test_fast_risk_sets_are_statsmodels_own(name: str) -> None:
    from statsmodels.duration.hazard_regression import PHSurvivalTime

    histories, results = _datasets()[name]
    df, covs, _, _ = model_table(results, histories)
    fast, slow = phreg_model(df, covs), phreg_model(df, covs, fast=False)
    assert type(fast.surv) is not PHSurvivalTime and type(slow.surv) is PHSurvivalTime
    assert phreg_model(df, covs, fast=False).surv.__class__ is PHSurvivalTime  # the swap is undone
    for attr in SURVIVAL_TIME_ATTRIBUTES:
        assert _identical(getattr(fast.surv, attr), getattr(slow.surv, attr)), attr
    a, b = fast.fit(method="newton"), slow.fit(method="newton")
    assert np.array_equal(np.asarray(a.params), np.asarray(b.params))
    assert np.array_equal(np.asarray(a.bse), np.asarray(b.bse))


def test_statsmodels_by_hand() -> None:
    histories, results = cohort_data()
    res = fit_cox(results, histories)
    df, covs, _, _ = model_table(results, histories)
    sm_fit = _statsmodels(df, covs)
    for i, c in enumerate(covs):
        assert res.terms[c].coef == sm_fit.params[i]
        assert res.terms[c].p == pytest.approx(sm_fit.pvalues[i], rel=1e-12, abs=1e-300)
    assert "limbs_affected" in res.terms and "hrv_rmssd" in res.terms
    assert res.info()["fitter"] == "statsmodels PHReg (Efron ties)"


def test_counting_process_rows() -> None:
    histories, results = cohort_data()
    df, _, _, _ = model_table(results, histories)
    assert (df["stop"] > df["start"]).all()
    for _, g in df.groupby("id"):
        starts, stops = g["start"].to_numpy(), g["stop"].to_numpy()
        assert np.all(starts[1:] == stops[:-1])  # contiguous intervals
        assert np.all(np.diff(g["limbs_affected"].to_numpy()) > 0)
        assert g["event"].to_numpy()[:-1].all()  # every interval but the last ends with a new limb


def _plain(res: CoxResult) -> None:
    """A note for a clinician: a sentence, no library error text."""
    assert not res.fitted and res.to_dict() == {}
    note = res.note or ""
    assert note.endswith(".") and note[0].isupper()
    for word in ("Error", "Exception", "Traceback", "Warning", "PHReg", "lifelines", "coef", "_"):
        assert word not in note, (word, note)


def test_too_few_events_says_so() -> None:
    histories = random_histories(4, seed=3, records_per_patient=2)
    res = fit_cox(list(classify_all(histories)), histories)
    _plain(res)
    assert "not fitted" in (res.note or "")
    assert f"Only {res.n_events} new-limb event" in (res.note or "")
    assert f"at least {MIN_EVENTS}" in (res.note or "") and f"{res.n_patients} patients" in (res.note or "")
    assert res.reason == "too_few_events" and res.info()["reason"] == "too_few_events"


def test_no_patient_data_says_so() -> None:
    _, results = cohort_data()
    res = fit_cox(results, None)
    _plain(res)
    assert "Age and sex" in (res.note or "") and res.reason == "no_patient_data"


def _patient(
    i: int, sex: Sex, limbs: list[tuple[int, str]], follow_up: int, birth_year: int = 1970
) -> PatientHistory:
    """Onset in the first region at day 0; each (day, region) adds a region; follow-up ends at `follow_up`."""
    start = dt.date(2016, 1, 1) + dt.timedelta(days=i)
    regions: list[str] = []
    records = []
    for k, (day, region) in enumerate(limbs):
        regions.append(region)
        kind = RecordKind.onset if k == 0 else RecordKind.assessment
        records.append(Record(date=start + dt.timedelta(days=day), kind=kind, regions=tuple(regions)))
    records.append(
        Record(date=start + dt.timedelta(days=follow_up), kind=RecordKind.assessment, regions=tuple(regions))
    )
    return PatientHistory(patient_id=f"C{i:03d}", sex=sex, birth_year=birth_year + i % 30, records=records)


def test_constant_covariate_says_so() -> None:
    histories = [
        _patient(i, Sex.female, [(0, "hand_right" if i % 2 else "foot_left"), (50 + 7 * i, "hand_left")], 900)
        for i in range(30)
    ]
    res = fit_cox(list(classify_all(histories)), histories)
    _plain(res)
    assert (res.note or "").startswith("Sex is the same for every patient")
    assert res.detail == "constant covariate(s): female" and res.reason == "constant_covariate"


def test_separation_says_so() -> None:
    histories = []
    for i in range(40):
        first = "hand_right" if i % 2 else "foot_left"
        if i % 4 < 2:  # women: a new limb soon, sometimes a third
            steps = [(0, first), (40 + 11 * i, "hand_left")] + ([(500, "foot_right")] if i % 8 == 0 else [])
            histories.append(_patient(i, Sex.female, steps, 800))
        else:  # men: never
            histories.append(_patient(i, Sex.male, [(0, first)], 700 + i))
    results = list(classify_all(histories))
    for fitter in ("statsmodels", "lifelines"):
        res = fit_cox(results, histories, fitter=fitter)
        _plain(res)
        assert "sex almost perfectly predicts" in (res.note or ""), res.note
        assert res.detail and "female" in res.detail and res.reason == "unstable"


def test_unknown_fitter_rejected() -> None:
    histories, results = cohort_data()
    with pytest.raises(ValueError):
        fit_cox(results, histories, fitter="R")
