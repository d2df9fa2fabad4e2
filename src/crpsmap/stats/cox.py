"""Cox model of time to the next limb (van Rijn 2011 style), counting-process form (lifelines).

Each patient is at risk of a new limb from the date the first limb was involved until all four limbs are
involved or follow-up ends. Rows are (start, stop] intervals in days since onset, split at every date a
new limb appeared; `limbs_affected` (limbs involved during the interval) is the time-varying covariate.
Fixed covariates: age at onset (years), sex (female = 1), onset girdle (lower limb = 1) and, when it is
recorded for at least half of the eligible patients, the first recorded HRV RMSSD (ms, vagal tone);
patients without it are then dropped, with the count stated. Ties: Efron (lifelines' method; the test
refits with statsmodels PHReg ties='efron' on the same rows).

lifelines' time-varying fitter loops over event times (cost ~ event times x rows), which takes minutes
for 100,000 patients; above `LIFELINES_MAX_ROWS` rows the same Efron partial likelihood is maximised by
statsmodels PHReg on all rows instead (the tests show both agree to 1e-6), and the report names the fitter.
PHReg counts a row as at risk when entry <= t, lifelines when start < t; with whole-day times, an entry of
start + 0.5 gives PHReg exactly lifelines' risk sets.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crpsmap.history import PatientHistory, Sex
from crpsmap.spread import Classification

BASE_COVARIATES = ("age_at_onset", "female", "lower_girdle_onset", "limbs_affected")
HRV = "hrv_rmssd"
HRV_MIN_SHARE = 0.5
MIN_EVENTS = 10
LIFELINES_MAX_ROWS = 40_000


@dataclass(frozen=True)
class CoxTerm:
    coef: float
    hazard_ratio: float
    ci_low: float
    ci_high: float
    p: float

    def to_dict(self) -> dict[str, float]:
        return {
            "coef": self.coef,
            "hazard_ratio": self.hazard_ratio,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p": self.p,
        }


@dataclass(frozen=True)
class CoxResult:
    """Fitted terms (empty when the model could not be fitted, with the reason in `note`)."""

    terms: dict[str, CoxTerm]
    covariates: tuple[str, ...]
    n_patients: int
    n_rows: int
    n_events: int
    excluded: dict[str, int]
    note: str | None = None
    hrv_included: bool = False
    fitter: str = "lifelines CoxTimeVaryingFitter"

    @property
    def fitted(self) -> bool:
        return bool(self.terms)

    def to_dict(self) -> dict[str, Any]:
        return {t: v.to_dict() for t, v in self.terms.items()}

    def info(self) -> dict[str, Any]:
        return {
            "covariates": list(self.covariates),
            "n_patients": self.n_patients,
            "n_rows": self.n_rows,
            "n_events": self.n_events,
            "excluded": dict(self.excluded),
            "hrv_included": self.hrv_included,
            "note": self.note,
            "ties": "efron",
            "fitter": self.fitter,
        }


def _first_hrv(h: PatientHistory) -> float | None:
    for r in h.records:
        if r.hrv_rmssd is not None:
            return float(r.hrv_rmssd)
    return None


def counting_process_rows(
    results: Sequence[Classification], histories: Sequence[PatientHistory] | None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The (start, stop] table with all candidate covariates (hrv may be NaN), plus exclusion counts."""
    by_id = {h.patient_id: h for h in histories} if histories is not None else {}
    excl = {
        "no_onset_or_no_limb": 0,
        "mixed_girdle_onset": 0,
        "no_birth_year": 0,
        "sex_not_female_or_male": 0,
        "all_four_limbs_at_first": 0,
        "no_follow_up_time": 0,
    }
    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "id",
            "start",
            "stop",
            "event",
            "age_at_onset",
            "female",
            "lower_girdle_onset",
            "limbs_affected",
            HRV,
        )
    }
    for c in results:
        if c.onset_date is None or c.last_date is None or not c.limbs:
            excl["no_onset_or_no_limb"] += 1
            continue
        d0 = c.limb_dates[0]
        first_girdles = {lb.split("_")[0] for lb, d in zip(c.limbs, c.limb_dates, strict=True) if d == d0}
        if len(first_girdles) != 1:
            excl["mixed_girdle_onset"] += 1
            continue
        h = by_id.get(c.patient_id)
        if h is None or h.birth_year is None:
            excl["no_birth_year"] += 1
            continue
        if h.sex not in (Sex.female, Sex.male):
            excl["sex_not_female_or_male"] += 1
            continue
        dates = sorted(set(c.limb_dates))
        k = sum(1 for d in c.limb_dates if d == d0)
        if k >= 4:
            excl["all_four_limbs_at_first"] += 1
            continue
        fixed = (
            float(c.onset_date.year - h.birth_year),
            1.0 if h.sex == Sex.female else 0.0,
            1.0 if first_girdles == {"lower"} else 0.0,
        )
        hrv = _first_hrv(h)
        start = (d0 - c.onset_date).days
        rows: list[tuple[int, int, int, int]] = []
        for d in dates[1:]:
            stop = (d - c.onset_date).days
            rows.append((start, stop, 1, k))
            start = stop
            k += sum(1 for x in c.limb_dates if x == d)
            if k >= 4:
                break
        if k < 4:
            stop = (c.last_date - c.onset_date).days
            if stop > start:
                rows.append((start, stop, 0, k))
        if not rows:
            excl["no_follow_up_time"] += 1
            continue
        for s, e, ev, kk in rows:
            cols["id"].append(c.patient_id)
            cols["start"].append(float(s))
            cols["stop"].append(float(e))
            cols["event"].append(ev)
            cols["age_at_onset"].append(fixed[0])
            cols["female"].append(fixed[1])
            cols["lower_girdle_onset"].append(fixed[2])
            cols["limbs_affected"].append(float(kk))
            cols[HRV].append(np.nan if hrv is None else hrv)
    return pd.DataFrame(cols), excl


