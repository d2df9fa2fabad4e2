"""The posterior picture of docs/posterior.md: each panel is its parameter's weighted marginal on its prior
box (the density integrates to 1 there and follows the weights, not the particle count), the point fit is
marked, an unfinished run says so in the title; the script writes it atomically from a posterior file."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from crpsmap.calibrate.draws import PosteriorDraws, save_draws
from crpsmap.calibrate.posterior_plot import BINS, posterior_figure, weighted_marginal
from script_support import load_script

PRIOR = {"w_lr": (0.13, 0.2), "trauma_rate": (0.05, 0.2)}


def _draws(reached: bool) -> PosteriorDraws:
    values = np.array([[0.14, 0.06], [0.15, 0.19], [0.19, 0.19]])
    settings = {"reached_floor": reached, "epsilon": 29.0, "epsilon_floor": 21.2, "prior": PRIOR}
    return PosteriorDraws(("w_lr", "trauma_rate"), values, np.array([0.5, 0.25, 0.25]), settings=settings)


def test_a_marginal_is_the_weighted_density_on_the_box() -> None:
    density, edges = weighted_marginal(_draws(True), "w_lr", PRIOR["w_lr"])
    assert len(density) == BINS and edges[0] == 0.13 and edges[-1] == 0.2
    assert float(np.sum(density * np.diff(edges))) == pytest.approx(1.0)
    width = edges[1] - edges[0]
    # half of the weight sits on the one particle at 0.14: its bin holds density 0.5 / width
    assert density[np.searchsorted(edges, 0.14, side="right") - 1] == pytest.approx(0.5 / width)


def test_the_figure_shows_each_box_the_point_and_says_when_unfinished() -> None:
    fig = posterior_figure(_draws(False), PRIOR, {"w_lr": 0.136, "trauma_rate": 0.196})
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["w_lr", "trauma_rate"]
    for ax, name in zip(axes, ("w_lr", "trauma_rate"), strict=True):
        assert ax.get_xlim() == pytest.approx(PRIOR[name])
        assert any(list(line.get_xdata()) == [p, p] for line in ax.lines for p in (0.136, 0.196))
    title = fig.get_suptitle()
    assert title.startswith("MODEL OUTPUT") and "UNFINISHED" in title
    assert "UNFINISHED" not in posterior_figure(_draws(True), PRIOR).get_suptitle()


def test_the_script_draws_a_posterior_file(tmp_path: Path) -> None:
    pd: ModuleType = load_script("posterior_defaults")
    post, png = tmp_path / "post.json", tmp_path / "out" / "post.png"
    png.parent.mkdir()
    save_draws(_draws(False), post)
    pd.plot_posterior(post, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in png.parent.iterdir()] == ["post.png"]  # no temporary file left beside it
    assert pd.point_values(("w_lr", "trauma_rate")) == [0.136, pytest.approx(0.196)]
