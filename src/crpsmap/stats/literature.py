"""The cohort's figures beside published ones (stats/literature-targets.json, sources inside), with a test.

Each comparison names its test: Fisher's exact test (two-sided) when the published count and denominator
are known (read, or derived from a published share x denominator, which is then said), else an exact
two-sided binomial test of the cohort count against the published proportion. Published cohorts differ
from any clinic (referral centres, selected samples), so a small p says "different", not "wrong".
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from crpsmap.history import PatientHistory
from crpsmap.spread import Classification
from crpsmap.stats.cohort import CohortFigures
from crpsmap.stats.proportions import Proportion, wilson_interval
from crpsmap.stats.table import (
    FEMALE,
    LOWER_LIMB,
    MALE,
    PATTERN_BITS,
    ClassificationTable,
    PatientTable,
    as_table,
)

REFERENCE_ENV = "CRPSMAP_REFERENCE"
MALEKI_CAVEAT = "sample selected for spread: shown, not comparable as a rate"


@dataclass(frozen=True)
class Comparison:
    """One cohort figure beside one published figure."""

    target_id: str
    label: str
    cohort: Proportion
    published: float
    published_count: int | None
    published_denominator: int | None
    count_derived: bool  # published count = published share x denominator, rounded (not read)
    source: str
    url: str | None
    test: str | None
    p_value: float | None
    comparable: bool
    note: str

    @property
    def published_interval(self) -> tuple[float, float] | None:
        """Wilson 95% interval of the published figure, when its denominator is known."""
        if not self.published_denominator:
            return None
        k = (
            self.published_count
            if self.published_count is not None
            else round(self.published * self.published_denominator)
        )
        return wilson_interval(int(k), int(self.published_denominator))

    @property
    def inside_published_interval(self) -> bool | None:
        """Does the cohort's share lie inside the published figure's 95% interval?"""
        ci = self.published_interval
        if ci is None or self.cohort.proportion is None:
            return None
        return ci[0] <= self.cohort.proportion <= ci[1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "target_id": self.target_id,
            "label": self.label,
            "cohort": self.cohort.to_dict(),
            "published": self.published,
            "published_count": self.published_count,
            "published_denominator": self.published_denominator,
            "published_count_derived": self.count_derived,
            "source": self.source,
            "url": self.url,
            "test": self.test,
            "p_value": self.p_value,
            "comparable": self.comparable,
            "note": self.note,
            "published_ci": list(self.published_interval) if self.published_interval else None,
            "inside_published_ci": self.inside_published_interval,
        }


def load_targets(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Targets by id: from `path`, else $CRPSMAP_REFERENCE, else the bundled copy."""
    path = path or os.environ.get(REFERENCE_ENV)
    if path:
        text = Path(path).read_text(encoding="utf-8")
    else:
        text = (
            resources.files("crpsmap.stats").joinpath("literature-targets.json").read_text(encoding="utf-8")
        )
    return {t["id"]: t for t in json.loads(text)}


def _test(
    cohort: Proportion, pub_p: float, pub_k: int | None, pub_n: int | None
) -> tuple[str | None, float | None]:
    if cohort.denominator == 0:
        return None, None
    from scipy.stats import binomtest, fisher_exact

    if pub_k is not None and pub_n:
        table = [[cohort.count, cohort.denominator - cohort.count], [pub_k, pub_n - pub_k]]
        return "Fisher exact (two-sided, two samples)", float(fisher_exact(table).pvalue)
    return "exact binomial vs published share (two-sided)", float(
        binomtest(cohort.count, cohort.denominator, pub_p).pvalue
    )


def extra_figures(
    results: Iterable[Classification] | ClassificationTable,
    histories: Sequence[PatientHistory] | PatientTable | None,
) -> dict[str, Proportion]:
    """Figures only the literature table needs (Maleki 'contiguous only', 'all three'; onset sites; sex)."""
    if histories is not None and not isinstance(histories, PatientTable):
        histories = PatientTable.from_histories(histories)
    return extra_from_tables(as_table(results), histories)


