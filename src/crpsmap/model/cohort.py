"""Virtual patients: injury, demography, susceptibility, later events, clinic visits, and their histories.

Every draw is a pure function of (seed, injury index, stream, counter) (rng.py), so patient k is the same
person in any chunk, in any cohort size, and under control or intervention (common random numbers).
Calendars are anchored at fixed dates, so output never depends on the day it is run.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from crpsmap.atlas import load_atlas
from crpsmap.history import MIN_BIRTH_YEAR, CRPSType, PatientHistory, Provenance, Record, RecordKind, Sex
from crpsmap.model.arrays import PatientInputs, RunOutput, no_priming, no_share
from crpsmap.model.interventions import Intervention, schedule
from crpsmap.model.network import N_SPINAL, node
from crpsmap.model.params import CohortParams
from crpsmap.model.rng import Draw, Draws, Stream

#: no virtual record is dated after this day (the project's "today"); fixed so output is reproducible
LATEST_DATE = dt.date(2026, 11, 25)
ONSET_WINDOW_END = dt.date(2018, 12, 31)
ONSET_WINDOW_DAYS = 7 * 365  # injuries spread over 2012-2018 (earlier when follow-up is long)
EARLIEST_WINDOW_START = dt.date(1960, 1, 1)
MODEL_LABEL = {"source": "model"}  # extra column on every record: this is model output
RECALLED = {"dated": "recall"}  # extra column on records dated by the patient's recall, not at a visit
_NO_DAY = np.iinfo(np.int64).max

# onset sites within a limb (area stem, weight); hand most often (Pendon 2017), then wrist [D]. These
# weights alone set the site: the hand is 1 / 1.95 = 51% of upper-limb onsets. CohortParams.p_hand is NOT
# read: making it act would move the site boundaries of the cumulative table below and so change the site
# of some patients in every default clinic (no longer bit-identical to the calibrated one), and it has no
# lower-limb counterpart. A refit may adopt it (docs/calibration.md).
UPPER_SITES = (("hand", 1.0), ("wrist", 0.5), ("forearm", 0.25), ("elbow", 0.1), ("shoulder", 0.1))
LOWER_SITES = (("foot", 1.0), ("ankle", 0.8), ("lower_leg", 0.25), ("knee", 0.25), ("hip", 0.05))
TRAUMA, SURGERY = 0, 1
EVENT_SLOTS_PER_YEAR = 1.0  # slots reserved per year of follow-up per event process (cap on events)
#: patient-level modifiers (docs/plausibility.md 4.5): age priming rises linearly from AGE_PRIMING_FROM
#: and is full AGE_PRIMING_SPAN years later [D]; prior chronic pain primes these segments on both sides
AGE_PRIMING_FROM = 40.0
AGE_PRIMING_SPAN = 30.0
PRIOR_PAIN_SEGMENTS = ("L4", "L5", "S1")  # low back [D]: the commonest chronic pain site (assumed)
#: width of the interquartile range of a standard normal, 2 * Phi^-1(0.75) (= 1.349)
NORMAL_IQR = float(2.0 * ndtri(0.75))


@dataclass(frozen=True)
class Demography:
    """What the clinic would know about each patient (arrays over patients)."""

    patient: np.ndarray  # injury index
    female: np.ndarray
    birth_year: np.ndarray
    injury_date: np.ndarray  # ordinal (datetime.date.toordinal)
    onset_unit: np.ndarray  # area unit of the inciting injury
    fracture: np.ndarray  # (P,) bool: the inciting injury was a fracture (conversion by injury kind)
    spontaneous: np.ndarray  # no recorded eliciting event
    chronic_infection: np.ndarray
    ev_day: np.ndarray  # (P, E) day of trauma/surgery/acute infection, -1 none
    ev_kind: np.ndarray  # (P, E) 0 trauma, 1 surgery, 2 infection
    ev_unit: np.ndarray  # (P, E) area unit (trauma/surgery) or -1
    visit_day: np.ndarray  # (P, O) observation days (clinic visits and recall days), ascending, -1 none
    is_visit: np.ndarray  # (P, O) True where the observation is a clinic visit
    #: (P,) disease duration at evaluation T_i in years (visits stop at injury + T_i), or None when the
    #: follow-up horizon is fixed (CohortParams.horizon_median_years = 0)
    duration_years: np.ndarray | None = None
    prior_pain: np.ndarray | None = None  # (P,) bool: prior chronic pain (None when the modifier is off)
    crosstalk_group: np.ndarray | None = None  # (P,) bool: in the cross-talk subgroup (None when off)


def window_end(n_days: int) -> dt.date:
    """Last injury date such that every record stays on or before LATEST_DATE."""
    end = min(ONSET_WINDOW_END, LATEST_DATE - dt.timedelta(days=n_days + 1))
    if end - dt.timedelta(days=ONSET_WINDOW_DAYS) < EARLIEST_WINDOW_START:
        raise ValueError(
            f"a follow-up of {n_days} days cannot end by {LATEST_DATE} "
            f"with injuries after {EARLIEST_WINDOW_START}; shorten --years"
        )
    return end


def _site_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative site weights and their area units, for (limb group) x (side)."""
    atlas = load_atlas()
    out = []
    for sites in (UPPER_SITES, LOWER_SITES):
        w = np.array([x for _, x in sites])
        cum = np.cumsum(w / w.sum())
        units = np.array(
            [[atlas.unit_index[f"{stem}_{side}"] for stem, _ in sites] for side in ("right", "left")],
            dtype=np.int64,
        )
        out += [cum, units]
    return out[0], out[1], out[2], out[3]


