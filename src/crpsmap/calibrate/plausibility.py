"""Are the virtual patients plausible? Clinic-level properties that the calibration does not fit.

The calibration (calibrate/fit.py) matches four van Rijn 2011 figures. A model can match them with
implausible patients: spread that is all-or-nothing, an onset covering the whole limb, the cranium and the
viscera involved in a third of a clinic, or too many injuries turning into CRPS. This module measures such
properties on any list of `PatientHistory` (a virtual clinic or a clinic's own registry file, judged by
the same classifier) and sets each beside the literature range it should be compared to (`references()`,
one table; a row without a usable source says so and is labelled "assumed" or "none").

Every figure computed from simulated histories is model output; nothing here is treatment advice.
docs/plausibility.md gives the sources and the design of the model changes these checks are for.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import numpy as np

from crpsmap.atlas import LIMBS, load_atlas
from crpsmap.calibrate.distance import PLAUSIBLE_CONVERSION, inside_intervals, simulated_shares
from crpsmap.calibrate.targets import PATTERNS, summary_statistics, van_rijn_2011
from crpsmap.history import INVOLVEMENT_KINDS, TRAUMA_KINDS, PatientHistory, Provenance
from crpsmap.model import Sim
from crpsmap.model.cohort import is_recalled
from crpsmap.outputs import atomic_write_text
from crpsmap.spread import Classification, classify, limb_relation
from crpsmap.stats.literature import load_targets
from crpsmap.stats.proportions import Proportion, wilson_interval
from crpsmap.stats.survival import km_estimate

DAYS_PER_YEAR = 365.25
#: follow-up horizons (years of disease since onset) at which the multi-limb share is read
HORIZON_YEARS = (1, 2, 3, 4, 5)
#: limb-count states whose stability is measured (how long a patient stays with exactly k limbs)
STATES = (1, 2, 3)
#: times (years after entering a state) at which the share still in it is read
STAY_YEARS = (1.0, 2.0)
#: atlas body group of the head, face and neck areas ("cranial" in this module)
CRANIAL_GROUP = "head_neck"
#: areas innervated by the trigeminal nerve (face) or at the top of the head: "cranium/face"
TRIGEMINAL_STEMS = ("cranium", "face")
#: the most proximal area of each limb group: an onset that includes it covers the whole limb's length
PROXIMAL_STEM = {"upper": "shoulder", "lower": "hip"}
#: the distal areas where CRPS usually starts (hand/wrist, foot/ankle)
DISTAL_STEMS = ("hand", "wrist", "foot", "ankle")

Kind = Literal["sourced", "assumed", "none"]


@dataclass(frozen=True)
class Reference:
    """What a figure should be compared to: a range with its source, or why there is none.

    kind: "sourced" (range from the cited figures), "assumed" (a design target with no measured value,
    stated as such), "none" (no source found; the figure is reported, not judged).
    """

    key: str
    label: str
    low: float | None
    high: float | None
    kind: Kind
    source: str
    note: str = ""

    @property
    def bounds(self) -> tuple[float, float]:
        """(low, high), a missing end being unbounded."""
        return (-math.inf if self.low is None else self.low, math.inf if self.high is None else self.high)

    def judge(self, value: float | None) -> bool | None:
        """Inside the range? None when there is no range or no value."""
        if value is None or (self.low is None and self.high is None) or self.kind == "none":
            return None
        lo, hi = self.bounds
        return lo <= value <= hi


def _source(target_id: str) -> str:
    """The citation of a figure in stats/literature-targets.json (its one home)."""
    return str(load_targets()[target_id]["source"])


def _published(target_id: str) -> tuple[float, float, str]:
    """Wilson 95% interval and source of a count in stats/literature-targets.json (its one home)."""
    t = load_targets()[target_id]
    ci = wilson_interval(int(t["numerator"]), int(t["denominator"]))
    assert ci is not None
    return ci[0], ci[1], f"{t['source']}: {t['numerator']}/{t['denominator']} (Wilson 95% interval)"


@cache
def references() -> tuple[Reference, ...]:
    """The one table of literature ranges (docs/plausibility.md discusses each row)."""
    ml_low, ml_high, ml_source = _published("vanrijn2011_multilimb_fraction")
    hand_low, hand_high, hand_source = _published("pendon2017_hand_site")
    return (
        Reference(
            "conversion",
            "injuries that become CRPS",
            *PLAUSIBLE_CONVERSION,  # the fit's band is this sourced range (calibrate/distance.py)
            "sourced",
            "Moseley GL et al. J Pain 2014;15(1):16-23, doi:10.1016/j.jpain.2013.08.009: 3.8% "
            "(95% CI 2.9-4.8) of 1,549 wrist fractures within 4 months; Beerthuizen A et al. Pain "
            "2012;153(6):1187-1192, doi:10.1016/j.pain.2012.01.026: 42/596 (7.0%) single fractures by "
            "Harden-Bruehl criteria; Dijkstra PU et al. Eur J Pain 2003;7(5):457-462, "
            "doi:10.1016/S1090-3801(03)00015-6: 1% (0.2-6) of 88 distal radius fractures",
            "fractures, strict criteria; looser criteria give 21% (Veldman) and 48.5% (IASP 1994) in the "
            "same 596 patients (Beerthuizen 2012) and 32% (29/90) in Jellad A et al. Arch Phys Med Rehabil "
            "2014;95(3):487-492. The model's injuries include sprains, so its rate should not exceed the "
            "fracture rate",
        ),
        Reference(
            "multi_limb",
            "patients with CRPS in more than one limb (end of follow-up)",
            ml_low,
            ml_high,
            "sourced",
            ml_source,
            "tertiary referral cohort; consecutive patients of a surgical department: 78/1183 (6.6%) "
            "recurred in another limb (" + _source("veldman_goris_other_limb_recurrence") + ")",
        ),
        Reference(
            "four_limbs",
            "patients with all four limbs involved (end of follow-up)",
            None,
            None,
            "none",
            "no source found for the 1/2/3/4-limb split",
            "a secondary figure of ~35% 'symptoms throughout the body' is quoted without a primary source "
            "(docs/mechanism.md: weak); Schwartzman RJ et al. Clin J Pain 2009;25(4):273-280 "
            "(doi:10.1097/AJP.0b013e31818ecea5) recorded the pattern of spread, figures not read",
        ),
        Reference(
            "stay_2_1y",
            "patients with two limbs who still have two one year after the second (Kaplan-Meier)",
            None,
            None,
            "none",
            "no source found",
            "van Rijn 2011: the hazard of spread increased with the number of limbs affected (qualitative): "
            "second and third limbs are less stable than the first, but by how much is not published",
        ),
        Reference(
            "stay_3_1y",
            "patients with three limbs who still have three one year after the third (Kaplan-Meier)",
            None,
            None,
            "none",
            "no source found",
            "as for two limbs",
        ),
        Reference(
            "onset_includes_hand",
            "onsets that include a hand",
            hand_low,
            hand_high,
            "sourced",
            hand_source,
            "site affected, not strictly the onset region",
        ),
        Reference(
            "arm_onset_shoulder",
            "upper-limb onsets that include the shoulder",
            0.0,
            0.25,
            "assumed",
            "no source found for a share; the IASP/Budapest description says signs usually have a distal "
            "predominance (Harden RN et al. Pain 2010;150:268-274)",
            "assumed design target: an onset starts distally, where most injuries are, and grows",
        ),
        Reference(
            "onset_includes_injury",
            "onsets that include the injured area (patients with a recorded injury)",
            0.9,
            1.0,
            "assumed",
            "no source found for a share; CRPS follows an initiating event in the affected limb by "
            "definition (IASP 1994; Harden 2010)",
            "assumed design target",
        ),
        Reference(
            "cranium_or_face",
            "patients with the cranium or face involved (end of follow-up)",
            0.0,
            0.05,
            "assumed",
            "no prevalence found; facial/orofacial CRPS is reported as case reports only (about 14 cases "
            "in five decades: BrJP 2018;1(4):372, orofacial CRPS case report) and 'truncal or facial CRPS "
            "is very rare' (BMJ Best Practice, CRPS)",
            "assumed upper bound for a rare presentation",
        ),
        Reference(
            "cranial_any",
            "patients with any head, face or neck area involved (end of follow-up)",
            None,
            None,
            "none",
            "no source found",
            "neck and back of head (C2-C4 dermatomes) are not separately reported in CRPS cohorts",
        ),
        Reference(
            "visceral",
            "patients with an internal organ system involved (end of follow-up)",
            None,
            None,
            "none",
            "no prevalence found",
            "Schwartzman RJ. Neurosci Med 2012;3:225-242 (doi:10.4236/nm.2012.33027) reviews systemic "
            "complications without a prevalence; Chancellor MB et al. J Urol 1996;155:634-637: 20 "
            "consecutive RSD patients referred for voiding symptoms (a case series, not a rate)",
        ),
        Reference(
            "multi_limb_by_horizon",
            "multi-limb share after h years of disease",
            None,
            None,
            "none",
            "van Rijn 2011 disease durations (its Table 1) not read: no text reachable here",
            "the multi-limb share must be read at van Rijn's disease durations, not at a fixed horizon; "
            "related: recurrence 1.8% per patient-year ("
            + _source("veldman_goris_recurrence_rate_per_patient_year")
            + "); 16% still progressive at mean 5.8 "
            "years (de Mos M et al. Clin J Pain 2009;25:590, doi:10.1097/AJP.0b013e3181a11623)",
        ),
    )


def reference(key: str) -> Reference:
    """The row of `references()` for one figure."""
    return next(r for r in references() if r.key == key)


#: figures whose range the calibration's objective holds already (van Rijn's multi-limb interval, the
#: conversion band): a fit cannot add them again as plausibility ranges
IN_THE_OBJECTIVE = ("conversion", "multi_limb")


def objective_range(key: str) -> Reference:
    """The row of `references()` a fit may add to its objective (`ranged_figures`): one with a range that
    the objective does not hold already; ValueError naming the choices otherwise."""
    choices = [r.key for r in references() if r.kind != "none" and r.key not in IN_THE_OBJECTIVE]
    if key not in choices:
        raise ValueError(f"{key!r} has no literature range a fit can add (choices: {', '.join(choices)})")
    return reference(key)


def ranged_figures(histories: Sequence[PatientHistory], keys: Sequence[str]) -> dict[str, list[float | None]]:
    """[value, low, high] of each figure `keys` names, for `distance.ranges_penalty`: a fit that asks for
    it is held to the literature (or assumed, and then labelled so) range of those figures too."""
    head = headline(measure(histories)) if keys else {}
    out: dict[str, list[float | None]] = {}
    for key in keys:
        out[key] = [head[key], *objective_range(key).bounds]
    return out


# ------------------------------------------------------------------------------------------ helpers
def _stem(slug: str) -> str:
    """Area slug without its side ("hand_right" -> "hand")."""
    for side in ("_right", "_left"):
        if slug.endswith(side):
            return slug[: -len(side)]
    return slug


def _days(a: dt.date, b: dt.date) -> int:
    return (b - a).days


def current_regions(history: PatientHistory) -> frozenset[str]:
    """Regions involved at the last observation: the last involvement record that was observed (not a
    date a patient recalled, which names only the newly involved limb)."""
    for r in reversed(history.records):
        if r.kind in INVOLVEMENT_KINDS and not is_recalled(r):
            return frozenset(r.regions)
    return frozenset()


def ever_regions(history: PatientHistory) -> frozenset[str]:
    """Regions involved at any time up to the end of follow-up."""
    out: set[str] = set()
    for r in history.records:
        if r.kind in INVOLVEMENT_KINDS:
            out.update(r.regions)
    return frozenset(out)


def _limb_of() -> dict[str, str]:
    return {a.slug: a.limb for a in load_atlas().areas if a.limb is not None}


def limbs_of(regions: frozenset[str]) -> frozenset[str]:
    """The limbs (atlas.LIMBS) that the given area slugs belong to."""
    limb_of = _limb_of()
    return frozenset(limb_of[s] for s in regions if s in limb_of)


# ------------------------------------------------------------------------------------------ metrics
def limb_count_distribution(classes: Sequence[Classification]) -> dict[int, int]:
    """Patients by number of limbs ever involved by the end of follow-up (0-4): the all-or-nothing check."""
    counts = Counter(len(c.limbs) for c in classes)
    return {k: counts.get(k, 0) for k in range(len(LIMBS) + 1)}


def current_limb_count_distribution(histories: Sequence[PatientHistory]) -> dict[int, int]:
    """Patients by number of limbs involved at the last observation (limbs can stop being involved)."""
    counts = Counter(len(limbs_of(current_regions(h))) for h in histories)
    return {k: counts.get(k, 0) for k in range(len(LIMBS) + 1)}


def limb_counts_at(
    classes: Sequence[Classification], years: Sequence[float] = HORIZON_YEARS
) -> dict[str, Any]:
    """Limb-count distribution h years after onset, among patients still followed at h: how the split
    of 1/2/3/4 limbs moves over time (if 2 and 3 are passing states, they empty into 4)."""
    out: dict[str, Any] = {}
    for h in years:
        cut = dt.timedelta(days=h * DAYS_PER_YEAR)
        counts: Counter[int] = Counter()
        for c in classes:
            if c.onset_date is None or c.last_date is None or c.last_date < c.onset_date + cut:
                continue
            counts[sum(1 for d in c.limb_dates if d <= c.onset_date + cut)] += 1
        out[f"{h:g}"] = {k: counts.get(k, 0) for k in range(len(LIMBS) + 1)}
    return out


@dataclass(frozen=True)
class StateStay:
    """How long patients stay with exactly k limbs: entered, passed through on one date, moved on, and the
    Kaplan-Meier share still in the state at given times after entering it (censored at last follow-up)."""

    limbs: int
    entered: int  # patients who had exactly k limbs for at least one day
    skipped: int  # reached k and k+1 limbs on the same date
    moved_on: int  # of those entered, reached k+1 limbs before the end of follow-up
    stay: dict[str, float | None]  # "1" -> KM share still with k limbs 1 year after entering
    median_days: float | None  # KM median time in the state (None if not reached)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def state_stays(
    classes: Sequence[Classification], states: Sequence[int] = STATES, at_years: Sequence[float] = STAY_YEARS
) -> dict[int, StateStay]:
    """Stability of each limb-count state: time from the date a patient reached k limbs to the date of the
    (k+1)-th limb (event) or to the last record (censored)."""
    out: dict[int, StateStay] = {}
    for k in states:
        durations: list[float] = []
        events: list[bool] = []
        skipped = 0
        for c in classes:
            if len(c.limb_dates) < k or c.last_date is None:
                continue
            start = c.limb_dates[k - 1]
            if len(c.limb_dates) > k:
                nxt = c.limb_dates[k]
                if nxt == start:
                    skipped += 1
                    continue
                durations.append(_days(start, nxt))
                events.append(True)
            else:
                durations.append(max(_days(start, c.last_date), 0))
                events.append(False)
        stay: dict[str, float | None] = {f"{t:g}": None for t in at_years}
        median: float | None = None
        if durations:
            times, surv, _, _ = km_estimate(np.asarray(durations, dtype=float), np.asarray(events))
            for t in at_years:
                day = t * DAYS_PER_YEAR
                # the curve is known up to the longest time observed, and beyond it once it reached 0
                if max(durations) >= day or surv[-1] == 0:
                    stay[f"{t:g}"] = float(surv[np.searchsorted(times, day, side="right") - 1])
            below = np.nonzero(surv <= 0.5)[0]
            median = float(times[below[0]]) if below.size else None
        out[k] = StateStay(k, len(durations), skipped, int(sum(events)), stay, median)
    return out


@dataclass(frozen=True)
class OnsetExtent:
    """Where and how large the onset is (areas recorded on or before the onset date)."""

    onsets: int
    areas_mean: float | None
    areas_distribution: dict[int, int]
    area_share: dict[str, float]  # area stem (both sides) -> share of onsets that include it
    arm_onsets: int
    arm_with_shoulder: int
    leg_onsets: int
    leg_with_hip: int
    whole_limb: int  # onsets that include every area of some limb
    distal_only: int  # onsets of limb areas that are all distal (hand, wrist, foot, ankle)
    with_injury: int  # onsets with a recorded injury area (trauma/surgery on or before the onset date)
    include_injury: int  # ... whose onset includes that area
    second_injury: int  # ... with a further injury of another area before the onset
    include_latest_injury: int  # ... whose onset includes the area of the latest injury before it
    more_than_one_limb: int  # onsets in two or more limbs at once

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["arm_onset_shoulder"] = Proportion.of(self.arm_with_shoulder, self.arm_onsets).to_dict()
        d["leg_onset_hip"] = Proportion.of(self.leg_with_hip, self.leg_onsets).to_dict()
        d["onset_includes_injury"] = Proportion.of(self.include_injury, self.with_injury).to_dict()
        d["onset_after_second_injury"] = Proportion.of(self.second_injury, self.with_injury).to_dict()
        d["onset_includes_latest_injury"] = Proportion.of(
            self.include_latest_injury, self.with_injury
        ).to_dict()
        d["whole_limb_share"] = Proportion.of(self.whole_limb, self.onsets).to_dict()
        d["distal_only_share"] = Proportion.of(self.distal_only, self.onsets).to_dict()
        return d


def _injury_areas(history: PatientHistory, onset_date: dt.date) -> list[str]:
    """The areas of the trauma/surgery records on or before the onset date, in date order. The first is
    the inciting injury (the classifier, too, reads such records as the injury, not as triggers of
    spread); a later one is a further injury before CRPS was seen."""
    out = []
    for r in history.records:
        if r.date > onset_date:
            break
        if r.kind in TRAUMA_KINDS and r.regions:
            out.append(r.regions[0])
    return out


def onset_extent(histories: Sequence[PatientHistory], classes: Sequence[Classification]) -> OnsetExtent:
    """Onset size and site: is it where the injury was, distal, or the whole limb at once?"""
    atlas = load_atlas()
    limb_of = _limb_of()
    limb_areas: dict[str, frozenset[str]] = {
        limb: frozenset(a.slug for a in atlas.areas if a.limb == limb) for limb in LIMBS
    }
    areas_dist: Counter[int] = Counter()
    stems: Counter[str] = Counter()
    onsets = arm = arm_sh = leg = leg_hip = whole = distal = with_inj = inc_inj = multi = 0
    second = inc_latest = 0
    for h, c in zip(histories, classes, strict=True):
        if c.onset_date is None:
            continue
        onsets += 1
        areas = frozenset(c.onset_areas)
        areas_dist[len(areas)] += 1
        stems.update({_stem(s) for s in areas})
        limbs = {limb_of[s] for s in areas if s in limb_of}
        groups = {limb.split("_")[0] for limb in limbs}
        onset_stems = {_stem(s) for s in areas if s in limb_of}
        if "upper" in groups:
            arm += 1
            arm_sh += PROXIMAL_STEM["upper"] in onset_stems
        if "lower" in groups:
            leg += 1
            leg_hip += PROXIMAL_STEM["lower"] in onset_stems
        whole += any(limb_areas[limb] <= areas for limb in limbs)
        distal += bool(onset_stems) and onset_stems <= set(DISTAL_STEMS)
        multi += len(limbs) > 1
        injuries = _injury_areas(h, c.onset_date)
        if injuries:
            with_inj += 1
            inc_inj += injuries[0] in areas
            second += any(a != injuries[0] for a in injuries[1:])
            inc_latest += injuries[-1] in areas
    n = max(onsets, 1)
    return OnsetExtent(
        onsets=onsets,
        areas_mean=(sum(k * v for k, v in areas_dist.items()) / onsets) if onsets else None,
        areas_distribution=dict(sorted(areas_dist.items())),
        area_share={s: stems[s] / n for s in sorted(stems)},
        arm_onsets=arm,
        arm_with_shoulder=arm_sh,
        leg_onsets=leg,
        leg_with_hip=leg_hip,
        whole_limb=whole,
        distal_only=distal,
        with_injury=with_inj,
        include_injury=inc_inj,
        second_injury=second,
        include_latest_injury=inc_latest,
        more_than_one_limb=multi,
    )


def _involvement_groups() -> dict[str, frozenset[str]]:
    """The region groups whose involvement is counted: head/face/neck, cranium or face, any organ, each
    head area and each organ system."""
    atlas = load_atlas()
    cranial = frozenset(a.slug for a in atlas.areas if a.body_group == CRANIAL_GROUP)
    trigeminal = frozenset(s for s in cranial if _stem(s) in TRIGEMINAL_STEMS)
    visceral = frozenset(v.slug for v in atlas.visceral)
    return {
        "cranial_any": cranial,
        "cranium_or_face": trigeminal,
        "visceral": visceral,
        **{f"cranial_{stem}": frozenset(s for s in cranial if _stem(s) == stem) for stem in _stems(cranial)},
        **{v.slug: frozenset({v.slug}) for v in atlas.visceral},
    }


#: the involvement groups split by the number of limbs (`involvement_by_limbs`)
BY_LIMBS_GROUPS = ("cranial_any", "cranium_or_face", "visceral")


def involvement_by_limbs(
    histories: Sequence[PatientHistory], classes: Sequence[Classification]
) -> dict[str, dict[str, Any]]:
    """Head and organ involvement (ever) among the patients with k limbs at the end of follow-up, k = 0-4:
    whether the cranium and the viscera go with spread to all four limbs or come on their own. No source
    gives either share (docs/plausibility.md 3.4); this says what the clinic's share is made of."""
    groups = _involvement_groups()
    ever = [ever_regions(h) for h in histories]
    out: dict[str, dict[str, Any]] = {}
    for k in range(len(LIMBS) + 1):
        members = [e for e, c in zip(ever, classes, strict=True) if len(c.limbs) == k]
        out[str(k)] = {
            "patients": len(members),
            **{
                g: Proportion.of(sum(1 for e in members if e & groups[g]), len(members)).to_dict()
                for g in BY_LIMBS_GROUPS
            },
        }
    return out


