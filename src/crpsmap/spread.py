"""Spread-event detection and classification, by the rules of DESIGN.md (docs/classification.md).

Every newly involved area gets a Maleki et al. (2000) pattern (mirror / contiguous / independent /
visceral); the first area of each newly involved limb also gets a van Rijn et al. (2011) limb pattern
(contralateral / ipsilateral / diagonal, relative to the first affected limb) and a direction; every
event gets a trigger (trauma within the window, else spontaneous). Areas are handled as bit masks over
the atlas's units so a cohort of 100,000 patients classifies in seconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, Protocol

from crpsmap.atlas import LIMBS, Atlas, load_atlas
from crpsmap.history import INVOLVEMENT_KINDS, TRAUMA_KINDS, PatientHistory, RecordKind

DEFAULT_TRAUMA_WINDOW_DAYS = 183

Pattern = Literal["mirror", "contiguous", "independent", "visceral"]
LimbPattern = Literal["contralateral", "ipsilateral", "diagonal"]
Direction = Literal["ascending", "descending", "lateral"]
Trigger = Literal["trauma", "spontaneous"]


@dataclass(frozen=True)
class SpreadEvent:
    """One newly involved area (or visceral system) after onset."""

    date: dt.date
    area: str
    pattern: Pattern
    limb_pattern: LimbPattern | None
    direction: Direction | None
    trigger: Trigger

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "area": self.area,
            "pattern": self.pattern,
            "limb_pattern": self.limb_pattern,
            "direction": self.direction,
            "trigger": self.trigger,
        }


@dataclass(frozen=True)
class Classification:
    """What the classifier found for one patient.

    `first_limb` is None when no limb was involved or when several limbs were first involved on the same
    date (no identifiable first limb, so no limb pattern can be assigned). `last_date` ends follow-up.
    """

    patient_id: str
    onset_date: dt.date | None
    onset_areas: tuple[str, ...]
    spread: bool
    limbs: tuple[str, ...]
    limb_dates: tuple[dt.date, ...]
    first_limb: str | None
    generalized_date: dt.date | None
    visceral_date: dt.date | None
    last_date: dt.date | None
    events: tuple[SpreadEvent, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of DESIGN.md, with exactly its names."""

        def iso(d: dt.date | None) -> str | None:
            return d.isoformat() if d is not None else None

        return {
            "patient_id": self.patient_id,
            "onset_date": iso(self.onset_date),
            "onset_areas": list(self.onset_areas),
            "spread": self.spread,
            "limbs": list(self.limbs),
            "generalized_date": iso(self.generalized_date),
            "visceral_date": iso(self.visceral_date),
            "events": [e.to_dict() for e in self.events],
        }


@dataclass(frozen=True)
class _Tables:
    """The atlas as integer look-ups for the hot loop."""

    atlas: Atlas
    index: dict[str, int]  # any region slug -> unit index
    slugs: tuple[str, ...]
    mirror_bit: tuple[int, ...]
    neighbour_mask: tuple[int, ...]
    limb: tuple[int, ...]  # limb index or -1
    limb_area_mask: tuple[int, ...]  # per limb index: mask of its areas
    visceral_mask: int
    trunk_mask: int


@cache
def _tables() -> _Tables:
    atlas = load_atlas()
    slugs = atlas.unit_slugs
    unit = atlas.unit_index
    index = dict(unit)
    for seg in atlas.segments:
        index[seg.slug] = unit[seg.area]
    mirror_bit, neighbour_mask, limb = [], [], []
    visceral_mask = trunk_mask = 0
    for i, s in enumerate(slugs):
        a = atlas.area_by_slug.get(s)
        if a is None:  # visceral system
            mirror_bit.append(0)
            neighbour_mask.append(0)
            limb.append(-1)
            visceral_mask |= 1 << i
            continue
        mirror_bit.append(1 << unit[a.mirror])
        neighbour_mask.append(sum(1 << unit[n] for n in a.neighbours))
        limb.append(LIMBS.index(a.limb) if a.limb else -1)
        if a.body_group == "trunk":
            trunk_mask |= 1 << i
    return _Tables(
        atlas,
        index,
        slugs,
        tuple(mirror_bit),
        tuple(neighbour_mask),
        tuple(limb),
        tuple(atlas.limb_unit_mask[limb] for limb in LIMBS),
        visceral_mask,
        trunk_mask,
    )


