"""Hand-worked cases for every rule and precedence of the classifier (DESIGN.md, docs/classification.md)."""

from __future__ import annotations

import datetime as dt
import json

from conftest import build_history as H
from crpsmap.spread import classify


def events(rows, **kw):  # type: ignore[no-untyped-def]
    return [
        (e.area, e.pattern, e.limb_pattern, e.direction, e.trigger) for e in classify(H(rows), **kw).events
    ]


def test_contiguous_mirror_independent() -> None:
    assert events(
        [("2020-01-01", "onset", "hand_palm_right"), ("2020-03-01", "assessment", "hand_right;wrist_right")]
    ) == [("wrist_right", "contiguous", None, None, "spontaneous")]
    assert events([("2020-01-01", "onset", "hand_right"), ("2020-03-01", "assessment", "hand_left")]) == [
        ("hand_left", "mirror", "contralateral", "lateral", "spontaneous")
    ]
    assert events([("2020-01-01", "onset", "hand_right"), ("2020-03-01", "assessment", "foot_left")]) == [
        ("foot_left", "independent", "diagonal", "descending", "spontaneous")
    ]


def test_mirror_takes_precedence_over_contiguous() -> None:
    # chest_left is both the mirror of chest_right and its neighbour across the midline
    assert events([("2020-01-01", "onset", "chest_right"), ("2020-02-01", "assessment", "chest_left")]) == [
        ("chest_left", "mirror", None, None, "spontaneous")
    ]
    # hand_left is the mirror of hand_right and a neighbour of the involved wrist_left
    ev = events(
        [
            ("2020-01-01", "onset", "hand_right"),
            ("2020-02-01", "assessment", "wrist_left"),
            ("2020-03-01", "assessment", "hand_left"),
        ]
    )
    assert ev[1][:2] == ("hand_left", "mirror")


def test_a_same_day_patch_that_grows_from_the_involved_region_is_contiguous() -> None:
    # DESIGN.md's example: onset right hand; next visit wrist, forearm and elbow: all three contiguous
    ev = events(
        [
            ("2020-01-01", "onset", "hand_right"),
            ("2020-05-01", "assessment", "wrist_right;forearm_right;elbow_right"),
        ]
    )
    assert ev == [
        ("wrist_right", "contiguous", None, None, "spontaneous"),
        ("forearm_right", "contiguous", None, None, "spontaneous"),
        ("elbow_right", "contiguous", None, None, "spontaneous"),
    ]
    # the same areas named in another order, on two records of one date: the same events
    ev2 = events(
        [
            ("2020-01-01", "onset", "hand_right"),
            ("2020-05-01", "assessment", "elbow_right"),
            ("2020-05-01", "assessment", "forearm_right;wrist_right"),
        ]
    )
    assert sorted(ev2) == sorted(ev)


def test_a_patch_apart_from_the_involved_region_is_not_contiguous() -> None:
    # elbow and forearm are a patch of their own (the wrist between them and the hand is not involved)
    ev = events(
        [("2020-01-01", "onset", "hand_right"), ("2020-05-01", "assessment", "forearm_right;elbow_right")]
    )
    assert [e[1] for e in ev] == ["independent", "independent"]
    # two patches on one date: one grows from the hand, the other is distant
    ev = events(
        [
            ("2020-01-01", "onset", "hand_right"),
            ("2020-05-01", "assessment", "wrist_right;ankle_left;foot_left"),
        ]
    )
    assert [(e[0], e[1]) for e in ev] == [
        ("wrist_right", "contiguous"),
        ("ankle_left", "independent"),
        ("foot_left", "independent"),
    ]
    # a region involved at an earlier visit grows the same way: the left foot, then ankle and lower leg
    ev = events(
        [
            ("2020-01-01", "onset", "hand_right"),
            ("2020-03-01", "assessment", "foot_left"),
            ("2020-05-01", "assessment", "lower_leg_left;ankle_left;thigh_left"),
        ]
    )
    assert [(e[0], e[1]) for e in ev[1:]] == [
        ("lower_leg_left", "contiguous"),
        ("ankle_left", "contiguous"),
        ("thigh_left", "independent"),
    ]


