"""Global sensitivity of the calibration figures to every parameter with a documented range, and what that
says about which parameters van Rijn's figures can constrain (model output; docs/identifiability.md).

A fit of 6 of ~80 parameters says nothing about the ~74 it holds fixed. This module asks how much each
parameter, moved across its documented plausible range, moves the figures a calibration is judged on:
Morris elementary effects (screening all parameters), then Sobol indices for the few most influential
ones (how much of the figures' variance each explains alone and with interactions). Both come from SALib.
Every simulation uses the same virtual injuries (one seed: common random numbers), so an elementary
effect is a difference made by the parameter, not by other patients; a parameter that cannot act in the
run (an intervention strength with no intervention given) gets an effect of exactly 0.

Identifiability compares each effect with the sampling error of the observed figure at van Rijn's size
(185 patients, 89 multi-limb, 72 identifiable spreads): an effect smaller than that error cannot be seen
in the data, whatever the fit says.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crpsmap.calibrate.distance import PLAUSIBLE_CONVERSION, simulated_shares
from crpsmap.calibrate.fit import FreeParam, apply
from crpsmap.calibrate.targets import PATTERNS, Targets, summary_statistics, van_rijn_2011
from crpsmap.model import CohortParams, ModelParams, Sim, describe
from crpsmap.model.cohort import duration_distribution

#: the figures whose sensitivity is measured (name -> what it is); the first five are the fitted figures
FIGURES: dict[str, str] = {
    "multi_limb": "share of patients with more than one limb involved (van Rijn 2011: 89 of 185)",
    "identifiable": "share of multi-limb patients with an identifiable first-to-second-limb spread (72/89)",
    "contralateral": "share of identifiable second limbs on the other side, same girdle (49%)",
    "ipsilateral": "share of identifiable second limbs on the same side, other girdle (30%)",
    "diagonal": "share of identifiable second limbs on the other side, other girdle (14%)",
    "conversion": (
        "share of injuries that become CRPS (plausible range "
        f"{PLAUSIBLE_CONVERSION[0]:.0%}-{PLAUSIBLE_CONVERSION[1]:.0%}, not a van Rijn figure)"
    ),
    "four_limbs": "share of patients with all four limbs involved at last follow-up (not fitted)",
}
#: the figures the calibration fits (G statistic, docs/calibration.md): these have a sampling error at
#: van Rijn's size; conversion and the four-limb share have none
FITTED_FIGURES: tuple[str, ...] = ("multi_limb", "identifiable", *PATTERNS)

#: moving a parameter across its whole range shifts a fitted figure by at least this many sampling SDs
#: of that figure at van Rijn's size: the data can rule out part of the range ("constrained")
CONSTRAINED_RATIO = 2.0
#: ... by at least one SD, but less than CONSTRAINED_RATIO: "weakly constrained"; below: not constrained
WEAK_RATIO = 1.0
#: two influential parameters whose effects on the fitted figures point the same (or the opposite) way,
#: |cosine| at least this, trade off: a change of one can be undone by a change of the other
TRADEOFF_COSINE = 0.9
#: a clinic screens at most this many injuries per patient asked for (1 / the lowest plausible
#: conversion): settings where fewer injuries become CRPS give a smaller clinic, not an endless search
MAX_INJURIES_PER_PATIENT = int(round(1.0 / PLAUSIBLE_CONVERSION[0]))

Evaluator = Callable[[Sim], Mapping[str, float]]
ProgressFn = Callable[[str, int, int], None]  # stage, done, total


# ---------------------------------------------------------------------------------------------------------
# parameters and the mapping of a sample to simulations


def ranged_parameters(
    names: Sequence[str] | None = None, ranges: Mapping[str, tuple[float, float]] | None = None
) -> tuple[FreeParam, ...]:
    """The parameters to vary: by default every ModelParams and CohortParams field with a documented
    plausible range (`describe`), each over that range unless `ranges` narrows it. Raises ValueError for
    an unknown name, a name given twice or an empty range, before anything is simulated."""
    documented = [
        row["name"] for obj in (ModelParams(), CohortParams()) for row in describe(obj) if "low" in row
    ]
    chosen = list(documented if names is None else names)
    if not chosen:
        raise ValueError("no parameters to vary")
    twice = sorted({n for n in chosen if chosen.count(n) > 1})
    if twice:
        raise ValueError(f"parameter(s) named twice: {', '.join(twice)}")
    extra = set(ranges or {}) - set(chosen)
    if extra:
        raise ValueError(f"a range is given for parameter(s) not varied: {', '.join(sorted(extra))}")
    out = []
    for n in chosen:
        lo, hi = (ranges or {}).get(n, (None, None))
        if lo is not None and hi is not None and not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"{n}: the range must be finite numbers, got [{lo}, {hi}]")
        out.append(FreeParam.of(n, lo, hi))  # unknown name or empty range: ValueError
    return tuple(out)


def local_ranges(names: Sequence[str], base: Sim, rel: float) -> dict[str, tuple[float, float]]:
    """Ranges around `base`'s values: value x (1 -+ rel), clipped to the documented range. Where that is
    empty (a value of 0), rel x the documented width on either side. For asking how sharply the figures
    pin a parameter near the fitted defaults ("a 10% change of the observation threshold ...")."""
    if not 0 < rel < 1:
        raise ValueError(f"a local range needs 0 < rel < 1, got {rel}")
    out = {}
    for p in ranged_parameters(names):
        v = float(getattr(base.params if p.group == "model" else base.cohort, p.name))
        lo, hi = max(v - rel * abs(v), p.low), min(v + rel * abs(v), p.high)
        if not lo < hi:
            w = rel * (p.high - p.low)
            lo, hi = max(v - w, p.low), min(v + w, p.high)
        out[p.name] = (lo, hi)
    return out


#: the follow-up horizon's fields: while the horizon is fixed (every patient followed for the Sim's
#: `years`), the smallest step of its median away from 0 is a switch to follow-up of months, not a small
#: change, so a local box leaves them at their defaults (the horizon's own effect: docs/plausibility.md)
HORIZON_FIELDS = ("horizon_median_years", "horizon_q1_years", "horizon_q3_years", "horizon_max_years")


#: the cross-talk subgroup's fields: while no patient is in it (a share of 0) or the per-limb supraspinal
#: nodes it acts on are off, a step of the share away from 0 switches a mechanism on, not a small change
CROSSTALK_GROUP_FIELDS = ("p_crosstalk_group", "c_desc_group")


def switched_off(base: Sim) -> frozenset[str]:
    """Parameters that do not act at `base` and that a small step would switch on: the horizon's fields
    while the horizon is fixed (model.cohort.duration_distribution decides that), the cross-talk
    subgroup's while it is empty or has no per-limb nodes to act on."""
    off = set(HORIZON_FIELDS) if duration_distribution(base.cohort) is None else set()
    if base.cohort.p_crosstalk_group == 0.0 or not base.params.mechanisms.limb_representations:
        off.update(CROSSTALK_GROUP_FIELDS)
    return frozenset(off)


