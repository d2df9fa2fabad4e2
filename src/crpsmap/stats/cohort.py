"""Descriptive cohort figures from classified histories: who spread, how, where and in which direction.

Every figure is a `Proportion` (count, denominator, Wilson interval). Denominators are explicit so a
reader can see who was counted: the definitions below are those of docs/report.md (methods).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crpsmap.atlas import LIMBS, load_atlas
from crpsmap.spread import Classification, SpreadEvent
from crpsmap.stats.proportions import Proportion

MALEKI_PATTERNS = ("contiguous", "independent", "mirror")
LIMB_PATTERNS = ("contralateral", "ipsilateral", "diagonal")
TRIGGERS = ("spontaneous", "trauma")
DIRECTIONS = ("ascending", "descending", "lateral")


@dataclass(frozen=True)
class LimbPatterns:
    """First-to-second-limb pattern (van Rijn 2011), overall and by the trigger of the second limb."""

    overall: dict[str, Proportion]
    by_trigger: dict[str, dict[str, Proportion]]
    excluded_tied_second: int  # second and third limb on one date: no identifiable second limb

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: v.to_dict() for k, v in self.overall.items()}
        out["by_trigger"] = {t: {k: v.to_dict() for k, v in d.items()} for t, d in self.by_trigger.items()}
        out["excluded_tied_second_limb"] = self.excluded_tied_second
        return out


@dataclass(frozen=True)
class CohortFigures:
    """The proportions of the report (see docs/report.md for each definition)."""

    n_patients: int
    n_with_onset: int  # patients with at least one onset/assessment record (the main denominator)
    n_without_involvement: int
    n_single_record: int  # patients with one involvement record only (no follow-up to see spread)
    any_spread: Proportion
    multi_limb: Proportion
    generalized: Proportion
    visceral: Proportion
    maleki: dict[str, Proportion]
    limb_patterns: LimbPatterns
    direction: dict[str, Proportion]  # among limb events whose direction is set (events, not patients)
    limb_count: dict[int, int]  # number of limbs involved at last follow-up -> patients
    limb_flows: dict[tuple[str, str], int]  # (first limb, second limb) -> patients
    onset_share: dict[str, Proportion] = field(default_factory=dict)  # area/visceral slug -> share
    last_share: dict[str, Proportion] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_patients": self.n_patients,
            "n_with_onset": self.n_with_onset,
            "n_without_involvement": self.n_without_involvement,
            "n_single_record": self.n_single_record,
            "any_spread": self.any_spread.to_dict(),
            "multi_limb": self.multi_limb.to_dict(),
            "generalized": self.generalized.to_dict(),
            "visceral": self.visceral.to_dict(),
            "maleki": {k: v.to_dict() for k, v in self.maleki.items()},
            "limb_patterns": self.limb_patterns.to_dict(),
            "direction": {k: v.to_dict() for k, v in self.direction.items()},
            "limb_count": {str(k): v for k, v in sorted(self.limb_count.items())},
            "limb_flows": [
                {"first": a, "second": b, "patients": n}
                for (a, b), n in sorted(self.limb_flows.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            "area_share": {
                slug: {
                    "onset": self.onset_share[slug].to_dict(),
                    "last_follow_up": self.last_share[slug].to_dict(),
                }
                for slug in self.onset_share
            },
        }


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


__all__ = ["LIMBS", "CohortFigures", "LimbPatterns", "cohort_figures", "second_limb_event"]