def _draw_site(u_limb: np.ndarray, u_side: np.ndarray, u_site: np.ndarray, cp: CohortParams) -> np.ndarray:
    cum_up, units_up, cum_lo, units_lo = _site_tables()
    side = (u_side < 0.5).astype(np.int64)  # 0 right, 1 left
    up = u_limb < cp.p_upper
    i_up = np.minimum(np.searchsorted(cum_up, u_site, side="right"), len(cum_up) - 1)
    i_lo = np.minimum(np.searchsorted(cum_lo, u_site, side="right"), len(cum_lo) - 1)
    return np.where(up, units_up[side, i_up], units_lo[side, i_lo])


def _poisson_days(d: Draws, gaps_draw: Draw, rate_per_year: float, slots: int, n_days: int) -> np.ndarray:
    """Event days of a Poisson process (one uniform per slot); -1 beyond the horizon."""
    if rate_per_year <= 0 or slots == 0:
        return np.full((d.keys.shape[0], max(slots, 0)), -1, dtype=np.int64)
    u = d.uniform(gaps_draw, slots)
    gaps = -np.log1p(-u) * 365.25 / rate_per_year
    days = np.ceil(np.cumsum(gaps, axis=1)).astype(np.int64)
    return np.where(days < n_days, days, -1)


def draw_patients(
    seed: int,
    patients: np.ndarray,
    cp: CohortParams,
    n_days: int,
    steps_per_day: int,
    interventions: tuple[Intervention, ...] = (),
    *,
    visits: bool = True,
) -> tuple[PatientInputs, Demography]:
    """Inputs of the dynamics and the clinic's view for the injuries `patients` (any order, any subset).

    With visits=False the only observation is the first clinic visit (is this injury CRPS?).
    """
    patients = np.asarray(patients, dtype=np.int64)
    n = patients.shape[0]
    d = Draws(seed, patients, Stream.DEMOGRAPHY)
    female = d.uniform(Draw.FEMALE) < cp.p_female
    age = np.clip(cp.age_mean + cp.age_sd * d.normal(Draw.AGE), 18.0, 90.0)
    onset_unit = _draw_site(
        d.uniform(Draw.ONSET_LIMB), d.uniform(Draw.ONSET_SIDE), d.uniform(Draw.ONSET_SITE), cp
    )
    fracture = injury_is_fracture(seed, patients, cp)
    spontaneous = d.uniform(Draw.SPONTANEOUS) < cp.p_spontaneous
    severity = np.exp(cp.drive_sd * d.normal(Draw.SEVERITY))
    amp = np.where(fracture, cp.drive_fracture, cp.drive_other) * severity
    gain = np.exp(cp.gain_mu + cp.gain_sd * d.normal(Draw.GAIN))
    v0 = np.clip(cp.v0_mean * np.exp(cp.v0_sd * d.normal(Draw.VAGAL_TONE) - 0.5 * cp.v0_sd**2), 0.05, 1.0)
    chronic = d.uniform(Draw.CHRONIC_INFECTION) < cp.p_chronic_infection
    infection = np.where(chronic, cp.infection_level * np.exp(0.3 * d.normal(Draw.INFECTION_LEVEL)), 0.0)
    end = window_end(n_days)
    start = end - dt.timedelta(days=ONSET_WINDOW_DAYS)
    injury = start.toordinal() + np.floor(d.uniform(Draw.INJURY_DATE) * ONSET_WINDOW_DAYS).astype(np.int64)
    injury_year = np.array([dt.date.fromordinal(int(x)).year for x in injury], dtype=np.int64)
    birth_year = np.maximum(injury_year - np.floor(age).astype(np.int64), MIN_BIRTH_YEAR)

    # later events: traumas and surgeries (one process, kind drawn), acute infections
    e = Draws(seed, patients, Stream.EVENTS)
    years = n_days / 365.25
    slots = int(math.ceil(EVENT_SLOTS_PER_YEAR * years)) + 2
    rate_ts = cp.trauma_rate + cp.surgery_rate
    ts_day = _poisson_days(e, Draw.TRAUMA_GAPS, rate_ts, slots, n_days)
    is_surgery = e.uniform(Draw.IS_SURGERY, slots) < (cp.surgery_rate / rate_ts if rate_ts > 0 else 0.0)
    random_site = _draw_site(
        e.uniform(Draw.EVENT_LIMB, slots).ravel(),
        e.uniform(Draw.EVENT_SIDE, slots).ravel(),
        e.uniform(Draw.EVENT_SITE, slots).ravel(),
        cp,
    ).reshape(n, slots)
    # half of the surgeries are on the CRPS limb: the inciting area itself [D]
    on_limb = is_surgery & (e.uniform(Draw.SURGERY_ON_LIMB, slots) < 0.5)
    ts_unit = np.where(on_limb, onset_unit[:, None], random_site)
    ts_amp = cp.drive_other * np.exp(cp.drive_sd * e.normal(Draw.EVENT_SEVERITY, slots))
    # a new injury of a patient with CRPS drives harder (params.py; 1 = off: x 1.0 is exact)
    ts_amp = ts_amp * np.where(ts_day > cp.screen_day, cp.drive_after_crps, 1.0)
    inf_slots = int(math.ceil(cp.acute_infection_rate * years * 2)) + 2
    inf_day = _poisson_days(e, Draw.INFECTION_GAPS, cp.acute_infection_rate, inf_slots, n_days)
    inf_amp = cp.acute_infection_level * np.exp(0.3 * e.normal(Draw.INFECTION_SEVERITY, inf_slots))

    ev_day = np.concatenate([np.zeros((n, 1), dtype=np.int64), ts_day, inf_day], axis=1)
    ev_kind = np.concatenate(
        [np.zeros((n, 1), dtype=np.int64), np.where(is_surgery, SURGERY, TRAUMA), np.full((n, inf_slots), 2)],
        axis=1,
    )
    ev_unit = np.concatenate([onset_unit[:, None], ts_unit, np.full((n, inf_slots), -1)], axis=1)
    ev_amp = np.concatenate([amp[:, None], ts_amp, inf_amp], axis=1)
    order = np.argsort(np.where(ev_day >= 0, ev_day, np.iinfo(np.int64).max), axis=1, kind="stable")
    ev_day, ev_kind, ev_unit, ev_amp = (
        np.take_along_axis(x, order, axis=1) for x in (ev_day, ev_kind, ev_unit, ev_amp)
    )
    ev_step = np.where(ev_day >= 0, ev_day * steps_per_day, -1)

    rho0, prior_pain = initial_priming(age, d.uniform(Draw.PRIOR_PAIN), cp)
    group = crosstalk_group(d.uniform(Draw.CROSSTALK_GROUP), cp)
    visit_day = clinic_visits(seed, patients, cp, n_days)
    if not visits:  # screening: only the first (diagnostic) visit, whatever the horizon
        visit_day = np.ascontiguousarray(first_visit(seed, patients, cp)[:, None])
    enrol = np.where(visit_day[:, 0] > 0, visit_day[:, 0], int(cp.screen_day))
    is_visit = visit_day >= 0
    if visits:
        visit_day, is_visit = with_recall_days(visit_day, cp.recall_days, n_days)
    iv_start, iv_stop = schedule(interventions, enrol, steps_per_day)
    inputs = PatientInputs(
        patient=patients,
        gain=gain,
        v0=v0,
        infection=infection,
        ev_step=np.ascontiguousarray(ev_step),
        ev_unit=np.ascontiguousarray(ev_unit),
        ev_amp=np.ascontiguousarray(ev_amp),
        iv_start=iv_start,
        iv_stop=iv_stop,
        visit_day=visit_day,
        rho0=rho0,
        phi=np.where(female, cp.phi_female, 0.0) if cp.phi_female > 0.0 else no_share(),
        crosstalk_group=group.astype(np.float64) if group is not None else no_share(),
    )
    demo = Demography(
        patient=patients,
        female=female,
        birth_year=birth_year,
        injury_date=injury,
        onset_unit=onset_unit,
        fracture=fracture,
        spontaneous=spontaneous,
        chronic_infection=chronic,
        ev_day=ev_day,
        ev_kind=ev_kind,
        ev_unit=ev_unit,
        visit_day=visit_day,
        is_visit=is_visit,
        duration_years=disease_durations(seed, patients, cp, n_days),
        prior_pain=prior_pain,
        crosstalk_group=group,
    )
    return inputs, demo


