"""Cox model of time to the next limb (van Rijn 2011 style), counting-process form.

Each patient is at risk of a new limb from the date the first limb was involved until all four limbs are
involved or follow-up ends. Rows are (start, stop] intervals in days since onset, split at every date a
new limb appeared; `limbs_affected` (limbs involved during the interval) is the time-varying covariate.
Fixed covariates: age at onset (years), sex (female = 1), onset girdle (lower limb = 1) and, when it is
recorded for at least half of the eligible patients, the first recorded HRV RMSSD (ms, vagal tone);
patients without it are then dropped, with the count stated. Ties: Efron.

The model is fitted by statsmodels PHReg (Newton on the Efron partial likelihood) at every size. The
same rows refitted with lifelines' CoxTimeVaryingFitter (Efron ties as well) on cohorts of 40 to 20,000
patients, with heavy ties and a time-varying `limbs_affected`, give coefficients within 2e-12, standard
errors and 95% limits within a relative 1e-6 (lifelines takes its SEs from the Hessian of its
last-but-one Newton step) and p-values within a relative 5e-5; tests/stats/test_cox.py keeps checking
this. lifelines is about as fast below 1,000 patients and 3 to 9 times slower above 5,000 (it loops over
event times), so it stays the cross-check (`fitter="lifelines"`). PHReg counts a row as at risk when
entry <= t, lifelines when start < t; with whole-day times, an entry of start + 0.5 gives PHReg exactly
lifelines' risk sets.

When the model cannot be fitted, `CoxResult.note` says why in a sentence for a clinician (too few
events, a covariate that does not vary, estimates that run off to infinity); the technical detail, if
any, is in `CoxResult.detail`.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from crpsmap.history import PatientHistory
from crpsmap.spread import Classification
from crpsmap.stats.proportions import Z95
from crpsmap.stats.table import (
    FEMALE,
    LOWER_LIMB,
    MALE,
    NO_DATE,
    ClassificationTable,
    PatientTable,
    as_table,
    years_of,
)

BASE_COVARIATES = ("age_at_onset", "female", "lower_girdle_onset", "limbs_affected")
HRV = "hrv_rmssd"
HRV_MIN_SHARE = 0.5
MIN_EVENTS = 10
#: a standard error above this (on these covariates' scales) means the estimate ran off to infinity
SEPARATION_SE = 10.0
FITTERS = ("statsmodels", "lifelines")
#: why a model was not fitted (`CoxResult.reason`)
REASONS = ("no_patient_data", "no_rows", "too_few_events", "constant_covariate", "unstable")
STATSMODELS_NAME = "statsmodels PHReg (Efron ties)"
LIFELINES_NAME = "lifelines CoxTimeVaryingFitter (Efron ties)"

#: how each covariate is named to readers
COVARIATE_NAMES = {
    "age_at_onset": "age at onset",
    "female": "sex",
    "lower_girdle_onset": "the girdle of the first limb (arm or leg)",
    "hrv_rmssd": "HRV RMSSD",
    "limbs_affected": "the number of limbs already affected",
}

#: how each term of the fitted model is labelled in tables (with its coding and unit)
TERM_LABELS = {
    "age_at_onset": "Age at onset (per year)",
    "female": "Female (vs male)",
    "lower_girdle_onset": "Onset in a leg (vs an arm)",
    "hrv_rmssd": "Vagal tone: HRV RMSSD (per ms)",
    "limbs_affected": "Limbs already affected (per limb; time-varying)",
}


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
    """Fitted terms (empty when the model could not be fitted: `note` says why in plain words, `reason`
    is one of `REASONS` and `detail` keeps the technical cause). `model` is the fitted statsmodels /
    lifelines object when it was asked for (`keep_model=True`)."""

    terms: dict[str, CoxTerm]
    covariates: tuple[str, ...]
    n_patients: int
    n_rows: int
    n_events: int
    excluded: dict[str, int]
    note: str | None = None
    hrv_included: bool = False
    fitter: str = STATSMODELS_NAME
    detail: str | None = None
    reason: str | None = None
    model: Any = field(default=None, repr=False, compare=False)

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
            "reason": self.reason,
            "detail": self.detail,
            "ties": "efron",
            "fitter": self.fitter,
        }


def _patients(histories: Sequence[PatientHistory] | PatientTable | None) -> PatientTable | None:
    if histories is None or isinstance(histories, PatientTable):
        return histories
    return PatientTable.from_histories(histories)


def counting_process_rows(
    results: Iterable[Classification] | ClassificationTable,
    histories: Sequence[PatientHistory] | PatientTable | None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The (start, stop] table with all candidate covariates (hrv may be NaN), plus exclusion counts."""
    t = as_table(results)
    p = _patients(histories)
    df, excl, _ = _rows(t, p.aligned_to(t.patient_id) if p is not None else None)
    return df, excl