def test_a_mirror_image_site_larger_than_one_area_is_mirror() -> None:
    # the left hand mirrors the right; wrist and forearm grow with it on the same day: a mirror-image site
    ev = events(
        [
            ("2020-01-01", "onset", "hand_right"),
            ("2020-05-01", "assessment", "hand_left;wrist_left;forearm_left"),
        ]
    )
    assert ev == [
        ("hand_left", "mirror", "contralateral", "lateral", "spontaneous"),
        ("wrist_left", "mirror", None, None, "spontaneous"),
        ("forearm_left", "mirror", None, None, "spontaneous"),
    ]
    # contiguous takes precedence over the patch's mirror: the right wrist grows from the right hand
    ev = events(
        [
            ("2020-01-01", "onset", "hand_right;hand_left"),
            ("2020-05-01", "assessment", "wrist_right;forearm_right"),
        ]
    )
    assert [e[1] for e in ev] == ["contiguous", "contiguous"]


def test_limb_pattern_refers_to_the_first_limb() -> None:
    ev = events(
        [
            ("2020-01-01", "onset", "hand_right"),
            ("2020-06-01", "assessment", "hand_left"),
            ("2021-01-01", "assessment", "foot_left"),
        ]
    )
    # foot_left is ipsilateral to the second limb (upper_left) but diagonal to the first (upper_right)
    assert ev[1] == ("foot_left", "independent", "diagonal", "descending", "spontaneous")
    assert events([("2020-01-01", "onset", "foot_right"), ("2020-06-01", "assessment", "hand_right")]) == [
        ("hand_right", "independent", "ipsilateral", "ascending", "spontaneous")
    ]
    c = classify(H([("2020-01-01", "onset", "ankle_left"), ("2020-06-01", "assessment", "hand_right")]))
    assert (c.events[0].limb_pattern, c.events[0].direction) == ("diagonal", "ascending")
    assert c.limbs == ("lower_left", "upper_right")
    assert c.limb_dates == (dt.date(2020, 1, 1), dt.date(2020, 6, 1))


def test_only_the_first_area_of_a_new_limb_has_a_limb_pattern() -> None:
    ev = events([("2020-01-01", "onset", "hand_right"), ("2020-06-01", "assessment", "hand_left;wrist_left")])
    assert [e[2] for e in ev] == ["contralateral", None]
    ev = events(
        [
            ("2020-01-01", "onset", "hand_right"),
            ("2020-06-01", "assessment", "wrist_right"),
            ("2020-07-01", "assessment", "shoulder_right"),
        ]
    )
    assert [e[2] for e in ev] == [None, None]  # same limb: no limb pattern


def test_no_limb_pattern_without_an_earlier_limb_or_an_identifiable_first_limb() -> None:
    ev = events(
        [
            ("2020-01-01", "onset", "chest_right"),
            ("2020-03-01", "assessment", "shoulder_right"),
            ("2020-09-01", "assessment", "hand_left"),
        ]
    )
    assert ev[0][2:4] == (None, None)  # the first limb itself
    assert ev[1][2:4] == ("contralateral", "lateral")  # relative to upper_right, first involved
    # two limbs at onset: no identifiable first limb (van Rijn could not assign these either)
    c = classify(
        H([("2020-01-01", "onset", "hand_right;hand_left"), ("2020-06-01", "assessment", "foot_right")])
    )
    assert c.first_limb is None
    assert (c.events[0].limb_pattern, c.events[0].direction) == (None, None)
    assert c.limbs == ("upper_right", "upper_left", "lower_right")


def test_trauma_window() -> None:
    base = [("2020-01-01", "onset", "hand_right"), ("2020-09-01", "assessment", "foot_left")]
    # 2020-09-01 minus 183 days = 2020-03-02
    assert (
        events(base + [("2020-03-02", "trauma", "ankle_left")])[0][4] == "trauma"
    )  # edge of window, other area of the limb
    assert events(base + [("2020-03-01", "trauma", "foot_left")])[0][4] == "spontaneous"  # one day too early
    assert events(base + [("2020-09-01", "surgery", "foot_left")])[0][4] == "trauma"  # surgery the same day
    assert events(base + [("2020-09-02", "trauma", "foot_left")])[0][4] == "spontaneous"  # after the event
    assert events(base + [("2020-06-01", "trauma", "hand_left")])[0][4] == "spontaneous"  # another limb
    assert events(base + [("2020-08-01", "infection", "foot_left")])[0][4] == "spontaneous"  # not a trauma
    assert events(base + [("2020-03-01", "trauma", "foot_left")], trauma_window_days=184)[0][4] == "trauma"
    # a non-limb area: only a trauma naming that area counts
    rows = [("2020-01-01", "onset", "hand_right"), ("2020-09-01", "assessment", "chest_left")]
    assert events(rows + [("2020-08-01", "trauma", "chest_left")])[0][4] == "trauma"
    assert events(rows + [("2020-08-01", "trauma", "abdomen_left")])[0][4] == "spontaneous"


