"""Posteriors with pyABC (ABC-SMC): which parameter values are compatible with the observed counts.

pyABC is used rather than ELFI because it is a maintained, pure-Python ABC-SMC with adaptive
thresholds and a Dask sampler, so the same cluster that runs cohorts runs the posterior. The distance
is the calibration objective of `distance.py` (G statistic + implausible-conversion penalty);
populations shrink the threshold towards the chi-square 95% point (4 degrees of freedom) inflated for
the simulation's own noise. `Posterior.to_draws` hands the weighted sample on as `PosteriorDraws`, the
one format that trials and checks read (calibrate/draws.py); docs/posterior.md shows the bundled
posterior of the defaults and its checks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import chi2

from crpsmap.calibrate.distance import objective
from crpsmap.calibrate.draws import PosteriorDraws
from crpsmap.calibrate.fit import FreeParam, apply, compact, compact_statistics, summary_above_floor
from crpsmap.calibrate.provenance import model_source_digest
from crpsmap.calibrate.targets import PATTERNS, Targets
from crpsmap.model import Sim
from crpsmap.outputs import atomic_write_text


def weighted_quantile(values: Any, weights: Any, q: float) -> float:
    """The `q` quantile of `values` weighted by `weights`: the first value whose cumulative share of the
    weight reaches `q`."""
    order = np.argsort(values)
    cum = np.cumsum(np.asarray(weights)[order])
    cum = cum / cum[-1]
    return float(np.asarray(values)[order][min(int(np.searchsorted(cum, q)), len(cum) - 1)])


@dataclass(frozen=True)
class Posterior:
    """Weighted ABC posterior sample; per parameter its mean and central 95% credible interval, and
    (`summary`) its median and central 90% interval."""

    names: tuple[str, ...]
    samples: np.ndarray  # (n, k)
    weights: np.ndarray  # (n,), sums to 1
    epsilon: float
    populations: int
    simulations: int
    #: the acceptance threshold and the number of simulations of each generation (the run's trace)
    epsilons: tuple[float, ...] = ()
    generation_simulations: tuple[int, ...] = ()
    method: str = ""

    def mean(self) -> dict[str, float]:
        return {n: float(np.sum(self.weights * self.samples[:, i])) for i, n in enumerate(self.names)}

    def interval(self, level: float = 0.95) -> dict[str, tuple[float, float]]:
        lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
        out = {}
        for i, n in enumerate(self.names):
            order = np.argsort(self.samples[:, i])
            cum = np.cumsum(self.weights[order])
            vals = self.samples[order, i]
            out[n] = (
                float(vals[np.searchsorted(cum, lo)]),
                float(vals[min(np.searchsorted(cum, hi), len(vals) - 1)]),
            )
        return out

    def summary(self) -> dict[str, dict[str, float]]:
        """Per parameter: the weighted median and central 90% interval (5th and 95th centiles)."""
        out = {}
        for i, name in enumerate(self.names):
            col = self.samples[:, i]
            out[name] = {
                "median": weighted_quantile(col, self.weights, 0.5),
                "ci90_low": weighted_quantile(col, self.weights, 0.05),
                "ci90_high": weighted_quantile(col, self.weights, 0.95),
            }
        return out

    def sd(self) -> dict[str, float]:
        """Weighted standard deviation per parameter (how much the data narrowed each prior)."""
        m = self.mean()
        return {
            n: float(np.sqrt(np.sum(self.weights * (self.samples[:, i] - m[n]) ** 2)))
            for i, n in enumerate(self.names)
        }

    def to_draws(self, what: str = "", settings: Mapping[str, Any] | None = None) -> PosteriorDraws:
        """The weighted sample as the hand-over format of calibrate/draws.py (with this run's trace)."""
        trace = {
            "epsilon": self.epsilon,
            "populations": self.populations,
            "simulations": self.simulations,
            "epsilons": list(self.epsilons),
            "generation_simulations": list(self.generation_simulations),
        }
        return PosteriorDraws(
            names=self.names,
            values=self.samples,
            weights=self.weights,
            method=self.method or METHOD,
            what=what,
            settings={**trace, **dict(settings or {})},
        )

    def to_dict(self) -> dict[str, Any]:
        ci = self.interval()
        summary = self.summary()
        return {
            "method": self.method or METHOD,
            "epsilon": self.epsilon,
            "populations": self.populations,
            "simulations": self.simulations,
            "epsilons": list(self.epsilons),
            "parameters": {
                n: {"mean": m, "ci_low": ci[n][0], "ci_high": ci[n][1], **summary[n]}
                for n, m in self.mean().items()
            },
        }


#: how the posteriors of this module are made (recorded with their draws)
METHOD = "pyABC ABC-SMC, distance = G statistic + interval and conversion penalties (calibrate/distance.py)"
METHOD_NO_CONVERSION = "pyABC ABC-SMC, distance = G statistic + interval penalty (no conversion penalty)"


def _stats_vector(stats: dict[str, Any]) -> dict[str, float]:
    c = compact(stats)
    return {k: float(c[k]) for k in ("multi_limb", "patients", *PATTERNS, "conversion")}


def summary_vector(sim: Sim, n_patients: int) -> dict[str, float]:
    """What one ABC proposal gives: the clinic's counts, or, when fewer than FAILED_BELOW_CONVERSION of
    injuries become CRPS, no clinic (patients = 0, found without filling it), which `abc_distance` puts
    at infinity: such a proposal is never accepted, instead of ending the run with NoCasesError."""
    stats = summary_above_floor(sim, n_patients)
    if stats is None:
        return dict.fromkeys(("multi_limb", "patients", *PATTERNS, "conversion"), 0.0)
    return _stats_vector(stats)


def abc_distance(targets: Targets, x: dict[str, float], *, conversion_penalty: bool) -> float:
    """The distance of one proposal's `summary_vector`: the calibration objective (without the conversion
    penalty for simulation-based calibration), infinite for a proposal with no clinic."""
    if x["patients"] <= 0:
        return math.inf
    stats = compact_statistics(x)
    if not conversion_penalty:
        stats["conversion"] = None
    return objective(targets, stats)


def _run_file(db: str) -> str:
    """Beside a kept pyABC database: what its run was computed with."""
    return db + ".run.json"


def _same_run(db: str, run_of: Mapping[str, Any]) -> None:
    """A kept run is continued only with the model code and settings it was started with: generations of
    two models (or two targets, boxes, clinic sizes) in one posterior would be the posterior of neither."""
    path = _run_file(db)
    if not os.path.exists(path):
        raise ValueError(f"{db}: no {os.path.basename(path)} beside it says what this run was computed with")
    with open(path, encoding="utf-8") as fh:
        kept = json.load(fh)
    differ = sorted(k for k in run_of if kept.get(k) != json.loads(json.dumps(run_of[k])))
    if differ:
        raise ValueError(f"{db}: the kept run differs in {', '.join(differ)}; start a new history file")


def abc_posterior(
    targets: Targets,
    *,
    base: Sim,
    free: Sequence[FreeParam],
    n_patients: int = 800,
    population: int = 48,
    generations: int = 4,
    seed: int = 0,
    client: Any | None = None,
    max_simulations: int | None = None,
    conversion_penalty: bool = True,
    history: str | os.PathLike[str] | None = None,
) -> Posterior:
    """ABC-SMC posterior of `free` parameters (uniform priors on their ranges) given `targets`.

    `max_simulations` caps the run's cost (pyABC stops after the generation that passes it).
    `history`: a file for pyABC's database, kept after the run; when it already holds a run, that run is
    continued (up to `generations` and `max_simulations` more), so a long posterior can be computed in
    short pieces on a shared machine. A file beside it (`<history>.run.json`) records the model source
    digest, targets, box and settings; continuing under any other raises ValueError.
    `conversion_penalty=False` drops the plausible-conversion term from the distance: simulation-based
    calibration (calibrate/sbc.py) draws its true values from the plain uniform prior, and a penalty
    outside the likelihood would then be a second, unstated prior.
    """
    import pyabc

    for name in ("ABC", "ABC.History", "ABC.Sampler", "ABC.Distance", "ABC.Epsilon", "ABC.Adaptation"):
        logging.getLogger(name).setLevel(logging.WARNING)

    def model(par: dict[str, float]) -> dict[str, float]:
        theta = {f.name: float(par[f.name]) for f in free}
        # each proposal its own virtual injuries (the posterior must see the model's noise), seeded by
        # the proposal itself so that a run does not depend on which worker simulated what
        digest = hashlib.sha256(repr((seed, sorted(theta.items()))).encode()).digest()
        sim = apply(dataclasses.replace(base, seed=int.from_bytes(digest[:4], "little")), theta)
        return summary_vector(sim, n_patients)

    def distance(x: dict[str, float], _x0: dict[str, float]) -> float:
        return abc_distance(targets, x, conversion_penalty=conversion_penalty)

    prior = pyabc.Distribution(**{f.name: pyabc.RV("uniform", f.low, f.high - f.low) for f in free})
    if client is None:
        sampler: Any = pyabc.sampler.SingleCoreSampler()
    else:
        sampler = pyabc.sampler.DaskDistributedSampler(dask_client=client)
    np.random.seed(seed)
    abc = pyabc.ABCSMC(model, prior, distance, population_size=population, sampler=sampler)
    folder = None if history is not None else tempfile.mkdtemp(prefix="crpsmap-abc-")
    db = os.fspath(history) if history is not None else os.path.join(str(folder), "abc.db")
    done = 0
    # what a kept run was started with (only a kept run is ever continued, so only it needs the record)
    run_of = (
        None
        if history is None
        else {
            "model_source_sha256": model_source_digest(),
            "targets": targets.to_dict(),
            "free": [[f.name, f.low, f.high] for f in free],
            "n_patients": n_patients,
            "years": base.years,
            "diagnosis": base.diagnosis,
            "population": population,
            "seed": seed,
            "conversion_penalty": conversion_penalty,
        }
    )
    if run_of is not None and os.path.exists(db):
        _same_run(db, run_of)
        done = int(abc.load("sqlite:///" + db).total_nr_simulations)
    else:
        abc.new("sqlite:///" + db, {"multi_limb": 0.0})
        if run_of is not None:
            atomic_write_text(_run_file(db), json.dumps(run_of, indent=1) + "\n")
    inflate = 1 + targets.patients / max(n_patients, 1)
    floor = float(chi2.ppf(0.95, df=4)) * inflate
    try:
        history_ = abc.run(
            minimum_epsilon=floor,
            max_nr_populations=generations,
            max_total_nr_simulations=np.inf if max_simulations is None else done + max_simulations,
        )
        df, w = history_.get_distribution()
        names = tuple(f.name for f in free)
        pops = history_.get_all_populations()
        pops = pops[pops["t"] >= 0]  # row t = -1 is pyABC's calibration sample from the prior
        eps = float(pops["epsilon"].iloc[-1]) if len(pops) else math.nan
        return Posterior(
            names=names,
            samples=df[list(names)].to_numpy(dtype=float),
            weights=np.asarray(w, dtype=float) / float(np.sum(w)),
            epsilon=eps,
            populations=int(history_.max_t) + 1,
            simulations=int(history_.total_nr_simulations),
            epsilons=tuple(float(e) for e in pops["epsilon"]),
            generation_simulations=tuple(int(n) for n in pops["samples"]),
            method=METHOD if conversion_penalty else METHOD_NO_CONVERSION,
        )
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
