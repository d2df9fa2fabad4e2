"""Point estimates with Optuna: minimise the G statistic of the observed counts over free parameters.

Every trial simulates the same virtual injuries (one seed: common random numbers), so differences
between trials are differences of parameters, not of luck. Trials run in batches; with a Dask client
each batch's simulations run as parallel tasks.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crpsmap.calibrate import distance
from crpsmap.calibrate.distance import deviance, deviance_parts, objective
from crpsmap.calibrate.targets import PATTERNS, Targets, summary_statistics
from crpsmap.model import CohortParams, ModelParams, Sim
from crpsmap.model.sim import MAX_INJURIES_PER_CASE, NoCasesError

#: the parameters fitted by default: commissural and descending coupling, the lateralisation of the
#: descending pathway (ipsilateral spread), blood-brain barrier influx, the susceptibility of the injured
#: (which sets how many injuries become CRPS and how far it goes), and the rate of new traumas (van Rijn
#: 2011: a new trauma preceded the second limb in 37% / 44% / 91% of contralateral / ipsilateral /
#: diagonal spread, so traumas shape the pattern split), the afferent drive of a fracture (with the
#: susceptibility it sets the share of injuries that become CRPS, held to the sourced band) and how much
#: harder a new injury drives once a patient has CRPS (without it the diagonal share stays below van
#: Rijn's interval at a sourced conversion; docs/calibration.md, "The defaults")
DEFAULT_FREE = (
    "w_lr",
    "w_desc",
    "lat",
    "beta_bbb",
    "gain_mu",
    "trauma_rate",
    "drive_fracture",
    "drive_after_crps",
)


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

    def check(self, value: float) -> float:
        """`value` if it lies inside [low, high] (a script's held or starting value), else ValueError: a
        value outside the documented range is a model nobody documented."""
        if not (math.isfinite(value) and self.low <= value <= self.high):
            raise ValueError(f"outside its documented range {self.low:g}-{self.high:g}")
        return value


#: the search box of the kept fit of the defaults to van Rijn 2011 (scripts/calibrate_defaults.py;
#: docs/calibration.md, "The defaults"), narrower than the documented plausible ranges.
#: gain_mu: below -1.2 only a few percent of injuries become CRPS and each trial screens tens of thousands
#: of injuries for a clinic the conversion penalty rejects anyway. The couplings: the clinic's pattern
#: split changes steeply with them (lat 0.883 -> 0.91 moves ipsilateral spread from 15% to 52% of
#: second limbs), and wide searches of 100-160 trials (TPE) never came back to the region where the
#: multi-limb share and the split fit together; these boxes are that region, found by those searches
#: and a grid around the model's starting values. w_lr starts at 0.13: below it the model no longer
#: shows the rodent facts it must keep (mirror spread at strong drive; an early glial inhibitor prevents
#: it, a late one does not; tests/model/test_model_facts.py): fits bounded at 0.08 and 0.12 went to the
#: bound (0.0802, 0.122), and at 0.122 a glial inhibitor from day 90 still undid the mirror spread.
#: drive_fracture 0.6-1.0: above 1 a fracture converts more often than the sourced band allows; below
#: 0.6 a clinic needs tens of thousands of injuries. drive_after_crps 1-2: 1 is no difference; above 2
#: the refit never went (it settled at 1.61).
SEARCH_RANGES = {
    "gain_mu": (-1.2, -0.6),
    "w_lr": (0.13, 0.2),
    "w_desc": (0.4, 0.55),
    "lat": (0.8, 0.93),
    "beta_bbb": (0.25, 0.45),
    "trauma_rate": (0.05, 0.2),
    "drive_fracture": (0.6, 1.0),
    "drive_after_crps": (1.0, 2.0),
}


#: the only narrowing used when explanations are compared (calibrate/mechanisms.py): the cost-saving
#: susceptibility limit. Every candidate searches the documented plausible ranges of its couplings, so no
#: candidate is favoured by a box found for another.
COST_RANGES = {"gain_mu": (-1.6, -0.4)}


def free_params(
    names: Sequence[str], ranges: Mapping[str, tuple[float, float]] = COST_RANGES
) -> tuple[FreeParam, ...]:
    """Free parameters over their documented plausible ranges, narrowed by `ranges` (by default only the
    cost-saving susceptibility limit; scripts/calibrate_defaults.py passes SEARCH_RANGES, the box found for
    van Rijn 2011, which need not suit another clinic)."""
    return tuple(FreeParam.of(n, *ranges.get(n, (None, None))) for n in names)


def add_range_option(parser: argparse.ArgumentParser) -> None:
    """`--range NAME LOW HIGH` (repeatable) on a fitting script's command line: see `with_ranges`."""
    parser.add_argument(
        "--range",
        nargs=3,
        action="append",
        default=[],
        metavar=("NAME", "LOW", "HIGH"),
        help="replace the search box of one free parameter (repeatable)",
    )


def with_ranges(
    box: Mapping[str, tuple[float, float]], overrides: Sequence[Sequence[str]]
) -> dict[str, tuple[float, float]]:
    """A search box with some parameters' ranges replaced, as `--range NAME LOW HIGH` gives them."""
    return {**box, **{name: (float(low), float(high)) for name, low, high in overrides}}


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


#: the structure of every result written before 2026-11-26, which records none: a flat dorsal horn and the
#: first-visit diagnosis rule (docs/model.md, assumptions 12 and 13)
EARLIER_STRUCTURE: dict[str, Any] = {"somatotopy": False, "diagnosis": "first_visit"}


def model_structure(sim: Sim) -> dict[str, Any]:
    """The model structure a result was computed in: what is not a parameter value but changes the
    clinic (the somatotopic columns, the diagnosis rule). Bundled results record it."""
    return {"somatotopy": sim.params.mechanisms.somatotopy, "diagnosis": sim.diagnosis}


def simulate_summary(
    sim: Sim,
    n_patients: int,
    *,
    max_injuries_per_case: int = MAX_INJURIES_PER_CASE,
    confidence: float | None = None,
    ranges: Sequence[str] = (),
) -> dict[str, Any]:
    """The report's figures of a virtual clinic of `n_patients`, plus its injury -> CRPS conversion
    (NoCasesError below 1 in `max_injuries_per_case` converted injuries, `Sim.find_cases`), and the
    plausibility figures `ranges` names with their literature ranges (`distance.ranges_penalty`)."""
    clinic = sim.clinic(n_patients, max_injuries_per_case=max_injuries_per_case, confidence=confidence)
    stats = summary_statistics(clinic.histories)
    stats["conversion"] = clinic.conversion
    if ranges:
        from crpsmap.calibrate.plausibility import ranged_figures  # it imports this package's distance

        stats[distance.RANGES_KEY] = ranged_figures(clinic.histories, ranges)
    return stats


def summary_above_floor(sim: Sim, n_patients: int) -> dict[str, Any] | None:
    """`simulate_summary`, or None when fewer than `distance.FAILED_BELOW_CONVERSION` of injuries become
    CRPS (known at `distance.FLOOR_CONFIDENCE` from the injuries screened so far): a search (mechanism
    comparison, ABC) scores such a setting as failed instead of ending on NoCasesError, and finds it
    without screening the many injuries its clinic would need."""
    try:
        return simulate_summary(
            sim,
            n_patients,
            max_injuries_per_case=round(1 / distance.FAILED_BELOW_CONVERSION),
            confidence=distance.FLOOR_CONFIDENCE,
        )
    except NoCasesError:
        return None


#: what a store keeps of a clinic under `compact_figures`
COMPACT_KIND = "fit.compact"


def compact(stats: Mapping[str, Any]) -> dict[str, Any]:
    """The few numbers a calibration keeps per trial."""
    lp = stats["limb_patterns"]
    return {
        "multi_limb": stats["multi_limb"]["count"],
        "patients": stats["multi_limb"]["denominator"],
        **{p: lp[p]["count"] for p in PATTERNS},
        "conversion": stats.get("conversion"),
    }


def compact_figures(sim: Sim, n_patients: int) -> dict[str, Any]:
    """The `compact` figures of one clinic of `sim` (a Dask task; what a store of kind `COMPACT_KIND`
    keeps, calibrate/store.py)."""
    return compact(simulate_summary(sim, n_patients))


def compact_statistics(figures: Mapping[str, Any]) -> dict[str, Any]:
    """The report-statistics shape that `distance` reads (`deviance`, `inside_intervals`), from kept
    `compact` figures."""
    return {
        "multi_limb": {"count": int(figures["multi_limb"]), "denominator": int(figures["patients"])},
        "limb_patterns": {p: {"count": int(figures[p])} for p in PATTERNS},
        "conversion": figures.get("conversion"),
    }


def evaluate(
    sim: Sim, n_patients: int, targets: Targets, ranges: Sequence[str] = ()
) -> tuple[float, dict[str, Any]]:
    """Objective of one simulated clinic (the unit of work of a calibration task) and its figures (with
    the plausibility figures `ranges` holds in their literature ranges, when given)."""
    stats = simulate_summary(sim, n_patients, ranges=ranges)
    return objective(targets, stats), {
        **compact(stats),
        "deviance": deviance(targets, stats),
        **distance.ranged_values(stats),
    }


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
    validation: list[dict[str, Any]] = field(default_factory=list)
    variants_on: tuple[str, ...] = ()  # structural variants of the model fitted (Mechanisms.variants)

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
            "variants_on": list(self.variants_on),
            "trials": self.trials,
            "validation": self.validation,
        }


