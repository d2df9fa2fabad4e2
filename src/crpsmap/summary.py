"""Terminal output: a per-patient table of classifications, a short cohort summary, the atlas tables.

Everything that comes from a file or from what a user typed (patient ids, region names, paths) is
printed literally: never read as console markup, and with control characters, escape sequences and
bidirectional-text controls shown as visible escapes (`printable`), so a file cannot drive the terminal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from crpsmap.io.problems import visible
from crpsmap.spread import Classification

if TYPE_CHECKING:
    from crpsmap.atlas import Atlas


def printable(text: object) -> str:
    """`text` with every character that could change the terminal or hide text shown as an escape
    (`\\x1b`, `\\u202e`): the one rule of `crpsmap.io.problems.visible`, for whatever came from a file or
    a user."""
    return visible(str(text))


def literal(text: object, style: str = "", *, lines: bool = False) -> Text:
    """A rich Text that prints `text` exactly (no markup, no emoji codes, no escapes to the terminal).
    With `lines`, line breaks are kept (each line made printable); else they are shown as `\\x0a`."""
    if lines:
        return Text("\n".join(printable(line) for line in str(text).split("\n")), style=style)
    return Text(printable(text), style=style)


def print_classification_table(results: Sequence[Classification], console: Console) -> None:
    """One row per spread event (and one per patient without spread), readable by a clinician."""
    table = Table(title=Text(f"Spread events ({len(results)} patients)"), show_lines=False)
    for col in ("patient", "onset", "date", "new area", "pattern", "limb pattern", "direction", "trigger"):
        table.add_column(col, overflow="fold")
    for c in results:
        onset = c.onset_date.isoformat() if c.onset_date else "-"
        if not c.events:
            areas = ", ".join(c.onset_areas) or "no involvement recorded"
            table.add_row(
                literal(c.patient_id),
                literal(onset),
                "",
                literal(f"no spread ({areas})", "dim"),
                "",
                "",
                "",
                "",
            )
            continue
        for i, e in enumerate(c.events):
            table.add_row(
                literal(c.patient_id if i == 0 else ""),
                literal(onset if i == 0 else ""),
                literal(e.date.isoformat()),
                literal(e.area),
                literal(e.pattern),
                literal(e.limb_pattern or ""),
                literal(e.direction or ""),
                literal(e.trigger),
            )
    console.print(table)


def print_cohort_summary(results: Sequence[Classification], console: Console) -> None:
    """Who spread how: counts only (the report gives intervals and comparisons)."""
    n = len(results)
    if n == 0:
        console.print(Text("The cohort has no patients."))
        return

    def pct(k: int, d: int) -> str:
        return f"{k} of {d} ({100 * k / d:.0f}%)" if d else f"{k} of {d}"

    spread = sum(c.spread for c in results)
    multi = sum(len(c.limbs) >= 2 for c in results)
    gen = sum(c.generalized_date is not None for c in results)
    visc = sum(c.visceral_date is not None for c in results)
    patterns = Counter(e.pattern for c in results for e in c.events)
    second = Counter(
        next((e.limb_pattern for e in c.events if e.limb_pattern), None) for c in results if c.first_limb
    )
    second.pop(None, None)
    n_second = sum(second.values())
    lines = [
        Text.assemble((f"{n} patients", "bold"), " classified."),
        Text(f"  spread beyond the onset areas: {pct(spread, n)}"),
        Text(f"  more than one limb involved:   {pct(multi, n)}"),
        Text(f"  generalized (4 limbs + trunk): {pct(gen, n)}"),
        Text(f"  visceral involvement:          {pct(visc, n)}"),
        Text(
            "  spread events by pattern: "
            + ", ".join(f"{p} {patterns[p]}" for p in ("contiguous", "mirror", "independent", "visceral"))
        ),
    ]
    if n_second:
        lines.append(
            Text(
                "  first-to-second limb: "
                + ", ".join(
                    f"{p} {pct(second[p], n_second)}" for p in ("contralateral", "ipsilateral", "diagonal")
                )
            )
        )
    for line in lines:
        console.print(line)


def print_atlas_tables(atlas: Atlas, console: Console) -> None:
    """`crpsmap region --list`: every area with its everyday name, limb and segments (slug, CHOIR code,
    REDCap key); the limbs; the visceral systems. All from the atlas data file."""
    from crpsmap.atlas import LIMBS
    from crpsmap.atlas.names import everyday_name, limb_name

    areas = Table(title=Text(f"Body areas ({len(atlas.areas)}): accepted as slug or everyday name"))
    for col in ("area", "everyday name", "limb", "segments: slug, CHOIR code, REDCap key"):
        areas.add_column(col, overflow="fold")
    for a in atlas.areas:
        segs = "\n".join(
            f"{s.slug}  {s.choir}  {s.redcap}" for s in (atlas.segment_by_slug[x] for x in a.segments)
        )
        areas.add_row(
            literal(a.slug), literal(everyday_name(atlas, a.slug)), literal(a.limb or "-"), literal(segs)
        )
    console.print(areas)
    limbs = Table(title=Text("Limbs: a limb name stands for all its areas"))
    for col in ("limb", "everyday names", "areas"):
        limbs.add_column(col, overflow="fold")
    for limb in LIMBS:
        group, side = limb.split("_")
        names = f"{limb_name(limb)}, {side} {group} limb"
        members = ", ".join(a.slug for a in atlas.areas if a.limb == limb)
        limbs.add_row(literal(limb), literal(names), literal(members))
    console.print(limbs)
    viscera = Table(title=Text(f"Visceral systems ({len(atlas.visceral)}): no side, no CHOIR code"))
    for col in ("system", "name", "innervation", "spinal segments"):
        viscera.add_column(col, overflow="fold")
    for v in atlas.visceral:
        nerve = "vagal and spinal" if v.vagal else "spinal"
        viscera.add_row(literal(v.slug), literal(v.name), literal(nerve), literal(", ".join(v.dermatomes)))
    console.print(viscera)
