"""Terminal output of classifications: a per-patient table and a short cohort summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from crpsmap.spread import Classification


def print_classification_table(results: Sequence[Classification], console: Console) -> None:
    """One row per spread event (and one per patient without spread), readable by a clinician."""
    table = Table(title=f"Spread events ({len(results)} patients)", show_lines=False)
    for col in ("patient", "onset", "date", "new area", "pattern", "limb pattern", "direction", "trigger"):
        table.add_column(col, overflow="fold")
    for c in results:
        onset = c.onset_date.isoformat() if c.onset_date else "-"
        if not c.events:
            areas = ", ".join(c.onset_areas) or "no involvement recorded"
            table.add_row(c.patient_id, onset, "", f"[dim]no spread ({areas})[/]", "", "", "", "")
            continue
        for i, e in enumerate(c.events):
            table.add_row(
                c.patient_id if i == 0 else "",
                onset if i == 0 else "",
                e.date.isoformat(),
                e.area,
                e.pattern,
                e.limb_pattern or "",
                e.direction or "",
                e.trigger,
            )
    console.print(table)


def print_cohort_summary(results: Sequence[Classification], console: Console) -> None:
    """Who spread how: counts only (the report gives intervals and comparisons)."""
    n = len(results)
    if n == 0:
        console.print("The cohort has no patients.")
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
    console.print(f"[bold]{n} patients[/] classified.")
    console.print(f"  spread beyond the onset areas: {pct(spread, n)}")
    console.print(f"  more than one limb involved:   {pct(multi, n)}")
    console.print(f"  generalized (4 limbs + trunk): {pct(gen, n)}")
    console.print(f"  visceral involvement:          {pct(visc, n)}")
    console.print(
        "  spread events by pattern: "
        + ", ".join(f"{p} {patterns[p]}" for p in ("contiguous", "mirror", "independent", "visceral"))
    )
    if n_second:
        console.print(
            "  first-to-second limb: "
            + ", ".join(
                f"{p} {pct(second[p], n_second)}" for p in ("contralateral", "ipsilateral", "diagonal")
            )
        )