def _rows(t: ClassificationTable, p: PatientTable | None) -> tuple[pd.DataFrame, dict[str, int], np.ndarray]:
    """Counting-process rows in patient order (then time order), exclusions, and each row's patient index.
    `p` is in the order of `t` (`PatientTable.aligned_to`)."""
    n = len(t)
    excl: dict[str, int] = {}
    keep = np.ones(n, dtype=bool)

    def drop(name: str, cond: np.ndarray) -> None:
        excl[name] = int((keep & cond).sum())
        keep[cond] = False

    m = t.n_limbs.astype(np.int64)
    dates = t.limb_date.astype(np.int64)
    drop("no_onset_or_no_limb", (t.onset == NO_DATE) | (t.last == NO_DATE) | (m == 0))
    at_first = (np.arange(4) < m[:, None]) & (dates == dates[:, :1])
    lower = LOWER_LIMB[np.maximum(t.limb, 0)]
    has_lower = (at_first & lower).any(axis=1)
    has_upper = (at_first & ~lower).any(axis=1)
    drop("mixed_girdle_onset", has_lower & has_upper)
    if p is None:
        birth = np.full(n, np.nan)
        sex = np.full(n, -1)
        hrv = np.full(n, np.nan)
    else:
        birth, sex, hrv = p.birth_year, p.sex, p.first_hrv_rmssd
    drop("no_birth_year", np.isnan(birth))
    drop("sex_not_female_or_male", (sex != FEMALE) & (sex != MALE))
    drop("all_four_limbs_at_first", at_first.sum(axis=1) >= 4)

    onset = t.onset.astype(np.int64)
    last = t.last.astype(np.int64)
    last_limb = np.take_along_axis(dates, np.maximum(m - 1, 0)[:, None], axis=1)[:, 0]
    who: list[np.ndarray] = []
    order: list[np.ndarray] = []
    start: list[np.ndarray] = []
    stop: list[np.ndarray] = []
    event: list[np.ndarray] = []
    limbs: list[np.ndarray] = []
    has_rows = np.zeros(n, dtype=bool)
    for j in range(1, 4):  # an interval ends at each date a new limb appeared
        new = keep & (j < m) & (dates[:, j] != dates[:, j - 1])
        idx = np.flatnonzero(new)
        has_rows |= new
        who.append(idx)
        order.append(idx * 5 + j)
        start.append(dates[idx, j - 1] - onset[idx])
        stop.append(dates[idx, j] - onset[idx])
        event.append(np.ones(len(idx), dtype=np.int64))
        limbs.append(np.full(len(idx), j, dtype=np.int64))
    censored = keep & (m < 4) & (last > last_limb)  # then follow-up to the last record, if any is left
    idx = np.flatnonzero(censored)
    has_rows |= censored
    who.append(idx)
    order.append(idx * 5 + 4)
    start.append(last_limb[idx] - onset[idx])
    stop.append(last[idx] - onset[idx])
    event.append(np.zeros(len(idx), dtype=np.int64))
    limbs.append(m[idx])
    drop("no_follow_up_time", ~has_rows)

    sort = np.argsort(np.concatenate(order), kind="stable")
    row_patient = np.concatenate(who)[sort]
    age = (years_of(t.onset[row_patient]) - birth[row_patient]).astype(float)
    df = pd.DataFrame(
        {
            "id": t.patient_id[row_patient],
            "start": np.concatenate(start)[sort].astype(float),
            "stop": np.concatenate(stop)[sort].astype(float),
            "event": np.concatenate(event)[sort],
            "age_at_onset": age,
            "female": (sex[row_patient] == FEMALE).astype(float),
            "lower_girdle_onset": (has_lower[row_patient] & ~has_upper[row_patient]).astype(float),
            "limbs_affected": np.concatenate(limbs)[sort].astype(float),
            HRV: hrv[row_patient].astype(float),
        }
    )
    return df, excl, row_patient


