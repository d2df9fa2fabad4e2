"""Load and check the body atlas data file (atlas.json).

The data file is the single source of truth for regions; this module only parses it, checks its
internal consistency (so a bad edit fails loudly at import, not silently in a classification) and
offers look-ups by slug, CHOIR code or REDCap key.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

Side = Literal["left", "right", "midline"]
LIMBS: tuple[str, ...] = ("upper_right", "upper_left", "lower_right", "lower_left")
BODY_GROUPS = ("head_neck", "trunk", "upper_limb", "lower_limb", "visceral")


class AtlasError(ValueError):
    """The atlas data file is inconsistent."""


class UnknownRegionError(KeyError):
    """A region name is neither a slug, a CHOIR code nor a REDCap key of the atlas."""

    def __str__(self) -> str:  # KeyError quotes its argument; a plain message reads better
        return str(self.args[0]) if self.args else "unknown region"


@dataclass(frozen=True)
class Segment:
    """One CHOIR Body Map segment (one view, one side, one body part)."""

    slug: str
    choir: int
    redcap: str
    view: str
    label: str
    side: Side
    area: str


@dataclass(frozen=True)
class Area:
    """Front and back segments of one body part on one side: the unit spread is classified on."""

    slug: str
    name: str
    side: Side
    mirror: str
    neighbours: tuple[str, ...]
    body_group: str
    limb: str | None
    dermatomes: tuple[str, ...]
    trigeminal: bool
    segments: tuple[str, ...]
    snomed: str | None
    index: int = field(default=-1, compare=False)


@dataclass(frozen=True)
class VisceralSystem:
    """An internal-organ system; no CHOIR code. Classified like an area with pattern `visceral`."""

    slug: str
    name: str
    vagal: bool
    pelvic: bool
    dermatomes: tuple[str, ...]
    snomed: str | None
    index: int = field(default=-1, compare=False)


class Atlas:
    """Look-ups over the checked atlas. Areas and visceral systems share one index space."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.about: dict[str, str] = dict(data.get("about", {}))
        self.spinal_segments: tuple[str, ...] = tuple(data["spinal_segments"])
        self.laterality_snomed: dict[str, str] = dict(data.get("laterality_snomed", {}))
        self.crps_snomed: dict[str, str] = dict(data.get("crps_snomed", {}))
        self.icd10cm: dict[str, str] = dict(data.get("icd10cm", {}))
        self.segments: tuple[Segment, ...] = tuple(Segment(**s) for s in data["segments"])
        areas = []
        for i, a in enumerate(data["areas"]):
            a = dict(a)
            for key in ("neighbours", "dermatomes", "segments"):
                a[key] = tuple(a[key])
            areas.append(Area(index=i, **a))
        self.areas: tuple[Area, ...] = tuple(areas)
        viscera = []
        for j, v in enumerate(data["visceral"]):
            v = dict(v)
            v["dermatomes"] = tuple(v["dermatomes"])
            viscera.append(VisceralSystem(index=len(areas) + j, **v))
        self.visceral: tuple[VisceralSystem, ...] = tuple(viscera)
        self.segment_by_slug = {s.slug: s for s in self.segments}
        self.area_by_slug = {a.slug: a for a in self.areas}
        self.visceral_by_slug = {v.slug: v for v in self.visceral}
        self._check()
        self._lookup = self._build_lookup()
        #: slug of every unit of classification (areas then visceral systems), in index order
        self.unit_slugs: tuple[str, ...] = tuple(a.slug for a in self.areas) + tuple(
            v.slug for v in self.visceral
        )
        self.unit_index: dict[str, int] = {s: i for i, s in enumerate(self.unit_slugs)}
        #: per limb (LIMBS), the bit mask of its areas in unit index order (bit i = unit_slugs[i])
        self.limb_unit_mask: dict[str, int] = {limb: 0 for limb in LIMBS}
        for a in self.areas:
            if a.limb is not None:
                self.limb_unit_mask[a.limb] |= 1 << self.unit_index[a.slug]

    # ---------------------------------------------------------------- checks
    def _check(self) -> None:
        problems: list[str] = []
        if len(self.segments) != 74:
            problems.append(f"expected 74 CHOIR segments, found {len(self.segments)}")
        for what, values in (
            ("segment slug", [s.slug for s in self.segments]),
            ("CHOIR code", [str(s.choir) for s in self.segments]),
            ("REDCap key", [s.redcap for s in self.segments]),
            ("area slug", [a.slug for a in self.areas]),
            ("visceral slug", [v.slug for v in self.visceral]),
        ):
            dup = {v for v in values if values.count(v) > 1}
            if dup:
                problems.append(f"duplicate {what}: {sorted(dup)}")
        membership: dict[str, list[str]] = {}
        for a in self.areas:
            for seg_slug in a.segments:
                membership.setdefault(seg_slug, []).append(a.slug)
        for s in self.segments:
            owners = membership.get(s.slug, [])
            if owners != [s.area]:
                problems.append(
                    f"segment {s.slug} must belong to exactly one area ({s.area}), found {owners}"
                )
            if s.area in self.area_by_slug and self.area_by_slug[s.area].side != s.side:
                problems.append(f"segment {s.slug} side {s.side} differs from its area's side")
        known_segs = set(self.segment_by_slug)
        spinal = set(self.spinal_segments)
        for a in self.areas:
            if any(s not in known_segs for s in a.segments):
                problems.append(f"area {a.slug} lists an unknown segment")
            m = self.area_by_slug.get(a.mirror)
            if m is None:
                problems.append(f"area {a.slug}: mirror {a.mirror} is not an area")
            else:
                if m.mirror != a.slug:
                    problems.append(f"area {a.slug}: mirror of mirror is {m.mirror}, not itself")
                if a.side != "midline" and m.side == a.side:
                    problems.append(f"area {a.slug}: mirror {m.slug} is on the same side")
                if m.body_group != a.body_group:
                    problems.append(f"area {a.slug}: mirror {m.slug} is in another body group")
            for n in a.neighbours:
                other = self.area_by_slug.get(n)
                if other is None:
                    problems.append(f"area {a.slug}: neighbour {n} is not an area")
                elif a.slug not in other.neighbours:
                    problems.append(f"neighbours not symmetric: {a.slug} -> {n} but not back")
                if n == a.slug:
                    problems.append(f"area {a.slug} neighbours itself")
            if a.body_group not in BODY_GROUPS:
                problems.append(f"area {a.slug}: unknown body group {a.body_group}")
            is_limb_group = a.body_group in ("upper_limb", "lower_limb")
            if is_limb_group and a.limb is None:
                problems.append(f"limb area {a.slug} has no limb")
            if not is_limb_group and a.limb is not None:
                problems.append(f"area {a.slug} is not in a limb group but has limb {a.limb}")
            if a.limb is not None:
                if a.limb not in LIMBS:
                    problems.append(f"area {a.slug}: unknown limb {a.limb}")
                elif not (a.limb.startswith(a.body_group.split("_")[0]) and a.limb.endswith(a.side)):
                    problems.append(f"area {a.slug}: limb {a.limb} disagrees with its group or side")
            if any(d not in spinal for d in a.dermatomes):
                problems.append(f"area {a.slug}: unknown spinal segment in {a.dermatomes}")
            if not a.dermatomes and not a.trigeminal:
                problems.append(f"area {a.slug} has neither dermatomes nor trigeminal innervation")
        expected_visceral = {
            "visceral_gastrointestinal",
            "visceral_bladder",
            "visceral_cardiovascular",
            "visceral_respiratory",
            "visceral_pelvic",
        }
        if set(self.visceral_by_slug) != expected_visceral:
            problems.append(f"visceral systems must be exactly {sorted(expected_visceral)}")
        for v in self.visceral:
            if any(d not in spinal for d in v.dermatomes):
                problems.append(f"visceral {v.slug}: unknown spinal segment")
        for limb in LIMBS:
            if not any(a.limb == limb for a in self.areas):
                problems.append(f"limb {limb} has no area")
        if problems:
            raise AtlasError("atlas data is inconsistent:\n  " + "\n  ".join(problems))

    def _build_lookup(self) -> dict[str, str]:
        """Map every accepted name (lower-cased) to a canonical slug."""
        table: dict[str, str] = {}
        for v in self.visceral:
            table[v.slug] = v.slug
        for a in self.areas:
            table[a.slug] = a.slug
        for s in self.segments:
            table[s.slug] = s.slug
            table[str(s.choir)] = s.slug
            table[s.redcap.lower()] = s.slug
        return table

    # --------------------------------------------------------------- look-ups
    def resolve(self, name: str | int, *, suggest: bool = True) -> str:
        """Canonical slug (segment, area or visceral system) for a slug, CHOIR code or REDCap key; an
        unknown name raises UnknownRegionError, with "did you mean" unless `suggest` is False."""
        key = str(name).strip().lower()
        try:
            return self._lookup[key]
        except KeyError:
            pass
        hint = self.suggest(key) if suggest else []
        did_you_mean = f"; did you mean {' or '.join(hint)}?" if hint else ""
        raise UnknownRegionError(
            f"unknown region {_shorten(str(name))!r}: not a slug, CHOIR code (101-136, 201-238) or "
            f"REDCap key (f01-f36, b01-b38){did_you_mean}"
        )

    def suggest(self, name: str, n: int = 3) -> list[str]:
        """Slugs close to a misspelt or everyday region name ("right hand" -> hand_right), for
        "did you mean" messages. Side words may come first or last, with spaces or hyphens."""
        from crpsmap.atlas.names import suggest_everyday  # (names builds on this module)

        out = [s for s in suggest_everyday(name, self) if s in self._lookup]  # (not limbs)
        words = re.split(r"[\s_\-]+", name.strip().lower())
        sides = [w for w in words if w in ("left", "right")]
        rest = [w for w in words if w and w not in ("left", "right")]
        candidates = [n for n in self._lookup if not n.isdigit() and not re.fullmatch(r"[fb]\d\d", n)]
        tries = ["_".join(words)]
        if sides and rest:
            tries.insert(0, "_".join(rest + sides))
        for t in tries:
            for m in difflib.get_close_matches(t, candidates, n=n, cutoff=0.75):
                slug = self._lookup[m]
                if slug not in out:
                    out.append(slug)
        return out[:n]

    def unit_of(self, name: str | int) -> str:
        """The unit of classification (area or visceral system) that a region belongs to."""
        slug = self.resolve(name)
        seg = self.segment_by_slug.get(slug)
        return seg.area if seg is not None else slug

    def is_visceral(self, slug: str) -> bool:
        return slug in self.visceral_by_slug

    def area(self, name: str | int) -> Area:
        unit = self.unit_of(name)
        if unit not in self.area_by_slug:
            raise UnknownRegionError(f"{name!r} is a visceral system, not a body area")
        return self.area_by_slug[unit]

    def limb_of(self, unit: str) -> str | None:
        a = self.area_by_slug.get(unit)
        return a.limb if a is not None else None

    def mirror_slug(self, slug: str) -> str:
        """The left-right mirror of any region slug (segment, area; viscera map to themselves)."""
        if slug in self.visceral_by_slug:
            return slug
        seg = self.segment_by_slug.get(slug)
        if seg is not None:
            area = self.area_by_slug[self.area_by_slug[seg.area].mirror]
            for other in area.segments:
                if self.segment_by_slug[other].label.split(" (")[0] == seg.label.split(" (")[0] and (
                    self.segment_by_slug[other].view == seg.view
                ):
                    return other
            raise AtlasError(f"segment {slug} has no mirror segment")
        return self.area_by_slug[slug].mirror


def _read(path: Path | None) -> dict[str, Any]:
    if path is not None:
        return dict(json.loads(Path(path).read_text(encoding="utf-8")))
    text = resources.files("crpsmap.atlas").joinpath("atlas.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


def load_atlas(path: Path | None = None) -> Atlas:
    """The bundled atlas (cached), or a checked atlas from another file."""
    if path is None:
        return _default_atlas()
    return Atlas(_read(path))


@cache
def _default_atlas() -> Atlas:
    return Atlas(_read(None))


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