def local_box(names: Sequence[str], base: Sim, rel: float) -> tuple[FreeParam, ...]:
    """The parameters of a local box around `base` (`local_ranges`), less those `switched_off` there."""
    off = switched_off(base)
    kept = [n for n in names if n not in off]
    return ranged_parameters(kept, local_ranges(kept, base, rel))


def problem(params: Sequence[FreeParam]) -> dict[str, Any]:
    """SALib's problem definition: names and bounds in the order of `params`."""
    return {
        "num_vars": len(params),
        "names": [p.name for p in params],
        "bounds": [[p.low, p.high] for p in params],
    }


def sims_for(base: Sim, params: Sequence[FreeParam], X: np.ndarray) -> list[Sim]:
    """One simulation per row of a SALib sample: `base` (same seed: common random numbers) with the row's
    values put into the ModelParams and CohortParams fields named by `params`."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != len(params):
        raise ValueError(f"sample must be (n, {len(params)}), got {X.shape}")
    names = [p.name for p in params]
    return [apply(base, dict(zip(names, map(float, row), strict=True))) for row in X]


# ---------------------------------------------------------------------------------------------------------
# the figures of one virtual clinic


def figures_of(stats: Mapping[str, Any]) -> dict[str, float]:
    """FIGURES of a clinic's report statistics (plus `conversion` if present); NaN where undefined (no
    multi-limb patient, no identifiable spread)."""
    shares = simulated_shares(stats)
    n = int(stats["multi_limb"]["denominator"])
    four = int(stats.get("limb_count", {}).get("4", 0))
    conv = stats.get("conversion")
    out = {k: (math.nan if v is None else float(v)) for k, v in shares.items()}
    out["conversion"] = math.nan if conv is None else float(conv)
    out["four_limbs"] = four / n if n else math.nan
    return {k: out[k] for k in FIGURES}


def clinic_figures(
    sim: Sim, n_patients: int, max_injuries_per_patient: int = MAX_INJURIES_PER_PATIENT
) -> dict[str, float]:
    """FIGURES of the first `n_patients` cases of `sim` (as `calibrate.fit.simulate_summary`), plus
    `patients` and `injuries`. Unlike `Sim.clinic`, screening stops after `max_injuries_per_patient` x
    `n_patients` injuries: a setting where almost no injury becomes CRPS gives a smaller clinic (and its
    low conversion) instead of a search through millions of injuries."""
    if n_patients < 1 or max_injuries_per_patient < 1:
        raise ValueError("n_patients and max_injuries_per_patient must be at least 1")
    limit = n_patients * max_injuries_per_patient
    found: list[np.ndarray] = []
    count = screened = 0
    while count < n_patients and screened < limit:
        # blocks sized by the conversion seen so far (a case does not depend on its block, so the result
        # is the same as Sim.clinic's; only fewer injuries are screened beyond the last case)
        need = n_patients - count
        rate = max(count / screened, 1.0 / max_injuries_per_patient) if screened else 1.0
        block = min(max(int(math.ceil(1.2 * need / rate)) + 32, 64), 8192)
        stop = min(screened + block, limit)
        idx = np.arange(screened, stop, dtype=np.int64)
        hit = idx[sim.screen(idx)]
        if hit.size >= need:
            hit = hit[:need]
            screened = int(hit[-1]) + 1
        else:
            screened = stop
        found.append(hit)
        count += int(hit.size)
    cases = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
    histories = []
    for i in range(0, cases.size, 512):
        histories += sim.follow(cases[i : i + 512])
    conversion = count / screened if screened else math.nan
    if histories:
        out = figures_of({**summary_statistics(histories), "conversion": conversion})
    else:
        out = {k: math.nan for k in FIGURES}
        out["conversion"] = conversion
    return {**out, "patients": float(len(histories)), "injuries": float(screened)}


def default_evaluator(n_patients: int, max_injuries_per_patient: int = MAX_INJURIES_PER_PATIENT) -> Evaluator:
    """The figures of a clinic of `n_patients` (picklable, so Dask workers can run it)."""
    return functools.partial(
        clinic_figures, n_patients=n_patients, max_injuries_per_patient=max_injuries_per_patient
    )


def _run(
    sims: Sequence[Sim],
    evaluate: Evaluator,
    client: Any | None,
    progress: ProgressFn | None,
    stage: str,
) -> list[dict[str, float]]:
    """`evaluate` every simulation, in process or as Dask tasks; results in the order of `sims`."""
    total = len(sims)
    if client is None:
        out = []
        for i, s in enumerate(sims):
            out.append(dict(evaluate(s)))
            if progress is not None:
                progress(stage, i + 1, total)
        return out
    from distributed import as_completed

    futures = client.map(evaluate, list(sims), pure=False)
    for i, _ in enumerate(as_completed(futures)):
        if progress is not None:
            progress(stage, i + 1, total)
    return [dict(r) for r in client.gather(futures)]


def _matrix(outputs: Sequence[Mapping[str, float]], figure: str) -> np.ndarray:
    return np.array([float(o.get(figure, math.nan)) for o in outputs], dtype=float)


def _num(x: float) -> float | None:
    """JSON-safe number: NaN and infinities become null."""
    x = float(x)
    return x if math.isfinite(x) else None


# ---------------------------------------------------------------------------------------------------------
# Morris elementary effects


def morris_delta(levels: int) -> float:
    """The step of Morris's design on the unit scale, levels / (2 (levels - 1)) (Morris 1991)."""
    return levels / (2.0 * (levels - 1))


