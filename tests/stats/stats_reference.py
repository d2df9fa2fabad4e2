"""The statistics as they were before the columnar rewrite (per-object loops), kept verbatim so the tests
can compare old and new on the same inputs (a plain module: not collected by pytest)."""

# ruff: noqa
# mypy: ignore-errors
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from crpsmap.atlas import load_atlas
from crpsmap.history import INVOLVEMENT_KINDS, PatientHistory, Sex
from crpsmap.spread import Classification, SpreadEvent
from crpsmap.stats.cohort import (
    DIRECTIONS,
    LIMB_PATTERNS,
    MALEKI_PATTERNS,
    TRIGGERS,
    CohortFigures,
    LimbPatterns,
)
from crpsmap.stats.cox import BASE_COVARIATES, HRV, HRV_MIN_SHARE
from crpsmap.stats.proportions import Proportion
from crpsmap.stats.survival import KMCurve, KMData, SecondLimbKM


def second_limb_event(c: Classification) -> SpreadEvent | None:
    """The event that brought the second limb, when a first limb is identifiable and the second is too.

    None when there is no first limb, no second limb, or the second and third limbs appeared on the same
    date (then which one was second cannot be said).
    """
    if c.first_limb is None or len(c.limbs) < 2:
        return None
    if len(c.limbs) >= 3 and c.limb_dates[2] == c.limb_dates[1]:
        return None
    atlas = load_atlas()
    second = c.limbs[1]
    for e in c.events:
        if e.limb_pattern is not None:
            area = atlas.area_by_slug.get(e.area)
            if area is not None and area.limb == second:
                return e
    return None


def cohort_figures(
    results: Sequence[Classification], involvement_records: dict[str, int] | None = None
) -> CohortFigures:
    """Count the cohort. `involvement_records` (patient id -> number of onset/assessment records) lets
    the report say how many patients had a single record; without it that count is 0."""
    atlas = load_atlas()
    unit_slugs = atlas.unit_slugs
    with_onset = [c for c in results if c.onset_date is not None]
    n = len(with_onset)
    spreaders = [c for c in with_onset if c.spread]

    maleki_counts = Counter[str]()
    for c in spreaders:
        for p in {e.pattern for e in c.events}:
            maleki_counts[p] += 1

    overall = Counter[str]()
    by_trig: dict[str, Counter[str]] = {t: Counter() for t in TRIGGERS}
    flows = Counter[tuple[str, str]]()
    tied = 0
    for c in with_onset:
        if c.first_limb is None or len(c.limbs) < 2:
            continue
        e = second_limb_event(c)
        if e is None or e.limb_pattern is None:
            tied += 1
            continue
        overall[e.limb_pattern] += 1
        by_trig[e.trigger][e.limb_pattern] += 1
        flows[(c.limbs[0], c.limbs[1])] += 1
    n_pat = sum(overall.values())
    limb_patterns = LimbPatterns(
        overall={k: Proportion.of(overall[k], n_pat) for k in LIMB_PATTERNS},
        by_trigger={
            t: {k: Proportion.of(by_trig[t][k], sum(by_trig[t].values())) for k in LIMB_PATTERNS}
            for t in TRIGGERS
        },
        excluded_tied_second=tied,
    )

    directions = Counter[str](e.direction for c in with_onset for e in c.events if e.direction is not None)
    n_dir = sum(directions.values())

    onset_counts = Counter[str]()
    last_counts = Counter[str]()
    for c in with_onset:
        onset = set(c.onset_areas)
        onset_counts.update(onset)
        last_counts.update(onset | {e.area for e in c.events})

    single = 0
    if involvement_records is not None:
        single = sum(1 for c in with_onset if involvement_records.get(c.patient_id, 0) == 1)

    return CohortFigures(
        n_patients=len(results),
        n_with_onset=n,
        n_without_involvement=len(results) - n,
        n_single_record=single,
        any_spread=Proportion.of(len(spreaders), n),
        multi_limb=Proportion.of(sum(len(c.limbs) >= 2 for c in with_onset), n),
        generalized=Proportion.of(sum(c.generalized_date is not None for c in with_onset), n),
        visceral=Proportion.of(sum(c.visceral_date is not None for c in with_onset), n),
        maleki={k: Proportion.of(maleki_counts[k], len(spreaders)) for k in MALEKI_PATTERNS},
        limb_patterns=limb_patterns,
        direction={k: Proportion.of(directions[k], n_dir) for k in DIRECTIONS},
        limb_count=dict(Counter(len(c.limbs) for c in with_onset)),
        limb_flows=dict(flows),
        onset_share={s: Proportion.of(onset_counts[s], n) for s in unit_slugs},
        last_share={s: Proportion.of(last_counts[s], n) for s in unit_slugs},
    )


