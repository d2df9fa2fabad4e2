"""Hand-made inline SVG plots for the report: no plotting backend, no fonts or files to fetch.

Each function returns an <svg> string sized by its viewBox, so the HTML stays one self-contained file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from crpsmap.stats.proportions import Proportion
from crpsmap.stats.survival import KMCurve

PALETTE = {"all": "#1f2937", "upper": "#2563eb", "lower": "#d97706"}
#: the report's one time unit is the year: days / DAYS_PER_YEAR, in the plot, its ticks, the cards and tables
DAYS_PER_YEAR = 365.25
_YEAR_STEPS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
BAR = "#3b82f6"
_ORANGES = ["#fee8c8", "#fdd49e", "#fdbb84", "#fc8d59", "#ef6548", "#d7301f", "#990000"]


def heat(t: float) -> str:
    """Sequential colour for t in [0, 1] (light to dark red), interpolated between fixed stops."""
    t = min(1.0, max(0.0, t))
    x = t * (len(_ORANGES) - 1)
    i = min(int(x), len(_ORANGES) - 2)
    f = x - i
    a, b = _ORANGES[i], _ORANGES[i + 1]
    rgb = [round(int(a[k : k + 2], 16) * (1 - f) + int(b[k : k + 2], 16) * f) for k in (1, 3, 5)]
    return "#" + "".join(f"{v:02x}" for v in rgb)


def fmt_p(v: float | None) -> str:
    """A p value as printed in the report and the trial page ('<0.001', 0.012, 0.34; '–' if none)."""
    if v is None:
        return "–"
    return "<0.001" if v < 0.001 else f"{v:.3f}" if v < 0.1 else f"{v:.2f}"


def pct(v: float | None, digits: int = 0) -> str:
    return "–" if v is None else f"{100 * v:.{digits}f}%"


def years(days: float) -> str:
    """Days as years with one decimal ('1.4'): the report's one time unit."""
    return f"{days / DAYS_PER_YEAR:.1f}"


def year_ticks(max_years: float) -> tuple[float, float]:
    """(step, axis end) in years: at most about 8 ticks, whole steps of 0.25, 0.5, 1, 2, 5 or 10 years."""
    span = max(max_years, 0.25)
    step = next((s for s in _YEAR_STEPS if span / s <= 8), _YEAR_STEPS[-1])
    return step, step * math.ceil(span / step + 1e-9)


def legend_svg(vmax: float, gradient_id: str) -> str:
    """A horizontal colour bar from 0 to vmax (shares)."""
    stops = "".join(f'<stop offset="{i / 10:.1f}" stop-color="{heat(i / 10)}"/>' for i in range(11))
    ticks = []
    for i in range(5):
        v = vmax * i / 4
        x = 10 + 220 * i / 4
        ticks.append(f'<text x="{x:.0f}" y="38" text-anchor="middle">{100 * v:.0f}%</text>')
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 44" class="legend" role="img" '
        'aria-label="colour scale">'
        f'<defs><linearGradient id="{gradient_id}">{stops}</linearGradient></defs>'
        f'<rect x="10" y="8" width="220" height="16" fill="url(#{gradient_id})" stroke="#999" '
        'stroke-width="0.5"/>'
        + "".join(ticks)
        + '<text x="238" y="21" style="font-size:10px">of patients</text>'
        "</svg>"
    )


