import json
from pathlib import Path

import pytest

from crpsmap.atlas import LIMBS, AtlasError, UnknownRegionError, load_atlas
from crpsmap.atlas.loader import _read

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "choir-body-map-segments.csv"


def test_74_segments_match_the_choir_reference() -> None:
    atlas = load_atlas()
    assert len(atlas.segments) == 74
    if REFERENCE.exists():
        import csv

        ref = {int(r["code"]): r for r in csv.DictReader(REFERENCE.open())}
        assert {s.choir for s in atlas.segments} == set(ref)
        for s in atlas.segments:
            assert s.redcap == ref[s.choir]["redcap_key"]
            assert s.side == ref[s.choir]["patient_side"]
            assert s.view == ref[s.choir]["view"]


@pytest.mark.parametrize("name", ["hand_palm_right", "125", 125, "f25", "F25", " hand_palm_right "])
def test_lookup_by_slug_code_or_redcap_key(name: object) -> None:
    atlas = load_atlas()
    assert atlas.resolve(name) == "hand_palm_right"  # type: ignore[arg-type]
    assert atlas.unit_of(name) == "hand_right"  # type: ignore[arg-type]


def test_areas_join_front_and_back() -> None:
    atlas = load_atlas()
    assert set(atlas.area("hand_right").segments) == {"hand_palm_right", "hand_top_right"}
    assert atlas.unit_of("b30") == "hand_right"
    assert atlas.unit_of("visceral_bladder") == "visceral_bladder"
    assert len(atlas.areas) == 46


def test_unknown_region_names_itself() -> None:
    with pytest.raises(UnknownRegionError, match="'elbow_middle'"):
        load_atlas().resolve("elbow_middle")
    with pytest.raises(UnknownRegionError):
        load_atlas().resolve("137")


def test_structure_is_consistent() -> None:
    atlas = load_atlas()
    for a in atlas.areas:
        assert atlas.area_by_slug[a.mirror].mirror == a.slug
        for n in a.neighbours:
            assert a.slug in atlas.area_by_slug[n].neighbours
        if a.body_group in ("upper_limb", "lower_limb"):
            assert a.limb in LIMBS
    assert {a.slug for a in atlas.areas if a.limb == "upper_right"} == {
        f"{p}_right" for p in ("shoulder", "upper_arm", "elbow", "forearm", "wrist", "hand")
    }
    assert {a.slug for a in atlas.areas if a.limb == "lower_left"} == {
        f"{p}_left" for p in ("hip", "thigh", "knee", "lower_leg", "ankle", "foot")
    }
    assert {
        a.body_group for a in atlas.areas if a.slug.startswith(("chest", "abdomen", "buttock", "pubic"))
    } == {"trunk"}
    assert [v.slug for v in atlas.visceral] == [
        "visceral_gastrointestinal",
        "visceral_bladder",
        "visceral_cardiovascular",
        "visceral_respiratory",
        "visceral_pelvic",
    ]
    assert atlas.laterality_snomed == {"left": "7771000", "right": "24028007"}


def test_mirror_of_segments() -> None:
    atlas = load_atlas()
    for s in atlas.segments:
        m = atlas.mirror_slug(s.slug)
        assert atlas.segment_by_slug[m].side != s.side
        assert atlas.segment_by_slug[m].view == s.view
        assert atlas.mirror_slug(m) == s.slug


def _broken(tmp_path: Path, edit: object) -> Path:
    data = _read(None)
    edit(data)  # type: ignore[operator]
    p = tmp_path / "atlas.json"
    p.write_text(json.dumps(data))
    return p


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["areas"][0].update(mirror=d["areas"][1]["slug"]), "mirror of mirror"),
        (lambda d: d["areas"][9]["neighbours"].append("foot_left"), "not symmetric"),
        (lambda d: d["areas"][9].update(limb=None), "has no limb"),
        (lambda d: d["areas"][9]["segments"].append(d["areas"][8]["segments"][0]), "exactly one area"),
        (lambda d: d["visceral"].pop(), "visceral systems"),
        (lambda d: d["segments"].pop(), "74"),
    ],
)
def test_inconsistent_data_fails_loudly(tmp_path: Path, edit: object, message: str) -> None:
    with pytest.raises(AtlasError, match=message):
        load_atlas(_broken(tmp_path, edit))