def model_table(
    results: Iterable[Classification] | ClassificationTable,
    histories: Sequence[PatientHistory] | PatientTable | None,
) -> tuple[pd.DataFrame, tuple[str, ...], dict[str, int], bool]:
    """The rows the model is fitted on, its covariates, exclusions, and whether HRV is in."""
    df, covs, excl, hrv_in, _ = _model_table(as_table(results), _patients(histories))
    return df, covs, excl, hrv_in


def _model_table(
    t: ClassificationTable, p: PatientTable | None
) -> tuple[pd.DataFrame, tuple[str, ...], dict[str, int], bool, int]:
    pa = p.aligned_to(t.patient_id) if p is not None else None
    df, excl, row_patient = _rows(t, pa)
    covs: tuple[str, ...] = BASE_COVARIATES
    hrv_in = False
    patients = np.unique(row_patient)
    if len(df) and pa is not None:
        has = ~np.isnan(pa.first_hrv_rmssd[patients])
        if has.mean() >= HRV_MIN_SHARE:
            hrv_in = True
            covs = BASE_COVARIATES[:3] + (HRV,) + BASE_COVARIATES[3:]
            excl["no_hrv_recorded"] = int((~has).sum())
            keep_rows = df[HRV].notna().to_numpy()
            df = df[keep_rows]
            patients = patients[has]
    df = df[["id", "start", "stop", "event", *covs]].reset_index(drop=True)
    return df, covs, excl, hrv_in, len(patients)


def _names(covs: Sequence[str]) -> str:
    names = [COVARIATE_NAMES.get(c, c) for c in covs]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def fit_cox(
    results: Iterable[Classification] | ClassificationTable,
    histories: Sequence[PatientHistory] | PatientTable | None,
    fitter: str | None = None,
    *,
    keep_model: bool = False,
) -> CoxResult:
    """Fit the model; on too few events, constant covariates or non-convergence, say so (no exception).

    `fitter`: "statsmodels" (the default, PHReg) or "lifelines" (CoxTimeVaryingFitter, the cross-check).
    `keep_model` keeps the fitted library object in `CoxResult.model`.
    """
    fitter = fitter or "statsmodels"
    if fitter not in FITTERS:
        raise ValueError(f"unknown Cox fitter {fitter!r}; expected one of {', '.join(FITTERS)}")
    patients = _patients(histories)
    df, covs, excl, hrv_in, n_pat = _model_table(as_table(results), patients)
    n_events = int(df["event"].sum()) if len(df) else 0

    def fail(reason: str, note: str, detail: str | None = None) -> CoxResult:
        return CoxResult(
            {}, covs, n_pat, len(df), n_events, excl, note, hrv_in, "none (not fitted)", detail, reason
        )

    if patients is None:
        return fail(
            "no_patient_data", "Age and sex of the patients were not given, so the Cox model was not fitted."
        )
    if not len(df):
        return fail(
            "no_rows",
            "No patient could be followed from a first limb (see the patients left out), "
            "so the Cox model was not fitted.",
        )
    if n_events < MIN_EVENTS:
        return fail(
            "too_few_events",
            f"Only {n_events} new-limb event{'s' if n_events != 1 else ''} "
            f"{'were' if n_events != 1 else 'was'} seen in the {n_pat} patients followed from their first "
            f"limb; the Cox model needs at least {MIN_EVENTS}, so it was not fitted.",
        )
    constant = [c for c in covs if df[c].nunique() < 2]
    if constant:
        return fail(
            "constant_covariate",
            f"{_names(constant)[:1].upper()}{_names(constant)[1:]} "
            f"{'is' if len(constant) == 1 else 'are'} the same for every patient in the model, so "
            f"{'its' if len(constant) == 1 else 'their'} effect cannot be estimated and the Cox model "
            "was not fitted.",
            f"constant covariate(s): {', '.join(constant)}",
        )
    unstable = (
        "The Cox model could not be fitted: the data do not allow stable estimates (this happens when a "
        "covariate almost perfectly predicts who reaches a new limb, or when two covariates move "
        "together). No hazard ratios are reported."
    )
    try:
        if fitter == "statsmodels":
            name = STATSMODELS_NAME
            table, model, warned = _fit_statsmodels(df, covs)
        else:
            name = LIFELINES_NAME
            table, model, warned = _fit_lifelines(df)
    except Exception as exc:  # lifelines raises ConvergenceError, both may raise linear-algebra errors
        return fail(
            "unstable", unstable, f"{name}: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}"
        )
    terms: dict[str, CoxTerm] = {}
    for c in covs:
        coef, hr, lo, hi, p, se = (float(v) for v in table[c])
        if not all(math.isfinite(v) for v in (coef, hr, lo, hi, p, se)) or se > SEPARATION_SE:
            return fail(
                "unstable",
                f"The Cox model could not be fitted: in these data, {COVARIATE_NAMES.get(c, c)} almost "
                "perfectly predicts who reaches a new limb, so its hazard ratio has no finite estimate. "
                "No hazard ratios are reported.",
                f"{name}: {c}: coef {coef:.4g}, standard error {se:.4g}",
            )
        terms[c] = CoxTerm(coef, hr, lo, hi, p)
    if warned:
        return fail("unstable", unstable, f"{name}: {warned}")
    return CoxResult(
        terms, covs, n_pat, len(df), n_events, excl, None, hrv_in, name, model=model if keep_model else None
    )