def involvement_shares(histories: Sequence[PatientHistory]) -> dict[str, dict[str, Any]]:
    """Cranial (head, face, neck) and visceral involvement, ever and at the last observation."""
    groups = _involvement_groups()
    n = len(histories)
    ever = [ever_regions(h) for h in histories]
    now = [current_regions(h) for h in histories]
    out: dict[str, dict[str, Any]] = {}
    for key, members in groups.items():
        out[key] = {
            "ever": Proportion.of(sum(1 for e in ever if e & members), n).to_dict(),
            "current": Proportion.of(sum(1 for e in now if e & members), n).to_dict(),
        }
    return out


def _stems(slugs: frozenset[str]) -> list[str]:
    return sorted({_stem(s) for s in slugs})


def multi_limb_by_horizon(
    classes: Sequence[Classification], years: Sequence[float] = HORIZON_YEARS
) -> dict[str, dict[str, Any]]:
    """Multi-limb share as a clinic would report it after h years of disease (limbs dated within h years
    of onset; every patient with an onset in the denominator), and among patients followed that long."""
    with_onset = [c for c in classes if c.onset_date is not None]
    out: dict[str, dict[str, Any]] = {}
    for h in years:
        cut = dt.timedelta(days=h * DAYS_PER_YEAR)
        multi = followed = multi_followed = 0
        for c in with_onset:
            assert c.onset_date is not None
            k = sum(1 for d in c.limb_dates if d <= c.onset_date + cut) >= 2
            multi += k
            if c.last_date is not None and c.last_date >= c.onset_date + cut:
                followed += 1
                multi_followed += k
        out[f"{h:g}"] = {
            "all": Proportion.of(multi, len(with_onset)).to_dict(),
            "followed": Proportion.of(multi_followed, followed).to_dict(),
        }
    return out


