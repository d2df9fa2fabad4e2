"""The self-contained HTML report: inline CSS and SVG, no script, no network.

Written for a clinician who has a minute: one headline sentence with its interval first, then where
(body heat maps), how fast (Kaplan-Meier), how (patterns, limb order), how it compares (literature),
what goes with it (Cox), and how it was computed (methods). It describes a cohort; it gives no advice.

A cohort without follow-up (patients with a body map, none with a second time point: typical of
cross-sectional body-map data such as a CHOIR table) gets the cross-sectional report instead: where pain
was marked at that one time point (`stats.cross_section`), and the plain sentence that spread over time
cannot be judged (`stats.cross_section.SPREAD_NOT_JUDGED`) in the headline and in place of the spread
sections, which are not shown.

The page is the Jinja2 template `crpsmap/report.html` (autoescaped, on crpsmap's base layout) filled with a
view model (`report.view.ReportView`) computed here. Only SVG drawn by crpsmap's own code is marked safe;
every value read from a file (patient ids, sources, notes, labels) is escaped by the template. The
constants the text states (trauma window, Cox limits, confidence level) come from the code that applies
them.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from crpsmap.atlas import LIMBS, load_atlas
from crpsmap.atlas.names import limb_name
from crpsmap.report.bodymap import ATTRIBUTION, area_colours, coloured_svg, segment_coloured_svg
from crpsmap.report.mechanisms import mechanisms_view
from crpsmap.report.plots import DAYS_PER_YEAR, bars_svg, fmt_p, heat, km_svg, legend_svg, pct, years
from crpsmap.report.provenance import ProvenanceSummary
from crpsmap.report.templating import render, trusted
from crpsmap.report.view import (
    BodyMap,
    Card,
    Cell,
    Column,
    CoxView,
    CrossSectionView,
    Figure,
    KMView,
    LiteratureView,
    MethodsView,
    ReportView,
    Table,
    WhereView,
)
from crpsmap.spread import DEFAULT_TRAUMA_WINDOW_DAYS
from crpsmap.stats.cox import HRV_MIN_SHARE, MIN_EVENTS, REASONS, TERM_LABELS, CoxResult
from crpsmap.stats.cross_section import SPREAD_NOT_JUDGED, CountDistribution, CrossSection
from crpsmap.stats.proportions import Z95, Proportion
from crpsmap.stats.summary import CohortStatistics

DEFAULT_TITLE = "Does CRPS spread? Cohort report"
#: the default title of the report of a cohort without follow-up (one time point per patient)
CROSS_SECTION_TITLE = "Where is the pain? Body map at one time point"
#: what the cross-sectional report says where the spread sections would be (after SPREAD_NOT_JUDGED)
SPREAD_SECTIONS_LEFT_OUT = (
    "Time to a second limb (Kaplan–Meier), patterns of spread, the comparison with published figures of "
    "spread and the Cox model each need a second body map of the same patient, so they are not shown."
)
#: how the number of body areas marked is grouped in the report's table (the JSON keeps every count)
AREA_COUNT_BINS: tuple[tuple[int, int | None], ...] = (
    (0, 0),
    (1, 1),
    (2, 2),
    (3, 3),
    (4, 4),
    (5, 5),
    (6, 10),
    (11, 20),
    (21, None),
)
#: rows of the table of most often marked areas
TOP_AREAS = 10
#: the confidence level of every interval in the report, from the z of the code (95)
CONFIDENCE = round(100 * math.erf(Z95 / math.sqrt(2)))
#: limbs in everyday words (the atlas's one rule: upper_right -> "right arm")
LIMB_NAMES = {limb: limb_name(limb) for limb in LIMBS}
COX_EXCLUSIONS = {
    "no_onset_or_no_limb": "no onset or no limb",
    "mixed_girdle_onset": "first limbs in both girdles at once",
    "no_birth_year": "no birth year",
    "sex_not_female_or_male": "sex other or unknown",
    "all_four_limbs_at_first": "all four limbs from the start",
    "no_follow_up_time": "no follow-up time",
    "no_hrv_recorded": "no HRV recorded",
}
LIMB_PATTERN_WORDS = {
    "contralateral": "same girdle, other side",
    "ipsilateral": "same side, other girdle",
    "diagonal": "other side and girdle",
}
GROUP_NAMES = {
    "all": "all patients",
    "upper limb onset": "onset in an arm",
    "lower limb onset": "onset in a leg",
}


@cache
def css() -> str:
    """The report's style sheet (report/report.css), inlined into the page."""
    return resources.files("crpsmap.report").joinpath("report.css").read_text(encoding="utf-8")


