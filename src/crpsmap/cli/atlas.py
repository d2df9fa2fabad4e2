"""`crpsmap region`: look up a body region of the atlas by slug, code, REDCap key or everyday name."""

from __future__ import annotations

from typing import Annotated

import typer

from crpsmap.cli.console import console, fail, say


def region(
    name: Annotated[
        str | None,
        typer.Argument(
            help="slug (hand_right), CHOIR code (125), REDCap key (f25) or everyday name "
            "('right hand', 'left knee', 'R hand', 'left leg', 'both hands', 'bladder')"
        ),
    ] = None,
    list_all: Annotated[
        bool, typer.Option("--list", help="list every area, limb and visceral system (a table)")
    ] = False,
) -> None:
    """Look up a body region of the atlas: its segment, area, limb, mirror, neighbours and dermatomes."""
    from crpsmap.atlas import UnknownRegionError, load_atlas
    from crpsmap.atlas.names import lookup

    atlas = load_atlas()
    if list_all:
        if name is not None:
            fail("give a region NAME or --list, not both")
        from crpsmap.summary import print_atlas_tables

        print_atlas_tables(atlas, console)
        return
    if name is None:
        fail("give a region: a slug, code, REDCap key or everyday name such as 'right hand' (or --list)")
    try:
        found = lookup(name, atlas)
    except UnknownRegionError as exc:
        fail(str(exc))
    if found.kind == "limb" or len(found.slugs) > 1:
        say(f"{name} = {found.label}: {len(found.slugs)} areas")
        for slug in found.slugs:
            a = atlas.area_by_slug.get(slug)
            if a is not None:
                say(f"  {a.slug:<18} {a.name:<22} segments {', '.join(a.segments)}")
            else:
                say(f"  {slug}")
        return
    _describe_region(found.slugs[0], found.label)


def _describe_region(slug: str, everyday: str) -> None:
    from crpsmap.atlas import load_atlas

    atlas = load_atlas()
    seg = atlas.segment_by_slug.get(slug)
    if seg is not None:
        say(f"segment {seg.slug} ({everyday}): CHOIR {seg.choir}, REDCap {seg.redcap}")
        say(f"  {seg.view} view, {seg.label}")
    if atlas.is_visceral(slug):
        v = atlas.visceral_by_slug[slug]
        vagal = "vagal and spinal" if v.vagal else "spinal"
        say(f"visceral system {v.slug}: {v.name}")
        say(f"  {vagal} innervation, spinal segments {', '.join(v.dermatomes)}")
        return
    a = atlas.area(slug)
    from crpsmap.atlas.names import everyday_name, limb_name

    say(
        f"area {a.slug} ({a.name}; everyday name: {everyday_name(atlas, a.slug)}): "
        f"segments {', '.join(a.segments)}"
    )
    limb = f"{a.limb} ({limb_name(a.limb)})" if a.limb else "-"
    say(f"  side {a.side}, body group {a.body_group}, limb {limb}, mirror {a.mirror}")
    say(f"  neighbours {', '.join(a.neighbours)}")
    say(f"  dermatomes {', '.join(a.dermatomes) or '-'}{' (+ trigeminal)' if a.trigeminal else ''}")
