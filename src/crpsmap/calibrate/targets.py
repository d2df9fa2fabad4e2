"""What a calibration fits: the share of patients with more than one limb, and how the second limb came.

These are the two figures a tertiary clinic reports that speak to *how* CRPS spreads (van Rijn 2011);
both are read from the same statistics the report computes, so model and clinic are judged alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crpsmap.history import PatientHistory
from crpsmap.spread import classify_all
from crpsmap.stats.cohort import cohort_figures
from crpsmap.stats.literature import load_targets
from crpsmap.stats.proportions import wilson_interval

PATTERNS = ("contralateral", "ipsilateral", "diagonal")


@dataclass(frozen=True)
class Targets:
    """Observed counts: multi-limb patients of all patients; second-limb patterns (counts)."""

    multi_limb: int
    patients: int
    patterns: tuple[int, int, int]  # contralateral, ipsilateral, diagonal
    source: str
    identifiable: int | None = None  # multi-limb patients with an identifiable first-to-second spread
    note: str = ""
    pattern_denominator: int | None = None  # published denominator of the pattern shares, if not their sum

    def __post_init__(self) -> None:
        if not 0 <= self.multi_limb <= self.patients:
            raise ValueError(f"multi-limb count {self.multi_limb} of {self.patients} patients is impossible")
        if any(k < 0 for k in self.patterns):
            raise ValueError("pattern counts must be non-negative")
        if self.patients == 0:
            raise ValueError("no patients to calibrate to")
        if self.identifiable is not None and not 0 <= self.identifiable <= self.multi_limb:
            raise ValueError("identifiable spreads must be between 0 and the multi-limb count")

    @property
    def n_patterns(self) -> int:
        return sum(self.patterns)

    def intervals(self) -> dict[str, tuple[float, float] | None]:
        """Wilson 95% interval of each observed figure: where a fitted clinic should land."""
        n_pat = self.pattern_denominator or self.n_patterns
        out = {"multi_limb": wilson_interval(self.multi_limb, self.patients)}
        out["identifiable"] = (
            wilson_interval(self.identifiable, self.multi_limb)
            if self.identifiable is not None and self.multi_limb
            else None
        )
        for p, k in zip(PATTERNS, self.patterns, strict=True):
            out[p] = wilson_interval(k, n_pat) if n_pat else None
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "multi_limb": {"count": self.multi_limb, "denominator": self.patients},
            "identifiable_second_limb": {"count": self.identifiable, "denominator": self.multi_limb},
            "limb_patterns": dict(zip(PATTERNS, self.patterns, strict=True)),
            "pattern_denominator": self.pattern_denominator or self.n_patterns,
            "source": self.source,
            "note": self.note,
        }


def van_rijn_2011(path: str | None = None) -> Targets:
    """van Rijn et al. 2011 (185 patients): 89 multi-limb, 72 of them with an identifiable first-to-second
    limb spread, of which 49/30/14% contralateral/ipsilateral/diagonal.

    The pattern counts are derived (share x 72, rounded: 35/22/10); 5 of the 72 (7%) were not assigned
    to a pattern in the abstract and are left out.
    """
    t = load_targets(path)
    multi = t["vanrijn2011_multilimb_fraction"]
    ident = t["vanrijn2011_first_to_second_spread_fraction"]
    n72 = int(t["vanrijn2011_pattern_contralateral"]["denominator"])
    counts = tuple(round(float(t[f"vanrijn2011_pattern_{p}"]["value"]) * n72) for p in PATTERNS)
    return Targets(
        multi_limb=int(multi["numerator"]),
        patients=int(multi["denominator"]),
        patterns=(counts[0], counts[1], counts[2]),
        source=str(multi["source"]),
        note=f"pattern counts derived from published shares x {n72}; the unassigned remainder is left out",
        pattern_denominator=n72,
        identifiable=int(ident["numerator"]),
    )


def targets_from_statistics(stats: Mapping[str, Any], source: str = "cohort statistics") -> Targets:
    """Targets from a report's statistics (`crpsmap report --json`)."""
    multi = stats["multi_limb"]
    lp = stats["limb_patterns"]
    return Targets(
        multi_limb=int(multi["count"]),
        patients=int(multi["denominator"]),
        patterns=(
            int(lp["contralateral"]["count"]),
            int(lp["ipsilateral"]["count"]),
            int(lp["diagonal"]["count"]),
        ),
        source=source,
    )


def summary_statistics(histories: Sequence[PatientHistory]) -> dict[str, Any]:
    """The report's figures for these histories (classification + counts; no survival models)."""
    return cohort_figures(list(classify_all(histories))).to_dict()


def targets_from_histories(histories: Sequence[PatientHistory], source: str = "clinic registry") -> Targets:
    return targets_from_statistics(summary_statistics(histories), source)
