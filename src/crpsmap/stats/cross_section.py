"""The cohort at one time point: where each patient marked pain on the body map at their first time point.

Body-map data from a clinic or a study often has one time point per patient (the CHOIR wide tables of
`crpsmap.io.choir`: one body map per patient). What such data can say is cross-sectional: how often each
CHOIR segment and each body area is marked, how many areas a patient marks, how often both sides of a
body part are marked, how many limbs. Whether pain *spread* cannot be said: that needs a second body map
of the same patient (`SPREAD_NOT_JUDGED`, the one sentence the report and the JSON use).

The **baseline** of a patient is their first time point: every onset or assessment record of the
earliest date that has one (`PatientTable` keeps it as bit masks, so a file read in pieces gives the same
counts; every figure here is a count over those masks). Denominator of every prevalence: the patients
with a baseline (`n_with_body_map`), including those whose baseline marked no region
(`n_no_region`, "no pain location marked"). Body facts (which area a segment belongs to, mirrors, limbs)
are the atlas's (`crpsmap.atlas`), never re-derived here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from crpsmap.atlas import LIMBS, load_atlas
from crpsmap.history import PatientHistory
from crpsmap.stats.proportions import Proportion
from crpsmap.stats.table import UNKNOWN_DATES, PatientTable

#: what the report and the JSON say of spread when no patient has a second time point
SPREAD_NOT_JUDGED = (
    "Spread over time cannot be judged from one time point per patient: a single body map shows where "
    "pain was on that day, not where it began or whether it spread."
)
#: rows unpacked at a time (bounds the memory of a million-patient cohort)
_CHUNK = 1 << 16


@dataclass(frozen=True)
class CountDistribution:
    """How many patients have each value of a count (areas marked, limbs involved, ...).

    `counts[k]` is the number of patients with value k, for every k from 0 to the largest possible value.
    Median and quartiles interpolate linearly between order statistics (numpy's and pandas' default);
    None without patients."""

    counts: tuple[int, ...]
    median: float | None
    q1: float | None
    q3: float | None
    mean: float | None

    @classmethod
    def of(cls, counts: Sequence[int] | np.ndarray) -> CountDistribution:
        c = tuple(int(v) for v in counts)
        n = sum(c)
        if n == 0:
            return cls(c, None, None, None, None)
        mean = sum(k * v for k, v in enumerate(c)) / n
        return cls(c, _quantile(c, 0.5), _quantile(c, 0.25), _quantile(c, 0.75), mean)

    @property
    def n(self) -> int:
        return sum(self.counts)

    def at_least(self, k: int) -> Proportion:
        """Patients with a value of k or more, of all patients counted."""
        return Proportion.of(sum(self.counts[k:]), self.n)

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": {str(k): v for k, v in enumerate(self.counts)},
            "median": self.median,
            "q1": self.q1,
            "q3": self.q3,
            "mean": self.mean,
        }


def _quantile(counts: Sequence[int], q: float) -> float:
    """The q-quantile of the values counted (value k `counts[k]` times), linear interpolation."""
    n = sum(counts)
    h = (n - 1) * q
    lo = int(h)
    hi = min(lo + 1, n - 1)

    def value(i: int) -> int:  # the i-th smallest value (0-based)
        seen = 0
        for k, c in enumerate(counts):
            seen += c
            if seen > i:
                return k
        raise IndexError(i)

    a, b = value(lo), value(hi)
    return a + (h - lo) * (b - a)


@dataclass(frozen=True)
class MirrorPair:
    """One body part on both sides (an area and its atlas mirror): patients with either side marked, and
    the share of those with both."""

    right: str  # area slug, right side
    left: str  # its mirror
    right_only: int
    left_only: int
    both: int

    @property
    def either(self) -> int:
        return self.right_only + self.left_only + self.both

    @property
    def both_share(self) -> Proportion:
        """Both sides, among patients with either side."""
        return Proportion.of(self.both, self.either)

    def to_dict(self) -> dict[str, Any]:
        return {
            "right": self.right,
            "left": self.left,
            "right_only": self.right_only,
            "left_only": self.left_only,
            "either": self.either,
            "both": self.both_share.to_dict(),
        }


@dataclass(frozen=True)
class CrossSection:
    """The cohort at each patient's first time point (baseline); see the module for the definitions.

    Every `Proportion` has the patients with a baseline (`n_with_body_map`) as denominator, except the
    mirror pairs (patients with either side)."""

    n_patients: int
    n_with_body_map: int  # patients with an onset or assessment record: the denominator
    n_no_region: int  # ... whose baseline marked no region ("no pain location marked")
    n_follow_up: int  # patients with onset/assessment records on two or more dates
    n_whole_area: int  # baselines that name a whole area (no segment): its segments are not known
    segments: dict[str, Proportion]  # CHOIR segment slug -> share (atlas order = CHOIR code order)
    areas: dict[str, Proportion]  # area slug -> share (atlas order)
    visceral: dict[str, Proportion]  # visceral system slug -> share
    limbs: dict[str, Proportion]  # atlas limb -> share with any area of that limb
    n_segments: CountDistribution  # segments marked per patient
    n_areas: CountDistribution  # body areas marked per patient (visceral systems not counted)
    n_limbs: CountDistribution  # limbs involved per patient (0-4)
    mirror_pairs: tuple[MirrorPair, ...]  # one per body part, right-side area first
    any_bilateral: Proportion  # both sides of at least one body part

    @property
    def no_follow_up(self) -> bool:
        """Patients with a body map, none of them with a second time point: spread cannot be judged."""
        return self.n_with_body_map > 0 and self.n_follow_up == 0

    @property
    def multi_limb(self) -> Proportion:
        """Two or more limbs involved."""
        return self.n_limbs.at_least(2)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_patients": self.n_patients,
            "n_with_body_map": self.n_with_body_map,
            "n_no_region_marked": self.n_no_region,
            "n_with_follow_up": self.n_follow_up,
            "n_whole_area_named": self.n_whole_area,
            "no_follow_up": self.no_follow_up,
            "note": SPREAD_NOT_JUDGED if self.no_follow_up else None,
            "segments": {k: v.to_dict() for k, v in self.segments.items()},
            "areas": {k: v.to_dict() for k, v in self.areas.items()},
            "visceral": {k: v.to_dict() for k, v in self.visceral.items()},
            "limbs": {k: v.to_dict() for k, v in self.limbs.items()},
            "n_segments": self.n_segments.to_dict(),
            "n_areas": self.n_areas.to_dict(),
            "n_limbs": self.n_limbs.to_dict(),
            "multi_limb": self.multi_limb.to_dict(),
            "any_bilateral": self.any_bilateral.to_dict(),
            "mirror_pairs": [p.to_dict() for p in self.mirror_pairs],
        }


@dataclass(frozen=True)
class _Layout:
    """The atlas as index arrays over the bits of `PatientTable`'s baseline masks."""

    segments: tuple[str, ...]
    areas: tuple[str, ...]
    visceral: tuple[str, ...]
    segment_area: np.ndarray  # per segment: index of its area
    pair_right: np.ndarray  # per mirror pair: area index of the right side
    pair_left: np.ndarray
    limb_areas: tuple[np.ndarray, ...]  # per limb of LIMBS: indices of its areas


