"""The self-contained HTML report: inline CSS and SVG, no script, no network.

Written for a clinician who has a minute: one headline sentence with its interval first, then where
(body heat maps), how fast (Kaplan-Meier), how (patterns, limb order), how it compares (literature),
what goes with it (Cox), and how it was computed (methods). It describes a cohort; it gives no advice.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from functools import cache
from html import escape
from importlib import resources
from typing import Any

from crpsmap.atlas import LIMBS, load_atlas
from crpsmap.report.bodymap import ATTRIBUTION, area_colours, coloured_svg
from crpsmap.report.mechanisms import mechanisms_section
from crpsmap.report.plots import bars_svg, fmt_p, heat, km_svg, legend_svg, pct
from crpsmap.stats.proportions import Proportion
from crpsmap.stats.summary import CohortStatistics

LIMB_NAMES = {
    "upper_right": "right arm",
    "upper_left": "left arm",
    "lower_right": "right leg",
    "lower_left": "left leg",
}
COX_LABELS = {
    "age_at_onset": "Age at onset (per year)",
    "female": "Female (vs male)",
    "lower_girdle_onset": "Onset in a leg (vs an arm)",
    "hrv_rmssd": "Vagal tone: HRV RMSSD (per ms)",
    "limbs_affected": "Limbs already affected (per limb; time-varying)",
}


@cache
def css() -> str:
    """The report's style sheet (report/report.css), inlined into the page."""
    return resources.files("crpsmap.report").joinpath("report.css").read_text(encoding="utf-8")


def _ci(p: Proportion) -> str:
    if p.proportion is None:
        return "not estimable"
    return f"{pct(p.ci_low)}–{pct(p.ci_high)}"


def headline(stats: CohortStatistics) -> str:
    """The one-sentence answer (plain text)."""
    f = stats.figures
    if f.n_patients == 0:
        return "This cohort has no patients, so there is nothing to report yet."
    if f.n_with_onset == 0:
        return (
            f"None of the {f.n_patients} patients has an onset or assessment record naming a body region, "
            "so spread cannot be judged."
        )
    a, m = f.any_spread, f.multi_limb
    if a.count == 0:
        return (
            f"In this cohort, none of the {a.denominator} patients (95% CI 0–{pct(a.ci_high)}) showed spread "
            "beyond the onset area during follow-up."
        )
    return (
        f"In this cohort, {pct(a.proportion)} of patients (95% CI {_ci(a)}; {a.count} of "
        f"{a.denominator}) showed "
        f"spread beyond the onset area; {pct(m.proportion)} ({_ci(m)}) had CRPS in more than one "
        "limb by their "
        "last visit."
    )


def _cards(stats: CohortStatistics) -> str:
    f = stats.figures
    km = stats.km.overall
    items = [
        ("Spread beyond onset area", f.any_spread),
        ("More than one limb", f.multi_limb),
        ("Generalized (4 limbs + trunk)", f.generalized),
        ("Visceral involvement", f.visceral),
    ]
    out = ['<div class="cards">']
    for label, p in items:
        out.append(
            f'<div class="card"><div class="v">{pct(p.proportion)}</div><div class="k">{escape(label)}</div>'
            f'<div class="ci">95% CI {_ci(p)} · {p.count}/{p.denominator}</div></div>'
        )
    if km is not None and km.median_days is not None:
        lo = "–" if km.median_ci_low is None else f"{km.median_ci_low / 365.25:.1f}"
        hi = "not reached" if km.median_ci_high is None else f"{km.median_ci_high / 365.25:.1f}"
        val, ci = f"{km.median_days / 365.25:.1f} y", f"95% CI {lo}–{hi} y · n={km.n}"
    elif km is not None:
        val, ci = "not reached", f"fewer than half reached a second limb · n={km.n}"
    else:
        val, ci = "–", "no patient with an identifiable first limb"
    out.append(
        f'<div class="card"><div class="v">{val}</div><div class="k">Median time to a second limb</div>'
        f'<div class="ci">{ci}</div></div></div>'
    )
    return "".join(out)


