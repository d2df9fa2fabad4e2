"""Posterior draws of model parameters: the hand-over from calibration to everything that uses the model.

A calibration yields a weighted sample of parameter vectors, not one point. Virtual trials, predictive
checks and the report run over these draws so that their intervals carry parameter uncertainty, not only
simulation noise. The file format is JSON (model output, labelled as such):

    {"model_output": true, "what": "...", "method": "...", "names": [...], "groups": {name: "model"|"cohort"},
     "draws": [[v1, v2, ...], ...], "weights": [w1, ...], "settings": {...}, "checks": {...}}

`checks` (optional) holds what was checked about the posterior after it was made (simulation-based
calibration, predictive checks, seed coverage; calibrate/sbc.py, calibrate/predictive.py).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from crpsmap.model import CohortParams, ModelParams
from crpsmap.outputs import atomic_open

#: the bundled posterior of the defaults fitted to van Rijn 2011 (written by scripts/posterior_defaults.py)
DEFAULT_POSTERIOR = "posterior-vanrijn2011.json"


@dataclass(frozen=True)
class PosteriorDraws:
    """A weighted sample of parameter vectors; `names[i]` is a ModelParams or CohortParams field."""

    names: tuple[str, ...]
    values: np.ndarray  # (n, k)
    weights: np.ndarray  # (n,), sums to 1
    method: str = ""
    what: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)
    checks: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=float)
        weights = np.asarray(self.weights, dtype=float)
        if values.ndim != 2 or values.shape[1] != len(self.names):
            raise ValueError(f"draws must be (n, {len(self.names)}), got {values.shape}")
        if weights.shape != (values.shape[0],) or values.shape[0] == 0:
            raise ValueError("one weight per draw, at least one draw")
        if np.any(weights < 0) or not np.isfinite(weights).all() or weights.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
        for name in self.names:
            group_of(name)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "weights", weights / weights.sum())

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def draw(self, i: int) -> dict[str, float]:
        """The i-th parameter vector as {name: value}."""
        return {n: float(v) for n, v in zip(self.names, self.values[i], strict=True)}

    def resample(self, n: int, seed: int = 0) -> PosteriorDraws:
        """n equally weighted draws (multinomial resampling by weight, reproducible by seed)."""
        idx = np.random.default_rng(seed).choice(len(self), size=n, replace=True, p=self.weights)
        return dataclasses.replace(self, values=self.values[idx], weights=np.full(n, 1.0 / n))

    def params(
        self, i: int, model: ModelParams | None = None, cohort: CohortParams | None = None
    ) -> tuple[ModelParams, CohortParams]:
        """The defaults (or the given parameters) with draw i's values put in."""
        return apply(self.draw(i), model or ModelParams(), cohort or CohortParams())

    def unfinished(self) -> str:
        """Empty for a finished ABC run; otherwise why its draws are wider than the posterior it aimed at
        (it stopped, on its budget, above the threshold it was to reach: `settings["reached_floor"]`), said
        wherever the draws are used so that they are not read as the finished posterior."""
        if self.settings.get("reached_floor", True) is not False:
            return ""
        eps, floor = self.settings.get("epsilon"), self.settings.get("epsilon_floor")
        where = (
            f" (threshold {eps:.1f}, target {floor:.1f})"
            if isinstance(eps, int | float) and isinstance(floor, int | float)
            else ""
        )
        return (
            f"an unfinished posterior: the ABC run stopped above its target threshold{where}, so its draws "
            "are wider than the finished posterior would be"
        )

    def __iter__(self) -> Iterator[dict[str, float]]:
        return (self.draw(i) for i in range(len(self)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_output": True,
            "what": self.what,
            "method": self.method,
            "names": list(self.names),
            "groups": {n: group_of(n) for n in self.names},
            "draws": self.values.tolist(),
            "weights": self.weights.tolist(),
            "settings": dict(self.settings),
            "checks": dict(self.checks),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PosteriorDraws:
        return cls(
            names=tuple(data["names"]),
            values=np.asarray(data["draws"], dtype=float),
            weights=np.asarray(data["weights"], dtype=float),
            method=str(data.get("method", "")),
            what=str(data.get("what", "")),
            settings=dict(data.get("settings", {})),
            checks=dict(data.get("checks", {})),
        )


def group_of(name: str) -> str:
    """'model' or 'cohort': which parameter object holds `name`."""
    for group, obj in (("model", ModelParams), ("cohort", CohortParams)):
        if name in {f.name for f in dataclasses.fields(obj)}:
            return group
    raise ValueError(f"unknown parameter {name!r}")


def apply(
    values: Mapping[str, float], model: ModelParams, cohort: CohortParams
) -> tuple[ModelParams, CohortParams]:
    """Put {name: value} into the model and cohort parameter objects (each name in exactly one)."""
    m: dict[str, Any] = {n: v for n, v in values.items() if group_of(n) == "model"}
    c: dict[str, Any] = {n: v for n, v in values.items() if group_of(n) == "cohort"}
    return dataclasses.replace(model, **m), dataclasses.replace(cohort, **c)


def save_draws(draws: PosteriorDraws, path: str | os.PathLike[str]) -> None:
    """Write atomically (crpsmap.outputs.atomic_open: a temporary file beside `path`, then rename;
    readable like any other output file)."""
    with atomic_open(path) as fh:
        json.dump(draws.to_dict(), fh, indent=1)
        fh.write("\n")


def load_draws(path: str | os.PathLike[str]) -> PosteriorDraws:
    with open(path, encoding="utf-8") as fh:
        return PosteriorDraws.from_dict(json.load(fh))


def default_draws() -> PosteriorDraws | None:
    """The bundled posterior of the defaults, or None while none has been computed."""
    ref = resources.files("crpsmap.calibrate").joinpath("fitted", DEFAULT_POSTERIOR)
    if not ref.is_file():
        return None
    return PosteriorDraws.from_dict(json.loads(ref.read_text(encoding="utf-8")))