def crosstalk_group(u: np.ndarray, cp: CohortParams) -> np.ndarray | None:
    """Who belongs to the cross-talk subgroup (a share p_crosstalk_group, drawn from its own uniform u),
    or None when the subgroup is off: a subgroup whose limbs may come together, the rest one at a time."""
    return u < cp.p_crosstalk_group if cp.p_crosstalk_group > 0.0 else None


def injury_is_fracture(seed: int, patients: np.ndarray, cp: CohortParams) -> np.ndarray:
    """Was each inciting injury a fracture (else a sprain, contusion or other)? One uniform of its own
    counter (Draw.FRACTURE), so the flag can be read for every injury screened without drawing anything
    else: conversion among fractures is compared with fracture cohorts (calibrate/conversion.py)."""
    d = Draws(seed, np.asarray(patients, dtype=np.int64), Stream.DEMOGRAPHY)
    return np.asarray(d.uniform(Draw.FRACTURE) < cp.p_fracture)


def initial_priming(
    age: np.ndarray, u_prior: np.ndarray, cp: CohortParams
) -> tuple[np.ndarray, np.ndarray | None]:
    """Initial priming rho(0) per spinal node from the patient-level modifiers, and who has prior pain.

    Age: rho_age * clip((age - 40) / 30, 0, 1) on every spinal node (older microglia respond more); prior
    chronic pain (a share p_prior_pain, drawn from u_prior): + rho_prior on L4-S1 of both sides (two-hit
    priming); capped at 1. With both modifiers off the empty array is returned, so today's model runs
    bit for bit (docs/plausibility.md 4.5).
    """
    prior_on = cp.p_prior_pain > 0.0 and cp.rho_prior > 0.0
    if cp.rho_age <= 0.0 and not prior_on:
        return no_priming(), None
    n = age.shape[0]
    rho0 = np.zeros((n, N_SPINAL))
    rho0 += (cp.rho_age * np.clip((age - AGE_PRIMING_FROM) / AGE_PRIMING_SPAN, 0.0, 1.0))[:, None]
    prior = u_prior < cp.p_prior_pain
    if prior_on:
        rho0[:, prior_pain_nodes()] += np.where(prior, cp.rho_prior, 0.0)[:, None]
    return np.ascontiguousarray(np.minimum(rho0, 1.0)), prior


