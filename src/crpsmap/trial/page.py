"""The virtual-trial page: one self-contained HTML file on crpsmap's base layout (inline CSS, SVG).

The first thing on the page, before any number, says that this is a model result and not evidence; beside
the headline figure a sentence says what its interval includes. A trial over draws (the default) shows
per outcome the median over draws, the 90% and 95% intervals over draws (model parameters, effect size
and simulation noise) and the within-draw paired interval (simulation noise only), a forest plot, the
effect-prior table (every prior with its source or ASSUMED), the draws, the HRV change, the settings and
the methods. A point trial (`--point`) keeps the old page, labelled as ignoring parameter and effect-size
uncertainty. The page is the Jinja2 template `crpsmap/trial.html` (autoescaped) filled with `TrialView`.
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
from crpsmap.trial.priors import ASSUMED, PRIORS, default_strength_source
from crpsmap.trial.uncertainty import DrawsTrialResult

TITLE = "Virtual trial (model result)"
CONTROL_COLOUR = "#9ca3af"
TREATED_COLOUR = "#2563eb"
#: said beside the headline figure of a point trial (--point): what its intervals measure
NOISE_SENTENCE = (
    f"The {CONFIDENCE}% intervals and p-values on this page measure simulation noise: the play of chance "
    "in a finite number of virtual patients, run on common random numbers (the same random draws in both "
    "arms). They are not uncertainty about patients. This is a point run: it ignores parameter "
    "uncertainty and the uncertainty of the intervention's strength (the model parameters are the point "
    "defaults and the strength is the model's assumed default, not a value anchored to human data), and "
    "it leaves out all doubt about the model's structure; all of these are far larger."
)
#: the part of the over-draws sentence that says what no interval here includes
STRUCTURE_CAVEAT = (
    "No interval on this page includes doubt about the model's structure, the hypothesis itself, which "
    "may be larger still; and none is uncertainty about patients."
)


def uncertainty_sentence(result: DrawsTrialResult) -> str:
    """Said beside the headline of a trial over draws: what the intervals over draws include."""
    k = result.k
    effect = (
        f"the strength of the intervention ({result.prior.parameter} drawn from its effect prior, "
        f"{'anchored to human data' if result.prior.anchored else ASSUMED + ': no human data constrain it'})"
    )
    if result.source.posterior:
        params = f"the model's parameters ({k} posterior draws: {result.source.label})"
        what = f"three sources: {params}, {effect}, and simulation noise"
    else:
        what = f"two sources: {effect}, and simulation noise; {result.source.label}"
    return (
        f"The 90% and {CONFIDENCE}% intervals over draws combine {what}. The within-draw interval is "
        "simulation noise alone (a finite number of virtual patients on common random numbers). "
        + STRUCTURE_CAVEAT
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


def summary_line(result: TrialResult | DrawsTrialResult) -> str:
    """The console's one line: any spread in both arms, the paired difference and its interval."""
    if isinstance(result, DrawsTrialResult):
        return _summary_line_draws(result)
    s, spec = result.binary["spread"], result.spec
    if s.difference is None:
        return "MODEL RESULT: no patients enrolled."
    return (
        f"MODEL RESULT (not clinical evidence): {spec.intervention} from day {spec.start_day}, {result.n} "
        f"virtual patients, {spec.years:g} y, point run (ignores parameter and effect-size uncertainty): "
        f"new spread {pct(s.control.proportion, 1)} control vs {pct(s.intervention.proportion, 1)} "
        f"intervention, difference {_pdiff(s.difference)} points ({CONFIDENCE}% CI {_ci_pp(s)}, "
        f"simulation noise only), McNemar p {fmt_p(s.mcnemar_p)}"
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


# ---- trials over draws ------------------------------------------------------------------------------


def _iv_pp(iv: tuple[float, float] | None) -> str:
    return "–" if iv is None else f"{_pdiff(iv[0])} to {_pdiff(iv[1])}"


def _iv_ms(iv: tuple[float, float] | None) -> str:
    return "–" if iv is None else f"{iv[0]:+.1f} to {iv[1]:+.1f}"


def _params_phrase(result: DrawsTrialResult) -> str:
    if result.source.posterior:
        return f"{result.k} draws of model parameters and effect strength"
    return f"{result.k} draws of effect strength (model parameters fixed at the point defaults)"


def headline_draws(result: DrawsTrialResult) -> str:
    """One sentence (plain text): the any-spread difference, median and intervals over draws."""
    s, spec = result.binary["spread"], result.spec
    if s.median is None:
        return "No patients were enrolled, so there is nothing to compare."
    return (
        f"In the model, {spec.intervention.replace('_', ' ')} from day {spec.start_day} after enrolment "
        f"changed the share of virtual patients with new spread by a median of {_pdiff(s.median)} "
        f"percentage points over {_params_phrase(result)} (90% interval over draws {_iv_pp(s.interval90)}; "
        f"{CONFIDENCE}% {_iv_pp(s.interval95)}); within one draw, simulation noise alone gives "
        f"{_iv_pp(s.within95)}. Control: {pct(result.control_share['spread'], 1)} (median over draws); "
        f"{result.n} virtual patients per draw."
    )


def _summary_line_draws(result: DrawsTrialResult) -> str:
    s, spec = result.binary["spread"], result.spec
    if s.median is None:
        return "MODEL RESULT: no patients enrolled."
    fixed = "" if result.source.posterior else " (parameters fixed: no posterior draws available)"
    return (
        f"MODEL RESULT (not clinical evidence): {spec.intervention} from day {spec.start_day}, "
        f"{result.n} virtual patients x {result.k} draws{fixed}, {spec.years:g} y: new spread, "
        f"difference median {_pdiff(s.median)} points over draws (90% {_iv_pp(s.interval90)}, "
        f"{CONFIDENCE}% {_iv_pp(s.interval95)}; within-draw noise only {_iv_pp(s.within95)})"
    )


def _outcomes_draws(result: DrawsTrialResult) -> Table:
    rows = []
    for key, label in BINARY_OUTCOMES.items():
        b = result.binary[key]
        rows.append(
            (
                Cell(label),
                Cell(pct(result.control_share[key], 1), num=True),
                Cell(pct(result.intervention_share[key], 1), num=True),
                Cell(_pdiff(b.median), num=True, strong=True),
                Cell(_iv_pp(b.interval90), num=True),
                Cell(_iv_pp(b.interval95), num=True),
                Cell(_iv_pp(b.within95), num=True, muted=True),
            )
        )
    return Table(
        columns=(
            Column("Outcome after the start"),
            Column("Control, median", num=True),
            Column("Intervention, median", num=True),
            Column("Difference, median over draws (points)", num=True),
            Column("90% over draws", num=True),
            Column(f"{CONFIDENCE}% over draws", num=True),
            Column(f"Within-draw {CONFIDENCE}% (noise only)", num=True),
        ),
        rows=tuple(rows),
        caption="Outcomes after the start of the intervention, over draws",
        css_class="wide",
    )


def forest_svg(result: DrawsTrialResult, width: int = 780) -> str:
    """Per outcome: the 95% (thin) and 90% (thick) intervals over draws, the within-draw interval (grey,
    below), each draw's estimate (ticks) and the median (dot), on a shared percentage-point axis."""
    lw, rw, rh = 230, 20, 34
    pw = width - lw - rw
    keys = list(BINARY_OUTCOMES)
    values: list[float] = [0.0]
    for k in keys:
        b = result.binary[k]
        values += [x for iv in (b.interval95, b.within95) if iv for x in iv]
    lo = max(-1.0, min(values))
    hi = min(1.0, max(values))
    step = 0.25 if hi - lo > 0.6 else 0.1 if hi - lo > 0.2 else 0.05
    lo, hi = step * (lo // step), step * -(-hi // step)
    if hi - lo < step:
        hi = lo + step

    def x(v: float) -> float:
        return lw + pw * (v - lo) / (hi - lo)

    height = len(keys) * rh + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="plot" role="img">']
    n_ticks = round((hi - lo) / step)
    for i in range(n_ticks + 1):
        v = lo + i * step
        out.append(f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="4" y2="{height - 20}" class="grid"/>')
        out.append(
            f'<text x="{x(v):.1f}" y="{height - 6}" text-anchor="middle" class="small">'
            f"{'0' if abs(v) < 1e-12 else _pdiff(v, 0)}</text>"
        )
    out.append(f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="4" y2="{height - 20}" stroke="#111827"/>')
    for r, key in enumerate(keys):
        b = result.binary[key]
        yc = 6 + r * rh + 12
        out.append(f'<text x="{lw - 8}" y="{yc + 4}" text-anchor="end">{escape(BINARY_OUTCOMES[key])}</text>')
        if b.median is None:
            continue
        if b.within95:
            out.append(
                f'<line x1="{x(b.within95[0]):.1f}" x2="{x(b.within95[1]):.1f}" y1="{yc + 9}" '
                f'y2="{yc + 9}" stroke="{CONTROL_COLOUR}" stroke-width="4"><title>within-draw '
                f"{CONFIDENCE}%: {_iv_pp(b.within95)}</title></line>"
            )
        if b.interval95:
            out.append(
                f'<line x1="{x(b.interval95[0]):.1f}" x2="{x(b.interval95[1]):.1f}" y1="{yc}" y2="{yc}" '
                f'stroke="{TREATED_COLOUR}" stroke-width="1.5"><title>{CONFIDENCE}% over draws: '
                f"{_iv_pp(b.interval95)}</title></line>"
            )
        if b.interval90:
            out.append(
                f'<line x1="{x(b.interval90[0]):.1f}" x2="{x(b.interval90[1]):.1f}" y1="{yc}" y2="{yc}" '
                f'stroke="{TREATED_COLOUR}" stroke-width="5"><title>90% over draws: '
                f"{_iv_pp(b.interval90)}</title></line>"
            )
        for e in b.estimates:
            if e is not None:
                out.append(
                    f'<line x1="{x(e):.1f}" x2="{x(e):.1f}" y1="{yc - 8}" y2="{yc - 4}" stroke="#111827"/>'
                )
        out.append(
            f'<circle cx="{x(b.median):.1f}" cy="{yc}" r="4.5" fill="#111827"><title>median over draws: '
            f"{_pdiff(b.median)} points</title></circle>"
        )
    out.append("</svg>")
    return "".join(out)


def _priors_table(intervention: str) -> Table:
    """Every effect prior of the catalogue with its basis and sources; the trial's own row in bold."""
    rows = []
    for name, p in PRIORS.items():
        mine = name == intervention
        lo, mid, hi = p.central()
        rows.append(
            (
                Cell(name, strong=mine),
                Cell(p.parameter),
                Cell(p.describe(), sub=f"{p.parameter}: median {mid:.3g} (95% {lo:.3g} to {hi:.3g}) "
                     "at the default cohort"),
                Cell(p.label, strong=True),
                Cell(p.evidence, sub=" · ".join(p.sources) if p.sources else "no source: assumed"),
            )
        )  # fmt: skip
    return Table(
        columns=(
            Column("Intervention"),
            Column("Strength parameter"),
            Column("Effect prior"),
            Column("Basis"),
            Column("Human evidence and source"),
        ),
        rows=tuple(rows),
        caption="Effect priors of every intervention",
        css_class="wide",
    )


def _draws_table(result: DrawsTrialResult) -> Table:
    rows = []
    p = result.prior.parameter
    for d in result.draws:
        s = d.result.binary["spread"]
        h = d.result.hrv.difference
        varied = ", ".join(f"{k} = {v:.3g}" for k, v in d.parameters.items()) or "point defaults"
        rows.append(
            (
                Cell(str(d.index + 1), num=True),
                Cell(f"{d.effect:.3g}", sub=f"prior level {d.effect_level:.2f}", num=True),
                Cell(varied),
                Cell(f"{pct(s.control.proportion, 1)} → {pct(s.intervention.proportion, 1)}", num=True),
                Cell(_pdiff(s.difference), sub=_ci_pp(s), num=True),
                Cell("–" if h.mean is None else f"{h.mean:+.1f}", num=True),
            )
        )
    return Table(
        columns=(
            Column("Draw", num=True),
            Column(p, num=True),
            Column("Model parameters of the draw"),
            Column("New spread, control → intervention", num=True),
            Column(f"Difference (within-draw {CONFIDENCE}% CI)", num=True),
            Column("HRV difference, ms", num=True),
        ),
        rows=tuple(rows),
        caption="Each draw's trial",
        css_class="wide",
    )


def _hrv_draws(result: DrawsTrialResult) -> HRVView:
    h = result.hrv
    if h.median is None:
        return HRVView(empty="No patient was seen after the start, so there is no HRV change to show.")
    return HRVView(
        table=Table(
            columns=(Column("HRV RMSSD change, intervention − control"), Column("ms", num=True)),
            rows=(
                (Cell("Median over draws", strong=True), Cell(f"{h.median:+.1f}", num=True, strong=True)),
                (Cell("90% interval over draws"), Cell(_iv_ms(h.interval90), num=True)),
                (Cell(f"{CONFIDENCE}% interval over draws"), Cell(_iv_ms(h.interval95), num=True)),
                (Cell(f"Within-draw {CONFIDENCE}% (noise only)"), Cell(_iv_ms(h.within95), num=True)),
            ),
            caption="Paired difference of the RMSSD change over draws",
        ),
        caption=(
            "Per draw: the mean over patients seen after the start of (RMSSD at the last visit − RMSSD "
            "at the start) under the intervention minus the same under control, with its t interval. "
            "For comparison, the human evidence on vagal stimulation: see the effect-prior table."
        ),
    )


def _settings_draws(result: DrawsTrialResult) -> Table:
    s = result.spec
    entry = CATALOGUE.get(s.intervention)
    what = entry[1] if entry else "not in the model's catalogue"
    stop = "to the end of follow-up" if s.stop_day is None else f"to day {s.stop_day} after enrolment"
    changed = {k: v for k, v in s.changed_parameters().items() if k != result.prior.parameter}
    params = ", ".join(f"{k} = {v}" for k, v in changed.items()) if changed else "defaults"
    rows: list[tuple[str, str]] = [
        ("Intervention", f"{s.intervention}: {what}"),
        ("Given", f"from day {s.start_day} after enrolment (first clinic visit) {stop}"),
        ("Patients", f"{result.n} virtual CRPS patients per draw (the first {result.n} cases by injury)"),
        ("Draws", f"{result.k} (every draw runs both arms on the same seed)"),
        ("Model parameters", result.source.label),
        ("Strength", f"{result.prior.parameter} from its effect prior: {result.prior.describe()} "
                     f"({result.prior.label})"),
        ("Other settings", params),
        ("Follow-up", f"{s.years:g} years from the injury"),
        ("Seed", str(s.seed)),
    ]  # fmt: skip
    return Table(
        columns=(Column("Setting"), Column("Value")),
        rows=tuple((Cell(k, header=True), Cell(v)) for k, v in rows),
        caption="Trial settings",
    )


@dataclass(frozen=True)
class TrialView:
    """What the trial page shows; plain text except `bars` and `css` (built by crpsmap's code).

    mode "draws": a trial over draws; "point": one run at the point parameters (--point)."""

    mode: str
    title: str
    meta: str
    disclaimer: str
    headline: str
    noise: str
    outcomes: Table
    bars: Markup
    hrv: HRVView
    priors: Table
    prior_note: str
    draws: Table | None
    settings: Table
    confidence: int
    css: Markup


def _stamp(generated: dt.datetime | None) -> str:
    generated = generated or dt.datetime.now(dt.UTC).replace(microsecond=0)
    return generated.isoformat().replace("+00:00", " UTC")


def trial_view(result: TrialResult | DrawsTrialResult, *, generated: dt.datetime | None = None) -> TrialView:
    """The trial page's view model, for a trial over draws or a point trial."""
    stamp = _stamp(generated)
    name = result.spec.intervention
    if isinstance(result, DrawsTrialResult):
        return TrialView(
            mode="draws",
            title=TITLE,
            meta=(
                f"{name} vs control · {result.n} virtual patients × {result.k} draws · generated "
                f"{stamp} by crpsmap"
            ),
            disclaimer=DISCLAIMER,
            headline=headline_draws(result),
            noise=uncertainty_sentence(result),
            outcomes=_outcomes_draws(result),
            bars=trusted(forest_svg(result)),
            hrv=_hrv_draws(result),
            priors=_priors_table(name),
            prior_note=(
                f"This trial drew {result.prior.parameter} from the {name} prior "
                f"({result.prior.label}); the model's default strength is not used."
            ),
            draws=_draws_table(result),
            settings=_settings_draws(result),
            confidence=CONFIDENCE,
            css=trusted(css()),
        )
    param, value, source = default_strength_source(name) if name in PRIORS else ("–", float("nan"), "")
    return TrialView(
        mode="point",
        title=TITLE,
        meta=f"{name} vs control · {result.n} virtual patients · point run · generated {stamp} by crpsmap",
        disclaimer=DISCLAIMER,
        headline=headline(result),
        noise=NOISE_SENTENCE,
        outcomes=_outcomes(result),
        bars=trusted(bars_svg(result)),
        hrv=_hrv(result),
        priors=_priors_table(name),
        prior_note=(
            f"This point run did not use the priors below: it used the model's default strength {param} = "
            f"{getattr(result.spec.params, param, value):g} ({ASSUMED}; source in the model: {source})."
        ),
        draws=None,
        settings=_settings(result),
        confidence=CONFIDENCE,
        css=trusted(css()),
    )


def render_trial_html(result: TrialResult | DrawsTrialResult, *, generated: dt.datetime | None = None) -> str:
    """The whole page as one HTML string (no script, no external resource)."""
    return render("trial.html", v=trial_view(result, generated=generated))


def result_json(result: TrialResult | DrawsTrialResult) -> dict[str, Any]:
    """The statistics as JSON data: a point trial with every patient's outcomes; a trial over draws with
    every draw's parameters and statistics."""
    if isinstance(result, DrawsTrialResult):
        return result.to_dict()
    data = result.to_dict(patients=True)
    data["uncertainty"] = {
        "mode": "point",
        "sentence": NOISE_SENTENCE,
        "parameter_uncertainty_included": False,
        "effect_size_uncertainty_included": False,
    }
    return data


def write_trial_page(
    result: TrialResult | DrawsTrialResult, path: str | Path, json_path: str | Path | None = None
) -> None:
    """Write the HTML page (and the statistics as JSON), each atomically."""
    atomic_write_text(path, render_trial_html(result))
    if json_path is not None:
        atomic_write_text(json_path, json.dumps(result_json(result), indent=1) + "\n")
