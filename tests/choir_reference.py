"""An independent count of a CHOIR wide table, for checking the cross-section (importable: tests/ is on
pytest's pythonpath).

The raw file is read with the `csv` module: no crpsmap reader, no crpsmap statistics. The only thing
taken from crpsmap is the atlas's code -> area look-up (which CHOIR code belongs to which body area),
and `HAND_AREAS`, written out by hand from the CHOIR Body Map's code list, checks it for some areas.
Mirrors and limbs are read from the words of the area slugs (`hand_right` <-> `hand_left`; hand, wrist,
... shoulder make an arm), not from the atlas's `mirror` and `limb` fields.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from crpsmap.atlas import load_atlas

#: areas of an arm and of a leg, by the body-part words of their slugs
UPPER = ("shoulder", "upper_arm", "elbow", "forearm", "wrist", "hand")
LOWER = ("hip", "thigh", "knee", "lower_leg", "ankle", "foot")
#: a few areas and their CHOIR columns, written by hand (front 1xx, back 2xx)
HAND_AREAS = {
    "hand_right": ("X125", "X230"),  # palm (front-right), back of hand (back-right)
    "hand_left": ("X128", "X227"),
    "knee_right": ("X129", "X232"),
    "knee_left": ("X130", "X231"),
    "foot_right": ("X135", "X238"),
    "foot_left": ("X136", "X237"),
    "lower_back_right": ("X219",),
    "lower_back_left": ("X218",),
    "neck_right": ("X105", "X206"),
    "neck_left": ("X106", "X205"),
}


def split(area: str) -> tuple[str, str]:
    """hand_right -> ("hand", "right")."""
    stem, side = area.rsplit("_", 1)
    return stem, side


def limb_of(area: str) -> str | None:
    stem, side = split(area)
    if stem in UPPER:
        return f"upper_{side}"
    if stem in LOWER:
        return f"lower_{side}"
    return None


@dataclass
class Reference:
    """Counts over the rows (one row = one patient) of a CHOIR wide table."""

    n: int = 0
    no_region: int = 0
    segments: Counter[str] = field(default_factory=Counter)  # column (X125) -> rows marked
    areas: Counter[str] = field(default_factory=Counter)  # area slug -> rows with any of its columns
    hand_areas: Counter[str] = field(default_factory=Counter)  # HAND_AREAS, counted from the hand table
    limbs: Counter[str] = field(default_factory=Counter)
    n_segments: list[int] = field(default_factory=list)  # per row
    n_areas: list[int] = field(default_factory=list)
    n_limbs: list[int] = field(default_factory=list)
    both: Counter[str] = field(default_factory=Counter)  # body-part stem -> rows with both sides
    either: Counter[str] = field(default_factory=Counter)
    any_bilateral: int = 0


def area_lookup(columns: list[str]) -> dict[str, str]:
    """Column -> area slug: the atlas's look-up of the CHOIR code, and nothing else of the atlas."""
    atlas = load_atlas()
    return {c: atlas.segment_by_slug[atlas.resolve(c[1:])].area for c in columns}


def count_choir(path: Path) -> Reference:
    ref = Reference()
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = [c for c in reader.fieldnames or () if re.fullmatch(r"X[12]\d\d", c)]
        assert len(columns) == 74
        area_of = area_lookup(columns)
        for row in reader:
            ref.n += 1
            marked = [c for c in columns if row[c].strip() == "1"]
            assert all(row[c].strip() in ("0", "1", "", "NA") for c in columns)
            areas = {area_of[c] for c in marked}
            limbs = {lb for a in areas if (lb := limb_of(a)) is not None}
            ref.no_region += not marked
            ref.segments.update(marked)
            ref.areas.update(areas)
            ref.hand_areas.update(
                a for a, cols in HAND_AREAS.items() if any(row[c].strip() == "1" for c in cols)
            )
            ref.limbs.update(limbs)
            ref.n_segments.append(len(marked))
            ref.n_areas.append(len(areas))
            ref.n_limbs.append(len(limbs))
            stems = {split(a)[0] for a in areas}
            bilateral = False
            for stem in stems:
                ref.either[stem] += 1
                if f"{stem}_right" in areas and f"{stem}_left" in areas:
                    ref.both[stem] += 1
                    bilateral = True
            ref.any_bilateral += bilateral
    return ref