def prior_pain_nodes() -> np.ndarray:
    """Spinal nodes primed by prior chronic pain: PRIOR_PAIN_SEGMENTS on both sides."""
    segs = load_atlas().spinal_segments
    return np.array(
        [node(side, segs.index(s)) for side in (0, 1) for s in PRIOR_PAIN_SEGMENTS], dtype=np.int64
    )


def duration_distribution(cp: CohortParams) -> tuple[float, float] | None:
    """(log median, sigma) of the log-normal disease duration (years), or None when the horizon is fixed.

    sigma = |log q3 - log q1| / 1.349 (the quartiles of a normal lie +-0.674 sigma from its median): the
    quartiles set the spread, the median its own centre, so every combination inside the documented
    ranges is valid (a sensitivity analysis may vary them independently). A quartile of 0 means no spread
    (every T_i equals the median). Raises ValueError for a negative value.
    """
    m, q1, q3 = cp.horizon_median_years, cp.horizon_q1_years, cp.horizon_q3_years
    if min(m, q1, q3) < 0.0:
        raise ValueError(f"disease-duration quartiles must not be negative, got {q1}, {m}, {q3}")
    if m <= 0.0:
        return None
    if q1 <= 0.0 or q3 <= 0.0:
        return math.log(m), 0.0
    return math.log(m), abs(math.log(q3) - math.log(q1)) / NORMAL_IQR