def test_the_inciting_trauma_does_not_trigger_later_spread() -> None:
    # a trauma or surgery on or before the onset date started the CRPS (van Rijn counted new traumas)
    base = [("2020-01-01", "onset", "hand_right"), ("2020-03-01", "assessment", "wrist_right;hand_left")]
    for when in ("2020-01-01", "2019-12-20"):
        for kind in ("trauma", "surgery"):
            ev = events(base + [(when, kind, "hand_right;wrist_right;hand_left")])
            assert [e[4] for e in ev] == ["spontaneous", "spontaneous"], (when, kind)
    # a new trauma one day after onset does count, for the areas and limbs it names
    ev = events(base + [("2020-01-02", "trauma", "hand_left")])
    assert [(e[0], e[4]) for e in ev] == [("wrist_right", "spontaneous"), ("hand_left", "trauma")]
    # the onset date is the first onset record's, even when an assessment came earlier
    rows = [
        ("2019-11-01", "assessment", "hand_right"),
        ("2020-01-01", "onset", "hand_right"),
        ("2019-12-01", "trauma", "foot_left"),
        ("2020-03-01", "assessment", "foot_left"),
    ]
    assert events(rows)[0][4] == "spontaneous"


def test_reappearing_areas_count_once() -> None:
    c = classify(
        H(
            [
                ("2020-01-01", "onset", "hand_right"),
                ("2020-03-01", "assessment", "hand_right;wrist_right"),
                ("2020-06-01", "assessment", "hand_right"),
                ("2020-09-01", "assessment", "wrist_right;hand_right"),
            ]
        )
    )
    assert [e.area for e in c.events] == ["wrist_right"]
    assert c.events[0].date == dt.date(2020, 3, 1)


def test_onset_from_first_assessment_when_no_onset_record() -> None:
    c = classify(
        H([("2019-05-05", "assessment", "foot_sole_right"), ("2019-09-01", "assessment", "foot_left")])
    )
    assert c.onset_date == dt.date(2019, 5, 5)
    assert c.onset_areas == ("foot_right",)
    assert [(e.area, e.pattern) for e in c.events] == [("foot_left", "mirror")]


def test_onset_record_leads_even_after_an_earlier_assessment() -> None:
    c = classify(
        H(
            [
                ("2019-01-01", "assessment", "hand_right"),
                ("2019-02-01", "onset", "wrist_right"),
                ("2019-08-01", "assessment", "hand_left"),
            ]
        )
    )
    assert c.onset_date == dt.date(2019, 2, 1)
    assert c.onset_areas == ("wrist_right", "hand_right")  # the onset record first, then earlier records
    assert [e.area for e in c.events] == ["hand_left"]
    assert all(e.date > c.onset_date for e in c.events)  # type: ignore[operator]


def test_visceral_and_generalized_dates() -> None:
    c = classify(
        H(
            [
                ("2018-01-01", "onset", "hand_right"),
                ("2018-06-01", "assessment", "hand_left;foot_left"),
                ("2019-01-01", "assessment", "foot_right;visceral_bladder"),
                ("2019-06-01", "assessment", "abdomen_right"),
            ]
        )
    )
    assert c.visceral_date == dt.date(2019, 1, 1)
    assert c.generalized_date == dt.date(2019, 6, 1)  # four limbs by 2019-01-01, trunk only later
    assert [e.pattern for e in c.events if e.area == "visceral_bladder"] == ["visceral"]
    assert c.spread


def test_no_spread_and_no_involvement() -> None:
    c = classify(
        H(
            [
                ("2020-01-01", "onset", "hand_right"),
                ("2020-06-01", "assessment", "hand_right"),
                ("2020-07-01", "trauma", "foot_left"),
            ]
        )
    )
    assert not c.spread and c.events == () and c.last_date == dt.date(2020, 7, 1)
    c = classify(H([("2020-07-01", "trauma", "foot_left")]))
    assert c.onset_date is None and not c.spread


def test_json_object_has_exactly_the_design_names() -> None:
    c = classify(H([("2020-01-01", "onset", "125;230"), ("2020-03-01", "assessment", "f24")]))
    d = json.loads(json.dumps(c.to_dict()))
    assert set(d) == {
        "patient_id",
        "onset_date",
        "onset_areas",
        "spread",
        "limbs",
        "generalized_date",
        "visceral_date",
        "events",
    }
    assert d["onset_areas"] == ["hand_right"]
    assert d["events"] == [
        {
            "date": "2020-03-01",
            "area": "wrist_left",
            "pattern": "independent",
            "limb_pattern": "contralateral",
            "direction": "lateral",
            "trigger": "spontaneous",
        }
    ]
    assert d["generalized_date"] is None