@dataclass(frozen=True)
class MorrisResult:
    """Morris indices per figure and parameter: mu (mean elementary effect, signed), mu* (mean absolute
    effect; its bootstrap 95% interval) and sigma (spread of the effects: non-linearity or interaction).
    An effect is the change of the figure (a share, 0-1) per unit of the parameter's range, so mu* is
    about the change across the whole range. A step whose clinic has the figure undefined at either end
    (e.g. no identifiable spread when every patient spreads at once) gives no effect for that figure;
    `effects[figure][parameter]` counts the effects used (at most `trajectories`). `indices[figure]` is
    None when no effect at all could be computed for it."""

    parameters: tuple[FreeParam, ...]
    trajectories: int
    levels: int
    seed: int
    X: np.ndarray
    outputs: list[dict[str, float]]
    indices: dict[str, dict[str, dict[str, float]] | None]
    effects: dict[str, dict[str, int]]

    def mu_star(self, figure: str, name: str) -> float:
        ix = self.indices.get(figure)
        return math.nan if ix is None else ix[name]["mu_star"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "Morris elementary effects: SALib.sample.morris design; effects per step, mu, mu*, "
            "sigma and a bootstrap interval of mu* as in SALib.analyze.morris",
            "trajectories": self.trajectories,
            "levels": self.levels,
            "step": morris_delta(self.levels),
            "seed": self.seed,
            "runs": len(self.outputs),
            "indices": {
                f: None
                if ix is None
                else {
                    n: {
                        "mu": _num(v["mu"]),
                        "mu_star": _num(v["mu_star"]),
                        "mu_star_ci": [_num(v["mu_star_low"]), _num(v["mu_star_high"])],
                        "sigma": _num(v["sigma"]),
                        "effects": self.effects[f][n],
                    }
                    for n, v in ix.items()
                }
                for f, ix in self.indices.items()
            },
            "outputs": {f: [_num(x) for x in _matrix(self.outputs, f)] for f in (*FIGURES, "patients")},
        }


