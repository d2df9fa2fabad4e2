"""Point estimates with Optuna: minimise the G statistic of the observed counts over free parameters.

Every trial simulates the same virtual injuries (one seed: common random numbers), so differences
between trials are differences of parameters, not of luck. Trials run in batches; with a Dask client
each batch's simulations run as parallel tasks.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crpsmap.calibrate.distance import deviance, deviance_parts, objective
from crpsmap.calibrate.targets import PATTERNS, Targets, summary_statistics
from crpsmap.model import CohortParams, ModelParams, Sim

#: the parameters fitted by default: commissural and descending coupling, the lateralisation of the
#: descending pathway (ipsilateral spread), blood-brain barrier influx,
#: and the susceptibility of the injured (which sets how many injuries become CRPS and how far it goes)
DEFAULT_FREE = ("w_lr", "w_desc", "lat", "beta_bbb", "gain_mu")


@dataclass(frozen=True)
class FreeParam:
    """A parameter to fit, within [low, high] (by default its documented plausible range)."""

    name: str
    low: float
    high: float
    group: str  # "model" (ModelParams) or "cohort" (CohortParams)

    @classmethod
    def of(cls, name: str, low: float | None = None, high: float | None = None) -> FreeParam:
        for group, obj in (("model", ModelParams), ("cohort", CohortParams)):
            fields = {f.name: f for f in dataclasses.fields(obj)}
            if name in fields and fields[name].metadata:
                meta = fields[name].metadata
                lo = float(meta["low"]) if low is None else low
                hi = float(meta["high"]) if high is None else high
                if not lo < hi:
                    raise ValueError(f"{name}: empty range [{lo}, {hi}]")
                return cls(name, lo, hi, group)
        raise ValueError(f"unknown parameter {name!r}")


#: search ranges narrower than the documented plausible range, where a wider one only costs time: below
#: gain_mu = -1.6 about 1-2% of injuries become CRPS (sensitivity run, docs/calibration.md), so each
#: trial screens tens of thousands of injuries for a clinic the conversion penalty rejects anyway
SEARCH_RANGES = {"gain_mu": (-1.6, -0.4)}


def free_params(names: Sequence[str]) -> tuple[FreeParam, ...]:
    return tuple(FreeParam.of(n, *SEARCH_RANGES.get(n, (None, None))) for n in names)


def apply(base: Sim, theta: Mapping[str, float]) -> Sim:
    """`base` with the parameter values of `theta` (model or cohort parameters, by name)."""
    model = {k: v for k, v in theta.items() if k in ModelParams.__dataclass_fields__}
    cohort = {k: v for k, v in theta.items() if k not in model}
    unknown = set(cohort) - set(CohortParams.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown parameter(s) {sorted(unknown)}")
    return dataclasses.replace(
        base, params=base.params.replace(**model), cohort=base.cohort.replace(**cohort)
    )


def simulate_summary(sim: Sim, n_patients: int) -> dict[str, Any]:
    """The report's figures of a virtual clinic of `n_patients`, plus its injury -> CRPS conversion."""
    clinic = sim.clinic(n_patients)
    stats = summary_statistics(clinic.histories)
    stats["conversion"] = clinic.conversion
    return stats


def compact(stats: Mapping[str, Any]) -> dict[str, Any]:
    """The few numbers a calibration keeps per trial."""
    lp = stats["limb_patterns"]
    return {
        "multi_limb": stats["multi_limb"]["count"],
        "patients": stats["multi_limb"]["denominator"],
        **{p: lp[p]["count"] for p in PATTERNS},
        "conversion": stats.get("conversion"),
    }


def evaluate(sim: Sim, n_patients: int, targets: Targets) -> tuple[float, dict[str, Any]]:
    """Objective of one simulated clinic (the unit of work of a calibration task) and its figures."""
    stats = simulate_summary(sim, n_patients)
    return objective(targets, stats), {**compact(stats), "deviance": deviance(targets, stats)}


@dataclass(frozen=True)
class FitResult:
    """The best parameters found, how well they fit, and every trial."""

    best: dict[str, float]
    deviance: float
    parts: dict[str, float]
    best_summary: dict[str, Any]
    targets: Targets
    free: tuple[FreeParam, ...]
    n_patients: int
    years: float
    seed: int
    mechanisms_off: tuple[str, ...]
    trials: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_output": True,
            "best": self.best,
            "deviance": self.deviance,
            "deviance_parts": self.parts,
            "best_summary": self.best_summary,
            "targets": self.targets.to_dict(),
            "free": [dataclasses.asdict(f) for f in self.free],
            "n_patients": self.n_patients,
            "years": self.years,
            "seed": self.seed,
            "mechanisms_off": list(self.mechanisms_off),
            "trials": self.trials,
        }


def _mechanisms_off(sim: Sim) -> tuple[str, ...]:
    m = sim.params.mechanisms
    return tuple(f.name for f in dataclasses.fields(m) if not getattr(m, f.name))


def fit(
    targets: Targets,
    *,
    base: Sim | None = None,
    free: Sequence[FreeParam] | None = None,
    n_patients: int = 800,
    n_trials: int = 60,
    seed: int = 0,
    batch: int = 4,
    client: Any | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> FitResult:
    """Minimise the deviance over `free` parameters with Optuna's TPE sampler (seeded, reproducible).

    The objective is the G statistic plus a penalty when the share of injuries that become CRPS leaves
    its plausible range (distance.PLAUSIBLE_CONVERSION). Trials are asked in batches of `batch` (run in
    parallel when a Dask `client` is given); the batch, not the number of workers, shapes the search, so
    a fit gives the same result on any cluster. The first trial is the base parameter set itself, so a
    fit never ends worse than where it started.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    base = base or Sim(seed=seed)
    free = tuple(free) if free is not None else free_params(DEFAULT_FREE)
    sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=min(10, n_trials))
    study = optuna.create_study(direction="minimize", sampler=sampler)
    start = {}
    for f in free:
        value = getattr(base.params if f.group == "model" else base.cohort, f.name)
        start[f.name] = min(max(float(value), f.low), f.high)
    study.enqueue_trial(start)
    if batch < 1:
        raise ValueError("batch must be at least 1")
    done = 0
    records: list[dict[str, Any]] = []
    best = math.inf
    while done < n_trials:
        trials = [study.ask() for _ in range(min(batch, n_trials - done))]
        thetas = [{f.name: t.suggest_float(f.name, f.low, f.high) for f in free} for t in trials]
        sims = [apply(base, th) for th in thetas]
        if client is None:
            results = [evaluate(s, n_patients, targets) for s in sims]
        else:
            futures = client.map(evaluate, sims, n_patients=n_patients, targets=targets, pure=False)
            results = client.gather(futures)
        for t, th, (g, summary) in zip(trials, thetas, results, strict=True):
            study.tell(t, g)
            records.append({"trial": t.number, **th, "objective": g, **summary})
            best = min(best, g)
        done += len(trials)
        if progress is not None:
            progress(done, n_trials, best)
    best_trial = min(records, key=lambda r: r["objective"])
    best_theta = {f.name: float(best_trial[f.name]) for f in free}
    best_sim = apply(base, best_theta)
    stats = simulate_summary(best_sim, n_patients)
    return FitResult(
        best=best_theta,
        deviance=deviance(targets, stats),
        parts=deviance_parts(targets, stats),
        best_summary=compact(stats),
        targets=targets,
        free=free,
        n_patients=n_patients,
        years=base.years,
        seed=base.seed,
        mechanisms_off=_mechanisms_off(base),
        trials=records,
    )
