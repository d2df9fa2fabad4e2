"""Simulation-based calibration (SBC) of the ABC posterior: does it find parameters it was given?

Talts, Betancourt, Simpson, Vehtari, Gelman 2018, "Validating Bayesian inference algorithms with
simulation-based calibration", arXiv:1804.06788: draw a parameter vector from the prior, simulate data
from it, compute the posterior from those data and record the rank of the true value among L posterior
draws. If the posterior is computed correctly, each parameter's rank is uniform on 0..L; a U-shaped
histogram means a posterior too narrow, a hump one too wide, a slope a bias.

Two posteriors are checked (docs/posterior.md):
- `run_sbc`: the ABC-SMC of `posterior.abc_posterior`, each replicate its own run (expensive: a small
  configuration, few replicates);
- `table_sbc`: rejection ABC on one reference table of prior simulations with the same distance: every
  row in turn is the "observed" clinic and the `accept` nearest other rows are its posterior (cheap:
  hundreds of replicates from the same simulations).

An ABC posterior is an approximation (threshold > 0), so SBC here tests that approximation, not the
model: uniform ranks say the posterior is not overconfident or biased at this configuration; they do not
say it is narrow, which `contraction` (1 - posterior variance / prior variance) reports.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as sps

from crpsmap.calibrate.distance import objective
from crpsmap.calibrate.fit import (
    COMPACT_KIND,
    FreeParam,
    apply,
    compact,
    compact_figures,
    compact_statistics,
    simulate_summary,
)
from crpsmap.calibrate.posterior import abc_posterior
from crpsmap.calibrate.store import ClinicStore, map_kept
from crpsmap.calibrate.targets import PATTERNS, Targets
from crpsmap.model import Sim


def sbc_rank(truth: float, draws: Sequence[float] | np.ndarray, rng: np.random.Generator) -> int:
    """Number of posterior draws below the true value, ties split at random (Talts et al. 2018, Alg. 1)."""
    d = np.asarray(draws, dtype=float)
    below = int(np.sum(d < truth))
    ties = int(np.sum(d == truth))
    return below + int(rng.integers(0, ties + 1))


def resample(samples: np.ndarray, weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n equally weighted draws from a weighted sample (multinomial resampling)."""
    w = np.asarray(weights, dtype=float)
    idx = rng.choice(len(w), size=n, replace=True, p=w / w.sum())
    return np.asarray(samples)[idx]


