"""Which explanation of spread do the data favour? Fit each mechanism set, compare on fresh simulations.

Each candidate switches model mechanisms off (spinal coupling only; with supraspinal coupling; with
systemic, blood-borne spread; all) and fits its own free parameters with `fit`. The criterion is
Akaike's: G at the best parameters, re-estimated on a fresh, larger set of virtual patients (a held-out
simulation, so the fit's luck is not rewarded), plus 2 per free parameter. G is -2 log likelihood
ratio against the saturated model, so AIC differences are likelihood differences; Akaike weights
exp(-dAIC/2), normalised, say how strongly the data favour each explanation *within this model*.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from crpsmap.calibrate.distance import deviance
from crpsmap.calibrate.fit import (
    COST_RANGES,
    DEFAULT_FREE,
    FitResult,
    apply,
    compact,
    fit,
    free_params,
    simulate_summary,
)
from crpsmap.calibrate.targets import Targets
from crpsmap.model import Mechanisms, Sim


@dataclass(frozen=True)
class Candidate:
    """A mechanism set: what is switched on, and which parameters it fits."""

    name: str
    label: str
    mechanisms: Mechanisms
    free: tuple[str, ...]


SPINAL = ("rostrocaudal", "commissural", "csf", "priming", "noise")
CANDIDATES: tuple[Candidate, ...] = (
    Candidate(
        "spinal",
        "spinal coupling only (segments and left-right, through glia and CSF)",
        Mechanisms.only(*SPINAL),
        ("w_lr", "w_rc", "gain_mu", "trauma_rate"),
    ),
    Candidate(
        "spinal+supraspinal",
        "spinal + supraspinal (brain) coupling",
        Mechanisms.only(*SPINAL, "supraspinal"),
        ("w_lr", "w_desc", "lat", "gain_mu", "trauma_rate"),
    ),
    Candidate(
        "spinal+systemic",
        "spinal + systemic (blood-borne cytokines, infection, vagal reflex)",
        Mechanisms.only(*SPINAL, "systemic", "infection", "vagal", "organs"),
        ("w_lr", "beta_bbb", "gain_mu", "trauma_rate"),
    ),
    Candidate(
        "all",
        "spinal + supraspinal + systemic (the full hypothesis)",
        Mechanisms(),
        DEFAULT_FREE,
    ),
)


@dataclass(frozen=True)
class MechanismFit:
    candidate: Candidate
    fit: FitResult
    heldout_deviance: float
    heldout_summary: dict[str, Any]
    aic: float
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.candidate.name,
            "label": self.candidate.label,
            "free": list(self.candidate.free),
            "best": self.fit.best,
            "fit_deviance": self.fit.deviance,
            "heldout_deviance": self.heldout_deviance,
            "heldout_summary": self.heldout_summary,
            "aic": self.aic,
            "akaike_weight": self.weight,
        }


@dataclass(frozen=True)
class MechanismComparison:
    fits: list[MechanismFit]
    targets: Targets
    n_patients: int
    heldout_patients: int
    years: float

    @property
    def favoured(self) -> MechanismFit:
        return max(self.fits, key=lambda f: f.weight)

    def sentence(self) -> str:
        f = self.favoured
        return (
            f"Within the model, the data favour '{f.candidate.label}' (Akaike weight {f.weight:.0%}); "
            + "; ".join(f"{g.candidate.name} {g.weight:.0%}" for g in self.fits if g is not f)
            + ". This compares explanations inside one hypothesis-driven model; it is not evidence that the"
            " favoured mechanism operates in patients."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_output": True,
            "criterion": "AIC from the G statistic on a held-out simulation; Akaike weights",
            "targets": self.targets.to_dict(),
            "n_patients": self.n_patients,
            "heldout_patients": self.heldout_patients,
            "years": self.years,
            "favoured": self.favoured.candidate.name,
            "sentence": self.sentence(),
            "candidates": [f.to_dict() for f in self.fits],
        }


def _stage(
    progress: Callable[[str, int, int], None] | None, name: str
) -> Callable[[int, int, float], None] | None:
    if progress is None:
        return None
    report = progress

    def inner(done: int, total: int, _best: float) -> None:
        report(name, done, total)

    return inner


def compare_mechanisms(
    targets: Targets,
    *,
    base: Sim | None = None,
    candidates: Sequence[Candidate] = CANDIDATES,
    n_patients: int = 800,
    n_trials: int = 40,
    heldout_factor: int = 2,
    seed: int = 0,
    client: Any | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> MechanismComparison:
    """Fit every candidate and weigh them by AIC on held-out simulations."""
    base = base or Sim(seed=seed)
    rows: list[tuple[Candidate, FitResult, float, dict[str, Any]]] = []
    for cand in candidates:
        sim = dataclasses.replace(base, params=base.params.replace(mechanisms=cand.mechanisms))
        result = fit(
            targets,
            base=sim,
            free=free_params(cand.free, COST_RANGES),
            n_patients=n_patients,
            n_trials=n_trials,
            seed=seed,
            client=client,
            progress=_stage(progress, cand.name),
        )
        held = dataclasses.replace(apply(sim, result.best), seed=seed + 1_000_003)
        stats = simulate_summary(held, heldout_factor * n_patients)
        rows.append((cand, result, deviance(targets, stats), compact(stats)))
    aics = [g + 2 * len(c.free) for c, _, g, _ in rows]
    best = min(aics)
    raw = [math.exp(-(a - best) / 2) for a in aics]
    total = sum(raw)
    fits = [
        MechanismFit(c, r, g, s, a, w / total) for (c, r, g, s), a, w in zip(rows, aics, raw, strict=True)
    ]
    return MechanismComparison(fits, targets, n_patients, heldout_factor * n_patients, base.years)
