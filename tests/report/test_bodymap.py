"""The body-map asset: 74 CHOIR segments, codes agree with the atlas, right side drawn where it belongs."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from crpsmap.atlas import load_atlas
from crpsmap.report.bodymap import ATTRIBUTION, BACK_OFFSET, FIGURE_WIDTH, asset_svg, build_svg, coloured_svg

NS = "{http://www.w3.org/2000/svg}"


def _paths() -> list[ET.Element]:
    root = ET.fromstring(asset_svg())
    return [p for p in root.iter(f"{NS}path")]


def _centroid_x(d: str) -> float:
    xs = [float(x) for x, _ in re.findall(r"(-?[\d.]+),(-?[\d.]+)", d)]
    return sum(xs) / len(xs)


def test_asset_is_generated_from_the_geometry() -> None:
    assert asset_svg() == build_svg()


def test_74_segments_each_once_codes_agree_with_atlas() -> None:
    atlas = load_atlas()
    paths = _paths()
    assert len(paths) == 74
    slugs = [p.get("data-region") for p in paths]
    codes = [p.get("data-choir") for p in paths]
    assert sorted(slugs) == sorted(s.slug for s in atlas.segments)
    assert len(set(codes)) == 74
    for p in paths:
        seg = atlas.segment_by_slug[p.get("data-region") or ""]
        assert str(seg.choir) == p.get("data-choir")
        title = p.find(f"{NS}title")
        assert title is not None and seg.label in (title.text or "")


def test_sides_are_drawn_where_they_belong() -> None:
    atlas = load_atlas()
    front_mid, back_mid = FIGURE_WIDTH / 2, BACK_OFFSET + FIGURE_WIDTH / 2
    for p in _paths():
        seg = atlas.segment_by_slug[p.get("data-region") or ""]
        x = _centroid_x(p.get("d") or "")
        if seg.view == "front":
            assert x < BACK_OFFSET
            # front view: the patient's right on the viewer's left
            assert (x < front_mid) == (seg.side == "right"), seg.slug
        else:
            assert x > FIGURE_WIDTH
            assert (x > back_mid) == (seg.side == "right"), seg.slug


def test_attribution_is_beside_the_map() -> None:
    text = "".join(ET.fromstring(asset_svg()).itertext())
    assert "Stanford CHOIR" in text and "Scherrer" in text
    assert ATTRIBUTION.split(":")[0] in text


def test_colouring_keeps_attributes() -> None:
    svg = coloured_svg(lambda area: "#ff0000" if area == "hand_right" else "#eeeeee", lambda a: "x%")
    root = ET.fromstring(svg)
    red = [p.get("data-region") for p in root.iter(f"{NS}path") if p.get("fill") == "#ff0000"]
    assert sorted(red) == ["hand_palm_right", "hand_top_right"]
    assert all(p.get("data-choir") for p in root.iter(f"{NS}path"))