def _mechanisms_off(sim: Sim) -> tuple[str, ...]:
    return sim.params.mechanisms.switched_off()


def _evaluate_all(
    sims: Sequence[Sim], n_patients: int, targets: Targets, client: Any | None, ranges: Sequence[str] = ()
) -> list[tuple[float, dict[str, Any]]]:
    """`evaluate` each simulation, in process or as Dask tasks (same results, in order)."""
    if client is None:
        return [evaluate(s, n_patients, targets, ranges) for s in sims]
    return list(
        client.gather(
            client.map(
                evaluate, sims, n_patients=n_patients, targets=targets, ranges=tuple(ranges), pure=False
            )
        )
    )


def _validate(
    records: Sequence[Mapping[str, Any]],
    base: Sim,
    free: Sequence[FreeParam],
    n_patients: int,
    targets: Targets,
    client: Any | None,
    top_n: int,
    seeds: Sequence[int],
    ranges: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The best `top_n` trials re-judged on fresh virtual patients: their objective under each seed."""
    top = sorted(records, key=lambda r: r["objective"])[:top_n]
    sims = [
        dataclasses.replace(apply(base, {f.name: r[f.name] for f in free}), seed=sd)
        for r in top
        for sd in seeds
    ]
    results = _evaluate_all(sims, n_patients, targets, client, ranges)
    out = []
    for i, r in enumerate(top):
        objs = [g for g, _ in results[i * len(seeds) : (i + 1) * len(seeds)]]
        out.append(
            {
                "trial": r["trial"],
                "fit_objective": r["objective"],
                "objectives": objs,
                "mean_objective": math.fsum(objs) / len(objs),
            }
        )
    return out


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
    validate_top: int = 0,
    validate_seeds: Sequence[int] = (),
    ranges: Sequence[str] = (),
) -> FitResult:
    """Minimise the deviance over `free` parameters with Optuna's TPE sampler (seeded, reproducible).

    The objective is the G statistic plus a penalty when the share of injuries that become CRPS leaves
    its plausible range (distance.PLAUSIBLE_CONVERSION). Trials are asked in batches of `batch` (run in
    parallel when a Dask `client` is given); the batch, not the number of workers, shapes the search, so
    a fit gives the same result on any cluster. The first trial is the base parameter set itself, so a
    fit never ends worse than where it started.

    Validation (`validate_top` > 0 with `validate_seeds`): every trial is judged on the same virtual
    patients, so the best of many trials is partly the one those patients happened to favour (winner's
    curse; docs/calibration.md). The best `validate_top` trials are then re-simulated with fresh virtual
    patients (each validation seed, `n_patients` each) and the one with the lowest mean objective there
    is the result.

    `ranges` (plausibility figures by key, `plausibility.objective_range`) adds their literature ranges
    to the objective (`distance.ranges_penalty`); none by default.
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
        results = _evaluate_all([apply(base, th) for th in thetas], n_patients, targets, client, ranges)
        for t, th, (g, summary) in zip(trials, thetas, results, strict=True):
            study.tell(t, g)
            records.append({"trial": t.number, **th, "objective": g, **summary})
            best = min(best, g)
        done += len(trials)
        if progress is not None:
            progress(done, n_trials, best)
    best_trial = min(records, key=lambda r: r["objective"])
    validation: list[dict[str, Any]] = []
    if validate_top > 0 and validate_seeds:
        validation = _validate(
            records, base, free, n_patients, targets, client, validate_top, validate_seeds, ranges
        )
        chosen = min(validation, key=lambda v: v["mean_objective"])["trial"]
        best_trial = next(r for r in records if r["trial"] == chosen)
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
        validation=validation,
        variants_on=base.params.mechanisms.variants_on(),
    )