def _ci(p: Proportion) -> str:
    if p.proportion is None:
        return "not estimable"
    return f"{pct(p.ci_low)}–{pct(p.ci_high)}"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def headline(stats: CohortStatistics, provenance: ProvenanceSummary | None = None) -> str:
    """The one-sentence answer (plain text). With `provenance` (from `provenance_summary(histories)`) it
    names the data: "In this virtual clinic - model output, ..." for simulator output, synthetic or mixed
    data likewise; without it, "In this cohort"."""
    f = stats.figures
    prov = provenance or ProvenanceSummary()
    where, who = prov.where(), prov.patients_word()
    if f.n_patients == 0:
        return "This cohort has no patients, so there is nothing to report yet."
    if f.n_with_onset == 0:
        return (
            f"In {where}, none of the {f.n_patients} {who} has an onset or assessment record naming a body "
            "region, so spread cannot be judged."
        )
    if stats.cross_section is not None and stats.no_follow_up:
        return _cross_section_headline(stats.cross_section, where, who)
    a, m = f.any_spread, f.multi_limb
    if a.count == 0:
        return (
            f"In {where}, none of the {a.denominator} {who} ({CONFIDENCE}% CI 0–{pct(a.ci_high)}) showed "
            "spread beyond the onset area during follow-up."
        )
    return (
        f"In {where}, {pct(a.proportion)} of {who} ({CONFIDENCE}% CI {_ci(a)}; {a.count} of "
        f"{a.denominator}) showed spread beyond the onset area; {pct(m.proportion)} ({_ci(m)}) had CRPS in "
        "more than one limb by their last visit."
    )


def _num(v: float | None) -> str:
    """A median or quartile of a count: '3', '4.5' ('–' when there is none)."""
    return "–" if v is None else f"{v:.1f}".removesuffix(".0")


def _iqr(d: CountDistribution) -> str:
    return f"IQR {_num(d.q1)}–{_num(d.q3)}"


def _cross_section_headline(cs: CrossSection, where: str, who: str) -> str:
    b, m = cs.any_bilateral, cs.multi_limb
    one = "has one body map" if cs.n_with_body_map == 1 else "have one body map each"
    return (
        f"In {where}, {cs.n_with_body_map:,} {who} {one} (one time point): the median number of body "
        f"areas marked was {_num(cs.n_areas.median)} ({_iqr(cs.n_areas)}); {pct(b.proportion)} "
        f"({CONFIDENCE}% CI {_ci(b)}) marked both sides of at least one body part and {pct(m.proportion)} "
        f"({_ci(m)}) two or more limbs. {SPREAD_NOT_JUDGED}"
    )


def _cross_section_cards(cs: CrossSection) -> tuple[Card, ...]:
    n_areas = len(cs.areas)
    items = [
        ("Both sides of a body part", cs.any_bilateral),
        ("Two or more limbs", cs.multi_limb),
        ("At least one limb", cs.n_limbs.at_least(1)),
    ]
    return (
        Card(
            f"{cs.n_with_body_map:,}",
            "Patients with a body map",
            f"{_plural(cs.n_no_region, 'patient')} marked no pain location",
        ),
        Card(
            _num(cs.n_areas.median),
            "Median body areas marked",
            f"{_iqr(cs.n_areas)} · of {n_areas} areas",
        ),
        *(
            Card(pct(p.proportion), label, f"{CONFIDENCE}% CI {_ci(p)} · {p.count}/{p.denominator}")
            for label, p in items
        ),
    )


def _area_name(slug: str) -> str:
    """ "Hand (right)" -> "hand (right)": the atlas's name of an area, as the report writes it."""
    return load_atlas().area_by_slug[slug].name.lower()


def _part_name(slug: str) -> str:
    """The body part of an area without its side: "Hand (right)" -> "Hand"."""
    return load_atlas().area_by_slug[slug].name.split(" (")[0]


#: word joiners around the dash of a short interval: a narrow cell breaks its line at a space, never there
_JOINED_DASH = "\u2060–\u2060"


def _short_ci(p: Proportion) -> str:
    """'4–9%': an interval in few characters, for the second line of a narrow cell (unbreakable)."""
    if p.ci_low is None or p.ci_high is None:
        return "not estimable"
    return f"{100 * p.ci_low:.0f}{_JOINED_DASH}{pct(p.ci_high)}"


