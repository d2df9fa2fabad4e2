"""A picture of a posterior: one panel per parameter, its weighted marginal over the prior box.

Eight numbers with intervals are read more easily as eight shapes: where the data narrowed a box, where a
posterior piles against an edge (a prior that truncates it), and where the point fit sits. Used by
`scripts/posterior_defaults.py --plot` for docs/posterior.md. Model output, labelled as such.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from crpsmap.calibrate.draws import PosteriorDraws
from crpsmap.calibrate.posterior import weighted_quantile

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: bins per panel: 200 particles give about 10 per bin where the posterior is flat
BINS = 20


def weighted_marginal(
    draws: PosteriorDraws, name: str, box: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Density (integrates to 1 over the box) and bin edges of one parameter's weighted marginal."""
    i = draws.names.index(name)
    return np.histogram(draws.values[:, i], bins=BINS, range=box, weights=draws.weights, density=True)


def posterior_figure(
    draws: PosteriorDraws, prior: Mapping[str, tuple[float, float]], point: Mapping[str, float] | None = None
) -> Figure:
    """Panels of the weighted marginals on their prior boxes (the x-range of each panel is its box, the
    flat prior density a dotted line), the central 90% shaded and the point values as vertical lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(draws.names)
    cols = 4
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
    for ax, name in zip(axes.ravel(), names, strict=False):
        lo, hi = (float(v) for v in prior[name])
        density, edges = weighted_marginal(draws, name, (lo, hi))
        ax.stairs(density, edges, fill=True, color="#93c5fd", label="posterior")
        ax.axhline(1.0 / (hi - lo), color="#6b7280", linestyle=":", label="prior (uniform)")
        col = draws.values[:, draws.names.index(name)]
        a, b = (weighted_quantile(col, draws.weights, q) for q in (0.05, 0.95))
        ax.axvspan(a, b, color="#2563eb", alpha=0.12, label="central 90%")
        if point is not None and name in point:
            ax.axvline(point[name], color="#dc2626", label="point fit")
        ax.set_xlim(lo, hi)
        ax.set_title(name, fontsize=10)
        ax.tick_params(labelsize=8)
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    axes[0, 0].legend(fontsize=7)
    s = draws.settings
    stopped = "" if not draws.unfinished() else " - UNFINISHED: stopped above its target threshold"
    eps = s.get("epsilon")
    fig.suptitle(
        "MODEL OUTPUT - posterior of the fitted parameters (ABC-SMC"
        + (f", threshold {eps:.1f}" if isinstance(eps, int | float) else "")
        + f", {len(draws)} weighted particles){stopped}",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return fig