def km_svg(curves: Sequence[KMCurve], width: int = 780, height: int = 320) -> str:
    """Cumulative share with a second limb (1 - KM), with 95% bands and the median marked."""
    if not curves:
        return ""
    ml, mr, mt, mb = 52, 200, 14, 42
    pw, ph = width - ml - mr, height - mt - mb
    tmax = max((c.times[-1] for c in curves if c.times), default=1.0) or 1.0
    step, xmax_years = year_ticks(tmax / DAYS_PER_YEAR)

    def X(days: float) -> float:
        return ml + pw * (days / DAYS_PER_YEAR) / xmax_years

    def Y(share: float) -> float:
        return mt + ph * (1 - share)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="plot" role="img" '
        'aria-label="Kaplan-Meier: share of patients with a second limb over time">'
    ]
    for i in range(0, 5):
        y = Y(i / 4)
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{ml - 6}" y="{y + 4:.1f}" text-anchor="end">{25 * i}%</text>')
    for i in range(round(xmax_years / step) + 1):
        yr = i * step
        x = X(yr * DAYS_PER_YEAR)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{mt + ph}" y2="{mt + ph + 4}" class="axis"/>')
        out.append(f'<text x="{x:.1f}" y="{mt + ph + 16}" text-anchor="middle">{yr:g}</text>')
    out.append(
        f'<text x="{ml + pw / 2:.0f}" y="{height - 6}" text-anchor="middle">years since onset</text>'
        f'<line x1="{ml}" x2="{ml + pw}" y1="{mt + ph}" y2="{mt + ph}" class="axis"/>'
        f'<line x1="{ml}" x2="{ml}" y1="{mt}" y2="{mt + ph}" class="axis"/>'
        f'<line x1="{ml}" x2="{ml + pw}" y1="{Y(0.5):.1f}" y2="{Y(0.5):.1f}" class="half"/>'
    )
    ly = mt + 8
    for c in curves:
        key = "upper" if c.label.startswith("upper") else "lower" if c.label.startswith("lower") else "all"
        col = PALETTE[key]
        t = c.times
        if not t:
            continue
        # band (step shaped) and curve, as cumulative incidence 1 - S
        up = [(X(t[0]), Y(1 - c.ci_low[0]))]
        lo = [(X(t[0]), Y(1 - c.ci_high[0]))]
        line = [(X(t[0]), Y(1 - c.survival[0]))]
        for j in range(1, len(t)):
            x = X(t[j])
            line += [(x, line[-1][1]), (x, Y(1 - c.survival[j]))]
            up += [(x, up[-1][1]), (x, Y(1 - c.ci_low[j]))]
            lo += [(x, lo[-1][1]), (x, Y(1 - c.ci_high[j]))]
        band = up + lo[::-1]
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in band)
        out.append(f'<polygon points="{pts}" fill="{col}" fill-opacity="0.12" stroke="none"/>')
        pl = " ".join(f"{x:.1f},{y:.1f}" for x, y in line)
        w = 2.4 if key == "all" else 1.6
        out.append(f'<polyline points="{pl}" fill="none" stroke="{col}" stroke-width="{w}"/>')
        if c.median_days is not None:
            mx = X(c.median_days)
            out.append(
                f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{Y(0.5):.1f}" y2="{mt + ph}" stroke="{col}" '
                'stroke-dasharray="3 3"/>'
            )
        label = {"all": "all patients", "upper": "onset in an arm", "lower": "onset in a leg"}[key]
        med = "not reached" if c.median_days is None else f"{years(c.median_days)} years"
        out.append(
            f'<line x1="{ml + pw + 12}" x2="{ml + pw + 30}" y1="{ly}" y2="{ly}" stroke="{col}" '
            f'stroke-width="{w}"/>'
            f'<text x="{ml + pw + 34}" y="{ly + 4}">{escape(label)} (n={c.n})</text>'
            f'<text x="{ml + pw + 34}" y="{ly + 17}" class="small">median {med}</text>'
        )
        ly += 36
    out.append("</svg>")
    return "".join(out)


def bars_svg(rows: Sequence[tuple[str, Proportion]], width: int = 780, colour: str = BAR) -> str:
    """Horizontal bars with 95% whiskers; label shows percent, interval and count/denominator."""
    lw, rw, rh = (250, 200, 26) if width >= 700 else (100, 170, 24)
    pw = width - lw - rw
    height = rh * len(rows) + 24
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="plot" role="img">']
    for i in range(5):
        x = lw + pw * i / 4
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="4" y2="{height - 18}" class="grid"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 4}" text-anchor="middle" class="small">{25 * i}%</text>')
    for i, (label, p) in enumerate(rows):
        y = 6 + i * rh
        out.append(f'<text x="{lw - 8}" y="{y + 14}" text-anchor="end">{escape(label)}</text>')
        if p.proportion is None or p.ci_low is None or p.ci_high is None:
            out.append(
                f'<text x="{lw + 4}" y="{y + 14}" class="small">no patients to count (denominator 0)</text>'
            )
            continue
        bw = pw * p.proportion
        out.append(f'<rect x="{lw}" y="{y + 3}" width="{bw:.1f}" height="{rh - 10}" rx="2" fill="{colour}"/>')
        x1, x2 = lw + pw * p.ci_low, lw + pw * p.ci_high
        yc = y + 3 + (rh - 10) / 2
        out.append(
            f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{yc:.1f}" y2="{yc:.1f}" class="whisker"/>'
            f'<line x1="{x1:.1f}" x2="{x1:.1f}" y1="{yc - 5:.1f}" y2="{yc + 5:.1f}" class="whisker"/>'
            f'<line x1="{x2:.1f}" x2="{x2:.1f}" y1="{yc - 5:.1f}" y2="{yc + 5:.1f}" class="whisker"/>'
        )
        out.append(
            f'<text x="{lw + pw + 8}" y="{y + 14}"><tspan class="strong">{pct(p.proportion)}</tspan> '
            f"({pct(p.ci_low)}–{pct(p.ci_high)}) "
            f'<tspan class="small">{p.count}/{p.denominator}</tspan></text>'
        )
    out.append("</svg>")
    return "".join(out)