def limb_relation(first: str, new: str) -> tuple[LimbPattern, Direction]:
    """van Rijn limb pattern and direction of `new` relative to the first affected limb."""
    g1, s1 = first.split("_")
    g2, s2 = new.split("_")
    if g1 == g2 and s1 == s2:
        raise ValueError("a limb has no pattern relative to itself")
    pattern: LimbPattern = "contralateral" if g1 == g2 else ("ipsilateral" if s1 == s2 else "diagonal")
    direction: Direction = "lateral" if g1 == g2 else ("ascending" if g1 == "lower" else "descending")
    return pattern, direction


class RecordLike(Protocol):
    """What the classifier reads of a record: `history.Record`, or a light row of a columnar reader."""

    @property
    def date(self) -> dt.date: ...
    @property
    def kind(self) -> RecordKind: ...
    @property
    def regions(self) -> tuple[str, ...]: ...


def classify(
    history: PatientHistory, *, trauma_window_days: int = DEFAULT_TRAUMA_WINDOW_DAYS
) -> Classification:
    """Classify one patient's spread. A patient without involvement records has no onset and no events."""
    return classify_records(history.patient_id, history.records, trauma_window_days=trauma_window_days)


def classify_records(
    patient_id: str,
    records: Sequence[RecordLike],
    *,
    trauma_window_days: int = DEFAULT_TRAUMA_WINDOW_DAYS,
) -> Classification:
    """Classify one patient from records in date order (stable within a date) with canonical region
    slugs: the same rules as `classify`, for readers that do not build a PatientHistory per patient
    (a million-patient cohort would not fit in memory as pydantic objects)."""
    t = _tables()
    last_date = records[-1].date if records else None
    involvement = [r for r in records if r.kind in INVOLVEMENT_KINDS]
    if not involvement:
        return Classification(patient_id, None, (), False, (), (), None, None, None, last_date, ())
    onset = next((r for r in involvement if r.kind is RecordKind.onset), involvement[0])
    onset_date = onset.date
    window = dt.timedelta(days=trauma_window_days)
    # a trauma on or before the onset date is the injury that started the CRPS, not a trigger of spread
    traumas = [
        (r.date, _units(r.regions)[0])
        for r in records
        if r.kind in TRAUMA_KINDS and r.regions and r.date > onset_date
    ]

    # everything recorded on or before the onset date is the onset state; the onset record leads
    onset_units: list[int] = []
    for r in [onset] + [r for r in involvement if r.date <= onset_date and r is not onset]:
        for u in _units(r.regions)[1]:
            if u not in onset_units:
                onset_units.append(u)
    involved = 0
    limbs: list[int] = []
    limb_dates: list[dt.date] = []
    for u in onset_units:
        involved |= 1 << u
        li = t.limb[u]
        if li >= 0 and li not in limbs:
            limbs.append(li)
            limb_dates.append(onset_date)
    first_limb = limbs[0] if len(limbs) == 1 else -1  # -1: none yet (if no limbs) or ambiguous
    first_limb_known = len(limbs) > 0
    generalized_date = onset_date if _generalized(involved, limbs, t) else None
    visceral_date = onset_date if involved & t.visceral_mask else None

    events: list[SpreadEvent] = []
    later = [r for r in involvement if r.date > onset_date]
    i = 0
    while i < len(later):
        date = later[i].date
        new_units: list[int] = []
        seen = involved
        while i < len(later) and later[i].date == date:
            mask, units = _units(later[i].regions)
            if mask & ~seen:  # most visits find nothing new
                for u in units:
                    bit = 1 << u
                    if not seen & bit:
                        seen |= bit
                        new_units.append(u)
            i += 1
        if not new_units:
            continue
        before = involved  # P: areas involved strictly before this date
        limbs_before = len(limbs)
        new_limbs: list[int] = []
        patch_of = _patches(new_units, t)
        for u in new_units:
            bit = 1 << u
            touches, mirrors = patch_of[u]
            if t.visceral_mask & bit:
                pattern: Pattern = "visceral"
            elif before & t.mirror_bit[u]:
                pattern = "mirror"
            elif before & touches:
                pattern = "contiguous"
            elif before & mirrors:
                pattern = "mirror"
            else:
                pattern = "independent"
            li = t.limb[u]
            limb_pattern: LimbPattern | None = None
            direction: Direction | None = None
            if li >= 0 and li not in limbs and li not in new_limbs:
                new_limbs.append(li)
                if limbs_before and first_limb >= 0:
                    limb_pattern, direction = limb_relation(LIMBS[first_limb], LIMBS[li])
            trig_mask = bit | (t.limb_area_mask[li] if li >= 0 else 0)
            trigger: Trigger = "spontaneous"
            for tdate, tmask in traumas:
                if date - window <= tdate <= date and tmask & trig_mask:
                    trigger = "trauma"
                    break
            events.append(SpreadEvent(date, t.slugs[u], pattern, limb_pattern, direction, trigger))
        involved = seen
        for li in new_limbs:
            limbs.append(li)
            limb_dates.append(date)
        if not first_limb_known and new_limbs:
            first_limb_known = True
            first_limb = new_limbs[0] if len(new_limbs) == 1 else -1
        if generalized_date is None and _generalized(involved, limbs, t):
            generalized_date = date
        if visceral_date is None and involved & t.visceral_mask:
            visceral_date = date

    return Classification(
        patient_id=patient_id,
        onset_date=onset_date,
        onset_areas=tuple(t.slugs[u] for u in onset_units),
        spread=bool(events),
        limbs=tuple(LIMBS[li] for li in limbs),
        limb_dates=tuple(limb_dates),
        first_limb=LIMBS[first_limb] if first_limb >= 0 else None,
        generalized_date=generalized_date,
        visceral_date=visceral_date,
        last_date=last_date,
        events=tuple(events),
    )