def rank_histogram(ranks: Sequence[int] | np.ndarray, n_draws: int, bins: int) -> np.ndarray:
    """Counts of ranks (0..n_draws) in `bins` equal bins; n_draws + 1 must be a multiple of `bins`."""
    if (n_draws + 1) % bins:
        raise ValueError(f"{n_draws + 1} possible ranks do not split into {bins} equal bins")
    r = np.asarray(ranks, dtype=int)
    if r.size and (r.min() < 0 or r.max() > n_draws):
        raise ValueError("a rank outside 0..n_draws")
    return np.bincount(r // ((n_draws + 1) // bins), minlength=bins)


def uniformity(ranks: Sequence[int] | np.ndarray, n_draws: int, bins: int, seed: int = 0) -> dict[str, float]:
    """Two tests of uniform ranks: chi-square over equal bins, and Kolmogorov-Smirnov on the ranks spread
    uniformly within their slot ((rank + U) / (n_draws + 1) is U(0, 1) under uniform ranks)."""
    r = np.asarray(ranks, dtype=float)
    counts = rank_histogram(r.astype(int), n_draws, bins)
    expected = len(r) / bins
    chi2 = float(np.sum((counts - expected) ** 2 / expected)) if len(r) else math.nan
    u = (r + np.random.default_rng(seed).random(len(r))) / (n_draws + 1)
    ks = sps.kstest(u, "uniform") if len(r) else None
    return {
        "chi2": chi2,
        "df": bins - 1,
        "chi2_p": float(sps.chi2.sf(chi2, bins - 1)) if len(r) else math.nan,
        "ks": float(ks.statistic) if ks is not None else math.nan,
        "ks_p": float(ks.pvalue) if ks is not None else math.nan,
    }


def prior_sd(f: FreeParam) -> float:
    """Standard deviation of the uniform prior on [low, high]."""
    return (f.high - f.low) / math.sqrt(12.0)


def draw_prior(free: Sequence[FreeParam], rng: np.random.Generator) -> dict[str, float]:
    """One parameter vector from the uniform prior on the free parameters' ranges."""
    return {f.name: float(rng.uniform(f.low, f.high)) for f in free}


def targets_of(stats: Mapping[str, Any], source: str) -> Targets:
    """A simulated clinic's figures as calibration targets, with the identifiable count the distance of
    the defaults also weighs (the number of assigned second-limb patterns)."""
    c = compact(stats)
    patterns = tuple(int(c[p]) for p in PATTERNS)
    return Targets(
        multi_limb=int(c["multi_limb"]),
        patients=int(c["patients"]),
        patterns=(patterns[0], patterns[1], patterns[2]),
        source=source,
        identifiable=sum(patterns),
    )


@dataclass(frozen=True)
class Replicate:
    """One SBC replicate: the true parameters, its clinic's figures, ranks and posterior spread."""

    index: int
    truth: dict[str, float]
    observed: dict[str, Any]
    ranks: dict[str, int]
    posterior_mean: dict[str, float]
    posterior_sd: dict[str, float]
    epsilon: float = math.nan
    simulations: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SBCResult:
    """Ranks of the true values over replicates, per parameter, with uniformity tests and contraction."""

    method: str
    free: tuple[FreeParam, ...]
    n_draws: int
    replicates: tuple[Replicate, ...]
    settings: dict[str, Any] = field(default_factory=dict)

    def ranks(self, name: str) -> np.ndarray:
        return np.array([r.ranks[name] for r in self.replicates], dtype=int)

    def contraction(self, name: str) -> float:
        """1 - mean posterior variance / prior variance: 0 = the data taught nothing, 1 = exact."""
        f = next(f for f in self.free if f.name == name)
        var = np.mean([r.posterior_sd[name] ** 2 for r in self.replicates])
        return float(1.0 - var / prior_sd(f) ** 2)

    def summary(self, bins: int) -> dict[str, dict[str, Any]]:
        """Per parameter: rank histogram, uniformity tests, contraction, and the share of replicates whose
        true value lies in the central 90% of the resampled draws (ranks 5%..95% of n_draws)."""
        out = {}
        lo, hi = 0.05 * self.n_draws, 0.95 * self.n_draws
        for f in self.free:
            r = self.ranks(f.name)
            out[f.name] = {
                "histogram": rank_histogram(r, self.n_draws, bins).tolist(),
                **uniformity(r, self.n_draws, bins),
                "contraction": self.contraction(f.name),
                "central90": float(np.mean((r >= lo) & (r <= hi))) if len(r) else math.nan,
            }
        return out

    def to_dict(self, bins: int) -> dict[str, Any]:
        return {
            "model_output": True,
            "method": self.method,
            "reference": "Talts et al. 2018, arXiv:1804.06788",
            "free": [dataclasses.asdict(f) for f in self.free],
            "n_draws": self.n_draws,
            "replicates": len(self.replicates),
            "bins": bins,
            "summary": self.summary(bins),
            "settings": self.settings,
            "per_replicate": [r.to_dict() for r in self.replicates],
        }


def _clinic_seed(seed: int, index: int, salt: int) -> int:
    return int(np.random.default_rng([seed, index, salt]).integers(0, 2**31 - 1))


def sbc_replicate(
    index: int,
    *,
    free: Sequence[FreeParam],
    base: Sim,
    observed_patients: int,
    n_patients: int,
    population: int,
    generations: int,
    n_draws: int,
    seed: int,
    max_simulations: int | None = None,
) -> Replicate:
    """One ABC-SMC replicate (the unit of work of a Dask task): truth from the prior, a clinic of
    `observed_patients` simulated from it, `abc_posterior` of that clinic (no conversion penalty: the
    truth comes from the plain prior), the rank of each true value among `n_draws` resampled draws."""
    t0 = time.perf_counter()
    rng = np.random.default_rng([seed, index])
    truth = draw_prior(free, rng)
    sim = apply(dataclasses.replace(base, seed=_clinic_seed(seed, index, 1)), truth)
    stats = simulate_summary(sim, observed_patients)
    post = abc_posterior(
        targets_of(stats, f"SBC replicate {index}"),
        base=dataclasses.replace(base, seed=_clinic_seed(seed, index, 2)),
        free=free,
        n_patients=n_patients,
        population=population,
        generations=generations,
        seed=_clinic_seed(seed, index, 3),
        max_simulations=max_simulations,
        conversion_penalty=False,
    )
    draws = resample(post.samples, post.weights, n_draws, rng)
    return Replicate(
        index=index,
        truth=truth,
        observed=compact(stats),
        ranks={f.name: sbc_rank(truth[f.name], draws[:, i], rng) for i, f in enumerate(free)},
        posterior_mean=post.mean(),
        posterior_sd=post.sd(),
        epsilon=post.epsilon,
        simulations=post.simulations,
        seconds=time.perf_counter() - t0,
    )


def run_sbc(
    free: Sequence[FreeParam],
    *,
    base: Sim,
    replicates: int = 20,
    observed_patients: int = 185,
    n_patients: int = 80,
    population: int = 16,
    generations: int = 2,
    n_draws: int = 15,
    seed: int = 0,
    max_simulations: int | None = None,
    client: Any | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SBCResult:
    """SBC of `abc_posterior` over `replicates` (as Dask tasks with a client: same result, in order)."""
    kw: dict[str, Any] = {
        "free": tuple(free),
        "base": base,
        "observed_patients": observed_patients,
        "n_patients": n_patients,
        "population": population,
        "generations": generations,
        "n_draws": n_draws,
        "seed": seed,
        "max_simulations": max_simulations,
    }
    reps: list[Replicate] = []
    if client is None:
        for i in range(replicates):
            reps.append(sbc_replicate(i, **kw))
            if progress is not None:
                progress(i + 1, replicates)
    else:
        from dask.distributed import as_completed

        futures = client.map(sbc_replicate, range(replicates), pure=False, **kw)
        for done, _ in enumerate(as_completed(futures), start=1):
            if progress is not None:
                progress(done, replicates)
        reps = list(client.gather(futures))
    settings = {k: v for k, v in kw.items() if k not in ("free", "base")}
    settings.update(replicates=replicates, years=base.years)
    return SBCResult(
        "ABC-SMC (calibrate.posterior.abc_posterior)", tuple(free), n_draws, tuple(reps), settings
    )


def reference_table(
    free: Sequence[FreeParam],
    *,
    base: Sim,
    size: int,
    n_patients: int = 185,
    seed: int = 0,
    client: Any | None = None,
    store: ClinicStore | None = None,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """`size` parameter vectors from the prior and the figures of one clinic of `n_patients` each
    (`store`, of kind `fit.COMPACT_KIND`: kept clinics reused, new ones kept as they finish)."""
    rng = np.random.default_rng([seed, 7])
    thetas = [draw_prior(free, rng) for _ in range(size)]
    seeds = [_clinic_seed(seed, i, 4) for i in range(size)]
    sims = [dataclasses.replace(apply(base, t), seed=s) for t, s in zip(thetas, seeds, strict=True)]
    rows = map_kept(compact_figures, sims, n_patients, client, store, COMPACT_KIND)
    values = np.array([[t[f.name] for f in free] for t in thetas], dtype=float)
    return values, rows


def _as_stats(row: Mapping[str, Any]) -> dict[str, Any]:
    """Compact figures in the shape `distance.objective` reads (no conversion: no conversion penalty)."""
    return {**compact_statistics(row), "conversion": None}


def table_sbc(
    free: Sequence[FreeParam],
    values: np.ndarray,
    rows: Sequence[Mapping[str, Any]],
    *,
    accept: int = 19,
    seed: int = 0,
) -> SBCResult:
    """SBC of rejection ABC on a reference table: each row is once the observed clinic; its posterior is
    the `accept` other rows nearest by the calibration distance; its rank is that of its own parameters
    among theirs. Every posterior draw is a prior draw that passed the same test, so this checks the
    distance and threshold, not the SMC machinery."""
    if not 0 < accept < len(rows):
        raise ValueError("accept must be between 1 and the table size - 1")
    rng = np.random.default_rng([seed, 11])
    stats = [_as_stats(r) for r in rows]
    reps = []
    for j, row in enumerate(rows):
        targets = targets_of(stats[j], f"table row {j}")
        d = np.array([objective(targets, s) if i != j else np.inf for i, s in enumerate(stats)])
        near = np.argsort(d, kind="stable")[:accept]
        draws = values[near]
        truth = {f.name: float(values[j, i]) for i, f in enumerate(free)}
        reps.append(
            Replicate(
                index=j,
                truth=truth,
                observed=dict(row),
                ranks={f.name: sbc_rank(truth[f.name], draws[:, i], rng) for i, f in enumerate(free)},
                posterior_mean={f.name: float(draws[:, i].mean()) for i, f in enumerate(free)},
                posterior_sd={f.name: float(draws[:, i].std()) for i, f in enumerate(free)},
                epsilon=float(d[near[-1]]),
                simulations=len(rows) - 1,
            )
        )
    return SBCResult(
        "rejection ABC on a reference table (same distance, no conversion penalty)",
        tuple(free),
        accept,
        tuple(reps),
        {"table_size": len(rows), "accept": accept, "seed": seed},
    )