def elementary_effects(
    params: Sequence[FreeParam], X: np.ndarray, y: np.ndarray, trajectories: int
) -> list[np.ndarray]:
    """Per parameter, its elementary effects in a Morris design: (y after - y before) / (the step as a
    share of the parameter's range), for every step of every trajectory where y is defined at both ends."""
    k = len(params)
    size = k + 1
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.shape != (trajectories * size, k) or y.shape != (trajectories * size,):
        raise ValueError(f"expected {trajectories * size} runs of {k} parameters, got {X.shape}, {y.shape}")
    span = np.array([p.high - p.low for p in params], dtype=float)
    out: list[list[float]] = [[] for _ in range(k)]
    for t in range(trajectories):
        xs, ys = X[t * size : (t + 1) * size], y[t * size : (t + 1) * size]
        for j in range(k):
            step = (xs[j + 1] - xs[j]) / span
            (moved,) = np.flatnonzero(step)  # one parameter per step, or this is not a Morris design
            if math.isfinite(ys[j]) and math.isfinite(ys[j + 1]):
                out[moved].append(float((ys[j + 1] - ys[j]) / step[moved]))
    return [np.array(e, dtype=float) for e in out]


def morris_analysis(
    params: Sequence[FreeParam],
    X: np.ndarray,
    outputs: Sequence[Mapping[str, float]],
    *,
    trajectories: int,
    seed: int = 0,
    conf_level: float = 0.95,
    resamples: int = 1000,
) -> tuple[dict[str, dict[str, dict[str, float]] | None], dict[str, dict[str, int]]]:
    """Morris indices of each figure: mu, mu* and sigma (ddof 1) of the elementary effects, and mu*'s
    bootstrap interval (normal approximation, as SALib.analyze.morris). They equal SALib's indices when
    every figure is defined in every run (tested); unlike SALib, a step where a figure is undefined is
    left out instead of making the whole analysis undefined."""
    from scipy.stats import norm

    rng = np.random.default_rng(seed)
    z = float(norm.ppf(0.5 + conf_level / 2))
    indices: dict[str, dict[str, dict[str, float]] | None] = {}
    counts: dict[str, dict[str, int]] = {}
    for f in FIGURES:
        ees = elementary_effects(params, X, _matrix(outputs, f), trajectories)
        counts[f] = {p.name: int(e.size) for p, e in zip(params, ees, strict=True)}
        if not any(e.size for e in ees):
            indices[f] = None
            continue
        ix = {}
        for p, e in zip(params, ees, strict=True):
            if e.size == 0:
                ix[p.name] = dict.fromkeys(
                    ("mu", "mu_star", "mu_star_low", "mu_star_high", "sigma"), math.nan
                )
                continue
            ms = float(np.mean(np.abs(e)))
            boot = np.abs(e[rng.integers(e.size, size=(resamples, e.size))]).mean(axis=1)
            half = z * float(boot.std(ddof=1)) if e.size > 1 and resamples > 1 else math.nan
            ix[p.name] = {
                "mu": float(np.mean(e)),
                "mu_star": ms,
                "mu_star_low": max(ms - half, 0.0) if math.isfinite(half) else math.nan,
                "mu_star_high": ms + half if math.isfinite(half) else math.nan,
                "sigma": float(np.std(e, ddof=1)) if e.size > 1 else math.nan,
            }
        indices[f] = ix
    return indices, counts