def _share_cell(p: Proportion) -> Cell:
    return Cell(pct(p.proportion), sub=f"{p.count} · {_short_ci(p)}", num=True)


def _proportion_cells(p: Proportion) -> tuple[Cell, ...]:
    return (Cell(f"{p.count:,}", num=True), Cell(pct(p.proportion), num=True), Cell(_ci(p), num=True))


def _bin_label(lo: int, hi: int | None, top: int) -> str:
    if hi is None:
        return f"{lo}–{top}" if lo < top else str(top)
    return str(lo) if lo == hi else f"{lo}–{hi}"


def _cross_section(cs: CrossSection) -> CrossSectionView:
    atlas = load_atlas()
    n = cs.n_with_body_map
    seg_shares = {s: p.proportion for s, p in cs.segments.items()}
    vmax_raw = max((v or 0.0 for v in seg_shares.values()), default=0.0)
    vmax = max(0.1, min(1.0, -(-vmax_raw * 10 // 1) / 10))

    def seg_title(segment: str) -> str:
        p = cs.segments[segment]
        return f"{pct(p.proportion)} of patients ({p.count}/{p.denominator})"

    svg = segment_coloured_svg(area_colours(seg_shares, vmax, heat), seg_title, css_class="map-baseline")
    order = sorted(cs.areas, key=lambda a: -cs.areas[a].count)
    top = [a for a in order[:TOP_AREAS] if cs.areas[a].count]
    top_txt = ", ".join(f"{_area_name(a)} {pct(cs.areas[a].proportion)}" for a in top[:5])
    no_region = (
        f" {_plural(cs.n_no_region, 'patient')} marked no pain location; they are in every denominator."
        if cs.n_no_region
        else ""
    )
    share_cols = (
        Column("patients", num=True),
        Column("share", num=True),
        Column(f"{CONFIDENCE}% CI", num=True),
    )
    top_figure = (
        Figure(
            heading=f"Most often marked body areas (top {len(top)})",
            table=Table(
                columns=(Column("area"), *share_cols),
                rows=tuple((Cell(_area_name(a)), *_proportion_cells(cs.areas[a])) for a in top),
                css_class="compact",
                caption="Most often marked body areas",
            ),
            caption=f"Share of the {n:,} patients with a body map.{no_region}",
        )
        if top
        else Figure(
            heading="Most often marked body areas", empty=f"No patient marked a body area.{no_region}"
        )
    )
    b = cs.any_bilateral
    figures = [
        Figure(
            heading=f"Every body area ({len(cs.areas)}): right, left and both sides",
            table=Table(
                columns=(
                    Column("body part"),
                    Column("right", num=True),
                    Column("left", num=True),
                    Column("both sides", num=True),
                ),
                rows=tuple(
                    (
                        Cell(_part_name(p.right)),
                        _share_cell(cs.areas[p.right]),
                        _share_cell(cs.areas[p.left]),
                        Cell(
                            pct(p.both_share.proportion),
                            sub=f"{p.both}/{p.either} · {_short_ci(p.both_share)}",
                            num=True,
                        ),
                    )
                    for p in cs.mirror_pairs
                ),
                css_class="compact areas",
                caption="Share of patients who marked each body area, right and left, and both sides",
            ),
            caption=(
                f"Right, left: share of the {n:,} patients with a body map who marked the area (an area is "
                "marked when any of its segments, front or back, is). Both sides: among the patients who "
                "marked the body part on either side, the share who marked it on both (each area and its "
                f"mirror). Below each share: patients (both sides: of either side) · {CONFIDENCE}% CI. "
                f"{pct(b.proportion)} "
                f"({CONFIDENCE}% CI {_ci(b)}; {b.count:,} of {b.denominator:,}) of all patients with a body "
                "map marked both sides of at least one body part."
            ),
        ),
        Figure(side_by_side=(_area_count(cs), _limb_count_figure(cs))),
        _limbs(cs),
    ]
    if any(p.count for p in cs.visceral.values()):
        figures.append(
            Figure(
                heading="Internal organs (not drawn)",
                table=Table(
                    columns=(Column("system"), *share_cols),
                    rows=tuple(
                        (Cell(v.name), *_proportion_cells(cs.visceral[v.slug])) for v in atlas.visceral
                    ),
                    css_class="compact",
                    caption="Share of patients with each internal-organ system involved",
                ),
            )
        )
    return CrossSectionView(
        caption=(
            f"Share of the {n:,} patients with a body map who marked each CHOIR segment at their first time "
            "point (each segment, front and back, has its own shade; hover a segment for its figure). "
            f"Most often marked areas: {top_txt or 'none'}."
        ),
        map=BodyMap("At the first time point", trusted(svg)),
        legend=trusted(legend_svg(vmax, "baseline-legend")),
        legend_note=(
            "Front view: the patient's right is on your left; back view: on your right. Grey: no patient."
        ),
        top=top_figure,
        figures=tuple(figures),
    )


def _area_count(cs: CrossSection) -> Figure:
    d = cs.n_areas
    top = len(d.counts) - 1
    n = d.n
    rows = []
    for lo, hi in AREA_COUNT_BINS:
        if lo > top:
            break
        k = sum(d.counts[lo : (top if hi is None else hi) + 1])
        rows.append(
            (
                Cell(_bin_label(lo, hi, top), header=True),
                Cell(f"{k:,}", num=True),
                Cell(pct(k / n if n else None), num=True),
            )
        )
    s = cs.n_segments
    return Figure(
        heading="Number of body areas marked",
        table=Table(
            columns=(Column("areas marked"), Column("patients", num=True), Column("share", num=True)),
            rows=tuple(rows),
            css_class="compact",
            caption="Patients by the number of body areas marked",
        ),
        caption=(
            f"Body areas marked per patient: median {_num(d.median)} ({_iqr(d)}), mean "
            f"{_num(_round1(d.mean))}, of {top} areas; CHOIR segments marked: median {_num(s.median)} "
            f"({_iqr(s)}) of {len(s.counts) - 1}. Internal-organ systems are not counted."
        ),
    )


def _round1(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def _limbs(cs: CrossSection) -> Figure:
    return Figure(
        heading="Each limb",
        table=Table(
            columns=(
                Column("limb"),
                Column("patients", num=True),
                Column("share", num=True),
                Column(f"{CONFIDENCE}% CI", num=True),
            ),
            rows=tuple((Cell(LIMB_NAMES[limb]), *_proportion_cells(p)) for limb, p in cs.limbs.items()),
            css_class="compact",
            caption="Share of patients with each limb involved",
        ),
        caption=(
            f"A limb is involved when any of its body areas is marked (see Methods). Share of the "
            f"{cs.n_with_body_map:,} patients with a body map."
        ),
    )


def _limb_count_figure(cs: CrossSection) -> Figure:
    d = cs.n_limbs
    return Figure(
        heading="Number of limbs involved",
        table=Table(
            columns=(Column("limbs involved"), Column("patients", num=True), Column("share", num=True)),
            rows=tuple(
                (
                    Cell(_plural(k, "limb"), header=True),
                    Cell(f"{c:,}", num=True),
                    Cell(pct(c / d.n if d.n else None), num=True),
                )
                for k, c in enumerate(d.counts)
            ),
            css_class="compact",
            caption="Patients by the number of limbs involved",
        ),
        caption=f"Median {_num(d.median)} ({_iqr(d)}) limbs.",
    )


def _cards(stats: CohortStatistics) -> tuple[Card, ...]:
    f = stats.figures
    km = stats.km.overall
    items = [
        ("Spread beyond onset area", f.any_spread),
        ("More than one limb", f.multi_limb),
        ("Generalized (4 limbs + trunk)", f.generalized),
        ("Visceral involvement", f.visceral),
    ]
    cards = [
        Card(pct(p.proportion), label, f"{CONFIDENCE}% CI {_ci(p)} · {p.count}/{p.denominator}")
        for label, p in items
    ]
    if km is not None and km.median_days is not None:
        lo = "–" if km.median_ci_low is None else years(km.median_ci_low)
        hi = "not reached" if km.median_ci_high is None else years(km.median_ci_high)
        val, ci = f"{years(km.median_days)} years", f"{CONFIDENCE}% CI {lo}–{hi} years · n={km.n}"
    elif km is not None:
        val, ci = "not reached", f"fewer than half reached a second limb · n={km.n}"
    else:
        val, ci = "–", "no patient with an identifiable first limb"
    cards.append(Card(val, "Median time to a second limb", ci))
    return tuple(cards)


def _where(stats: CohortStatistics) -> WhereView:
    f = stats.figures
    if f.n_with_onset == 0:
        return WhereView(empty="No patient has an involved region recorded, so there is no map to draw.")
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
        maps.append(BodyMap(caption, trusted(svg)))
    top = [
        a
        for a in sorted(areas, key=lambda a: -(f.last_share[a].proportion or 0))[:5]
        if f.last_share[a].count
    ]
    top_txt = ", ".join(
        f"{atlas.area_by_slug[a].name.lower()} {pct(f.last_share[a].proportion)}" for a in top
    )
    visceral = Table(
        columns=(
            Column("Internal organs (not drawn)"),
            Column("onset", num=True),
            Column("last follow-up", num=True),
        ),
        rows=tuple(
            (
                Cell(v.name),
                Cell(pct(f.onset_share[v.slug].proportion), num=True),
                Cell(pct(f.last_share[v.slug].proportion), num=True),
            )
            for v in atlas.visceral
        ),
        caption="Share of patients with each internal-organ system involved",
    )
    return WhereView(
        caption=(
            "Share of patients with each body area involved, at onset and at the last follow-up (both "
            "front and back segments of an area take the area's colour; hover a segment for its figure). "
            f"Most often involved at last follow-up: {top_txt or 'none'}."
        ),
        maps=tuple(maps),
        legend=trusted(legend_svg(vmax, "heat-legend")),
        legend_note=(
            "Front view: the patient's right is on your left; back view: on your right. Grey: no patient."
        ),
        visceral=visceral,
    )


def _years_or(v: float | None) -> str:
    return "not reached" if v is None else years(v)


def _km(stats: CohortStatistics) -> KMView:
    km = stats.km
    ex = (
        f"{_plural(km.excluded_no_limb, 'patient')} with no limb ever involved and "
        f"{km.excluded_ambiguous_first_limb} with two or more limbs involved at once at the start (no "
        "identifiable first limb) are not in this analysis"
    )
    if km.excluded_no_onset:
        ex += f"; {km.excluded_no_onset} without any involvement record"
    if km.overall is None:
        return KMView(empty=f"No patient has an identifiable first limb, so there is no curve. {ex}.")
    curves = [km.overall] + [km.by_girdle[g] for g in ("upper", "lower") if g in km.by_girdle]
    o = km.overall
    lead = (
        f"None of the {o.n} patients with an identifiable first limb reached a second limb during follow-up."
        if o.events == 0
        else ""
    )
    table = Table(
        columns=(
            Column("group"),
            Column("patients", num=True),
            Column("second limb seen", num=True),
            Column("median (years)", num=True),
            Column(f"{CONFIDENCE}% CI (years)", num=True),
        ),
        rows=tuple(
            (
                Cell(GROUP_NAMES.get(c.label, c.label)),
                Cell(str(c.n), num=True),
                Cell(str(c.events), num=True),
                Cell(_years_or(c.median_days), num=True),
                Cell(f"{_years_or(c.median_ci_low)} – {_years_or(c.median_ci_high)}", num=True),
            )
            for c in curves
        ),
        caption="Time from onset to a second limb, in years",
        css_class="wide",
    )
    return KMView(
        lead=lead,
        svg=trusted(km_svg(curves)),
        caption=(
            "Share of patients in whom CRPS had reached a second limb, by years since onset "
            f"(Kaplan–Meier, 1 − survival; shaded: {CONFIDENCE}% confidence band; patients without a "
            "second limb count until their last visit). Dashed lines mark the medians. Times are in years "
            f"({DAYS_PER_YEAR:g} days). {ex}."
        ),
        table=table,
    )


def _patterns(stats: CohortStatistics) -> tuple[Figure, ...]:
    f = stats.figures
    spread_n = f.maleki["contiguous"].denominator
    if spread_n == 0:
        return (Figure(empty="No patient spread beyond the onset area, so there are no patterns."),)
    out = [
        Figure(
            heading=f"Kind of spread (Maleki 2000), among the {spread_n} patients who spread",
            svg=trusted(
                bars_svg(
                    [
                        ("contiguous (next to involved area)", f.maleki["contiguous"]),
                        ("independent (distant)", f.maleki["independent"]),
                        ("mirror (same area, other side)", f.maleki["mirror"]),
                    ]
                )
            ),
            caption=(
                "A patient counts once for each kind seen at least once; the shares add up to more than 100%."
            ),
        )
    ]
    lp = f.limb_patterns
    n_lp = lp.overall["contralateral"].denominator
    if n_lp == 0:
        out.append(
            Figure(
                heading="Which limb came second (van Rijn 2011)",
                empty="No patient with an identifiable first limb went on to a second limb.",
            )
        )
    else:
        kinds = ("contralateral", "ipsilateral", "diagonal")
        trig = []
        for t in ("spontaneous", "trauma"):
            d = lp.by_trigger[t]
            trig.append(
                Figure(
                    heading=f"{t.capitalize()} second limb (n={d['contralateral'].denominator})",
                    svg=trusted(
                        bars_svg(
                            [(k, d[k]) for k in kinds],
                            width=520,
                            colour="#60a5fa" if t == "spontaneous" else "#f97316",
                        )
                    ),
                )
            )
        out.append(
            Figure(
                heading=(
                    f"Which limb came second (van Rijn 2011), among the {n_lp} patients whose second limb "
                    "followed an identifiable first one"
                ),
                svg=trusted(bars_svg([(f"{k} ({LIMB_PATTERN_WORDS[k]})", lp.overall[k]) for k in kinds])),
                side_by_side=tuple(trig),
                caption=(
                    "Trauma: an injury or operation dated after onset and recorded in that limb in the "
                    f"{DEFAULT_TRAUMA_WINDOW_DAYS} days before it became involved (an injury on or before "
                    "onset is the inciting injury, not a trigger). "
                    f"{_plural(lp.excluded_tied_second, 'patient')} whose second and third limbs appeared "
                    "on the same date are left out (no identifiable second limb)."
                ),
            )
        )
        out.append(_flows(stats))
    d = f.direction
    if d["ascending"].denominator:
        out.append(
            Figure(
                heading=f"Direction of each new limb (all {d['ascending'].denominator} new-limb events)",
                svg=trusted(
                    bars_svg(
                        [
                            ("ascending (leg → arm)", d["ascending"]),
                            ("descending (arm → leg)", d["descending"]),
                            ("lateral (same girdle)", d["lateral"]),
                        ]
                    )
                ),
            )
        )
    out.append(_limb_count(stats))
    return tuple(out)


def _limb_count(stats: CohortStatistics) -> Figure:
    f = stats.figures
    counts = f.limb_count
    n = f.n_with_onset
    rows = tuple(
        (
            Cell(_plural(k, "limb"), header=True),
            Cell(str(counts.get(k, 0)), num=True),
            Cell(pct(counts.get(k, 0) / n if n else None), num=True),
        )
        for k in range(5)
    )
    return Figure(
        heading="Limbs involved at last follow-up",
        table=Table(
            columns=(Column("limbs involved"), Column("patients", num=True), Column("share", num=True)),
            rows=rows,
            css_class="compact",
            caption="Number of limbs involved at the last follow-up",
        ),
        caption=f"Share of the {n} patients with an involvement record.",
    )


def _flows(stats: CohortStatistics) -> Figure:
    flows = stats.figures.limb_flows
    total = sum(flows.values())
    vmax = max(flows.values(), default=1) or 1
    rows = []
    for a in LIMBS:
        row_total = sum(flows.get((a, b), 0) for b in LIMBS)
        cells = [Cell(f"first: {LIMB_NAMES[a]} (n={row_total})", header=True)]
        for b in LIMBS:
            if a == b:
                cells.append(Cell("—", num=True, muted=True))
                continue
            n = flows.get((a, b), 0)
            share = n / row_total if row_total else None
            cells.append(
                Cell(
                    str(n),
                    sub=f"{pct(share)} of row",
                    num=True,
                    background=heat(0.85 * n / vmax) if n else "",
                    dark=bool(n and n / vmax > 0.6),
                )
            )
        rows.append(tuple(cells))
    return Figure(
        heading="Limb order: from the first limb to the second",
        table=Table(
            columns=(
                Column("first limb \\ second limb"),
                *(Column(f"→ {LIMB_NAMES[b]}", num=True) for b in LIMBS),
            ),
            rows=tuple(rows),
            css_class="flow wide",
            caption="Patients by first and second limb",
        ),
        caption=f"{total} patients. Each row: where CRPS went next from that first limb.",
    )


def _literature(stats: CohortStatistics) -> LiteratureView:
    if not stats.literature:
        return LiteratureView(empty="No published figure could be compared.")
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
            pub_n += f" · {CONFIDENCE}% CI {pct(pci[0])}–{pct(pci[1])}" + (
                f" · cohort {inside}" if c.comparable else ""
            )
        rows.append(
            (
                Cell(c.label, sub=c.note or ""),
                Cell(
                    pct(c.cohort.proportion),
                    sub=f"{_ci(c.cohort)} · {c.cohort.count}/{c.cohort.denominator}",
                    num=True,
                    strong=True,
                ),
                Cell(pct(c.published), sub=f"{pub_n}{derived}", num=True, strong=True),
                Cell(f"{short_citation(c.source)} [{ref}]"),
                Cell(fmt_p(c.p_value), sub=c.test or "not tested", num=True),
            )
        )
    return LiteratureView(
        caption=(
            "The cohort beside published cohorts. p: Fisher's exact test (two samples) where the "
            "published count is known or derived (share × denominator, marked), otherwise an exact "
            "binomial test against the published share. Published cohorts were selected differently "
            "(referral centres, samples chosen for spread): a small p says the figures differ, not which "
            "is right."
        ),
        table=Table(
            columns=(
                Column("figure"),
                Column("this cohort", num=True),
                Column("published", num=True),
                Column("source"),
                Column("p (test)", num=True),
            ),
            rows=tuple(rows),
            caption="This cohort beside published cohorts",
            css_class="wide",
        ),
        references=tuple(sources),
    )


def short_citation(source: str) -> str:
    """'van Rijn et al. 2011' from a full reference."""
    first = source.split(",")[0].split(".")[0].strip()
    words = first.split()
    if len(words) > 1 and words[-1].isupper():
        words = words[:-1]
    year = re.search(r"\b(19|20)\d{2}\b", source)
    return f"{' '.join(words)} et al.{' ' + year.group(0) if year else ''}"


def cox_sentence(cox: CoxResult) -> str:
    """Why the Cox model was not fitted, as the plain sentence stats/cox.py wrote for it ('' if fitted).

    Only a result with a known `reason` carries such a sentence; anything else (a result made elsewhere,
    whose note may hold a library's error text) gets a generic sentence, never its note."""
    if cox.fitted:
        return ""
    if cox.reason in REASONS and cox.note:
        return cox.note
    return (
        "The Cox model could not be fitted: the data do not allow stable estimates, so no hazard ratios "
        "are reported."
    )


def _cox(stats: CohortStatistics) -> CoxView:
    cox = stats.cox
    excl = ", ".join(
        f"{COX_EXCLUSIONS.get(k, k.replace('_', ' '))}: {v}" for k, v in cox.info()["excluded"].items() if v
    )
    excl_txt = f" Left out: {excl}." if excl else ""
    if not cox.fitted:
        return CoxView(empty=cox_sentence(cox) + excl_txt)
    rows = tuple(
        (
            Cell(TERM_LABELS.get(k, k)),
            Cell(f"{t.hazard_ratio:.3f}", num=True),
            Cell(f"{t.ci_low:.3f} – {t.ci_high:.3f}", num=True),
            Cell(fmt_p(t.p), num=True),
        )
        for k, t in cox.terms.items()
    )
    hrv = (
        "HRV RMSSD (first recorded value) is in the model; patients without it were left out."
        if cox.hrv_included
        else f"HRV was recorded for fewer than {_share_words(HRV_MIN_SHARE)} of the patients, so it is not "
        "in the model."
    )
    return CoxView(
        caption=(
            f"Hazard of CRPS reaching a new limb, from the first limb on ({cox.n_patients} patients, "
            f"{cox.n_events} new-limb events, {cox.n_rows} intervals). A hazard ratio above 1 means a new "
            f"limb sooner. {hrv}{excl_txt} Fitted with {cox.fitter}. These are associations in this "
            "cohort, not causes."
        ),
        table=Table(
            columns=(
                Column("covariate"),
                Column("hazard ratio", num=True),
                Column(f"{CONFIDENCE}% CI", num=True),
                Column("p", num=True),
            ),
            rows=rows,
            caption="Cox model: hazard ratios for reaching a new limb",
            css_class="wide",
        ),
    )


def _share_words(share: float) -> str:
    return "half" if share == 0.5 else pct(share)


def _limb_areas(limb: str) -> str:
    """The atlas's areas of a limb, without their side: "shoulder, upper arm, ... and hand"."""
    names = [_part_name(a.slug).lower() for a in load_atlas().areas if a.limb == limb]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def methods_view(cross_sectional: bool = False) -> MethodsView:
    """The constants of the methods text, from the code that applies them (`cross_sectional`: the methods
    of the cross-section of a cohort without follow-up)."""
    return MethodsView(
        trauma_window_days=DEFAULT_TRAUMA_WINDOW_DAYS,
        cox_min_events=MIN_EVENTS,
        hrv_min_share=_share_words(HRV_MIN_SHARE),
        confidence=CONFIDENCE,
        days_per_year=f"{DAYS_PER_YEAR:g}",
        cross_sectional=cross_sectional,
        arm_areas=_limb_areas(LIMBS[0]),
        leg_areas=_limb_areas(LIMBS[2]),
        spread_not_judged=SPREAD_NOT_JUDGED,
    )


def report_view(
    stats: CohortStatistics,
    *,
    title: str | None = None,
    source: str = "",
    data_note: str | None = None,
    generated: dt.datetime | None = None,
    mechanisms: Mapping[str, Any] | None = None,
    provenance: ProvenanceSummary | None = None,
    mechanisms_bundled: bool = False,
) -> ReportView:
    """The report's view model. `provenance` names the data in title, headline and a note; `data_note` is
    a further note of the caller's; `mechanisms` a mechanism comparison to show (model output). A cohort
    without follow-up (`stats.no_follow_up`) gets the cross-section in place of the spread sections."""
    f = stats.figures
    cs = stats.cross_section if f.n_with_onset and stats.no_follow_up else None
    prov = provenance or ProvenanceSummary()
    generated = generated or dt.datetime.now(dt.UTC).replace(microsecond=0)
    suffix = prov.title_suffix()
    default_title = CROSS_SECTION_TITLE if cs is not None else DEFAULT_TITLE
    full_title = (title or default_title) + (f" ({suffix})" if suffix else "")
    notes = [n for n in (prov.note(), data_note) if n]
    if cs is not None:
        if cs.n_whole_area:
            notes.append(
                f"{_plural(cs.n_whole_area, 'patient')} have a body map naming a whole area rather than its "
                "CHOIR segments; those segments count as not marked in the segment map."
            )
    elif f.n_single_record:
        notes.append(
            f"{f.n_single_record} of {f.n_with_onset} patients have a single record, so no spread could be "
            "seen for them; they count as not (yet) spread."
        )
    if f.n_without_involvement:
        notes.append(
            f"{_plural(f.n_without_involvement, 'patient')} have no onset or assessment record naming a "
            "region; they are not in the shares."
        )
    stamp = generated.isoformat().replace("+00:00", " UTC")
    meta = " · ".join(
        [f"{f.n_patients} patients", *([source] if source else []), f"generated {stamp} by crpsmap"]
    )
    body: dict[str, Any] = {}
    if cs is not None:
        body = {
            "cards": _cross_section_cards(cs),
            "cross_section": _cross_section(cs),
            "spread_not_judged": f"{SPREAD_NOT_JUDGED} {SPREAD_SECTIONS_LEFT_OUT}",
        }
    elif f.n_with_onset:
        body = {
            "cards": _cards(stats),
            "where": _where(stats),
            "km": _km(stats),
            "patterns": _patterns(stats),
            "literature": _literature(stats),
            "cox": _cox(stats),
        }
    return ReportView(
        title=full_title,
        meta=meta,
        notes=tuple(notes),
        headline=headline(stats, prov),
        css=trusted(css()),
        mechanisms=mechanisms_view(mechanisms, bundled=mechanisms_bundled)
        if mechanisms is not None
        else None,
        methods=methods_view(cross_sectional=cs is not None),
        attribution=ATTRIBUTION,
        **body,
    )


def render_html(
    stats: CohortStatistics,
    *,
    title: str | None = None,
    source: str = "",
    data_note: str | None = None,
    generated: dt.datetime | None = None,
    mechanisms: Mapping[str, Any] | None = None,
    provenance: ProvenanceSummary | None = None,
    mechanisms_bundled: bool = False,
) -> str:
    """The whole report as one HTML string (with the model's "why" section when `mechanisms` is given;
    `mechanisms_bundled` says it is the comparison shipped with crpsmap, fitted to a published cohort)."""
    view = report_view(
        stats,
        title=title,
        source=source,
        data_note=data_note,
        generated=generated,
        mechanisms=mechanisms,
        provenance=provenance,
        mechanisms_bundled=mechanisms_bundled,
    )
    return render("report.html", v=view)