def disease_durations(classes: Sequence[Classification]) -> dict[str, float | int | None]:
    """Years from onset to the last record (the disease duration at last follow-up): the horizon a
    comparison with a published cohort has to match."""
    years = [
        _days(c.onset_date, c.last_date) / DAYS_PER_YEAR
        for c in classes
        if c.onset_date is not None and c.last_date is not None
    ]
    if not years:
        return {"n": 0, "median": None, "q1": None, "q3": None, "min": None, "max": None}
    q1, med, q3 = (float(x) for x in np.quantile(years, [0.25, 0.5, 0.75]))
    return {"n": len(years), "median": med, "q1": q1, "q3": q3, "min": min(years), "max": max(years)}


#: how long after a new injury the injured limb's involvement counts as following it
NEW_INJURY_WINDOW_DAYS = 365


@dataclass(frozen=True)
class NewInjuryInvolvement:
    """New injuries after onset to a limb not yet involved, and how many were followed by that limb's
    involvement: all of them, and by the limb's van Rijn pattern relative to the first limb (patients
    whose onset was in one limb only)."""

    all: Proportion
    by_pattern: dict[str, Proportion]

    def to_dict(self) -> dict[str, Any]:
        return {**self.all.to_dict(), "by_pattern": {k: v.to_dict() for k, v in self.by_pattern.items()}}