def morris(
    params: Sequence[FreeParam],
    *,
    base: Sim,
    evaluate: Evaluator,
    trajectories: int = 10,
    levels: int = 4,
    seed: int = 0,
    resamples: int = 1000,
    client: Any | None = None,
    progress: ProgressFn | None = None,
) -> MorrisResult:
    """Morris screening of `params`: trajectories x (k + 1) simulations, all with `base`'s seed."""
    from SALib.sample import morris as morris_sample

    if trajectories < 2:
        raise ValueError("Morris needs at least 2 trajectories")
    if levels < 2 or levels % 2:
        raise ValueError("Morris levels must be an even number, 2 or more")
    X = morris_sample.sample(problem(params), trajectories, num_levels=levels, seed=seed)
    outputs = _run(sims_for(base, params, X), evaluate, client, progress, "Morris")
    indices, counts = morris_analysis(
        params, X, outputs, trajectories=trajectories, seed=seed, resamples=resamples
    )
    return MorrisResult(tuple(params), trajectories, levels, seed, X, outputs, indices, counts)


# ---------------------------------------------------------------------------------------------------------
# Sobol indices


@dataclass(frozen=True)
class SobolResult:
    """First-order (S1) and total (ST) Sobol indices of each figure for a few parameters, the others held
    at their base values, with bootstrap 95% intervals. ST - S1 is the share through interactions."""

    parameters: tuple[FreeParam, ...]
    n_base: int
    seed: int
    X: np.ndarray
    outputs: list[dict[str, float]]
    indices: dict[str, dict[str, dict[str, float]] | None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "Sobol indices, Saltelli sampling (SALib.sample.sobol / SALib.analyze.sobol), "
            "first order and total, no second order",
            "parameters": [dataclasses.asdict(p) for p in self.parameters],
            "n_base": self.n_base,
            "runs": len(self.outputs),
            "seed": self.seed,
            "indices": {
                f: None
                if ix is None
                else {
                    n: {
                        "S1": _num(v["S1"]),
                        "S1_ci": [_num(v["S1"] - v["S1_conf"]), _num(v["S1"] + v["S1_conf"])],
                        "ST": _num(v["ST"]),
                        "ST_ci": [_num(v["ST"] - v["ST_conf"]), _num(v["ST"] + v["ST_conf"])],
                    }
                    for n, v in ix.items()
                }
                for f, ix in self.indices.items()
            },
        }


def sobol(
    params: Sequence[FreeParam],
    *,
    base: Sim,
    evaluate: Evaluator,
    n_base: int = 32,
    seed: int = 0,
    resamples: int = 1000,
    client: Any | None = None,
    progress: ProgressFn | None = None,
) -> SobolResult:
    """Sobol indices of `params` (n_base x (k + 2) simulations, n_base a power of 2), all with `base`'s
    seed. A figure undefined in any run gets no indices (the estimator needs every run)."""
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    if n_base < 2 or n_base & (n_base - 1):
        raise ValueError("Sobol n_base must be a power of 2, at least 2")
    if not params:
        raise ValueError("no parameters for Sobol indices")
    prob = problem(params)
    X = sobol_sample.sample(prob, n_base, calc_second_order=False, seed=seed)
    outputs = _run(sims_for(base, params, X), evaluate, client, progress, "Sobol")
    indices: dict[str, dict[str, dict[str, float]] | None] = {}
    for f in FIGURES:
        y = _matrix(outputs, f)
        if not np.isfinite(y).all() or np.var(y) == 0.0:  # undefined somewhere, or no variance to share
            indices[f] = None
            continue
        with warnings.catch_warnings():  # a bootstrap resample of a few runs can have no variance
            warnings.simplefilter("ignore", RuntimeWarning)
            si = sobol_analyze.analyze(
                prob, y, calc_second_order=False, num_resamples=resamples, conf_level=0.95, seed=seed
            )
        indices[f] = {
            p.name: {k: float(si[k][i]) for k in ("S1", "S1_conf", "ST", "ST_conf")}
            for i, p in enumerate(params)
        }
    return SobolResult(tuple(params), n_base, seed, X, outputs, indices)


# ---------------------------------------------------------------------------------------------------------
# identifiability


