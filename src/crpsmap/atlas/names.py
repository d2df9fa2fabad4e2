"""Everyday names for atlas regions: "right hand" -> hand_right, "left leg" -> the left lower limb.

The rules live here, in one place, and the vocabulary is built from the atlas data file (area names
such as "Hand (right)", segment labels such as "Bicep (front-right)", slugs such as `head_back_right`,
visceral names such as "Respiratory system (lungs, bronchi)"), so a region added to the atlas gets its
everyday name without an edit here. Only the words for whole limbs ("arm", "leg", "upper limb") and for
sides ("left", "R", "both") are listed by hand: the atlas has limbs but no words for them.

A name is read as words in any order, with any of the separators space, `_`, `-`, `,`, `/` and
brackets, so "right hand", "hand right", "Hand (right)", "R hand" and "hand_right" are the same. A side
word is needed for areas and segments (every area of the atlas has a side) and must be absent for
visceral systems. "both" (or "bilateral") names the area or limb on each side.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Literal

from crpsmap.atlas.loader import LIMBS, Atlas, UnknownRegionError, load_atlas

Side = Literal["left", "right"]
Kind = Literal["segment", "area", "visceral system", "limb"]

#: side words, lower case: a word on its own (first, last or anywhere in the name)
SIDE_WORDS: dict[str, tuple[Side, ...]] = {
    "left": ("left",),
    "l": ("left",),
    "lt": ("left",),
    "right": ("right",),
    "r": ("right",),
    "rt": ("right",),
    "both": ("right", "left"),
    "bilateral": ("right", "left"),
}
#: words for a whole limb -> the limb group of atlas.LIMBS ("upper" or "lower")
LIMB_WORDS: dict[str, str] = {
    "arm": "upper",
    "upper limb": "upper",
    "upper extremity": "upper",
    "leg": "lower",
    "lower limb": "lower",
    "lower extremity": "lower",
}
#: words that carry no meaning in a region name ("back of head" = "head back")
FILLER_WORDS = frozenset({"of", "the", "my", "side", "sided", "area"})
_SPLIT = re.compile(r"[\s_\-,/()\[\].]+")

Key = tuple[str, ...]


@dataclass(frozen=True)
class RegionName:
    """What a name stands for: one or more atlas regions of one kind.

    `slugs` are segment, area or visceral-system slugs (for a limb: the limb's areas, root to tip);
    `limbs` the atlas limbs (LIMBS) named, if any; `label` a readable description.
    """

    text: str
    kind: Kind
    slugs: tuple[str, ...]
    label: str
    limbs: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Vocabulary:
    """Body-part keys (sorted words without side or filler words) -> slug stem, per kind."""

    sided: dict[Key, tuple[Kind, str]]  # e.g. ("hand",) -> ("area", "hand"); + side -> hand_right
    visceral: dict[Key, str]  # e.g. ("bladder",) -> visceral_bladder
    words: frozenset[str]  # every word of every key, for spelling suggestions


def words_of(text: str) -> list[str]:
    """The lower-case words of a name (separators: space, _ - , / . and brackets)."""
    return [w for w in _SPLIT.split(text.strip().lower()) if w]


def _key(words: Iterable[str]) -> Key:
    return tuple(sorted(w for w in words if w not in FILLER_WORDS))


def _base(label: str) -> str:
    """ "Hand (right)" -> "hand"; "Upper Leg (front-right)" -> "upper leg"."""
    return label.split("(")[0].strip().lower()


def _stem(slug: str, side: str) -> str:
    """hand_palm_right -> hand_palm."""
    suffix = "_" + side
    return slug[: -len(suffix)] if slug.endswith(suffix) else slug


@cache
def _vocabulary(atlas: Atlas) -> _Vocabulary:
    sided: dict[Key, tuple[Kind, str]] = {}
    ambiguous: set[Key] = set()

    def add(words: Iterable[str], kind: Kind, stem: str) -> None:
        key = _key(words)
        if not key or key in ambiguous:
            return
        old = sided.get(key)
        if old is None or old == (kind, stem):
            sided[key] = (kind, stem)
        elif old[0] == "area" and kind == "segment":
            return  # an area's own name wins over a segment label that says the same
        elif old[0] == "segment" and kind == "area":
            sided[key] = (kind, stem)
        else:  # two regions, one name: the name means neither
            ambiguous.add(key)
            del sided[key]

    for a in atlas.areas:
        stem = _stem(a.slug, a.side)
        add(words_of(_base(a.name)), "area", stem)
        add(words_of(stem), "area", stem)
    for s in atlas.segments:
        area = atlas.area_by_slug[s.area]
        area_stem = _stem(area.slug, area.side)
        # a segment label that names its whole area ("Bicep" of upper_arm) is a name of the area
        add(words_of(_base(s.label)), "area", area_stem)
        stem = _stem(s.slug, s.side)
        if stem != area_stem:
            add(words_of(stem), "segment", stem)
            view = s.label.split("(")[-1].split("-")[0] if "(" in s.label else ""
            add([*words_of(_base(s.label)), *words_of(view)], "segment", stem)
    visceral: dict[Key, str] = {}
    for v in atlas.visceral:
        names = [v.slug.removeprefix("visceral_"), _base(v.name), v.name]
        if "(" in v.name:
            names += v.name.split("(", 1)[1].rstrip(")").split(",")
        for n in names:
            key = _key(words_of(n))
            if key and key not in sided:
                visceral.setdefault(key, v.slug)
        key = _key(words_of(_base(v.name)))
        if len(key) > 1:  # "urinary bladder": each word alone too, unless it is a generic word
            for w in key:
                if w not in ("system", "organs") and (w,) not in sided:
                    visceral.setdefault((w,), v.slug)
    words = {w for k in (*sided, *visceral) for w in k}
    words |= {w for phrase in LIMB_WORDS for w in phrase.split()}
    return _Vocabulary(sided, visceral, frozenset(words | set(SIDE_WORDS)))


def _limb_label(limb: str) -> str:
    return f"{limb_name(limb)} ({limb.split('_')[0]} limb, {limb})"


def limb_name(limb: str) -> str:
    """Everyday name of an atlas limb: upper_right -> "right arm"."""
    group, side = limb.split("_")
    return f"{side} {'arm' if group == 'upper' else 'leg'}"


def everyday_name(atlas: Atlas, slug: str) -> str:
    """Everyday name of an area, segment or visceral system: hand_right -> "right hand",
    hand_palm_right -> "right hand (palm)", visceral_bladder -> "urinary bladder"."""
    if slug in atlas.visceral_by_slug:
        return atlas.visceral_by_slug[slug].name[0].lower() + atlas.visceral_by_slug[slug].name[1:]
    if slug in atlas.area_by_slug:
        a = atlas.area_by_slug[slug]
        return f"{a.side} {_base(a.name)}"
    s = atlas.segment_by_slug[slug]
    view = s.label.split("(")[-1].rstrip(")").rsplit("-", 1)[0] if "(" in s.label else s.view
    return f"{s.side} {_base(s.label)} ({view})"


def _strip_plural(words: list[str]) -> list[str]:
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]


def parse_everyday(text: str, atlas: Atlas | None = None) -> RegionName | None:
    """Read an everyday name ("right hand", "left leg", "both knees", "bladder"); None if it is not one.

    A body part without a side ("hand") is not a name: every area has a side. Raises nothing.
    """
    atlas = atlas or load_atlas()
    voc = _vocabulary(atlas)
    words = words_of(text)
    sides: list[Side] = []
    rest: list[str] = []
    for w in words:
        if w in SIDE_WORDS:
            sides += [s for s in SIDE_WORDS[w] if s not in sides]
        else:
            rest.append(w)
    if not rest:
        return None
    for candidate in (rest, _strip_plural(rest)):
        key = _key(candidate)
        if not sides:
            if key in voc.visceral:
                slug = voc.visceral[key]
                return RegionName(text, "visceral system", (slug,), atlas.visceral_by_slug[slug].name)
            continue
        phrase = " ".join(w for w in candidate if w not in FILLER_WORDS)
        group = LIMB_WORDS.get(phrase)
        if group is not None:
            limbs = tuple(f"{group}_{s}" for s in sides)
            if not all(limb in LIMBS for limb in limbs):
                return None
            slugs = tuple(a.slug for limb in limbs for a in atlas.areas if a.limb == limb)
            label = " and ".join(_limb_label(limb) for limb in limbs)
            return RegionName(text, "limb", slugs, label, limbs)
        if key in voc.sided:
            kind, stem = voc.sided[key]
            slugs = tuple(f"{stem}_{s}" for s in sides)
            table = atlas.area_by_slug if kind == "area" else atlas.segment_by_slug
            if not all(s in table for s in slugs):
                return None
            label = " and ".join(everyday_name(atlas, s) for s in slugs)
            return RegionName(text, kind, slugs, label)
    return None


def _respell(word: str, vocabulary: frozenset[str]) -> str:
    """The vocabulary word nearest to `word`: one swap of neighbouring letters first ("hnad" -> "hand"),
    else the closest by difflib; `word` itself when nothing is close."""
    if word in vocabulary or len(word) < 3:
        return word
    for i in range(len(word) - 1):
        swapped = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        if swapped in vocabulary:
            return swapped
    close = difflib.get_close_matches(word, sorted(vocabulary), n=1, cutoff=0.7)
    return close[0] if close else word


def suggest_everyday(text: str, atlas: Atlas | None = None, n: int = 4) -> list[str]:
    """Slugs (or limbs) for a misspelt or incomplete everyday name: each word spelt like the nearest
    atlas word ("rihgt hnad" -> hand_right); a body part without a side gets both sides ("hand" ->
    hand_right, hand_left); a part of a name gets the areas whose names contain it ("right back" ->
    head_back_right, lower_back_right, ...)."""
    atlas = atlas or load_atlas()
    voc = _vocabulary(atlas)
    fixed = [_respell(w, voc.words) for w in words_of(text)]
    out: list[str] = []
    tries = [" ".join(fixed)]
    if not any(w in SIDE_WORDS for w in fixed):
        tries += [" ".join([side, *fixed]) for side in ("right", "left")]
    for t in tries:
        found = parse_everyday(t, atlas)
        if found is not None:
            out += [s for s in (found.limbs or found.slugs) if s not in out]
    if not out:
        sides = [s for w in fixed if w in SIDE_WORDS for s in SIDE_WORDS[w]] or ["right", "left"]
        part = set(_key(w for w in fixed if w not in SIDE_WORDS))
        if part:
            for kind in ("area", "segment"):
                for key, (k, stem) in sorted(voc.sided.items()):
                    if k == kind and part < set(key):
                        out += [f"{stem}_{s}" for s in sides if f"{stem}_{s}" not in out]
    return out[:n]


def lookup(text: str, atlas: Atlas | None = None) -> RegionName:
    """A region by slug, CHOIR code, REDCap key or everyday name. Raises UnknownRegionError with
    "did you mean" suggestions (from the slugs and from the everyday names) when it is none of these."""
    atlas = atlas or load_atlas()
    limb = "_".join(words_of(text))
    if limb in LIMBS:
        slugs = tuple(a.slug for a in atlas.areas if a.limb == limb)
        return RegionName(text, "limb", slugs, _limb_label(limb), (limb,))
    try:
        slug = atlas.resolve(text)
    except UnknownRegionError as exc:
        found = parse_everyday(text, atlas)
        if found is not None:
            return found
        hints = suggest_everyday(text, atlas)
        hints += [h for h in atlas.suggest(str(text)) if h not in hints]
        message = str(exc).split("; did you mean")[0]
        message += "; nor an everyday name such as 'right hand' or 'left leg'"
        if hints:
            message += f"; did you mean {' or '.join(hints[:4])}?"
        raise UnknownRegionError(message) from None
    if slug in atlas.visceral_by_slug:
        return RegionName(text, "visceral system", (slug,), atlas.visceral_by_slug[slug].name)
    if slug in atlas.area_by_slug:
        return RegionName(text, "area", (slug,), everyday_name(atlas, slug))
    return RegionName(text, "segment", (slug,), everyday_name(atlas, slug))
