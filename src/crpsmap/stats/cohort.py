"""Descriptive cohort figures from classified histories: who spread, how, where and in which direction.

Every figure is a `Proportion` (count, denominator, Wilson interval). Denominators are explicit so a
reader can see who was counted: the definitions below are those of docs/report.md (methods).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crpsmap.atlas import LIMBS, load_atlas
from crpsmap.spread import Classification, SpreadEvent
from crpsmap.stats.proportions import Proportion
from crpsmap.stats.table import (
    DIRECTION_CODES,
    LIMB_PATTERN_CODES,
    NOT_APPLICABLE,
    PATTERN_BITS,
    TRIGGER_CODES,
    UNIDENTIFIABLE,
    ClassificationTable,
    as_table,
    unit_counts,
    unit_slugs,
)

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
    results: Iterable[Classification] | ClassificationTable, involvement_records: dict[str, int] | None = None
) -> CohortFigures:
    """Count the cohort. `involvement_records` (patient id -> number of onset/assessment records) lets
    the report say how many patients had a single record; without it that count is 0."""
    table = as_table(results)
    involvement = None
    if involvement_records is not None:
        involvement = np.fromiter(
            (involvement_records.get(p, 0) for p in table.patient_id), dtype=np.int64, count=len(table)
        )
    return figures_from_table(table, involvement)


def _first_seen_counts(keys: np.ndarray) -> list[tuple[int, int]]:
    """(key, count) pairs in order of each key's first occurrence (as a Counter fills them)."""
    if len(keys) == 0:
        return []
    uniq, first, counts = np.unique(keys, return_index=True, return_counts=True)
    order = np.argsort(first, kind="stable")
    return [(int(uniq[i]), int(counts[i])) for i in order]


def figures_from_table(t: ClassificationTable, involvement: np.ndarray | None = None) -> CohortFigures:
    """`cohort_figures` on a `ClassificationTable`; `involvement` is the number of onset/assessment
    records of each patient in table order (None: not known, `n_single_record` is 0)."""
    slugs = unit_slugs()
    with_onset = t.has_onset
    n = int(with_onset.sum())
    spreaders = with_onset & t.spread
    n_spread = int(spreaders.sum())
    maleki = {
        k: Proportion.of(int((spreaders & ((t.patterns & PATTERN_BITS[k]) != 0)).sum()), n_spread)
        for k in MALEKI_PATTERNS
    }

    candidates = with_onset & (t.second_pattern != NOT_APPLICABLE)
    tied = int((candidates & (t.second_pattern == UNIDENTIFIABLE)).sum())
    valid = candidates & (t.second_pattern >= 0)
    pattern = t.second_pattern[valid].astype(np.int64)
    trigger = t.second_trigger[valid].astype(np.int64)
    n_lp = len(LIMB_PATTERN_CODES)
    overall = np.bincount(pattern, minlength=n_lp)
    by_trig = np.bincount(trigger * n_lp + pattern, minlength=len(TRIGGER_CODES) * n_lp).reshape(-1, n_lp)
    n_pat = int(overall.sum())
    limb_patterns = LimbPatterns(
        overall={k: Proportion.of(int(overall[LIMB_PATTERN_CODES[k]]), n_pat) for k in LIMB_PATTERNS},
        by_trigger={
            tr: {
                k: Proportion.of(
                    int(by_trig[TRIGGER_CODES[tr], LIMB_PATTERN_CODES[k]]),
                    int(by_trig[TRIGGER_CODES[tr]].sum()),
                )
                for k in LIMB_PATTERNS
            }
            for tr in TRIGGERS
        },
        excluded_tied_second=tied,
    )
    n_limbs_codes = len(LIMBS)
    flow_keys = t.limb[valid, 0].astype(np.int64) * n_limbs_codes + t.limb[valid, 1]
    flows = {
        (LIMBS[k // n_limbs_codes], LIMBS[k % n_limbs_codes]): c for k, c in _first_seen_counts(flow_keys)
    }

    dir_counts = t.directions[with_onset].sum(axis=0, dtype=np.int64)
    n_dir = int(dir_counts.sum())
    onset_counts = unit_counts(t.onset_mask[with_onset])
    last_counts = unit_counts(t.last_mask[with_onset])

    single = 0
    if involvement is not None:
        single = int(((involvement == 1) & with_onset).sum())

    n_limbs = t.n_limbs[with_onset]
    return CohortFigures(
        n_patients=len(t),
        n_with_onset=n,
        n_without_involvement=len(t) - n,
        n_single_record=single,
        any_spread=Proportion.of(n_spread, n),
        multi_limb=Proportion.of(int((n_limbs >= 2).sum()), n),
        generalized=Proportion.of(int((t.generalized & with_onset).sum()), n),
        visceral=Proportion.of(int((t.visceral & with_onset).sum()), n),
        maleki=maleki,
        limb_patterns=limb_patterns,
        direction={k: Proportion.of(int(dir_counts[DIRECTION_CODES[k]]), n_dir) for k in DIRECTIONS},
        limb_count=dict(_first_seen_counts(n_limbs.astype(np.int64))),
        limb_flows=flows,
        onset_share={s: Proportion.of(int(onset_counts[i]), n) for i, s in enumerate(slugs)},
        last_share={s: Proportion.of(int(last_counts[i]), n) for i, s in enumerate(slugs)},
    )


__all__ = [
    "LIMBS",
    "CohortFigures",
    "LimbPatterns",
    "cohort_figures",
    "figures_from_table",
    "second_limb_event",
]