def model_table(
    results: Sequence[Classification], histories: Sequence[PatientHistory] | None
) -> tuple[pd.DataFrame, tuple[str, ...], dict[str, int], bool]:
    """The rows the model is fitted on, its covariates, exclusions, and whether HRV is in."""
    df, excl = counting_process_rows(results, histories)
    covs: tuple[str, ...] = BASE_COVARIATES
    hrv_in = False
    if len(df):
        has = df.groupby("id", sort=False)[HRV].first().notna()
        if has.mean() >= HRV_MIN_SHARE:
            hrv_in = True
            covs = BASE_COVARIATES[:3] + (HRV,) + BASE_COVARIATES[3:]
            excl["no_hrv_recorded"] = int((~has).sum())
            df = df[df[HRV].notna()]
    df = df[["id", "start", "stop", "event", *covs]].reset_index(drop=True)
    return df, covs, excl, hrv_in


def fit_cox(
    results: Sequence[Classification], histories: Sequence[PatientHistory] | None, fitter: str | None = None
) -> CoxResult:
    """Fit the model; on too few events, constant covariates or non-convergence, say so (no exception).

    `fitter` forces "lifelines" or "statsmodels"; by default lifelines unless the table is large.
    """
    df, covs, excl, hrv_in = model_table(results, histories)
    n_pat = int(df["id"].nunique()) if len(df) else 0
    n_events = int(df["event"].sum()) if len(df) else 0

    def fail(note: str, used: tuple[str, ...] = covs) -> CoxResult:
        return CoxResult({}, used, n_pat, len(df), n_events, excl, note, hrv_in, "none (not fitted)")

    if histories is None:
        return fail("no patient data (age, sex) were given, so the Cox model was not fitted")
    if n_events < MIN_EVENTS:
        return fail(
            f"only {n_events} new-limb events (at least {MIN_EVENTS} are needed): Cox model not fitted"
        )
    constant = [c for c in covs if df[c].nunique() < 2]
    if constant:
        return fail(
            f"covariate(s) without variation in the data: {', '.join(constant)}; Cox model not fitted"
        )
    force = fitter
    use_sm = force == "statsmodels" or (force is None and len(df) > LIFELINES_MAX_ROWS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if use_sm:
                name = "statsmodels PHReg (Efron ties)"
                table = _fit_statsmodels(df, covs)
            else:
                name = "lifelines CoxTimeVaryingFitter (Efron ties)"
                table = _fit_lifelines(df)
    except Exception as exc:  # lifelines raises ConvergenceError, both may raise linear-algebra errors
        return fail(
            f"the Cox model could not be fitted ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})"
        )
    terms: dict[str, CoxTerm] = {}
    for c in covs:
        vals = [float(v) for v in table[c]]
        if not all(math.isfinite(v) for v in vals):
            return fail("the Cox model did not converge to finite estimates; not reported")
        terms[c] = CoxTerm(*vals)
    return CoxResult(terms, covs, n_pat, len(df), n_events, excl, None, hrv_in, name)


def _fit_lifelines(df: pd.DataFrame) -> dict[str, tuple[float, ...]]:
    from lifelines import CoxTimeVaryingFitter

    ctv = CoxTimeVaryingFitter(alpha=0.05)
    ctv.fit(
        df,
        id_col="id",
        event_col="event",
        start_col="start",
        stop_col="stop",
        fit_options={"precision": 1e-10, "max_steps": 100},
    )
    s = ctv.summary
    return {
        str(c): (
            row["coef"],
            row["exp(coef)"],
            row["exp(coef) lower 95%"],
            row["exp(coef) upper 95%"],
            row["p"],
        )
        for c, row in s.iterrows()
    }


def _fit_statsmodels(df: pd.DataFrame, covs: tuple[str, ...]) -> dict[str, tuple[float, ...]]:
    import statsmodels.api as sm
    from scipy.stats import norm

    model = sm.PHReg(
        df["stop"].to_numpy(),
        df[list(covs)].to_numpy(dtype=float),
        status=df["event"].to_numpy(),
        entry=df["start"].to_numpy() + 0.5,
        ties="efron",
    )
    fit = model.fit(method="newton", maxiter=100)
    z = norm.ppf(0.975)
    out: dict[str, tuple[float, ...]] = {}
    for i, c in enumerate(covs):
        b, se = float(fit.params[i]), float(fit.bse[i])
        out[c] = (b, math.exp(b), math.exp(b - z * se), math.exp(b + z * se), float(2 * norm.sf(abs(b / se))))
    return out