def new_injury_involvement(
    histories: Sequence[PatientHistory], window_days: int = NEW_INJURY_WINDOW_DAYS
) -> NewInjuryInvolvement:
    """Of the new injuries (trauma or surgery records after the onset) to a limb not yet involved, the
    share whose limb is recorded involved within `window_days` after: how susceptible a patient who
    already has CRPS is to a new injury, beside the first-injury conversion, and whether that differs
    by where the limb lies (the diagonal share of second limbs, docs/calibration.md). Spontaneous spread
    to that limb within the window counts too (the records cannot tell them apart), so it is an upper
    bound of what the injury caused."""
    limb_of = _limb_of()
    count = denominator = 0
    by: dict[str, list[int]] = {p: [0, 0] for p in PATTERNS}
    for h in histories:
        seen = [
            (r.date, {limb_of[s] for s in r.regions if s in limb_of})
            for r in h.records
            if r.kind in INVOLVEMENT_KINDS
        ]
        if not seen:
            continue
        onset = min(d for d, _ in seen)
        first = set().union(*(limbs for d, limbs in seen if d == onset))
        for r in h.records:
            if r.kind not in TRAUMA_KINDS or r.date <= onset:
                continue
            end = r.date + dt.timedelta(days=window_days)
            for limb in sorted({limb_of[s] for s in r.regions if s in limb_of}):
                if any(limb in limbs for d, limbs in seen if d <= r.date):
                    continue
                followed = any(limb in limbs for d, limbs in seen if r.date < d <= end)
                denominator += 1
                count += followed
                if len(first) == 1:
                    pattern, _ = limb_relation(next(iter(first)), limb)
                    by[pattern][0] += followed
                    by[pattern][1] += 1
    return NewInjuryInvolvement(
        Proportion.of(count, denominator), {p: Proportion.of(k, n) for p, (k, n) in by.items()}
    )