def second_limb_data(results: Sequence[Classification]) -> tuple[KMData, dict[str, int]]:
    """Durations and event flags for time to second limb, plus exclusion counts."""
    ids: list[str] = []
    dur: list[float] = []
    obs: list[int] = []
    girdle: list[str] = []
    excl = {"no_onset": 0, "no_limb": 0, "ambiguous_first_limb": 0}
    for c in results:
        if c.onset_date is None or c.last_date is None:
            excl["no_onset"] += 1
            continue
        if not c.limbs:
            excl["no_limb"] += 1
            continue
        if c.first_limb is None:
            excl["ambiguous_first_limb"] += 1
            continue
        ids.append(c.patient_id)
        girdle.append(c.first_limb.split("_")[0])
        if len(c.limbs) >= 2:
            dur.append(float((c.limb_dates[1] - c.onset_date).days))
            obs.append(1)
        else:
            dur.append(float(max(0, (c.last_date - c.onset_date).days)))
            obs.append(0)
    return KMData(ids, np.asarray(dur, dtype=float), np.asarray(obs, dtype=int), girdle), excl


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def fit_km(durations: np.ndarray, observed: np.ndarray, label: str) -> KMCurve | None:
    """Fit one KM curve; None without patients. Median CI: where the pointwise log(-log) band crosses 0.5."""
    if len(durations) == 0:
        return None
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    kmf = KaplanMeierFitter(alpha=0.05)
    kmf.fit(durations, observed, label=label)
    sf = kmf.survival_function_
    ci = kmf.confidence_interval_
    median = _finite(kmf.median_survival_time_)
    mci = median_survival_times(ci)
    return KMCurve(
        label=label,
        n=len(durations),
        events=int(observed.sum()),
        times=tuple(float(t) for t in sf.index),
        survival=tuple(float(s) for s in sf.iloc[:, 0]),
        ci_low=tuple(float(s) for s in ci.iloc[:, 0]),
        ci_high=tuple(float(s) for s in ci.iloc[:, 1]),
        median_days=median,
        median_ci_low=_finite(mci.iloc[0, 0]),
        median_ci_high=_finite(mci.iloc[0, 1]),
    )


def second_limb_km(results: Sequence[Classification]) -> SecondLimbKM:
    """Overall and per-girdle KM curves of time from onset to the second limb."""
    data, excl = second_limb_data(results)
    overall = fit_km(data.durations, data.observed, "all")
    by: dict[str, KMCurve] = {}
    g = np.asarray(data.girdle)
    for name in ("upper", "lower"):
        mask = g == name
        curve = fit_km(data.durations[mask], data.observed[mask], f"{name} limb onset")
        if curve is not None:
            by[name] = curve
    return SecondLimbKM(overall, by, excl["no_limb"], excl["ambiguous_first_limb"], excl["no_onset"])


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


def extra_figures(
    results: Sequence[Classification], histories: Sequence[PatientHistory] | None
) -> dict[str, Proportion]:
    """Figures only the literature table needs (Maleki 'contiguous only', 'all three'; onset sites; sex)."""
    with_onset = [c for c in results if c.onset_date is not None]
    spreaders = [c for c in with_onset if c.spread]
    kinds = [{e.pattern for e in c.events} - {"visceral"} for c in spreaders]
    out = {
        "contiguous_only": Proportion.of(sum(k == {"contiguous"} for k in kinds), len(spreaders)),
        "all_three": Proportion.of(
            sum(k >= {"contiguous", "independent", "mirror"} for k in kinds), len(spreaders)
        ),
        "hand_at_onset": Proportion.of(
            sum(any(a.startswith("hand_") for a in c.onset_areas) for c in with_onset), len(with_onset)
        ),
        "symmetric_onset": Proportion.of(
            sum(
                sum(1 for d in c.limb_dates if d == c.onset_date) >= 2
                and len(
                    {
                        lb.split("_")[0]
                        for lb, d in zip(c.limbs, c.limb_dates, strict=True)
                        if d == c.onset_date
                    }
                )
                == 1
                for c in with_onset
            ),
            len(with_onset),
        ),
    }
    if histories is not None:
        known = [h for h in histories if h.sex in (Sex.female, Sex.male)]
        out["female"] = Proportion.of(sum(h.sex == Sex.female for h in known), len(known))
    return out


def involvement_records(histories: Sequence[PatientHistory]) -> dict[str, int]:
    return {h.patient_id: sum(1 for r in h.records if r.kind in INVOLVEMENT_KINDS) for h in histories}
