"""Property tests: symmetries and invariances the spread classifier must respect."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from crpsmap.atlas import load_atlas
from crpsmap.history import PatientHistory, Record, RecordKind
from crpsmap.spread import classify

ATLAS = load_atlas()
NAMES = (
    list(ATLAS.unit_slugs) + [s.slug for s in ATLAS.segments] + [str(s.choir) for s in ATLAS.segments[:10]]
)
KINDS = [RecordKind.assessment] * 5 + [
    RecordKind.trauma,
    RecordKind.surgery,
    RecordKind.infection,
    RecordKind.onset,
]

regions = st.lists(st.sampled_from(NAMES), min_size=1, max_size=4)
record = st.builds(
    lambda day, kind, regs: Record(
        date=dt.date(2015, 1, 1) + dt.timedelta(days=day), kind=kind, regions=regs
    ),
    st.integers(0, 3000),
    st.sampled_from(KINDS),
    regions,
)


@st.composite
def histories(draw: st.DrawFn) -> PatientHistory:
    recs = draw(st.lists(record, min_size=1, max_size=10))
    if draw(st.booleans()):
        recs.append(Record(date=dt.date(2015, 1, 1), kind=RecordKind.onset, regions=draw(regions)))
    elif not any(r.kind in (RecordKind.onset, RecordKind.assessment) for r in recs):
        recs.append(Record(date=dt.date(2016, 1, 1), kind=RecordKind.assessment, regions=draw(regions)))
    return PatientHistory(patient_id="H", records=tuple(recs))


def _limb_mirror(limb: str) -> str:
    girdle, side = limb.split("_")
    return f"{girdle}_{'left' if side == 'right' else 'right'}"


@settings(max_examples=300, deadline=None)
@given(histories())
def test_swapping_left_and_right_swaps_limbs_and_keeps_every_pattern(h: PatientHistory) -> None:
    a, b = classify(h), classify(h.mirrored())
    assert b.limbs == tuple(_limb_mirror(x) for x in a.limbs)
    assert b.onset_areas == tuple(ATLAS.mirror_slug(x) for x in a.onset_areas)
    assert [(e.date, e.area, e.pattern, e.limb_pattern, e.direction, e.trigger) for e in b.events] == [
        (e.date, ATLAS.mirror_slug(e.area), e.pattern, e.limb_pattern, e.direction, e.trigger)
        for e in a.events
    ]
    assert (a.generalized_date, a.visceral_date) == (b.generalized_date, b.visceral_date)


@settings(max_examples=300, deadline=None)
@given(histories(), st.data())
def test_repeating_a_record_changes_no_event(h: PatientHistory, data: st.DataObject) -> None:
    r = data.draw(st.sampled_from(h.records))
    h2 = h.model_copy(update={"records": tuple(sorted(h.records + (r,), key=lambda x: x.date))})
    assert classify(h2).events == classify(h).events


@settings(max_examples=300, deadline=None)
@given(histories(), st.data())
def test_an_assessment_that_adds_nothing_new_changes_no_event(h: PatientHistory, data: st.DataObject) -> None:
    c = classify(h)
    assert c.onset_date is not None
    extra_day = data.draw(st.integers(0, 4000))
    date = c.onset_date + dt.timedelta(days=extra_day)
    known = list(c.onset_areas) + [e.area for e in c.events if e.date < date]
    subset = data.draw(st.lists(st.sampled_from(known), max_size=4))
    new = Record(date=date, kind=RecordKind.assessment, regions=subset)
    h2 = h.model_copy(update={"records": tuple(sorted(h.records + (new,), key=lambda x: x.date))})
    assert classify(h2).events == c.events


@settings(max_examples=300, deadline=None)
@given(histories())
def test_events_are_never_dated_before_onset_and_come_in_date_order(h: PatientHistory) -> None:
    c = classify(h)
    assert c.onset_date is not None
    dates = [e.date for e in c.events]
    assert all(d > c.onset_date for d in dates)
    assert dates == sorted(dates)
    assert len({e.area for e in c.events}) == len(c.events)
    assert not set(c.onset_areas) & {e.area for e in c.events}
    assert c.spread == bool(c.events)


def _patches(areas: set[str]) -> list[set[str]]:
    """Connected groups of `areas` by the atlas's neighbour links among them (an independent BFS)."""
    left, out = set(areas), []
    while left:
        start = left.pop()
        group, todo = {start}, [start]
        while todo:
            a = todo.pop()
            for n in ATLAS.area(a).neighbours:
                if n in left:
                    left.discard(n)
                    group.add(n)
                    todo.append(n)
        out.append(group)
    return out


@settings(max_examples=300, deadline=None)
@given(histories())
def test_areas_of_one_same_day_patch_share_their_pattern(h: PatientHistory) -> None:
    """Unless an area's own mirror was involved before, every area of a patch gets the patch's pattern."""
    c = classify(h)
    involved = set(c.onset_areas)
    by_date: dict[dt.date, list] = {}
    for e in c.events:
        by_date.setdefault(e.date, []).append(e)
    for date in sorted(by_date):
        evs = [e for e in by_date[date] if e.pattern != "visceral"]
        pattern = {e.area: e.pattern for e in evs}
        for patch in _patches(set(pattern)):
            rest = {pattern[a] for a in patch if ATLAS.area(a).mirror not in involved}
            assert len(rest) <= 1, (date, patch, pattern)
            touches = any(n in involved for a in patch for n in ATLAS.area(a).neighbours)
            if touches:
                assert rest <= {"contiguous"}
        involved |= {e.area for e in by_date[date]}


@settings(max_examples=300, deadline=None)
@given(histories(), st.data())
def test_a_trauma_on_or_before_onset_triggers_nothing(h: PatientHistory, data: st.DataObject) -> None:
    c = classify(h)
    assert c.onset_date is not None
    days_before = data.draw(st.integers(0, 400))
    kind = data.draw(st.sampled_from([RecordKind.trauma, RecordKind.surgery]))
    names = list(ATLAS.unit_slugs)
    inciting = Record(
        date=c.onset_date - dt.timedelta(days=days_before),
        kind=kind,
        regions=data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=30)),
    )
    h2 = h.model_copy(update={"records": tuple(sorted(h.records + (inciting,), key=lambda x: x.date))})
    assert [e for e in classify(h2).events] == list(c.events)