def conversion(n_cases: int, n_injuries: int) -> dict[str, Any]:
    """Injury -> CRPS conversion with its Wilson interval (a virtual clinic's funnel, `Clinic`)."""
    return Proportion.of(n_cases, n_injuries).to_dict()


# ------------------------------------------------------------------------------------------ report
def measure(
    histories: Sequence[PatientHistory],
    *,
    n_injuries: int | None = None,
    years: Sequence[float] = HORIZON_YEARS,
) -> dict[str, Any]:
    """Every plausibility figure of these histories (and the conversion when the injuries screened to
    find them are known), with the literature comparison (`compare`)."""
    classes = [classify(h) for h in histories]
    n = len(classes)
    limbs = limb_count_distribution(classes)
    onset = onset_extent(histories, classes)
    inv = involvement_shares(histories)
    stays = state_stays(classes)
    figures: dict[str, Any] = {
        "patients": n,
        "model_output": bool(histories) and all(h.provenance is Provenance.model for h in histories),
        "limb_count": limbs,
        "limb_count_current": current_limb_count_distribution(histories),
        "limb_count_by_year": limb_counts_at(classes, years),
        "state_stays": {str(k): s.to_dict() for k, s in stays.items()},
        "onset": onset.to_dict(),
        "involvement": inv,
        "involvement_by_limbs": involvement_by_limbs(histories, classes),
        "multi_limb_by_horizon": multi_limb_by_horizon(classes, years),
        "disease_years": disease_durations(classes),
    }
    if n_injuries is not None:
        figures["conversion"] = conversion(n, n_injuries)
    figures["comparison"] = compare(headline(figures))
    return figures