def _patches(new_units: list[int], t: _Tables) -> dict[int, tuple[int, int]]:
    """For each area newly involved on one date: the neighbour mask and the mirror mask of its patch (the
    connected group of that date's new areas it belongs to, by neighbour links among them only)."""
    new_mask = 0
    for u in new_units:
        new_mask |= 1 << u
    out: dict[int, tuple[int, int]] = {}
    for start in new_units:
        if start in out:
            continue
        members, stack, seen = [], [start], 1 << start
        while stack:
            u = stack.pop()
            members.append(u)
            links = t.neighbour_mask[u] & new_mask & ~seen
            seen |= links
            while links:
                low = links & -links
                stack.append(low.bit_length() - 1)
                links ^= low
        touches = mirrors = 0
        for u in members:
            touches |= t.neighbour_mask[u]
            mirrors |= t.mirror_bit[u]
        for u in members:
            out[u] = (touches, mirrors)
    return out


_UNITS: dict[tuple[str, ...], tuple[int, tuple[int, ...]]] = {}
_UNITS_MAX = 100_000


def _units(regions: tuple[str, ...]) -> tuple[int, tuple[int, ...]]:
    """The unit mask and the units in order (each once) of a record's regions, remembered: a cohort
    repeats the same region lists on many records, and resolving them dominated classification."""
    got = _UNITS.get(regions)
    if got is None:
        idx = _tables().index
        mask, units = 0, []
        for s in regions:
            bit = 1 << idx[s]
            if not mask & bit:
                mask |= bit
                units.append(idx[s])
        got = (mask, tuple(units))
        if len(_UNITS) >= _UNITS_MAX:
            _UNITS.clear()
        _UNITS[regions] = got
    return got


def _generalized(involved: int, limbs: list[int], t: _Tables) -> bool:
    return len(limbs) == len(LIMBS) and bool(involved & t.trunk_mask)


def classify_all(
    histories: Iterable[PatientHistory], *, trauma_window_days: int = DEFAULT_TRAUMA_WINDOW_DAYS
) -> Iterator[Classification]:
    for h in histories:
        yield classify(h, trauma_window_days=trauma_window_days)