def disease_durations(seed: int, patients: np.ndarray, cp: CohortParams, n_days: int) -> np.ndarray | None:
    """Each patient's disease duration at evaluation T_i (years), or None when the horizon is fixed.

    T_i ~ LogNormal(log median, sigma) truncated above at min(horizon_max_years, n_days / 365.25), drawn
    by inversion from one uniform of its own stream (Draw.DISEASE_DURATION), so no other draw moves.
    """
    dist = duration_distribution(cp)
    if dist is None:
        return None
    mu, sigma = dist
    t_max = min(cp.horizon_max_years, n_days / 365.25)
    patients = np.asarray(patients, dtype=np.int64)
    if sigma == 0.0:
        return np.full(patients.shape[0], min(math.exp(mu), t_max))
    u = Draws(seed, patients, Stream.HORIZON).uniform(Draw.DISEASE_DURATION)
    f_max = float(ndtr((math.log(t_max) - mu) / sigma))
    p = np.maximum(u, 2.0**-54) * f_max
    return np.asarray(np.exp(mu + sigma * ndtri(p)), dtype=np.float64)


def first_visit(seed: int, patients: np.ndarray, cp: CohortParams) -> np.ndarray:
    """Day of the diagnostic first visit: screen_day (beyond normal healing) plus a referral delay."""
    d = Draws(seed, np.asarray(patients, dtype=np.int64), Stream.VISITS)
    delay = np.floor(d.uniform(Draw.REFERRAL_DELAY) * (cp.first_visit_delay + 1))
    return (cp.screen_day + delay).astype(np.int64)