def measure_sim(sim: Sim, n_patients: int, *, years: Sequence[float] = HORIZON_YEARS) -> dict[str, Any]:
    """The plausibility figures of a virtual clinic of `n_patients` (model output), with its conversion."""
    clinic = sim.clinic(n_patients)
    return measure(clinic.histories, n_injuries=clinic.n_injuries, years=years)


def van_rijn_figures(histories: Sequence[PatientHistory]) -> dict[str, Any]:
    """The four figures the calibration fits (van Rijn 2011: multi-limb share; contralateral, ipsilateral
    and diagonal shares of the identifiable first-to-second-limb spreads) and whether each lies inside its
    95% interval, by the calibration's own code (calibrate/distance.py), so that a model variant that is
    not refitted can be judged beside the plausibility figures."""
    stats = summary_statistics(histories)
    inside = inside_intervals(van_rijn_2011(), stats)
    shares = simulated_shares(stats)
    return {
        "shares": {k: shares[k] for k in inside},
        "identifiable": shares.get("identifiable"),
        "inside": inside,
        "inside_all": all(v is True for v in inside.values()),
    }


def multi_limb_by_sim_years(sim: Sim, n_patients: int, years: Sequence[float]) -> dict[str, dict[str, Any]]:
    """Multi-limb share at the end of follow-up of the same virtual clinic simulated with each horizon
    (Sim.years): what a calibration at a fixed horizon sees (the review: 21% at 1 year, 47% at 4)."""
    out: dict[str, dict[str, Any]] = {}
    for h in years:
        clinic = dataclasses.replace(sim, years=float(h)).clinic(n_patients)
        classes = [classify(x) for x in clinic.histories]
        multi = sum(1 for c in classes if len(c.limbs) >= 2)
        out[f"{h:g}"] = Proportion.of(multi, len(classes)).to_dict()
    return out