def sampling_sd(targets: Targets) -> dict[str, float]:
    """Binomial standard error of each fitted figure at the observed cohort's own size and share (van
    Rijn: 185 patients for the multi-limb share, 89 for the identifiable share, 72 for the patterns):
    a parameter whose effect is smaller than this cannot be seen in the data."""
    n_pat = targets.pattern_denominator or targets.n_patterns

    def se(k: int, n: int) -> float:
        return math.sqrt((k / n) * (1 - k / n) / n) if n else math.nan

    out = {"multi_limb": se(targets.multi_limb, targets.patients)}
    out["identifiable"] = (
        se(targets.identifiable, targets.multi_limb) if targets.identifiable is not None else math.nan
    )
    for p, k in zip(PATTERNS, targets.patterns, strict=True):
        out[p] = se(k, n_pat)
    return out


def noise_floor(simulation_sd: float, levels: int) -> float:
    """mu* of a 'parameter' that only swaps the virtual patients (a new seed at each step): each
    elementary effect is then the difference of two independent clinics, N(0, 2 sd^2) / step, whose mean
    absolute value is sqrt(2) sd / step x sqrt(2 / pi). Effects below it are not told apart from the
    simulation's own noise at the run's size."""
    return math.sqrt(2.0) * simulation_sd / morris_delta(levels) * math.sqrt(2.0 / math.pi)


@dataclass(frozen=True)
class Verdict:
    """What van Rijn's figures say about one parameter."""

    name: str
    group: str
    low: float
    high: float
    ratios: dict[str, float]  # fitted figure -> mu* / sampling SD at van Rijn's size
    max_ratio: float
    above_noise: dict[str, bool]  # fitted figure -> mu* above the run's noise floor
    verdict: str  # "constrained", "weakly constrained", "not constrained", "no effect"
    by: tuple[str, ...]  # the fitted figures that constrain it (ratio >= WEAK_RATIO, above noise)
    interaction: float  # sigma / mu* of the figure with the largest ratio (> 1: non-linear/interacting)


@dataclass(frozen=True)
class Identifiability:
    """Per parameter a verdict; how many parameter combinations the fitted figures can resolve (singular
    values of the effects scaled by the sampling SD); which influential parameters trade off."""

    sd: dict[str, float]
    simulation_sd: dict[str, float]
    noise: dict[str, float]
    verdicts: tuple[Verdict, ...]
    singular_values: tuple[float, ...]
    tradeoffs: tuple[tuple[str, str, float], ...]

    @property
    def resolvable(self) -> int:
        """Parameter combinations whose effect reaches CONSTRAINED_RATIO sampling SDs."""
        return sum(1 for s in self.singular_values if s >= CONSTRAINED_RATIO)

    def names(self, verdict: str) -> list[str]:
        return [v.name for v in self.verdicts if v.verdict == verdict]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": (
                f"mu*/SD >= {CONSTRAINED_RATIO}: constrained; >= {WEAK_RATIO}: weakly constrained; "
                "an effect must also exceed the run's noise floor; 'no effect': mu* = 0 for every figure; "
                f"|cosine| >= {TRADEOFF_COSINE} of the SD-scaled mean effects: the two trade off"
            ),
            "sampling_sd_van_rijn": {k: _num(v) for k, v in self.sd.items()},
            "simulation_sd": {k: _num(v) for k, v in self.simulation_sd.items()},
            "noise_floor_mu_star": {k: _num(v) for k, v in self.noise.items()},
            "parameters": [
                {
                    "name": v.name,
                    "group": v.group,
                    "range": [v.low, v.high],
                    "verdict": v.verdict,
                    "by": list(v.by),
                    "max_ratio": _num(v.max_ratio),
                    "ratios": {k: _num(x) for k, x in v.ratios.items()},
                    "above_noise": v.above_noise,
                    "sigma_over_mu_star": _num(v.interaction),
                }
                for v in self.verdicts
            ],
            "singular_values": [_num(s) for s in self.singular_values],
            "resolvable_combinations": self.resolvable,
            "tradeoffs": [{"a": a, "b": b, "cosine": _num(c)} for a, b, c in self.tradeoffs],
        }


def signed_effects(
    indices: Mapping[str, Mapping[str, Mapping[str, Any]] | None],
    sd: Mapping[str, float],
    names: Sequence[str],
) -> np.ndarray:
    """Effects (signed mean mu, per whole range) of `names` on the fitted figures, in sampling SDs: one row
    per fitted figure with indices and an SD. A figure with no effect computed for a parameter (mu NaN or,
    read back from JSON, None) counts as unmoved by it. Read by `identifiability` and by the bundled run's
    summary (scripts/sensitivity_defaults.py)."""
    figs = [f for f in FITTED_FIGURES if indices.get(f) is not None and sd.get(f)]

    def mu(f: str, n: str) -> float:
        m = indices[f][n]["mu"]  # type: ignore[index]
        return math.nan if m is None else float(m)

    return np.nan_to_num(np.array([[mu(f, n) / sd[f] for n in names] for f in figs], dtype=float))