def _warning_text(caught: list[warnings.WarningMessage], kinds: tuple[type[Warning], ...]) -> str | None:
    for w in caught:
        if issubclass(w.category, kinds):
            return f"{w.category.__name__}: {str(w.message).strip().splitlines()[0][:200]}"
    return None


def _fit_lifelines(df: pd.DataFrame) -> tuple[dict[str, tuple[float, ...]], Any, str | None]:
    from lifelines import CoxTimeVaryingFitter

    ctv = CoxTimeVaryingFitter(alpha=0.05)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ctv.fit(
            df,
            id_col="id",
            event_col="event",
            start_col="start",
            stop_col="stop",
            fit_options={"precision": 1e-10, "max_steps": 100},
        )
    del caught  # lifelines warns on low variance even where the fit is fine: judged by the SEs instead
    columns = ["coef", "exp(coef)", "exp(coef) lower 95%", "exp(coef) upper 95%", "p", "se(coef)"]
    table: dict[str, tuple[float, ...]] = {
        str(c): tuple(float(row[k]) for k in columns) for c, row in ctv.summary.iterrows()
    }
    return table, ctv, None


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


_SURVIVAL_TIME_LOCK = threading.Lock()


@cache
def _fast_survival_time() -> type:
    """statsmodels' PHSurvivalTime (the risk-set index PHReg fits from) built with numpy instead of
    per-row Python loops: the same arrays in the same order (tests/stats/test_cox.py compares every
    attribute), in a second instead of twenty for 1.7 million rows. Single stratum, no offset, with
    entry times (what `phreg_model` uses); anything else goes to statsmodels' own constructor."""
    from statsmodels.duration.hazard_regression import PHSurvivalTime

    class FastSurvivalTime(PHSurvivalTime):
        def __init__(
            self,
            time: np.ndarray,
            status: np.ndarray,
            exog: np.ndarray,
            strata: np.ndarray | None = None,
            entry: np.ndarray | None = None,
            offset: np.ndarray | None = None,
        ) -> None:
            if strata is not None or offset is not None or entry is None:
                super().__init__(time, status, exog, strata, entry, offset)
                return
            strata = np.zeros(len(time), dtype=np.int32)
            self._check(time, status, strata, entry)
            rows = np.arange(len(time), dtype=np.int32)
            self.nstrat_orig = 1
            stratum_rows, stratum_names = [], []
            if status[rows].sum() > 0:
                ix = rows
                ix = ix[entry[ix] <= max(time[ix][status[ix] == 1])]  # entry after the last failure: out
                ix = ix[time[ix] >= min(time[ix][status[ix] == 1])]  # censored before the first: out
                ix = ix[np.argsort(time[ix])]
                stratum_rows, stratum_names = [ix], [np.unique(strata)[0]]
            self.nstrat = len(stratum_rows)
            self.offset_s = None
            self.n_obs = sum(len(ix) for ix in stratum_rows)
            self.stratum_rows = stratum_rows
            self.stratum_names = stratum_names
            self.time_s = self._split(time)
            self.exog_s = self._split(exog)
            self.status_s = self._split(status)
            self.entry_s = self._split(entry)
            self.ufailt_ix, self.risk_enter, self.risk_exit, self.ufailt = [], [], [], []
            for stx in range(self.nstrat):
                ift = np.flatnonzero(self.status_s[stx] == 1)
                uft = np.unique(self.time_s[stx][ift])
                at = np.searchsorted(uft, self.time_s[stx][ift])
                enter = np.searchsorted(uft, self.time_s[stx], "right") - 1
                entered = np.flatnonzero(enter >= 0)
                exit_ = np.searchsorted(uft, self.entry_s[stx])
                self.ufailt.append(uft)
                self.ufailt_ix.append(_groups(ift, at, len(uft)))
                self.risk_enter.append(_groups(entered, enter[entered], len(uft)))
                self.risk_exit.append(_groups(np.arange(len(exit_)), exit_, len(uft)))

    return FastSurvivalTime