def extra_from_tables(t: ClassificationTable, patients: PatientTable | None) -> dict[str, Proportion]:
    """`extra_figures` on tables (`patients` in any order: only its sex column is read)."""
    with_onset = t.has_onset
    n = int(with_onset.sum())
    spreaders = with_onset & t.spread
    n_spread = int(spreaders.sum())
    kinds = t.patterns & ~np.uint8(PATTERN_BITS["visceral"])
    three = PATTERN_BITS["contiguous"] | PATTERN_BITS["independent"] | PATTERN_BITS["mirror"]
    m = t.n_limbs.astype(np.int64)
    at_onset = (np.arange(4) < m[:, None]) & (t.limb_date == t.onset[:, None])
    lower = LOWER_LIMB[np.maximum(t.limb, 0)]
    one_girdle = (at_onset & lower).any(axis=1) != (at_onset & ~lower).any(axis=1)
    symmetric = with_onset & (at_onset.sum(axis=1) >= 2) & one_girdle
    out = {
        "contiguous_only": Proportion.of(
            int((spreaders & (kinds == PATTERN_BITS["contiguous"])).sum()), n_spread
        ),
        "all_three": Proportion.of(int((spreaders & ((kinds & three) == three)).sum()), n_spread),
        "hand_at_onset": Proportion.of(int((with_onset & t.hand_at_onset).sum()), n),
        "symmetric_onset": Proportion.of(int(symmetric.sum()), n),
    }
    if patients is not None:
        known = (patients.sex == FEMALE) | (patients.sex == MALE)
        out["female"] = Proportion.of(int((patients.sex == FEMALE).sum()), int(known.sum()))
    return out


# (target id, label, where the cohort figure comes from, comparable as a rate?, note)
_MAP: tuple[tuple[str, str, str, bool, str], ...] = (
    (
        "vanrijn2011_multilimb_fraction",
        "CRPS in more than one limb",
        "multi_limb",
        True,
        "referral cohort; ours: at last follow-up",
    ),
    (
        "veldman_goris_other_limb_recurrence",
        "CRPS in a limb other than the first",
        "multi_limb",
        True,
        "consecutive patients; 'recurrence' in another limb",
    ),
    (
        "vanrijn2011_first_to_second_spread_fraction",
        "Multi-limb patients with an identifiable first-to-second-limb spread",
        "identifiable_second",
        True,
        "excluded reasons differ",
    ),
    ("vanrijn2011_pattern_contralateral", "Second limb contralateral", "lp:contralateral", True, ""),
    ("vanrijn2011_pattern_ipsilateral", "Second limb ipsilateral", "lp:ipsilateral", True, ""),
    ("vanrijn2011_pattern_diagonal", "Second limb diagonal", "lp:diagonal", True, ""),
    (
        "maleki2000_contiguous",
        "Any contiguous spread (among patients who spread)",
        "mk:contiguous",
        False,
        MALEKI_CAVEAT,
    ),
    (
        "maleki2000_independent",
        "Any independent spread (among patients who spread)",
        "mk:independent",
        False,
        MALEKI_CAVEAT,
    ),
    ("maleki2000_mirror", "Any mirror spread (among patients who spread)", "mk:mirror", False, MALEKI_CAVEAT),
    ("maleki2000_contiguous_only", "Contiguous spread only", "x:contiguous_only", False, MALEKI_CAVEAT),
    ("maleki2000_all_three", "All three spread types", "x:all_three", False, MALEKI_CAVEAT),
    ("veldman_goris_symmetric_onset", "Onset in two symmetrical limbs", "x:symmetric_onset", True, ""),
    ("pendon2017_hand_site", "Hand involved at onset", "x:hand_at_onset", True, ""),
    ("schwartzman2009_female_fraction", "Women", "x:female", True, "referral cohort, questionnaire-based"),
)


def compare_literature(
    figures: CohortFigures,
    results: Iterable[Classification] | ClassificationTable,
    histories: Sequence[PatientHistory] | PatientTable | None = None,
    targets: dict[str, dict[str, Any]] | None = None,
) -> list[Comparison]:
    """One Comparison per published figure with a counterpart in this cohort (missing targets skipped)."""
    targets = targets if targets is not None else load_targets()
    extra = extra_figures(results, histories)
    n_multi = figures.multi_limb.count
    n_ident = sum(p.count for p in figures.limb_patterns.overall.values())
    out: list[Comparison] = []
    for tid, label, where, comparable, note in _MAP:
        t = targets.get(tid)
        if t is None or not isinstance(t.get("value"), int | float):
            continue
        kind, _, key = where.partition(":")
        if where == "multi_limb":
            cohort = figures.multi_limb
        elif where == "identifiable_second":
            cohort = Proportion.of(n_ident, n_multi)
        elif kind == "lp":
            cohort = figures.limb_patterns.overall[key]
        elif kind == "mk":
            cohort = figures.maleki[key]
        elif key in extra:
            cohort = extra[key]
        else:
            continue
        pub_p = float(t["value"])
        pub_n = t.get("denominator")
        pub_k = t.get("numerator")
        derived = False
        if pub_k is None and pub_n:
            pub_k = round(pub_p * pub_n)
            derived = True
        test, p = _test(cohort, pub_p, pub_k, pub_n)
        full_note = "; ".join(
            x for x in (note, "published count derived from share x denominator" if derived else "") if x
        )
        out.append(
            Comparison(
                tid,
                label,
                cohort,
                pub_p,
                pub_k,
                pub_n,
                derived,
                str(t.get("source", "")),
                t.get("url"),
                test,
                p,
                comparable,
                full_note,
            )
        )
    return out