def identifiability(
    result: MorrisResult, sd: Mapping[str, float], simulation_sd: Mapping[str, float]
) -> Identifiability:
    """Verdicts from Morris indices, the sampling SD of each fitted figure at the observed size (`sd`)
    and the simulation's own SD of each figure at the run's size (`simulation_sd`, for the noise floor)."""
    noise = {f: noise_floor(float(simulation_sd.get(f, math.nan)), result.levels) for f in FIGURES}
    verdicts = []
    for p in result.parameters:
        ratios, above = {}, {}
        for f in FITTED_FIGURES:
            ms = result.mu_star(f, p.name)
            ratios[f] = ms / sd[f] if sd.get(f) and math.isfinite(ms) else math.nan
            above[f] = bool(math.isfinite(ms) and not ms <= noise[f])  # NaN floor: cannot judge noise
        finite = {f: r for f, r in ratios.items() if math.isfinite(r)}
        max_ratio = max(finite.values()) if finite else math.nan
        by = tuple(f for f, r in finite.items() if r >= WEAK_RATIO and above[f])
        every = [m for m in (result.mu_star(f, p.name) for f in FIGURES) if math.isfinite(m)]
        if every and all(m == 0.0 for m in every):
            verdict = "no effect"
        elif any(finite[f] >= CONSTRAINED_RATIO for f in by):
            verdict = "constrained"
        elif by:
            verdict = "weakly constrained"
        else:
            verdict = "not constrained"
        top = max(finite, key=lambda f: finite[f]) if finite else None
        ix = result.indices.get(top) if top else None
        inter = ix[p.name]["sigma"] / ix[p.name]["mu_star"] if ix and ix[p.name]["mu_star"] > 0 else math.nan
        verdicts.append(Verdict(p.name, p.group, p.low, p.high, ratios, max_ratio, above, verdict, by, inter))
    influential = [v.name for v in verdicts if v.verdict in ("constrained", "weakly constrained")]
    singular: tuple[float, ...] = ()
    pairs: list[tuple[str, str, float]] = []
    A = signed_effects(result.indices, sd, influential)
    if influential and A.size:
        singular = tuple(float(s) for s in np.linalg.svd(A, compute_uv=False))
        norms = np.linalg.norm(A, axis=0)
        for i in range(len(influential)):
            for j in range(i + 1, len(influential)):
                if norms[i] > 0 and norms[j] > 0:
                    c = float(A[:, i] @ A[:, j] / (norms[i] * norms[j]))
                    if abs(c) >= TRADEOFF_COSINE:
                        pairs.append((influential[i], influential[j], c))
    pairs.sort(key=lambda t: -abs(t[2]))
    return Identifiability(dict(sd), dict(simulation_sd), noise, tuple(verdicts), singular, tuple(pairs))


def design_summary(outputs: Sequence[Mapping[str, float]], targets: Targets) -> dict[str, Any]:
    """How much of the sampled box looks like van Rijn's clinic: the share of runs whose conversion lies
    in its plausible range, whose figures lie inside each observed 95% interval, and inside all four."""
    intervals = {f: ci for f, ci in targets.intervals().items() if f != "identifiable" and ci is not None}
    lo, hi = PLAUSIBLE_CONVERSION
    n = len(outputs)

    def inside(o: Mapping[str, float], f: str) -> bool:
        v = float(o.get(f, math.nan))
        return math.isfinite(v) and intervals[f][0] <= v <= intervals[f][1]

    conv = [float(o.get("conversion", math.nan)) for o in outputs]
    return {
        "runs": n,
        "conversion_plausible": sum(1 for c in conv if lo <= c <= hi) / n if n else math.nan,
        "multi_limb_above_90_percent": sum(1 for o in outputs if float(o.get("multi_limb", 0)) > 0.9) / n
        if n
        else math.nan,
        "inside": {f: sum(inside(o, f) for o in outputs) / n if n else math.nan for f in intervals},
        "inside_all": sum(all(inside(o, f) for f in intervals) for o in outputs) / n if n else math.nan,
    }


# ---------------------------------------------------------------------------------------------------------
# the whole analysis


