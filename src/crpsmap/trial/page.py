"""The virtual-trial page: one self-contained HTML file on crpsmap's base layout (inline CSS, SVG).

The first thing on the page, before any number, says that this is a model result and not evidence; beside
the headline figure a sentence says that its interval measures simulation noise on common random numbers,
not uncertainty about patients. The outcome table gives each arm's share, the paired difference with its
interval, McNemar's p and the discordant pairs; then a bar plot, the HRV change, the settings and the
methods. The page is the Jinja2 template `crpsmap/trial.html` (autoescaped) filled with `TrialView`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from markupsafe import Markup

from crpsmap.model import CATALOGUE
from crpsmap.outputs import atomic_write_text
from crpsmap.report.html import CONFIDENCE, css
from crpsmap.report.plots import fmt_p, pct
from crpsmap.report.templating import render, trusted
from crpsmap.report.view import Cell, Column, Table
from crpsmap.stats.proportions import Proportion
from crpsmap.trial.design import DISCLAIMER, TrialResult
from crpsmap.trial.outcomes import BINARY_OUTCOMES
from crpsmap.trial.paired import MeanCI, PairedBinary

TITLE = "Virtual trial (model result)"
CONTROL_COLOUR = "#9ca3af"
TREATED_COLOUR = "#2563eb"
#: said beside the headline figure: what the trial's intervals measure
NOISE_SENTENCE = (
    f"The {CONFIDENCE}% intervals and p-values on this page measure simulation noise: the play of chance "
    "in a finite number of virtual patients, run on common random numbers (the same random draws in both "
    "arms). They are not uncertainty about patients, and they leave out all doubt about the model, its "
    "structure and its parameters, which is far larger."
)


def _pdiff(v: float | None, digits: int = 1) -> str:
    """A difference in percentage points with its sign."""
    return "–" if v is None else f"{100 * v:+.{digits}f}"


def _ci_pp(b: PairedBinary) -> str:
    if b.ci_low is None or b.ci_high is None:
        return "–"
    return f"{_pdiff(b.ci_low)} to {_pdiff(b.ci_high)}"


def _share(p: Proportion) -> Cell:
    if p.proportion is None:
        return Cell("–", num=True)
    return Cell(pct(p.proportion, 1), sub=f"{p.count}/{p.denominator}", num=True)


def headline(result: TrialResult) -> str:
    """One sentence (plain text): the any-spread difference with its interval."""
    s = result.binary["spread"]
    spec = result.spec
    if s.difference is None:
        return "No patients were enrolled, so there is nothing to compare."
    return (
        f"In the model, {spec.intervention.replace('_', ' ')} from day {spec.start_day} after enrolment "
        f"changed the share of virtual patients with new spread from {pct(s.control.proportion, 1)} to "
        f"{pct(s.intervention.proportion, 1)}: a paired difference of {_pdiff(s.difference)} percentage "
        f"points ({CONFIDENCE}% CI {_ci_pp(s)}; {result.n} virtual patients, {s.table.discordant} discordant "
        "pairs)."
    )


def summary_line(result: TrialResult) -> str:
    """The console's one line: any spread in both arms, the paired difference, McNemar's p."""
    s, spec = result.binary["spread"], result.spec
    if s.difference is None:
        return "MODEL RESULT: no patients enrolled."
    return (
        f"MODEL RESULT (not clinical evidence): {spec.intervention} from day {spec.start_day}, {result.n} "
        f"virtual patients, {spec.years:g} y: new spread {pct(s.control.proportion, 1)} control vs "
        f"{pct(s.intervention.proportion, 1)} intervention, difference {_pdiff(s.difference)} points "
        f"({CONFIDENCE}% CI {_ci_pp(s)}), McNemar p {fmt_p(s.mcnemar_p)}"
    )


def _outcomes(result: TrialResult) -> Table:
    rows = []
    for key, label in BINARY_OUTCOMES.items():
        b = result.binary[key]
        rows.append(
            (
                Cell(label),
                _share(b.control),
                _share(b.intervention),
                Cell(_pdiff(b.difference), num=True),
                Cell(_ci_pp(b), num=True),
                Cell(fmt_p(b.mcnemar_p), num=True),
                Cell(f"{b.table.discordant} ({b.table.first_only} / {b.table.second_only})", num=True),
            )
        )
    return Table(
        columns=(
            Column("Outcome after the start"),
            Column("Control", num=True),
            Column("Intervention", num=True),
            Column("Difference, points", num=True),
            Column(f"{CONFIDENCE}% CI", num=True),
            Column("McNemar p", num=True),
            Column("Discordant (I / C)", num=True),
        ),
        rows=tuple(rows),
        caption="Outcomes after the start of the intervention, both arms",
        css_class="wide",
    )


def bars_svg(result: TrialResult, width: int = 780) -> str:
    """Grouped horizontal bars: control (grey) and intervention (blue) per outcome, Wilson whiskers."""
    lw, rw, rh, gap = 230, 150, 18, 14
    pw = width - lw - rw
    n = len(BINARY_OUTCOMES)
    height = n * (2 * rh + gap) + 26
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="plot" role="img">']
    for i in range(5):
        x = lw + pw * i / 4
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="4" y2="{height - 18}" class="grid"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 4}" text-anchor="middle" class="small">{25 * i}%</text>')
    for k, (key, label) in enumerate(BINARY_OUTCOMES.items()):
        y0 = 6 + k * (2 * rh + gap)
        out.append(f'<text x="{lw - 8}" y="{y0 + rh + 4}" text-anchor="end">{escape(label)}</text>')
        b = result.binary[key]
        for j, (p, colour, arm) in enumerate(
            ((b.control, CONTROL_COLOUR, "control"), (b.intervention, TREATED_COLOUR, "intervention"))
        ):
            y = y0 + j * rh
            if p.proportion is None or p.ci_low is None or p.ci_high is None:
                continue
            out.append(
                f'<rect x="{lw}" y="{y + 2}" width="{pw * p.proportion:.1f}" height="{rh - 5}" rx="2" '
                f'fill="{colour}"><title>{arm}: {pct(p.proportion, 1)}</title></rect>'
            )
            x1, x2, yc = lw + pw * p.ci_low, lw + pw * p.ci_high, y + 2 + (rh - 5) / 2
            out.append(
                f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{yc:.1f}" y2="{yc:.1f}" class="whisker"/>'
                f'<line x1="{x1:.1f}" x2="{x1:.1f}" y1="{yc - 4:.1f}" y2="{yc + 4:.1f}" class="whisker"/>'
                f'<line x1="{x2:.1f}" x2="{x2:.1f}" y1="{yc - 4:.1f}" y2="{yc + 4:.1f}" class="whisker"/>'
            )
            out.append(
                f'<text x="{lw + pw + 8}" y="{y + rh - 5}" class="small">{arm}: '
                f'<tspan class="strong">{pct(p.proportion, 1)}</tspan></text>'
            )
    out.append("</svg>")
    return "".join(out)


def _mean(m: MeanCI, unit: str = " ms") -> str:
    if m.mean is None:
        return "–"
    ci = (
        ""
        if m.ci_low is None or m.ci_high is None
        else f" ({CONFIDENCE}% CI {m.ci_low:+.1f} to {m.ci_high:+.1f})"
    )
    return f"{m.mean:+.1f}{unit}{ci}"


@dataclass(frozen=True)
class HRVView:
    empty: str = ""
    table: Table | None = None
    caption: str = ""


def _hrv(result: TrialResult) -> HRVView:
    h = result.hrv
    if h.difference.n == 0:
        return HRVView(empty="No patient was seen after the start, so there is no HRV change to show.")
    return HRVView(
        table=Table(
            columns=(Column("HRV RMSSD, last visit minus the start"), Column("Mean change", num=True)),
            rows=(
                (Cell("Control"), Cell(_mean(h.control), num=True)),
                (Cell("Intervention"), Cell(_mean(h.intervention), num=True)),
                (
                    Cell("Paired difference (intervention − control)", strong=True),
                    Cell(_mean(h.difference), num=True, strong=True),
                ),
            ),
            caption="Change in HRV RMSSD per arm",
        ),
        caption=(
            f"{h.difference.n} patients seen after the start; paired t test p {fmt_p(h.p_value)}. The "
            "start value is the RMSSD at the last visit on or before the start day (the same in both "
            "arms); the end value is the RMSSD at the last visit."
        ),
    )


def _settings(result: TrialResult) -> Table:
    s = result.spec
    entry = CATALOGUE.get(s.intervention)
    what = entry[1] if entry else "not in the model's catalogue"
    stop = "to the end of follow-up" if s.stop_day is None else f"to day {s.stop_day} after enrolment"
    changed = s.changed_parameters()
    params = ", ".join(f"{k} = {v}" for k, v in changed.items()) if changed else "all at their defaults"
    rows: list[tuple[str, str]] = [
        ("Intervention", f"{s.intervention}: {what}"),
        ("Given", f"from day {s.start_day} after enrolment (first clinic visit) {stop}"),
        ("Patients", f"{result.n} virtual CRPS patients ({result.observed_after_start} seen after start)"),
        ("Injuries screened", f"{result.injuries_screened} (the first {result.n} CRPS cases by injury)"),
        ("Follow-up", f"{s.years:g} years from the injury"),
        ("Seed", str(s.seed)),
        ("Model parameters", params),
    ]
    return Table(
        columns=(Column("Setting"), Column("Value")),
        rows=tuple((Cell(k, header=True), Cell(v)) for k, v in rows),
        caption="Trial settings",
    )


@dataclass(frozen=True)
class TrialView:
    """What the trial page shows; plain text except `bars` and `css` (built by crpsmap's code)."""

    title: str
    meta: str
    disclaimer: str
    headline: str
    noise: str
    outcomes: Table
    bars: Markup
    hrv: HRVView
    settings: Table
    confidence: int
    css: Markup


def trial_view(result: TrialResult, *, generated: dt.datetime | None = None) -> TrialView:
    """The trial page's view model."""
    generated = generated or dt.datetime.now(dt.UTC).replace(microsecond=0)
    stamp = generated.isoformat().replace("+00:00", " UTC")
    return TrialView(
        title=TITLE,
        meta=(
            f"{result.spec.intervention} vs control · {result.n} virtual patients · generated {stamp} "
            "by crpsmap"
        ),
        disclaimer=DISCLAIMER,
        headline=headline(result),
        noise=NOISE_SENTENCE,
        outcomes=_outcomes(result),
        bars=trusted(bars_svg(result)),
        hrv=_hrv(result),
        settings=_settings(result),
        confidence=CONFIDENCE,
        css=trusted(css()),
    )


def render_trial_html(result: TrialResult, *, generated: dt.datetime | None = None) -> str:
    """The whole page as one HTML string (no script, no external resource)."""
    return render("trial.html", v=trial_view(result, generated=generated))


def write_trial_page(result: TrialResult, path: str | Path, json_path: str | Path | None = None) -> None:
    """Write the HTML page (and the statistics as JSON, with every patient's outcomes), each atomically."""
    atomic_write_text(path, render_trial_html(result))
    if json_path is not None:
        data: dict[str, Any] = result.to_dict(patients=True)
        atomic_write_text(json_path, json.dumps(data, indent=1) + "\n")
