"""Small line charts of pain, CSS and HRV over a patient's visits, as SVG drawn by the template.

Only coordinates are computed here; the template draws them (autoescaped), so no text a user typed is
ever interpreted as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT, PAD = 260.0, 90.0, 24.0


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    points: tuple[tuple[float, float], ...]  # SVG coordinates
    labels: tuple[str, ...]  # "date: value" per point
    y_min: float
    y_max: float

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in self.points)


def _chart(
    title: str, unit: str, series: Sequence[tuple[Any, float]], lo: float, hi: float | None
) -> Chart | None:
    if not series:
        return None
    top = hi if hi is not None else max(v for _, v in series) * 1.1 or 1.0
    days = [d.toordinal() for d, _ in series]
    d0, d1 = min(days), max(days)
    span = max(1, d1 - d0)
    pts = []
    for d, v in series:
        x = PAD + (WIDTH - 2 * PAD) * ((d.toordinal() - d0) / span if d1 > d0 else 0.5)
        y = HEIGHT - PAD / 2 - (HEIGHT - PAD) * (v - lo) / (top - lo if top > lo else 1.0)
        pts.append((x, y))
    labels = tuple(f"{d.isoformat()}: {v:g} {unit}".strip() for d, v in series)
    return Chart(title, unit, tuple(pts), labels, lo, top)


def trend_charts(visits: Sequence[Any]) -> list[Chart]:
    """Pain (0-10), CSS (0-17) and HRV RMSSD (ms) over time, one chart per measure that was recorded."""
    out = []
    for attr, title, unit, lo, hi in (
        ("pain", "Pain (NRS)", "", 0.0, 10.0),
        ("css", "CRPS Severity Score", "", 0.0, 17.0),
        ("hrv_rmssd", "Vagal tone: HRV RMSSD", "ms", 0.0, None),
    ):
        series = [(v.date, float(getattr(v, attr))) for v in visits if getattr(v, attr) is not None]
        ch = _chart(title, unit, series, lo, hi)
        if ch is not None:
            out.append(ch)
    return out