@cache
def _layout() -> _Layout:
    atlas = load_atlas()
    area_index = {a.slug: i for i, a in enumerate(atlas.areas)}
    right = [a for a in atlas.areas if a.side == "right"]
    return _Layout(
        segments=tuple(s.slug for s in atlas.segments),
        areas=tuple(a.slug for a in atlas.areas),
        visceral=tuple(v.slug for v in atlas.visceral),
        segment_area=np.array([area_index[s.area] for s in atlas.segments], dtype=np.int64),
        pair_right=np.array([area_index[a.slug] for a in right], dtype=np.int64),
        pair_left=np.array([area_index[a.mirror] for a in right], dtype=np.int64),
        limb_areas=tuple(
            np.array([i for i, a in enumerate(atlas.areas) if a.limb == limb], dtype=np.int64)
            for limb in LIMBS
        ),
    )


def knows_baseline(patients: PatientTable) -> bool:
    """Whether the table holds the baseline columns (a table built from columns may not)."""
    return not bool((patients.involvement_dates == UNKNOWN_DATES).any())


def cross_section(data: Sequence[PatientHistory] | PatientTable) -> CrossSection:
    """The cross-section of histories, or of a `PatientTable` (of a whole cohort, or the concatenated
    tables of its pieces: the figures are counts, so the pieces give the whole file's numbers)."""
    patients = data if isinstance(data, PatientTable) else PatientTable.from_histories(data)
    if not knows_baseline(patients):
        raise ValueError("this PatientTable was built without the baseline columns (involvement_dates)")
    lay = _layout()
    n_seg, n_area, n_vis = len(lay.segments), len(lay.areas), len(lay.visceral)
    n_pairs = len(lay.pair_right)
    sel = patients.involvement_dates > 0
    segs_all = patients.baseline_segments[sel]
    units_all = patients.baseline_units[sel]
    n = len(units_all)

    seg_count = np.zeros(n_seg, np.int64)
    unit_count = np.zeros(n_area + n_vis, np.int64)
    seg_hist = np.zeros(n_seg + 1, np.int64)
    area_hist = np.zeros(n_area + 1, np.int64)
    limb_hist = np.zeros(len(LIMBS) + 1, np.int64)
    limb_count = np.zeros(len(LIMBS), np.int64)
    right_only = np.zeros(n_pairs, np.int64)
    left_only = np.zeros(n_pairs, np.int64)
    both = np.zeros(n_pairs, np.int64)
    no_region = whole_area = bilateral = 0
    for a, b in _chunks(n):
        sb = np.unpackbits(segs_all[a:b], axis=1, bitorder="little")[:, :n_seg].view(bool)
        raw = units_all[a:b].astype("<u8").view(np.uint8).reshape(-1, 8)
        ub = np.unpackbits(raw, axis=1, bitorder="little")[:, : n_area + n_vis].view(bool)
        ab = ub[:, :n_area]
        seg_count += sb.sum(axis=0)
        unit_count += ub.sum(axis=0)
        seg_hist += np.bincount(sb.sum(axis=1), minlength=n_seg + 1)
        area_hist += np.bincount(ab.sum(axis=1), minlength=n_area + 1)
        no_region += int((~ub.any(axis=1)).sum())
        from_segments = np.zeros_like(ab)
        rows, cols = np.nonzero(sb)
        from_segments[rows, lay.segment_area[cols]] = True
        whole_area += int((ab & ~from_segments).any(axis=1).sum())
        r, lf = ab[:, lay.pair_right], ab[:, lay.pair_left]
        both += (r & lf).sum(axis=0)
        right_only += (r & ~lf).sum(axis=0)
        left_only += (~r & lf).sum(axis=0)
        bilateral += int((r & lf).any(axis=1).sum())
        has_limb = np.stack([ab[:, idx].any(axis=1) for idx in lay.limb_areas], axis=1)
        limb_count += has_limb.sum(axis=0)
        limb_hist += np.bincount(has_limb.sum(axis=1), minlength=len(LIMBS) + 1)

    def share(k: int | np.integer) -> Proportion:
        return Proportion.of(int(k), n)

    return CrossSection(
        n_patients=len(patients),
        n_with_body_map=n,
        n_no_region=no_region,
        n_follow_up=int((patients.involvement_dates >= 2).sum()),
        n_whole_area=whole_area,
        segments={s: share(seg_count[i]) for i, s in enumerate(lay.segments)},
        areas={s: share(unit_count[i]) for i, s in enumerate(lay.areas)},
        visceral={s: share(unit_count[n_area + i]) for i, s in enumerate(lay.visceral)},
        limbs={limb: share(limb_count[i]) for i, limb in enumerate(LIMBS)},
        n_segments=CountDistribution.of(seg_hist),
        n_areas=CountDistribution.of(area_hist),
        n_limbs=CountDistribution.of(limb_hist),
        mirror_pairs=tuple(
            MirrorPair(
                lay.areas[lay.pair_right[i]],
                lay.areas[lay.pair_left[i]],
                int(right_only[i]),
                int(left_only[i]),
                int(both[i]),
            )
            for i in range(n_pairs)
        ),
        any_bilateral=share(bilateral),
    )


def _chunks(n: int) -> Iterator[tuple[int, int]]:
    for a in range(0, n, _CHUNK):
        yield a, min(n, a + _CHUNK)


__all__ = [
    "SPREAD_NOT_JUDGED",
    "CountDistribution",
    "CrossSection",
    "MirrorPair",
    "cross_section",
    "knows_baseline",
]
