"""The virtual-trial page: one self-contained HTML file styled like the cohort report (inline CSS, SVG).

The first thing on the page, before any number, says that this is a model result and not evidence; the
outcome table gives each arm's share, the paired difference with its interval, McNemar's p and the
discordant pairs; then a bar plot, the HRV change, the settings and the methods.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path
from typing import Any

from crpsmap.model import CATALOGUE
from crpsmap.report.html import css
from crpsmap.report.plots import fmt_p, pct
from crpsmap.stats.proportions import Proportion
from crpsmap.trial.design import DISCLAIMER, TrialResult
from crpsmap.trial.outcomes import BINARY_OUTCOMES
from crpsmap.trial.paired import MeanCI, PairedBinary

TITLE = "Virtual trial (model result)"
CONTROL_COLOUR = "#9ca3af"
TREATED_COLOUR = "#2563eb"
EXTRA_CSS = (
    ".model{background:#fee2e2;border:2px solid #b91c1c;border-radius:8px;padding:12px 16px;margin:14px 0;"
    "font-size:16px;font-weight:600;color:#7f1d1d}"
    ".key{display:inline-block;width:12px;height:12px;border-radius:2px;margin:0 4px -1px 10px}"
)


def _pdiff(v: float | None, digits: int = 1) -> str:
    """A difference in percentage points with its sign."""
    return "–" if v is None else f"{100 * v:+.{digits}f}"


def _share(p: Proportion) -> str:
    if p.proportion is None:
        return "–"
    return f"{pct(p.proportion, 1)} <span class='src'>({p.count}/{p.denominator})</span>"


def _ci_pp(b: PairedBinary) -> str:
    if b.ci_low is None or b.ci_high is None:
        return "–"
    return f"{_pdiff(b.ci_low)} to {_pdiff(b.ci_high)}"


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
        f"points (95% CI {_ci_pp(s)}; {result.n} virtual patients, {s.table.discordant} discordant pairs)."
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
        f"(95% CI {_ci_pp(s)}), McNemar p {fmt_p(s.mcnemar_p)}"
    )


def _table(result: TrialResult) -> str:
    rows = [
        "<table><tr><th>Outcome after the start</th><th class='n'>Control</th><th class='n'>Intervention</th>"
        "<th class='n'>Difference, points</th><th class='n'>95% CI</th>"
        "<th class='n'>McNemar p</th><th class='n'>Discordant (I / C)</th></tr>"
    ]
    for key, label in BINARY_OUTCOMES.items():
        b = result.binary[key]
        rows.append(
            f"<tr><td>{escape(label)}</td><td class='n'>{_share(b.control)}</td>"
            f"<td class='n'>{_share(b.intervention)}</td><td class='n'>{_pdiff(b.difference)}</td>"
            f"<td class='n'>{_ci_pp(b)}</td><td class='n'>{fmt_p(b.mcnemar_p)}</td>"
            f"<td class='n'>{b.table.discordant} ({b.table.first_only} / {b.table.second_only})</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


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
    ci = "" if m.ci_low is None or m.ci_high is None else f" (95% CI {m.ci_low:+.1f} to {m.ci_high:+.1f})"
    return f"{m.mean:+.1f}{unit}{ci}"


def _hrv(result: TrialResult) -> str:
    h = result.hrv
    if h.difference.n == 0:
        return '<p class="empty">No patient was seen after the start, so there is no HRV change to show.</p>'
    return (
        "<table><tr><th>HRV RMSSD, last visit minus the start</th><th class='n'>Mean change</th></tr>"
        f"<tr><td>Control</td><td class='n'>{_mean(h.control)}</td></tr>"
        f"<tr><td>Intervention</td><td class='n'>{_mean(h.intervention)}</td></tr>"
        f"<tr><td><b>Paired difference</b> (intervention − control)</td><td class='n'><b>"
        f"{_mean(h.difference)}</b></td></tr></table>"
        f"<p class='caption'>{h.difference.n} patients seen after the start; paired t test p "
        f"{fmt_p(h.p_value)}. The start value is the RMSSD at the last visit on or before the start day "
        "(the same in both arms); the end value is the RMSSD at the last visit.</p>"
    )


def _settings(result: TrialResult) -> str:
    s = result.spec
    what = CATALOGUE[s.intervention][1]
    stop = "to the end of follow-up" if s.stop_day is None else f"to day {s.stop_day} after enrolment"
    changed = s.changed_parameters()
    params = (
        ", ".join(f"{escape(k)} = {escape(str(v))}" for k, v in changed.items())
        if changed
        else "all at their defaults"
    )
    rows: list[tuple[str, str]] = [
        ("Intervention", f"{escape(s.intervention)}: {escape(what)}"),
        ("Given", f"from day {s.start_day} after enrolment (first clinic visit) {stop}"),
        ("Patients", f"{result.n} virtual CRPS patients ({result.observed_after_start} seen after start)"),
        ("Injuries screened", f"{result.injuries_screened} (the first {result.n} CRPS cases by injury)"),
        ("Follow-up", f"{s.years:g} years from the injury"),
        ("Seed", str(s.seed)),
        ("Model parameters", params),
    ]
    return "<table>" + "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


METHODS = """<ul class="methods">
<li><b>Virtual patients.</b> The first N injuries of the virtual clinic that are still symptomatic on the
screening day are enrolled (screening runs without treatment, so both arms enrol the same people).</li>
<li><b>Common random numbers.</b> Every random draw is a function of (seed, patient, step, node, stream),
so each patient is followed twice with the same draws: once without and once with the intervention.
Until the first dose the two arms are identical; every difference after it is caused by the intervention
in the model. Outcomes are therefore compared pair by pair.</li>
<li><b>Window.</b> An outcome counts when it is first recorded at a visit after the start day (the
first day of the intervention) and up to the last visit; all enrolled patients are the denominator.
Spread: a newly involved area; new limb: a limb first involved after the start (not an onset limb);
generalized: the first date on which four limbs and a trunk area are involved; visceral: the first
visceral system; all as classified by crpsmap's spread rules, exactly as for clinic data.</li>
<li><b>Paired difference.</b> Intervention minus control, with Newcombe's hybrid score interval for
paired proportions (method 10: the Wilson limits of the two proportions combined with the
continuity-corrected correlation of the pairs). Each arm's share has a Wilson 95% interval.</li>
<li><b>McNemar's exact test</b> on the discordant pairs (patients with the outcome in one arm only);
concordant pairs carry no information about the difference.</li>
<li><b>HRV.</b> Change in RMSSD from the start to the last visit, per arm; the paired difference of the
changes with a t interval and a paired t test.</li>
<li>Intervals and p-values describe the simulation noise of a finite virtual cohort under one set of
model parameters; they say nothing about the uncertainty of the model itself.</li>
</ul>
<p class="src">Newcombe RG. Improved confidence intervals for the difference between binomial proportions
based on paired data. Stat Med 1998;17:2635–2650. McNemar Q. Note on the sampling error of the difference
between correlated proportions or percentages. Psychometrika 1947;12:153–157. Wilson EB. J Am Stat Assoc
1927;22:209–212.</p>
"""


def render_trial_html(result: TrialResult, *, generated: dt.datetime | None = None) -> str:
    """The whole page as one HTML string (no script, no external resource)."""
    generated = generated or dt.datetime.now(dt.UTC).replace(microsecond=0)
    key = (
        f'<p class="caption"><span class="key" style="background:{CONTROL_COLOUR}"></span>control '
        f'<span class="key" style="background:{TREATED_COLOUR}"></span>intervention '
        "· bars: share of patients; whiskers: Wilson 95% interval</p>"
    )
    body = [
        f"<h1>{escape(TITLE)}</h1>",
        f'<div class="meta">{escape(result.spec.intervention)} vs control · {result.n} virtual patients · '
        f"generated {generated.isoformat().replace('+00:00', ' UTC')} by crpsmap</div>",
        f'<div class="model" role="note">{escape(DISCLAIMER)}</div>',
        f'<p class="headline">{escape(headline(result))}</p>',
        "<h2>Outcomes after the start of the intervention</h2>",
        _table(result),
        "<p class='caption'>Difference: intervention minus control in percentage points (negative: fewer "
        "patients with the outcome under the intervention); 95% CI: Newcombe's paired interval; McNemar: "
        "exact test. Discordant pairs: patients with the outcome only under the intervention (I) or only "
        "under control (C).</p>",
        bars_svg(result),
        key,
        "<h2>Vagal tone: HRV change</h2>",
        _hrv(result),
        "<h2>Trial settings</h2>",
        _settings(result),
        "<h2>Methods</h2>",
        METHODS,
        f"<footer>{escape(DISCLAIMER)} The virtual patients are simulated; no real patient is in this "
        "page.</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(TITLE)}</title><style>{css()}{EXTRA_CSS}</style></head><body><main>"
        + "\n".join(body)
        + "</main></body></html>\n"
    )


def write_trial_page(result: TrialResult, path: str | Path, json_path: str | Path | None = None) -> None:
    """Write the HTML page (and the statistics as JSON, with every patient's outcomes)."""
    import json

    Path(path).write_text(render_trial_html(result), encoding="utf-8")
    if json_path is not None:
        data: dict[str, Any] = result.to_dict(patients=True)
        Path(json_path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