def _groups(index: np.ndarray, group: np.ndarray, n: int) -> list[np.ndarray]:
    """`index` split by `group` (0..n-1), each part in the order of `index` (as int32 arrays)."""
    order = np.argsort(group, kind="stable")
    cuts = np.cumsum(np.bincount(group, minlength=n))[:-1]
    return np.split(index[order].astype(np.int32), cuts)


def phreg_model(df: pd.DataFrame, covs: Sequence[str], *, fast: bool = True) -> Any:
    """The statsmodels PHReg model (unfitted) of counting-process rows (`fast`: its risk-set index built
    with numpy, see `_fast_survival_time`; `fast=False` is statsmodels unchanged)."""
    import statsmodels.api as sm
    from statsmodels.duration import hazard_regression

    def build() -> Any:
        return sm.PHReg(
            df["stop"].to_numpy(),
            df[list(covs)].astype(float),  # a DataFrame, so that the fit's summary names the covariates
            status=df["event"].to_numpy(),
            entry=df["start"].to_numpy() + 0.5,
            ties="efron",
        )

    if not fast:
        return build()
    with _SURVIVAL_TIME_LOCK:  # PHReg looks PHSurvivalTime up in its module: swap it for this call
        original = hazard_regression.PHSurvivalTime
        hazard_regression.PHSurvivalTime = _fast_survival_time()
        try:
            return build()
        finally:
            hazard_regression.PHSurvivalTime = original


def _fit_statsmodels(
    df: pd.DataFrame, covs: tuple[str, ...]
) -> tuple[dict[str, tuple[float, ...]], Any, str | None]:
    from scipy.stats import norm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, HessianInversionWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = phreg_model(df, covs).fit(method="newton", maxiter=100)
        params = np.asarray(fit.params, dtype=float)
        bse = np.asarray(fit.bse, dtype=float)
    out: dict[str, tuple[float, ...]] = {}
    for i, c in enumerate(covs):
        b, se = float(params[i]), float(bse[i])
        p = float(2 * norm.sf(abs(b / se))) if se > 0 else math.nan
        out[c] = (b, _exp(b), _exp(b - Z95 * se), _exp(b + Z95 * se), p, se)
    return out, fit, _warning_text(caught, (ConvergenceWarning, HessianInversionWarning))