def headline(figures: Mapping[str, Any]) -> dict[str, float | None]:
    """The one number per row of `references()` that is compared with the literature."""
    n = figures["patients"]
    limbs = figures["limb_count"]
    onset = figures["onset"]
    inv = figures["involvement"]
    stays = figures["state_stays"]

    def share(k: int, d: int) -> float | None:
        return k / d if d else None

    def prop(p: Mapping[str, Any]) -> float | None:
        v = p.get("proportion")
        return None if v is None else float(v)

    hands = onset["area_share"].get("hand")
    return {
        "conversion": prop(figures["conversion"]) if "conversion" in figures else None,
        "multi_limb": share(sum(v for k, v in limbs.items() if int(k) >= 2), n),
        "four_limbs": share(limbs.get(len(LIMBS), 0), n),
        "stay_2_1y": stays.get("2", {}).get("stay", {}).get("1"),
        "stay_3_1y": stays.get("3", {}).get("stay", {}).get("1"),
        "onset_includes_hand": None if hands is None else float(hands),
        "arm_onset_shoulder": prop(onset["arm_onset_shoulder"]),
        "onset_includes_injury": prop(onset["onset_includes_injury"]),
        "cranium_or_face": prop(inv["cranium_or_face"]["ever"]),
        "cranial_any": prop(inv["cranial_any"]["ever"]),
        "visceral": prop(inv["visceral"]["ever"]),
        "multi_limb_by_horizon": None,
    }


def compare(values: Mapping[str, float | None]) -> list[dict[str, Any]]:
    """Each row of `references()` with the value and whether it lies inside the range (None: not judged)."""
    rows = []
    for ref in references():
        v = values.get(ref.key)
        rows.append({**dataclasses.asdict(ref), "value": v, "inside": ref.judge(v)})
    return rows


def save_json(data: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write atomically (temporary file, then rename): a reader never sees half a file."""
    atomic_write_text(path, json.dumps(data, indent=1, sort_keys=False) + "\n")
