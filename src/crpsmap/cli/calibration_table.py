"""The table `crpsmap calibrate` prints: fitted parameters with defaults, search ranges and the
posterior, what was fitted to, and the mechanism comparison with its uncertainty (held-out criterion mean ±
SD over the replicated held-out clinics and the share of clinics each explanation won, with and without
the conversion constraint), as the report shows it; not the Akaike weights, which ignore that spread."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from crpsmap.cli.console import console, say
from crpsmap.summary import literal

if TYPE_CHECKING:
    from crpsmap.calibrate.fit import FitResult
    from crpsmap.calibrate.mechanisms import MechanismComparison
    from crpsmap.calibrate.posterior import Posterior


def sig(x: float, digits: int = 3) -> str:
    """`x` to `digits` significant digits, without an exponent for everyday sizes (0.883, 12.5, 1234)."""
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    if magnitude < -4 or magnitude >= 6:
        return f"{x:.{digits - 1}e}"
    text = f"{round(x, digits - 1 - magnitude):.{max(0, digits - 1 - magnitude)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def print_calibration(
    fitted: FitResult, post: Posterior | None, comparison: MechanismComparison | None, output: Path
) -> None:
    """The fit as a table: parameter, default, fitted value, search range (the uniform prior), posterior
    median and 90% interval (with --posterior); then what was fitted to, with its full citation."""
    from crpsmap.model import CohortParams, ModelParams

    defaults = {
        f.name: (getattr(obj, f.name), f.metadata.get("unit", ""))
        for obj in (ModelParams(), CohortParams())
        for f in dataclasses.fields(obj)
        if f.metadata
    }
    table = Table(title=Text("Calibration: fitted model parameters (MODEL OUTPUT)"))
    for col in ("parameter", "unit", "default", "fitted", "search range (prior)"):
        table.add_column(col, justify="left" if col in ("parameter", "unit") else "right")
    summary = post.summary() if post is not None else {}
    if post is not None:
        table.add_column("posterior median", justify="right")
        table.add_column("90% interval", justify="right")
    for fp in fitted.free:
        default, unit = defaults.get(fp.name, (None, ""))
        row = [
            fp.name,
            str(unit),
            sig(float(default)) if default is not None else "",
            sig(fitted.best[fp.name]),
            f"{sig(fp.low)} - {sig(fp.high)}",
        ]
        if post is not None and fp.name in summary:
            s = summary[fp.name]
            row += [sig(s["median"]), f"{sig(s['ci90_low'])} - {sig(s['ci90_high'])}"]
        table.add_row(*(literal(x) for x in row))
    console.print(table)
    t = fitted.targets
    pats = ", ".join(
        f"{p} {k}" for p, k in zip(("contralateral", "ipsilateral", "diagonal"), t.patterns, strict=True)
    )
    say(f"Fitted to: {t.source}")
    if t.note:
        say(f"  ({t.note})")
    say(f"  observed: {t.multi_limb} of {t.patients} patients with more than one limb; second limb {pats}")
    b = fitted.best_summary
    say(
        f"  best fit: {b.get('multi_limb')} of {b.get('patients')} virtual patients with more than one limb; "
        f"G = {fitted.deviance:.2f} ({fitted.n_patients} virtual patients per trial, {fitted.years:g} y, "
        f"seed {fitted.seed}, {len(fitted.trials)} trials)"
    )
    if post is not None:
        say(
            f"  posterior: pyABC ABC-SMC, {post.populations} populations, {post.simulations} simulations, "
            f"final epsilon {post.epsilon:.2f}; uniform priors on the search ranges"
        )
    if comparison is not None:
        print_comparison(comparison)
    say(f"MODEL OUTPUT written to {output}")


def print_comparison(comparison: MechanismComparison) -> None:
    """The mechanism comparison as the report shows it (docs/calibration.md): per explanation the held-out
    AIC mean ± SD and the share of held-out clinics where it was lowest, with and without the conversion
    constraint; then, per criterion, whether the best is told apart from the next (`separated`) or the
    report's sentence that the data cannot tell them apart (`CANNOT_TELL_APART`, one home)."""
    from crpsmap.calibrate.mechanisms import CANNOT_TELL_APART, CRITERIA, verdict

    with_c, without_c = CRITERIA
    n = len(comparison.heldout_seeds)
    table = Table(title=Text("Which explanation fits best (within the model; MODEL OUTPUT)"))
    table.add_column("explanation")
    table.add_column("fitted parameters")
    for col in ("AIC held-out, mean ± SD", "lowest in", "without constraint, mean ± SD", "lowest in"):
        table.add_column(col, justify="right")
    for f in sorted(comparison.fits, key=lambda f: f.criterion[with_c].mean):
        row = [f.candidate.label, f"{', '.join(f.candidate.free)} ({f.k})"]
        for name in (with_c, without_c):
            s = f.criterion[name]
            row += [f"{s.mean:.1f} ± {s.sd:.1f}", f"{f.share_best.get(name, 0.0):.0%}"]
        table.add_row(*(literal(x) for x in row))
    console.print(table)
    say(
        f"AIC = G + 2 x fitted parameters on {n} held-out clinics of {comparison.heldout_patients} new "
        "virtual patients (the same for every explanation); with the constraint the implausible-conversion "
        "penalty is added; 'lowest in': share of those clinics where the explanation had the lowest AIC."
    )
    # with the constraint: the comparison's own sentence (verdict by `separated`, CANNOT_TELL_APART when
    # the best is not told apart, and the scope); without it: the same rule on the other criterion
    say(comparison.sentence())
    v = verdict(comparison.fits, without_c)
    told = next((f.candidate.label for f in comparison.fits if f.candidate.name == v.leader), v.leader)
    say(
        "Without the conversion constraint: "
        + (f"'{told}' is told apart from the next." if v.separated else CANNOT_TELL_APART)
    )