@dataclass(frozen=True)
class SensitivityResult:
    """Morris screening of all ranged parameters, Sobol indices of the most influential ones, the base
    clinic and its seed-to-seed noise, and the identifiability verdicts. Model output."""

    settings: dict[str, Any]
    base: dict[str, float]
    noise_runs: list[dict[str, float]]
    simulation_sd: dict[str, float]
    morris: MorrisResult
    sobol: SobolResult | None
    identifiability: Identifiability
    targets: Targets = field(default_factory=van_rijn_2011)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_output": True,
            "what": "global sensitivity of the calibration figures to every parameter with a documented "
            "range, and what van Rijn 2011's figures can constrain (model output, not a measurement)",
            "settings": self.settings,
            "figures": FIGURES,
            "targets": self.targets.to_dict(),
            "base_clinic": {k: _num(v) for k, v in self.base.items()},
            "noise_runs": [{k: _num(v) for k, v in r.items()} for r in self.noise_runs],
            "simulation_sd": {k: _num(v) for k, v in self.simulation_sd.items()},
            "morris": self.morris.to_dict(),
            "morris_design": design_summary(self.morris.outputs, self.targets),
            "sobol": None if self.sobol is None else self.sobol.to_dict(),
            "identifiability": self.identifiability.to_dict(),
        }


def sensitivity(
    params: Sequence[FreeParam] | None = None,
    *,
    base: Sim | None = None,
    n_patients: int = 200,
    trajectories: int = 10,
    levels: int = 4,
    sobol_top: int = 0,
    sobol_n: int = 32,
    noise_seeds: int = 6,
    seed: int = 0,
    box: str = "documented plausible ranges",
    targets: Targets | None = None,
    evaluate: Evaluator | None = None,
    client: Any | None = None,
    progress: ProgressFn | None = None,
) -> SensitivityResult:
    """Run the analysis: the base clinic under `noise_seeds` seeds (its simulation noise), Morris over
    `params` (default: every parameter with a documented range), then Sobol over the `sobol_top`
    parameters with the largest effect on a fitted figure relative to its sampling SD. Every Morris and
    Sobol run uses `base.seed` (common random numbers); `seed` drives SALib's sampling."""
    base = base or Sim(seed=0)
    params = tuple(params) if params is not None else ranged_parameters()
    targets = targets or van_rijn_2011()
    if noise_seeds < 2:
        raise ValueError("noise_seeds must be at least 2 (the simulation's SD needs two clinics)")
    if not 0 <= sobol_top <= len(params):
        raise ValueError(f"sobol_top must be 0..{len(params)}")
    evaluate = evaluate or default_evaluator(n_patients)
    seeded = [dataclasses.replace(base, seed=base.seed + i) for i in range(noise_seeds)]
    noise_runs = _run(seeded, evaluate, client, progress, "noise")
    sim_sd = {
        f: float(np.std(v[np.isfinite(v)], ddof=1)) if np.isfinite(v).sum() >= 2 else math.nan
        for f in FIGURES
        for v in [_matrix(noise_runs, f)]
    }
    mr = morris(
        params,
        base=base,
        evaluate=evaluate,
        trajectories=trajectories,
        levels=levels,
        seed=seed,
        client=client,
        progress=progress,
    )
    ident = identifiability(mr, sampling_sd(targets), sim_sd)
    sr = None
    if sobol_top:
        ranked = sorted((v for v in ident.verdicts if math.isfinite(v.max_ratio)), key=lambda v: -v.max_ratio)
        chosen = {v.name for v in ranked[:sobol_top]}
        top = [p for p in params if p.name in chosen]
        sr = sobol(
            top, base=base, evaluate=evaluate, n_base=sobol_n, seed=seed, client=client, progress=progress
        )
    settings = {
        "box": box,
        "n_patients": n_patients,
        "years": base.years,
        "seed": base.seed,
        "sample_seed": seed,
        "trajectories": trajectories,
        "levels": levels,
        "noise_seeds": noise_seeds,
        "sobol_top": sobol_top,
        "sobol_n": sobol_n,
        "max_injuries_per_patient": MAX_INJURIES_PER_PATIENT,
        "mechanisms": dataclasses.asdict(base.params.mechanisms),
        "interventions": [dataclasses.asdict(iv) for iv in base.interventions],
        "parameters": [
            {
                **dataclasses.asdict(p),
                "base": float(getattr(base.params if p.group == "model" else base.cohort, p.name)),
            }
            for p in params
        ],
        "simulations": len(noise_runs) + len(mr.outputs) + (len(sr.outputs) if sr else 0),
    }
    return SensitivityResult(settings, noise_runs[0], noise_runs, sim_sd, mr, sr, ident, targets)