def _bodymaps(stats: CohortStatistics) -> str:
    f = stats.figures
    if f.n_with_onset == 0:
        return '<p class="empty">No patient has an involved region recorded, so there is no map to draw.</p>'
    atlas = load_atlas()
    areas = [a.slug for a in atlas.areas]
    vmax_raw = max(
        [f.onset_share[a].proportion or 0.0 for a in areas]
        + [f.last_share[a].proportion or 0.0 for a in areas]
    )
    vmax = max(0.1, min(1.0, -(-vmax_raw * 10 // 1) / 10))
    maps = []
    for key, shares, caption in (
        ("onset", f.onset_share, "At onset"),
        ("last", f.last_share, "At last follow-up"),
    ):
        values = {a: shares[a].proportion for a in areas}

        def title(area: str, shares: dict[str, Proportion] = shares) -> str:
            p = shares[area]
            return f"{pct(p.proportion)} of patients ({p.count}/{p.denominator})"

        svg = coloured_svg(area_colours(values, vmax, heat), title, css_class=f"map-{key}")
        maps.append(f"<figure><figcaption>{caption}</figcaption>{svg}</figure>")
    visc = "".join(
        f"<tr><td>{escape(v.name)}</td><td class='n'>{pct(f.onset_share[v.slug].proportion)}</td>"
        f"<td class='n'>{pct(f.last_share[v.slug].proportion)}</td></tr>"
        for v in atlas.visceral
    )
    top = [
        a
        for a in sorted(areas, key=lambda a: -(f.last_share[a].proportion or 0))[:5]
        if f.last_share[a].count
    ]
    top_txt = ", ".join(
        f"{escape(atlas.area_by_slug[a].name.lower())} {pct(f.last_share[a].proportion)}" for a in top
    )
    return (
        '<p class="caption">Share of patients with each body area involved, at onset and at the '
        "last follow-up "
        "(both front and back segments of an area take the area's colour; hover a segment for its figure). "
        f"Most often involved at last follow-up: {top_txt}.</p>"
        f'<div class="maps">{"".join(maps)}</div>'
        f'<div class="two"><div>{legend_svg(vmax, "heat-legend")}'
        '<p class="src">Front view: the patient\'s right is on your left; back view: on your right. '
        "Grey: no patient.</p></div>"
        "<div><table><tr><th>Internal organs (not drawn)</th><th>onset</th><th>last follow-up</th></tr>"
        f"{visc}</table></div></div>"
    )


def _km(stats: CohortStatistics) -> str:
    km = stats.km
    ex = (
        f"{km.excluded_no_limb} patient(s) with no limb ever involved and "
        f"{km.excluded_ambiguous_first_limb} with "
        "two or more limbs involved at once at the start (no identifiable first limb) are not in "
        "this analysis"
    )
    if km.excluded_no_onset:
        ex += f"; {km.excluded_no_onset} without any involvement record"
    if km.overall is None:
        return f'<p class="empty">No patient has an identifiable first limb, so there is no curve. {ex}.</p>'
    curves = [km.overall] + [km.by_girdle[g] for g in ("upper", "lower") if g in km.by_girdle]
    o = km.overall
    if o.events == 0:
        lead = (
            f'<p class="empty">None of the {o.n} patients with an identifiable first limb reached a '
            "second limb "
            "during follow-up.</p>"
        )
    else:
        lead = ""
    rows = "".join(
        f"<tr><td>{escape(_group(c.label))}</td><td class='n'>{c.n}</td><td class='n'>{c.events}</td>"
        f"<td class='n'>{_days(c.median_days)}</td><td class='n'>{_days(c.median_ci_low)} – "
        f"{_days(c.median_ci_high)}</td></tr>"
        for c in curves
    )
    return (
        f"{lead}{km_svg(curves)}"
        '<p class="caption">Share of patients in whom CRPS had reached a second limb, by years since onset '
        "(Kaplan–Meier, 1 − survival; shaded: 95% confidence band; patients without a second limb "
        "count until "
        f"their last visit). Dashed lines mark the medians. {ex}.</p>"
        "<table><tr><th>group</th><th class='n'>patients</th><th class='n'>second limb seen</th>"
        "<th class='n'>median (days)</th>"
        f"<th class='n'>95% CI (days)</th></tr>{rows}</table>"
    )


def _group(label: str) -> str:
    names = {
        "all": "all patients",
        "upper limb onset": "onset in an arm",
        "lower limb onset": "onset in a leg",
    }
    return names.get(label, label)


def _days(v: float | None) -> str:
    return "not reached" if v is None else f"{v:.0f}"


def _patterns(stats: CohortStatistics) -> str:
    f = stats.figures
    parts = []
    spread_n = f.maleki["contiguous"].denominator
    if spread_n == 0:
        parts.append(
            '<p class="empty">No patient spread beyond the onset area, so there are no patterns.</p>'
        )
        return "".join(parts)
    parts.append(
        f"<h3>Kind of spread (Maleki 2000), among the {spread_n} patients who spread</h3>"
        + bars_svg(
            [
                ("contiguous (next to involved area)", f.maleki["contiguous"]),
                ("independent (distant)", f.maleki["independent"]),
                ("mirror (same area, other side)", f.maleki["mirror"]),
            ]
        )
        + '<p class="caption">A patient counts once for each kind seen at least once; '
        + "the shares add up to more "
        "than 100%.</p>"
    )
    lp = f.limb_patterns
    n_lp = lp.overall["contralateral"].denominator
    if n_lp == 0:
        parts.append(
            '<h3>Which limb came second (van Rijn 2011)</h3><p class="empty">No patient with an identifiable '
            "first limb went on to a second limb.</p>"
        )
    else:
        rows = [(k, lp.overall[k]) for k in ("contralateral", "ipsilateral", "diagonal")]
        trig = []
        for t in ("spontaneous", "trauma"):
            d = lp.by_trigger[t]
            n_t = d["contralateral"].denominator
            trig.append(
                f"<div><h3>{t.capitalize()} second limb (n={n_t})</h3>"
                + bars_svg(
                    [(k, d[k]) for k in ("contralateral", "ipsilateral", "diagonal")],
                    width=520,
                    colour="#60a5fa" if t == "spontaneous" else "#f97316",
                )
                + "</div>"
            )
        parts.append(
            f"<h3>Which limb came second (van Rijn 2011), among the {n_lp} patients whose second "
            "limb followed an "
            "identifiable first one</h3>"
            + bars_svg([(f"{k} ({_lp_words(k)})", p) for k, p in rows])
            + f'<div class="two">{"".join(trig)}</div>'
            + '<p class="caption">Trauma: an injury or operation recorded in that limb '
            + "in the 183 days before it "
            f"became involved. {lp.excluded_tied_second} patient(s) whose second and third limbs "
            "appeared on the "
            "same date are left out (no identifiable second limb).</p>"
        )
        parts.append("<h3>Limb order: from the first limb to the second</h3>" + _flows(stats))
    d = f.direction
    if d["ascending"].denominator:
        parts.append(
            f"<h3>Direction of each new limb (all {d['ascending'].denominator} new-limb events)</h3>"
            + bars_svg(
                [
                    ("ascending (leg → arm)", d["ascending"]),
                    ("descending (arm → leg)", d["descending"]),
                    ("lateral (same girdle)", d["lateral"]),
                ]
            )
        )
    counts = f.limb_count
    parts.append(
        "<h3>Limbs involved at last follow-up</h3><table><tr>"
        + "".join(f"<th>{k} limb{'s' if k != 1 else ''}</th>" for k in range(5))
        + "</tr><tr>"
        + "".join(
            f"<td class='n'>{counts.get(k, 0)} "
            f"({pct(counts.get(k, 0) / f.n_with_onset if f.n_with_onset else None)})</td>"
            for k in range(5)
        )
        + "</tr></table>"
    )
    return "".join(parts)


def _lp_words(k: str) -> str:
    return {
        "contralateral": "same girdle, other side",
        "ipsilateral": "same side, other girdle",
        "diagonal": "other side and girdle",
    }[k]


def _flows(stats: CohortStatistics) -> str:
    flows = stats.figures.limb_flows
    total = sum(flows.values())
    vmax = max(flows.values(), default=1)
    head = "".join(f"<th>→ {LIMB_NAMES[b]}</th>" for b in LIMBS)
    rows = []
    for a in LIMBS:
        row_total = sum(flows.get((a, b), 0) for b in LIMBS)
        cells = []
        for b in LIMBS:
            if a == b:
                cells.append('<td class="cell" style="background:#f9fafb;color:#9ca3af">—</td>')
                continue
            n = flows.get((a, b), 0)
            share = n / row_total if row_total else None
            bg = heat(0.85 * n / vmax) if n else "#fff"
            colour = "#fff" if n and n / vmax > 0.6 else "#111827"
            cells.append(
                f'<td class="cell" style="background:{bg};color:{colour}">{n}<br>'
                f'<span style="font-size:11px">{pct(share)} of row</span></td>'
            )
        rows.append(f"<tr><th>first: {LIMB_NAMES[a]} (n={row_total})</th>{''.join(cells)}</tr>")
    return (
        f'<table class="flow"><tr><th>first limb \\ second limb</th>{head}</tr>{"".join(rows)}</table>'
        f'<p class="caption">{total} patients. Each row: where CRPS went next from that first limb.</p>'
    )


def _literature(stats: CohortStatistics) -> str:
    if not stats.literature:
        return '<p class="empty">No published figure could be compared.</p>'
    sources: list[str] = []
    rows = []
    for c in stats.literature:
        if c.source not in sources:
            sources.append(c.source)
        ref = sources.index(c.source) + 1
        pub_n = f"{c.published_count}/{c.published_denominator}" if c.published_denominator else ""
        derived = " (count derived)" if c.count_derived else ""
        pci = c.published_interval
        if pci is not None:
            inside = "inside" if c.inside_published_interval else "outside"
            pub_n += f" · 95% CI {pct(pci[0])}–{pct(pci[1])}" + (
                f" · cohort {inside}" if c.comparable else ""
            )
        note = f"<br><span class='src'>{escape(c.note)}</span>" if c.note else ""
        rows.append(
            f"<tr><td>{escape(c.label)}{note}</td>"
            f"<td class='n'><b>{pct(c.cohort.proportion)}</b><br><span class='src'>{_ci(c.cohort)} · "
            f"{c.cohort.count}/{c.cohort.denominator}</span></td>"
            f"<td class='n'><b>{pct(c.published)}</b><br><span class='src'>{pub_n}{derived}</span></td>"
            f"<td>{escape(short_citation(c.source))} [{ref}]</td>"
            f"<td class='n'>{fmt_p(c.p_value)}<br>"
            f"<span class='src'>{escape(c.test or 'not tested')}</span></td>"
            "</tr>"
        )
    refs = "".join(f"<li>{escape(src)}</li>" for src in sources)
    return (
        '<p class="caption">The cohort beside published cohorts. p: Fisher\'s exact test (two samples) where '
        "the published count is known or derived (share × denominator, marked), otherwise an exact binomial "
        "test against the published share. Published cohorts were selected differently (referral centres, "
        "samples chosen for spread): a small p says the figures differ, not which is right.</p>"
        "<table><tr><th>figure</th><th>this cohort</th><th>published</th><th>source</th><th>p "
        "(test)</th></tr>" + "".join(rows) + f'</table><ol class="src">{refs}</ol>'
    )


def short_citation(source: str) -> str:
    """'van Rijn et al. 2011' from a full reference."""
    first = source.split(",")[0].split(".")[0].strip()
    words = first.split()
    if len(words) > 1 and words[-1].isupper():
        words = words[:-1]
    year = re.search(r"\b(19|20)\d{2}\b", source)
    return f"{' '.join(words)} et al.{' ' + year.group(0) if year else ''}"


def _cox(stats: CohortStatistics) -> str:
    cox = stats.cox
    info = cox.info()
    excl = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in info["excluded"].items() if v)
    excl_txt = f" Left out: {excl}." if excl else ""
    if not cox.fitted:
        return f'<p class="empty">{escape(cox.note or "The Cox model was not fitted.")}{escape(excl_txt)}</p>'
    rows = "".join(
        f"<tr><td>{escape(COX_LABELS.get(k, k))}</td><td class='n'>{t.hazard_ratio:.3f}</td>"
        f"<td class='n'>{t.ci_low:.3f} – {t.ci_high:.3f}</td><td class='n'>{fmt_p(t.p)}</td></tr>"
        for k, t in cox.terms.items()
    )
    hrv = (
        "HRV RMSSD (first recorded value) is in the model; patients without it were left out."
        if cox.hrv_included
        else "HRV was recorded for fewer than half of the patients, so it is not in the model."
    )
    return (
        f'<p class="caption">Hazard of CRPS reaching a new limb, from the first limb on ({cox.n_patients} '
        f"patients, {cox.n_events} new-limb events, {cox.n_rows} intervals). A hazard ratio above 1 "
        "means a new "
        f"limb sooner. {escape(hrv)}{escape(excl_txt)} Fitted with {escape(cox.fitter)}. These are "
        "associations in "
        "this cohort, not causes.</p>"
        "<table><tr><th>covariate</th><th class='n'>hazard ratio</th><th class='n'>95% CI</th>"
        "<th class='n'>p</th></tr>"
        f"{rows}</table>"
    )


METHODS = """
<ul class="methods"> <li><b>Data and rules.</b> Body regions follow the 74-segment CHOIR Body Map; front
and back segments of one body part on one side form an <i>area</i>. Involvement is read from onset and
assessment records; an area is newly involved on the first date it appears; follow-up ends at the last
record of any kind.</li> <li><b>Spread</b>: any area newly involved after the onset date. Each new area
is <i>mirror</i> (its mirror area was involved before), else <i>contiguous</i> (a neighbouring area was
involved), else <i>independent</i> (Maleki et al. 2000), or <i>visceral</i> (an internal-organ
system).</li> <li><b>Multi-limb</b>: two or more limbs involved at the last follow-up.
<b>Generalized</b>: all four limbs and a trunk area involved. <b>Visceral</b>: any internal-organ system
involved.</li> <li><b>Second-limb pattern</b> (van Rijn et al. 2011), among patients with an identifiable
first limb (exactly one limb when the first limb appeared) who later had a second limb:
<i>contralateral</i> (same girdle, other side), <i>ipsilateral</i> (same side, other girdle),
<i>diagonal</i> (other side and girdle). Patients whose second and third limbs appeared on the same date
are left out. <b>Trigger</b>: trauma if an injury or operation was recorded in the new area or its limb
within 183 days before, else spontaneous. <b>Direction</b> counts every new-limb event: ascending (first
limb a leg, new limb an arm), descending, lateral (same girdle).</li> <li><b>Proportions</b> carry Wilson
95% score intervals; the denominator of every share is shown. Patients without any involvement record are
counted in the cohort size but not in the shares.</li> <li><b>Time to a second limb</b>: days from the
onset date to the first record of a second limb; patients without one are censored at their last record.
Kaplan–Meier estimate (lifelines), median with the 95% interval where the log(−log) confidence band
crosses 50%; curves by the girdle of the first limb. Patients with no limb or no identifiable first limb
are left out (counts given).</li> <li><b>Cox model</b>: time from the first limb to each next limb in
counting-process form ((start, stop] intervals split at every new limb); covariates age at onset, sex
(female = 1), onset girdle (leg = 1), HRV RMSSD (first recorded value; included only if recorded for at
least half of the patients, who are then the sample) and the number of limbs already affected
(time-varying). Efron ties. lifelines CoxTimeVaryingFitter; for large tables (&gt;40,000 intervals) the
same partial likelihood is maximised by statsmodels PHReg, which agrees with lifelines to 1e-6 in the
tests. Not fitted with fewer than 10 events.</li> <li><b>Literature</b>: published figures from the
project's reference file with their sources; Fisher's exact test where both counts are known (counts
derived from a published share × denominator are marked), else an exact binomial test against the
published share.</li> </ul> <h3>References</h3> <ul class="methods src"> <li>van Rijn MA, Marinus J,
Putter H, Bosselaar SRJ, Moseley GL, van Hilten JJ. Spreading of complex regional pain syndrome: not a
random process. J Neural Transm 2011;118(9):1301–1309. doi:10.1007/s00702-011-0601-1</li> <li>Maleki J,
LeBel AA, Bennett GJ, Schwartzman RJ. Patterns of spread in complex regional pain syndrome, type I
(reflex sympathetic dystrophy). Pain 2000;88(3):259–266. doi:10.1016/S0304-3959(00)00332-8</li> <li>CHOIR
Body Map: Stanford Collaborative Health Outcomes Information Registry (Kao, Mackey); Scherrer KH et al.
Development and validation of the Collaborative Health Outcomes Information Registry body map. PAIN
Reports 2021;6:e880.</li> <li>Davidson-Pilon C. lifelines: survival analysis in Python. J Open Source
Softw 2019;4(40):1317.</li> <li>Seabold S, Perktold J. statsmodels: econometric and statistical modeling
with Python. Proc 9th Python in Science Conf 2010.</li> <li>Wilson EB. Probable inference, the law of
succession, and statistical inference. J Am Stat Assoc 1927;22:209–212.</li> </ul>
"""


def data_note_for(patient_ids: Sequence[str]) -> str | None:
    """A warning when the ids look synthetic (SYN…) or simulated (V…)."""
    if patient_ids and all(p.startswith(("SYN", "V")) for p in patient_ids):
        return "Synthetic or simulated data: no real patient is in this report."
    return None


def render_html(
    stats: CohortStatistics,
    *,
    title: str = "Does CRPS spread? Cohort report",
    source: str = "",
    data_note: str | None = None,
    generated: dt.datetime | None = None,
    mechanisms: Mapping[str, Any] | None = None,
    mechanisms_label: str = "",
) -> str:
    """The whole report as one HTML string (with the model's "why" section when `mechanisms` is given)."""
    f = stats.figures
    generated = generated or dt.datetime.now(dt.UTC).replace(microsecond=0)
    notes = []
    if data_note:
        notes.append(f'<div class="note"><b>Note:</b> {escape(data_note)}</div>')
    if f.n_single_record:
        notes.append(
            f'<div class="note">{f.n_single_record} of {f.n_with_onset} patients have a single record, so no '
            "spread could be seen for them; they count as not (yet) spread.</div>"
        )
    if f.n_without_involvement:
        notes.append(
            f'<div class="note">{f.n_without_involvement} patient(s) have no onset or assessment '
            "record naming a "
            "region; they are not in the shares.</div>"
        )
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<div class="meta">{f.n_patients} patients{" · " + escape(source) if source else ""} · generated '
        f"{generated.isoformat().replace('+00:00', ' UTC')} by crpsmap</div>",
        *notes,
        f'<p class="headline">{escape(headline(stats))}</p>',
    ]
    if f.n_with_onset:
        body += [
            _cards(stats),
            "<h2>Where: body areas involved</h2>",
            _bodymaps(stats),
            "<h2>How fast: time from onset to a second limb</h2>",
            _km(stats),
            "<h2>How: patterns of spread</h2>",
            _patterns(stats),
            "<h2>Compared with published cohorts</h2>",
            _literature(stats),
            "<h2>What goes with spread to a new limb (Cox model)</h2>",
            _cox(stats),
        ]
    if mechanisms is not None:
        body += [
            "<h2>Why does it spread? What the model favours</h2>",
            mechanisms_section(mechanisms, mechanisms_label),
        ]
    body += [
        "<h2>Methods</h2>",
        METHODS,
        "<footer>This report describes a cohort of patients and how their CRPS spread; it gives no "
        "advice on the "
        f"diagnosis or treatment of any patient. {escape(ATTRIBUTION)}</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{css()}</style></head><body><main>"
        + "\n".join(body)
        + "</main></body></html>\n"
    )
