"""Everyday region names (crpsmap.atlas.names): built from the atlas, one place for the rules."""

from __future__ import annotations

import pytest

from crpsmap.atlas import LIMBS, UnknownRegionError, load_atlas
from crpsmap.atlas.names import everyday_name, limb_name, lookup, parse_everyday


@pytest.mark.parametrize(
    ("text", "slugs"),
    [
        ("right hand", ("hand_right",)),
        ("hand right", ("hand_right",)),
        ("Hand (right)", ("hand_right",)),
        ("R hand", ("hand_right",)),
        ("rt. hand", ("hand_right",)),
        ("left knee", ("knee_left",)),
        ("LEFT-KNEE", ("knee_left",)),
        ("left lower leg", ("lower_leg_left",)),
        ("right upper arm", ("upper_arm_right",)),
        ("left upper leg", ("thigh_left",)),
        ("back of the head, left", ("head_back_left",)),
        ("both hands", ("hand_right", "hand_left")),
        ("right hand palm", ("hand_palm_right",)),
        ("sole of the left foot", ("foot_sole_left",)),
        ("bladder", ("visceral_bladder",)),
        ("heart", ("visceral_cardiovascular",)),
    ],
)
def test_everyday_names(text: str, slugs: tuple[str, ...]) -> None:
    assert lookup(text).slugs == slugs


@pytest.mark.parametrize(
    ("text", "limbs"),
    [
        ("left leg", ("lower_left",)),
        ("right arm", ("upper_right",)),
        ("left upper limb", ("upper_left",)),
        ("right lower extremity", ("lower_right",)),
        ("both legs", ("lower_right", "lower_left")),
        ("upper_left", ("upper_left",)),
    ],
)
def test_limb_names_stand_for_the_limbs_areas(text: str, limbs: tuple[str, ...]) -> None:
    found = lookup(text)
    assert found.kind == "limb" and found.limbs == limbs
    atlas = load_atlas()
    assert found.slugs == tuple(a.slug for limb in limbs for a in atlas.areas if a.limb == limb)


def test_every_area_and_segment_has_an_everyday_name_that_reads_back() -> None:
    atlas = load_atlas()
    for a in atlas.areas:
        assert lookup(everyday_name(atlas, a.slug)).slugs == (a.slug,)
    for s in atlas.segments:
        assert lookup(everyday_name(atlas, s.slug)).slugs == (s.slug,)
    for v in atlas.visceral:
        assert lookup(everyday_name(atlas, v.slug)).slugs == (v.slug,)
    for limb in LIMBS:
        assert lookup(limb_name(limb)).limbs == (limb,)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("hand", "hand_right or hand_left"),
        ("rihgt hnad", "hand_right"),
        ("left elbw", "elbow_left"),
        ("right back", "lower_back_right"),
        ("arm", "upper_right or upper_left"),
    ],
)
def test_did_you_mean(text: str, hint: str) -> None:
    with pytest.raises(UnknownRegionError) as err:
        lookup(text)
    assert f"unknown region {text!r}" in str(err.value) and hint in str(err.value)


def test_not_names() -> None:
    for text in ("", "left", "left bladder", "right nose", "xyz"):
        assert parse_everyday(text) is None
