"""Body maps for the registry's pages, from the report's CHOIR-segmented drawing (one asset).

Inline `<style>` is stripped (the registry's Content-Security-Policy forbids inline style; the rules are
in static/registry/registry.css). Colours are SVG presentation attributes, which the policy allows.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from html import escape

from markupsafe import Markup

from crpsmap.atlas import load_atlas
from crpsmap.report.bodymap import EMPTY_FILL, PATH_RE, asset_svg, coloured_svg

NEW_FILL = "#c0392b"
BEFORE_FILL = "#7f8c99"
SELECTED_FILL = "#d35400"
_STYLE_RE = re.compile(r"<style>.*?</style>", re.S)


def _strip_style(svg: str) -> str:
    return _STYLE_RE.sub("", svg)


def areas_of(regions: Iterable[str]) -> set[str]:
    """The areas (and visceral systems) that a visit's regions cover: what a map colours."""
    atlas = load_atlas()
    return {atlas.unit_of(r) for r in regions}


def visit_map(new_areas: Collection[str], before_areas: Collection[str], label: str) -> Markup:
    """A small map of one visit: areas newly involved at it (red) and those involved before (grey)."""

    def fill(area: str) -> str:
        if area in new_areas:
            return NEW_FILL
        if area in before_areas:
            return BEFORE_FILL
        return EMPTY_FILL

    svg = _strip_style(coloured_svg(fill, css_class="bodymap-small"))
    svg = svg.replace('aria-label="CHOIR body map, front and back"', f'aria-label="{escape(label)}"', 1)
    return Markup(svg)  # nosec B704 # SVG from the package's atlas, colours of ours, label escaped


def interactive_map(selected: Collection[str], *, id_prefix: str = "id_segments") -> Markup:
    """The clickable map of the visit form: each segment path is a focusable checkbox-like toggle bound
    (by `data-input`) to the real checkbox of that segment; JavaScript (static/registry/bodymap.js) keeps
    them in step. Without JavaScript the map only shows what is checked."""
    atlas = load_atlas()
    order = [s.slug for s in sorted(atlas.segments, key=lambda s: s.choir)]
    index = {slug: i for i, slug in enumerate(order)}
    svg = _strip_style(asset_svg()).replace('<?xml version="1.0"?>\n', "")

    def repl(m: re.Match[str]) -> str:
        slug = m.group(1)
        seg = atlas.segment_by_slug[slug]
        on = slug in selected
        return (
            f'<path data-region="{slug}" data-choir="{m.group(2)}" data-area="{seg.area}" '
            f'data-input="{id_prefix}_{index[slug]}" tabindex="0" role="checkbox" '
            f'aria-checked="{"true" if on else "false"}" aria-label="{escape(seg.label)}" '
            f'class="seg{" on" if on else ""}" fill="{SELECTED_FILL if on else EMPTY_FILL}"'
        )

    svg = PATH_RE.sub(repl, svg)
    svg = svg.replace('class="bodymap"', 'class="bodymap bodymap-input"', 1).replace(
        'role="img" aria-label="CHOIR body map, front and back"',
        'role="group" aria-label="Body map, front and back: choose the painful segments"',
        1,
    )
    return Markup(svg)  # nosec B704 # SVG from the package's atlas; slugs and labels from it, escaped