def clinic_visits(seed: int, patients: np.ndarray, cp: CohortParams, n_days: int) -> np.ndarray:
    """Visit days: referral after screening, quarterly in year one, then half-yearly, jitter, drop-out,
    and none after the patient's disease duration T_i when the follow-up horizon is drawn (4.4)."""
    d = Draws(seed, patients, Stream.VISITS)
    n = patients.shape[0]
    first = first_visit(seed, patients, cp)
    n1 = int(365 // cp.visit_interval_1)
    nominal = [k * cp.visit_interval_1 for k in range(n1 + 1)]
    t = nominal[-1]
    while t < n_days:
        t += cp.visit_interval_2
        nominal.append(t)
    nom = np.array(nominal)
    jitter = np.rint((d.uniform(Draw.VISIT_JITTER, len(nom)) * 2.0 - 1.0) * cp.visit_jitter)
    jitter[:, 0] = 0.0
    days = (first[:, None] + nom[None, :] + jitter).astype(np.int64)
    stay = d.uniform(Draw.DROPOUT, len(nom)) >= cp.dropout_per_visit
    stay[:, 0] = True
    # a patient who leaves after visit k has no visit k+1 onwards
    alive = np.cumprod(np.concatenate([np.ones((n, 1), dtype=bool), stay[:, :-1]], axis=1), axis=1).astype(
        bool
    )
    ok = alive & (days <= n_days) & (days >= 1)
    durations = disease_durations(seed, patients, cp, n_days)
    if durations is not None:
        # evaluated after T_i years of disease: no visit later (the diagnostic first visit always counts)
        limit = np.maximum(first, np.floor(durations * 365.25).astype(np.int64))
        ok &= days <= limit[:, None]
    return np.where(ok, days, -1)


def with_recall_days(visit_day: np.ndarray, recall_days: float, n_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Clinic visits plus the days a patient's recalled limb onsets resolve to (every recall_days).

    At a visit the clinician asks since when a newly involved limb has been affected; the model answers
    with the first of these days on which the limb was involved. Returns (days, is_visit), ascending per
    patient, -1 padded at the end; no recall day after the last visit or on a visit day.
    """
    n = visit_day.shape[0]
    step = int(round(recall_days))
    if step <= 0 or n == 0:
        return visit_day, visit_day >= 0
    grid = np.arange(step, n_days + 1, step, dtype=np.int64)
    last = visit_day.max(axis=1)
    probes = np.broadcast_to(grid, (n, grid.size))
    on_visit = (probes[:, :, None] == visit_day[:, None, :]).any(axis=2)
    probes = np.where((probes < last[:, None]) & ~on_visit, probes, -1)
    days = np.concatenate([visit_day, probes], axis=1)
    flag = np.concatenate([visit_day >= 0, np.zeros(probes.shape, dtype=bool)], axis=1)
    order = np.argsort(np.where(days >= 0, days, _NO_DAY), axis=1, kind="stable")
    return (
        np.ascontiguousarray(np.take_along_axis(days, order, axis=1)),
        np.ascontiguousarray(np.take_along_axis(flag, order, axis=1)),
    )


def recalled_limb_onsets(
    probes: list[tuple[int, int]], before: int, now: int, limbs: tuple[int, ...]
) -> list[tuple[int, int, int]]:
    """What a patient's recall says at a visit: for each limb involved now (mask `now`) but not at the
    previous visit (`before`), its areas on the first recall day (of `probes`, (day, mask) since that
    visit) on which it was involved. Returns (limb index, day, area mask) in limb order."""
    out = []
    for i, limb in enumerate(limbs):
        if not now & limb or before & limb:
            continue
        for day, mask in probes:
            if mask & limb:
                out.append((i, day, mask & limb))
                break
    return out


def merge_by_day(dated: Iterable[tuple[int, int]]) -> dict[int, int]:
    """{day: union of the area masks dated that day}."""
    out: dict[int, int] = {}
    for day, mask in dated:
        out[day] = out.get(day, 0) | mask
    return out


def misdated(day: int, z: float, sd_days: float, after: int, before: int) -> int:
    """A recalled date off by a normal error of SD `sd_days` (`z` standard), rounded to a day and kept
    strictly between the previous visit (`after`; the injury, day 0, before the first visit) and the visit
    that asks (`before`): the clinic saw the limb uninvolved at the one and involved at the other, so
    recall can misplace an onset only between them, and can order two limbs of one interval wrongly."""
    return int(min(max(round(day + sd_days * z), after + 1), before - 1))


def is_recalled(r: Record) -> bool:
    """Was this record dated by the patient's recall (not observed at a visit)?"""
    return all(r.extra.get(k) == v for k, v in RECALLED.items())


def _record(ordinal: int, kind: RecordKind, regions: tuple[str, ...], values: dict[str, object]) -> Record:
    """A record built without re-validation: every field is produced here in canonical form."""
    return Record.trusted(
        dt.date.fromordinal(ordinal),
        kind,
        regions,
        hrv_rmssd=values.get("hrv_rmssd"),
        treatment=values.get("treatment"),
        extra={**MODEL_LABEL, **RECALLED} if values.get("recalled") else dict(MODEL_LABEL),
    )


def _unit_slugs(mask: int, slugs: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(slugs[u] for u in range(len(slugs)) if (mask >> u) & 1)


def histories(
    seed: int,
    demo: Demography,
    out: RunOutput,
    cp: CohortParams,
    interventions: tuple[Intervention, ...] = (),
    rows: np.ndarray | None = None,
) -> list[PatientHistory]:
    """The clinic's records of each patient (rows of demo/out; all by default)."""
    atlas = load_atlas()
    slugs = atlas.unit_slugs
    rows = np.arange(demo.patient.shape[0]) if rows is None else rows
    obs = Draws(seed, demo.patient[rows], Stream.OBSERVE)
    limbs = tuple(atlas.limb_unit_mask.values())
    nv = int(demo.is_visit.sum(axis=1).max()) if len(rows) else 0
    z = obs.normal(Draw.HRV_NOISE, nv)
    # recall error: one standard normal per (clinic visit, limb), drawn only when it is on
    n_limbs = len(limbs)
    misdate = cp.recall_error_days > 0 and cp.recall_days > 0
    recall_z = obs.normal(Draw.RECALL_ERROR, nv * n_limbs) if misdate and nv else None
    result: list[PatientHistory] = []
    for k, r in enumerate(rows):
        inj = int(demo.injury_date[r])
        observed = [(int(x), j) for j, x in enumerate(demo.visit_day[r]) if x >= 0]
        visits = [day for day, j in observed if demo.is_visit[r, j]]
        if not visits:
            continue
        last = visits[-1]
        recs: list[Record] = []

        def rec(day: int, kind: RecordKind, regions: tuple[str, ...] = (), **values: object) -> None:
            recs.append(_record(inj + day, kind, regions, values))  # noqa: B023 - used within the iteration

        for day, kind, unit in zip(demo.ev_day[r], demo.ev_kind[r], demo.ev_unit[r], strict=True):
            if day < 0 or day > last:
                continue
            if kind == 2:
                rec(int(day), RecordKind.infection)
            elif day == 0:
                if not demo.spontaneous[r]:
                    rec(0, RecordKind.trauma, (slugs[int(unit)],))
            else:
                rec(
                    int(day),
                    RecordKind.surgery if kind == SURGERY else RecordKind.trauma,
                    (slugs[int(unit)],),
                )
        if demo.chronic_infection[r]:
            rec(visits[0], RecordKind.infection)
        # involvement: (day, area mask, RMSSD at a visit or None for a recalled date)
        seen: list[tuple[int, int, float | None]] = []
        probes: list[tuple[int, int]] = []
        before = 0
        nvis = 0
        previous = 0  # day of the previous clinic visit (the injury before the first)
        for day, j in observed:
            mask = int(out.visit_mask[r, j])
            if not demo.is_visit[r, j]:
                probes.append((day, mask))
                continue
            recalled = recalled_limb_onsets(probes, before, mask, limbs)
            if recall_z is not None:
                row = recall_z[k, nvis * n_limbs :]
                recalled = [
                    (i, misdated(d, float(row[i]), cp.recall_error_days, previous, day), m)
                    for i, d, m in recalled
                ]
            for pday, pmask in sorted(merge_by_day((d, m) for _, d, m in recalled).items()):
                seen.append((pday, pmask, None))
            probes, before, previous = [], mask, day
            rmssd = (
                cp.rmssd_ref
                * (out.visit_v[r, j] / cp.v0_mean)
                * math.exp(cp.rmssd_noise * z[k, nvis] - 0.5 * cp.rmssd_noise**2)
            )
            nvis += 1
            seen.append((day, mask, round(float(min(max(rmssd, 1.0), 500.0)), 1)))
        onset_done = False
        for day, mask, hrv in seen:
            regions = _unit_slugs(mask, slugs)
            kind = RecordKind.assessment
            if regions and not onset_done:
                kind, onset_done = RecordKind.onset, True
            if hrv is None:
                rec(day, kind, regions, recalled=True)
            else:
                rec(day, kind, regions, hrv_rmssd=hrv)
        enrol = visits[0]
        for iv in interventions:
            base = enrol if iv.anchor == "enrolment" else 0
            if 0 <= base + iv.start_day <= last:
                rec(base + iv.start_day, RecordKind.treatment_start, treatment=iv.name)
                if iv.stop_day is not None and base + iv.stop_day <= last:
                    rec(base + iv.stop_day, RecordKind.treatment_end, treatment=iv.name)
        order = sorted(range(len(recs)), key=lambda i: (recs[i].date, _KIND_ORDER[recs[i].kind], i))
        result.append(
            PatientHistory.model_construct(
                patient_id=f"V{int(demo.patient[r]) + 1:06d}",
                sex=Sex.female if demo.female[r] else Sex.male,
                birth_year=int(demo.birth_year[r]),
                crps_type=CRPSType.I,
                provenance=Provenance.model,
                records=tuple(recs[i] for i in order),
            )
        )
    return result


_KIND_ORDER = {
    RecordKind.trauma: 0,
    RecordKind.surgery: 1,
    RecordKind.infection: 2,
    RecordKind.onset: 3,
    RecordKind.assessment: 4,
    RecordKind.treatment_start: 5,
    RecordKind.treatment_end: 6,
}
