"""Which explanation of spread do the data favour, and can they tell at all? A fair mechanism comparison.

Each candidate switches model mechanisms off (spinal coupling only; with supraspinal coupling; with
systemic, blood-borne spread; all) and fits the same shared parameters (spinal coupling, susceptibility,
traumas) plus the parameters of the mechanisms it keeps. Every candidate gets the same `Budget`: `starts`
Optuna TPE runs (sampler seeds differ), each opening with its own slice of one shared space-filling design
(a Latin hypercube over all candidates' parameters, so a parameter two candidates share starts at the same
values for both), all judged on the same virtual injuries (common random numbers). No candidate starts
from the kept fit of the defaults. The search minimises the criterion itself (G + the implausible-
conversion penalty), not the interval penalty of `fit`, which is no part of a likelihood.

Criterion: AIC = G + 2 k, G re-estimated on `heldout_seeds` replicated held-out clinics (new virtual
patients, the same seeds for every candidate, so comparisons are paired), reported as mean, SD and the
share of clinics where each candidate is best, with the conversion constraint (at the trial with the
lowest G + penalty, penalty included) and without it (at the trial with the lowest G, plain G). Whether
the best candidate is told apart from the next is one rule, `separated`. Akaike weights from the mean
AIC are kept for old readers of the JSON; they ignore the spread. See docs/calibration.md.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crpsmap.calibrate.baseline import fit_markov, pooled_trauma, trauma_deviance
from crpsmap.calibrate.distance import FAILED_BELOW_CONVERSION, conversion_penalty, deviance
from crpsmap.calibrate.fit import FreeParam, apply, compact, free_params, model_structure, summary_above_floor
from crpsmap.calibrate.fit import compact_statistics as as_statistics
from crpsmap.calibrate.store import ClinicStore, map_kept
from crpsmap.calibrate.targets import PATTERNS, Targets
from crpsmap.model import Mechanisms, Sim
from crpsmap.model.sim import NoCasesError

SPINAL = ("rostrocaudal", "commissural", "csf", "priming", "noise")
#: fitted by every candidate: every candidate has the spinal fire, injured patients and new traumas
SHARED_FREE = ("w_rc", "w_lr", "gain_mu", "trauma_rate")
#: fitted by the candidates with hemisphere nodes: descending facilitation and its lateralisation
SUPRASPINAL_FREE = ("w_desc", "lat")
#: fitted by the candidates with blood-borne spread: blood-brain-barrier influx
SYSTEMIC_FREE = ("beta_bbb",)

#: parameters set by the short random search against van Rijn 2011 before calibration (docs/model.md §8,
#: "tuned"), by the mechanism they belong to. A fair count of the parameters adjusted to these data adds
#: those of a candidate's mechanisms to its fitted ones.
TUNED_EARLIER: Mapping[str, tuple[str, ...]] = {
    "spinal": ("K", "g_thoracic", "n_eff", "w_rc", "w_lr", "w_gap", "gain_mu", "gain_sd", "trauma_rate"),
    "supraspinal": ("w_desc", "lat", "K_R", "k_R", "gamma_R", "a_asc"),
    "systemic": ("beta_bbb", "kappa"),
    "infection": ("acute_infection_rate", "acute_infection_level"),
}

#: the parameter boxes of the comparison: the documented plausible ranges (model/params.py), the same for
#: every candidate, except the susceptibility: below -1.2 only a few percent of injuries become CRPS (fewer
#: still with mechanisms off), each clinic screens tens of thousands of injuries, and the cost of a trial
#: grows tenfold; above -0.2 conversion leaves its plausible range for every candidate (calibrate/fit.py
#: SEARCH_RANGES gives the same reason for its lower bound)
COMPARISON_RANGES = {"gain_mu": (-1.2, -0.2)}
#: the held-out clinics' seeds start here (far from the search seed); the same seeds for every candidate
HELDOUT_OFFSET = 1_000_003
#: what a comparison keeps of a clinic, as a store names it (calibrate/store.py): `summarise`'s output
SUMMARY_KIND = "mechanisms.summarise"
#: the interval shown for a criterion: mean +- SPREAD_Z x SD over the held-out clinics
SPREAD_Z = 2.0
#: AIC differences below this leave two explanations about equally supported (Burnham & Anderson 2002,
#: Model selection and multimodel inference, 2nd ed., Springer, §2.6)
AIC_CLOSE = 2.0
#: the sentence for a comparison whose best and next explanation are not separated (`separated`)
CANNOT_TELL_APART = "The data cannot tell these explanations apart."
#: how the sentence for a separated comparison begins (the favoured explanation's label follows)
DATA_FAVOUR = "Within the model, the data favour"
CRITERIA = ("with_conversion", "without_conversion")


@dataclass(frozen=True)
class Candidate:
    """A mechanism set: what is switched on, and which parameters it fits."""

    name: str
    label: str
    mechanisms: Mechanisms
    free: tuple[str, ...]

    def tuned(self) -> tuple[str, ...]:
        """Its fitted parameters plus those tuned earlier to the same data in its mechanisms."""
        on = {
            "spinal": True,
            **{g: bool(getattr(self.mechanisms, g)) for g in TUNED_EARLIER if g != "spinal"},
        }
        names = list(self.free)
        for group, params in TUNED_EARLIER.items():
            if on[group]:
                names += [p for p in params if p not in names]
        return tuple(names)


CANDIDATES: tuple[Candidate, ...] = (
    Candidate(
        "spinal",
        "spinal coupling only (segments and left-right, through glia and CSF)",
        Mechanisms.only(*SPINAL),
        SHARED_FREE,
    ),
    Candidate(
        "spinal+supraspinal",
        "spinal + supraspinal (brain) coupling",
        Mechanisms.only(*SPINAL, "supraspinal"),
        SHARED_FREE + SUPRASPINAL_FREE,
    ),
    Candidate(
        "spinal+systemic",
        "spinal + systemic (blood-borne cytokines, infection, vagal reflex)",
        Mechanisms.only(*SPINAL, "systemic", "infection", "vagal", "organs"),
        SHARED_FREE + SYSTEMIC_FREE,
    ),
    Candidate(
        "all",
        "spinal + supraspinal + systemic (the full hypothesis)",
        Mechanisms(),
        SHARED_FREE + SUPRASPINAL_FREE + SYSTEMIC_FREE,
    ),
)


#: a search asks at most this many times its `trials`, failed trials included (Budget.ask_limit)
ASK_LIMIT_FACTOR = 3


@dataclass(frozen=True)
class Budget:
    """What every candidate gets, the same for all: `starts` searches of `trials` scored clinics of
    `patients` (the first `startup` asked from the shared design), then `heldout_seeds` held-out clinics of
    `heldout_patients` at each chosen parameter set. A failed trial (conversion under the floor) does not
    count: a search asks again, up to `ask_limit` trials, so that a candidate whose box has a larger dead
    corner is not left with fewer scored clinics. The defaults are the sizes of the bundled comparison
    (docs/calibration.md): what 2 shared cores allowed, not what a verdict would need."""

    starts: int = 3
    trials: int = 6
    startup: int = 3
    patients: int = 200
    heldout_seeds: int = 20
    heldout_patients: int = 185
    batch: int = 4

    def __post_init__(self) -> None:
        for name in ("starts", "trials", "startup", "patients", "heldout_seeds", "heldout_patients", "batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"budget: {name} must be at least 1")
        if self.startup > self.trials:
            raise ValueError("budget: startup trials cannot exceed the trials of a start")

    @classmethod
    def of(cls, n_trials: int, n_patients: int, heldout_seeds: int = 20) -> Budget:
        """`n_trials` simulations per candidate, split over up to 3 starts (the command line's sizes)."""
        starts = max(1, min(3, n_trials))
        trials = max(1, n_trials // starts)
        return cls(
            starts=starts,
            trials=trials,
            startup=max(1, min(6, trials // 2)),
            patients=n_patients,
            heldout_seeds=heldout_seeds,
            heldout_patients=n_patients,
        )

    @property
    def search_simulations(self) -> int:
        """Scored search clinics per candidate."""
        return self.starts * self.trials

    @property
    def ask_limit(self) -> int:
        """Trials a search may ask, failed ones included (a bound on the cost of a mostly dead box)."""
        return ASK_LIMIT_FACTOR * self.trials

    def to_dict(self) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self),
            "search_simulations_per_candidate": self.search_simulations,
            "search_patients_per_candidate": self.search_simulations * self.patients,
            "ask_limit_per_start": self.ask_limit,
        }


@dataclass(frozen=True)
class Spread:
    """A criterion over replicated held-out clinics: its values, mean and SD (n - 1)."""

    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        return math.fsum(self.values) / len(self.values)

    @property
    def sd(self) -> float:
        n = len(self.values)
        if n < 2:
            return 0.0
        m = self.mean
        return math.sqrt(math.fsum((v - m) ** 2 for v in self.values) / (n - 1))

    def interval(self) -> tuple[float, float]:
        return interval(self.mean, self.sd)

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.interval()
        return {"values": list(self.values), "mean": self.mean, "sd": self.sd, "low": lo, "high": hi}


def mean_sd(mean: float, sd: float) -> str:
    """How a criterion's spread is written, on the report's page and in docs (one decimal: the held-out
    clinics vary by whole points)."""
    return f"{mean:.1f} ± {sd:.1f}"


def interval(mean: float, sd: float) -> tuple[float, float]:
    """The interval shown for a criterion: mean +- SPREAD_Z SD (about 95% of held-out clinics)."""
    return mean - SPREAD_Z * sd, mean + SPREAD_Z * sd


def separated(best: tuple[float, float], other: tuple[float, float]) -> bool:
    """Are two explanations told apart? `best` and `other` are (mean, SD) of the criterion (lower is
    better). Yes only when the best one's interval lies wholly below the other's and the means differ by
    at least AIC_CLOSE; otherwise the data cannot tell them apart (CANNOT_TELL_APART)."""
    b_lo, b_hi = interval(*best)
    o_lo, _ = interval(*other)
    return b_hi < o_lo and other[0] - best[0] >= AIC_CLOSE


def candidate_sim(base: Sim, cand: Candidate, theta: Mapping[str, float] | None = None) -> Sim:
    """`base` with the candidate's mechanisms (and parameter values `theta`, if given)."""
    sim = dataclasses.replace(base, params=base.params.replace(mechanisms=cand.mechanisms))
    return apply(sim, theta) if theta is not None else sim


def summarise(sim: Sim, n_patients: int) -> dict[str, Any]:
    """What a comparison keeps of one virtual clinic (the unit of work of a task): the counts of the fitted
    figures, the conversion, and per pattern the second limbs preceded by a trauma (the held-out figure).
    Settings under which (almost) no injury becomes CRPS (fewer than FAILED_BELOW_CONVERSION) give no
    clinic: a summary marked `no_cases`, which `criterion` scores as a failed trial (never chosen), not an
    error that ends the comparison."""
    stats = summary_above_floor(sim, n_patients)
    if stats is None:
        zero = dict.fromkeys(PATTERNS, 0)
        return {
            "no_cases": True,
            "multi_limb": 0,
            "patients": 0,
            **zero,
            "conversion": None,
            "identifiable": 0,
            "trauma": dict(zero),
        }
    out = compact(stats)
    out["identifiable"] = sum(int(out[p]) for p in PATTERNS)
    trauma = stats["limb_patterns"].get("by_trigger", {}).get("trauma", {})
    out["trauma"] = {p: int(trauma.get(p, {}).get("count", 0)) for p in PATTERNS}
    return out


def criterion(targets: Targets, summary: Mapping[str, Any], *, constrained: bool) -> float:
    """G of the observed counts at a clinic's shares, plus (constrained) the implausible-conversion
    penalty: what the search minimises and what the comparison judges (without 2 k), one rule for both.
    A clinic with no CRPS cases cannot be judged: infinite, so it never wins under either criterion."""
    if summary.get("no_cases"):
        return math.inf
    g = deviance(targets, as_statistics(summary))
    return g + conversion_penalty(summary.get("conversion")) if constrained else g


def scored(records: Sequence[Mapping[str, Any]], key: str) -> list[Mapping[str, Any]]:
    """The trials with a finite score `key`: a failed trial (no CRPS cases) has none."""
    return [r for r in records if r.get(key) is not None and math.isfinite(float(r[key]))]


def choose(records: Sequence[Mapping[str, Any]], name: str) -> dict[str, Any]:
    """The search trial chosen under criterion `name`: the lowest G + conversion penalty
    (with_conversion) or the lowest G (without_conversion) on the search's clinic; the first on ties.
    Failed trials (no CRPS cases: no score, or an infinite one) are never chosen."""
    key = "objective" if name == CRITERIA[0] else "deviance"
    usable = scored(records, key)
    if not usable:
        raise NoCasesError(
            f"no trial gave a clinic with CRPS cases ({len(records)} tried): nothing to choose"
        )
    return dict(min(usable, key=lambda r: float(r[key])))


def run_all(
    sims: Sequence[Sim], n_patients: int, client: Any | None, store: ClinicStore | None = None
) -> list[dict[str, Any]]:
    """`summarise` each simulation, in process or as Dask tasks (same results, in order). With a `store`
    (kind `SUMMARY_KIND`) kept clinics are taken from it and each new one is kept as soon as it is done,
    so that a comparison stopped midway goes on where it stopped (`store.map_kept`)."""
    return map_kept(summarise, sims, n_patients, client, store, SUMMARY_KIND)


def parameter_union(candidates: Sequence[Candidate]) -> tuple[str, ...]:
    """Every candidate's free parameters, in first-seen order: the columns of the shared start design."""
    names: list[str] = []
    for c in candidates:
        names += [n for n in c.free if n not in names]
    return tuple(names)


def start_design(candidates: Sequence[Candidate], budget: Budget, seed: int) -> np.ndarray:
    """The shared space-filling start design: a Latin hypercube in the unit cube, one column per parameter
    of `parameter_union`, `starts x startup` rows (start j takes rows j*startup ... (j+1)*startup - 1)."""
    from scipy.stats import qmc

    d = len(parameter_union(candidates))
    return np.asarray(
        qmc.LatinHypercube(d, rng=np.random.default_rng(seed)).random(budget.starts * budget.startup)
    )


def design_point(row: np.ndarray, free: Sequence[FreeParam], columns: Sequence[str]) -> dict[str, float]:
    """A design row mapped into a candidate's box (each parameter from its own column)."""
    return {f.name: f.low + float(row[list(columns).index(f.name)]) * (f.high - f.low) for f in free}


@dataclass(frozen=True)
class HeldOut:
    """A chosen parameter set re-simulated on the held-out clinics: one summary per seed."""

    theta: dict[str, float]
    summaries: list[dict[str, Any]]


@dataclass(frozen=True)
class MechanismFit:
    """One candidate: its search (every trial), the chosen parameter sets and their held-out criterion."""

    candidate: Candidate
    records: list[dict[str, Any]]
    heldout: dict[str, HeldOut]  # by criterion name
    criterion: dict[str, Spread]  # AIC per held-out clinic, by criterion name
    deviances: dict[str, Spread]  # G per held-out clinic, by criterion name
    trauma: dict[str, Spread]  # the held-out trauma figure per held-out clinic (`trauma_spreads`), or {}
    weight: float = 0.0  # Akaike weight from the mean AIC with the constraint (ignores the spread)
    share_best: dict[str, float] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return len(self.candidate.free)

    @property
    def heldout_deviance(self) -> float:
        """Mean held-out G (with the conversion constraint)."""
        return self.deviances[CRITERIA[0]].mean

    @property
    def aic(self) -> float:
        """Mean held-out AIC (with the conversion constraint)."""
        return self.criterion[CRITERIA[0]].mean

    @property
    def simulations(self) -> int:
        return len(self.records)

    @property
    def patients_simulated(self) -> int:
        return sum(int(r["patients"]) for r in self.records)

    def chosen(self, name: str) -> dict[str, Any]:
        return choose(self.records, name)

    def to_dict(self) -> dict[str, Any]:
        starts = sorted({int(r["start"]) for r in self.records})
        by_start = [[r for r in self.records if r["start"] == s] for s in starts]
        best_of = [
            (s, choose(rs, CRITERIA[0]))
            for s, rs in zip(starts, by_start, strict=True)
            if scored(rs, "objective")
        ]
        free = self.candidate.free
        return {
            "name": self.candidate.name,
            "label": self.candidate.label,
            "free": list(free),
            "n_parameters": self.k,
            "tuned_parameters": list(self.candidate.tuned()),
            "mechanisms_off": list(self.candidate.mechanisms.switched_off()),
            "simulations": self.simulations,
            "failed_trials": sum(1 for r in self.records if r.get("no_cases")),
            "scored_trials": sum(1 for r in self.records if not r.get("no_cases")),
            "patients_simulated": self.patients_simulated,
            "starts": [
                {"start": s, "best_objective": b["objective"], "best": {n: b[n] for n in free}}
                for s, b in best_of
            ],
            "best": self.heldout[CRITERIA[0]].theta,
            "best_without_conversion": self.heldout[CRITERIA[1]].theta,
            "fit_deviance": self.chosen(CRITERIA[0])["deviance"],
            "heldout_deviance": self.heldout_deviance,
            "aic": self.aic,
            "akaike_weight": self.weight,
            "criterion": {
                c: {
                    **self.criterion[c].to_dict(),
                    "share_best": self.share_best.get(c, 0.0),
                    "deviance": self.deviances[c].to_dict(),
                }
                for c in CRITERIA
            },
            "heldout_trauma": {k: v.to_dict() for k, v in self.trauma.items()} or None,
            "heldout_summaries": {c: self.heldout[c].summaries for c in CRITERIA},
            "trials": self.records,
        }


@dataclass(frozen=True)
class Verdict:
    """The best and the next explanation under one criterion, and whether they are told apart."""

    criterion: str
    leader: str
    runner_up: str | None
    separated: bool

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def verdict(fits: Sequence[MechanismFit], name: str) -> Verdict:
    order = sorted(fits, key=lambda f: f.criterion[name].mean)
    lead = order[0]
    if len(order) == 1:
        return Verdict(name, lead.candidate.name, None, False)
    nxt = order[1]
    a, b = lead.criterion[name], nxt.criterion[name]
    return Verdict(name, lead.candidate.name, nxt.candidate.name, separated((a.mean, a.sd), (b.mean, b.sd)))


@dataclass(frozen=True)
class MechanismComparison:
    fits: list[MechanismFit]
    targets: Targets
    budget: Budget
    years: float
    seed: int
    heldout_seeds: tuple[int, ...]
    base: Sim
    baseline: dict[str, Any]
    recovery: dict[str, Any] | None = None

    @property
    def n_patients(self) -> int:
        return self.budget.patients

    @property
    def heldout_patients(self) -> int:
        return self.budget.heldout_patients

    @property
    def favoured(self) -> MechanismFit:
        """The candidate with the lowest mean held-out AIC (with the constraint), told apart or not."""
        return min(self.fits, key=lambda f: f.aic)

    def verdicts(self) -> dict[str, Verdict]:
        return {c: verdict(self.fits, c) for c in CRITERIA}

    def sentence(self) -> str:
        v = self.verdicts()[CRITERIA[0]]
        f = self.favoured
        s = f.criterion[CRITERIA[0]]
        lead = (
            f"Lowest mean held-out AIC: '{f.candidate.label}' ({s.mean:.1f} +- {s.sd:.1f} over "
            f"{len(s.values)} held-out clinics, best in {f.share_best.get(CRITERIA[0], 0.0):.0%} of them)."
        )
        head = (
            f"{DATA_FAVOUR} '{f.candidate.label}': its interval lies below the next."
            if v.separated
            else CANNOT_TELL_APART
        )
        return (
            f"{head} {lead} This compares explanations inside one hypothesis-driven model; it is not "
            "evidence that any mechanism operates in patients."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_output": True,
            "method": (
                "equal budget per candidate: Optuna TPE from a shared Latin-hypercube start design, several "
                "starts, common random numbers; criterion on replicated held-out clinics"
            ),
            "criterion": (
                "AIC = G + 2 k on replicated held-out clinics (mean, SD, share best), with the conversion "
                "penalty (with_conversion) and without (without_conversion)"
            ),
            "failed_below_conversion": FAILED_BELOW_CONVERSION,
            "spread_rule": f"interval = mean +- {SPREAD_Z:g} SD; told apart when the best interval lies "
            f"below the next one's and the means differ by at least {AIC_CLOSE:g}",
            "targets": self.targets.to_dict(),
            "budget": self.budget.to_dict(),
            "n_patients": self.n_patients,
            "heldout_patients": self.heldout_patients,
            "years": self.years,
            "structure": model_structure(self.base),
            "seed": self.seed,
            "heldout_seeds": list(self.heldout_seeds),
            "favoured": self.favoured.candidate.name,
            "verdict": {c: v.to_dict() for c, v in self.verdicts().items()},
            "sentence": self.sentence(),
            "candidates": [f.to_dict() for f in self.fits],
            "baseline": self.baseline,
            "recovery": self.recovery,
        }


def search(
    candidates: Sequence[Candidate],
    targets: Targets,
    base: Sim,
    budget: Budget,
    seed: int,
    client: Any | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    ranges: Mapping[str, tuple[float, float]] = COMPARISON_RANGES,
    store: ClinicStore | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Every candidate's search, all with the same budget, run side by side (each round asks up to
    `budget.batch` trials of every start of every candidate and simulates them together). Returns every
    trial of every candidate: parameters, G, conversion penalty, objective, the clinic's summary."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    columns = parameter_union(candidates)
    design = start_design(candidates, budget, seed)
    studies: list[tuple[Candidate, int, tuple[FreeParam, ...], Any, Sim]] = []
    for cand in candidates:
        free = free_params(cand.free, ranges)
        sim = dataclasses.replace(candidate_sim(base, cand), seed=seed)
        for j in range(budget.starts):
            sampler = optuna.samplers.TPESampler(
                seed=seed + j, multivariate=True, n_startup_trials=budget.startup
            )
            study = optuna.create_study(direction="minimize", sampler=sampler)
            for row in design[j * budget.startup : (j + 1) * budget.startup]:
                study.enqueue_trial(design_point(row, free, columns))
            studies.append((cand, j, free, study, sim))
    records: dict[str, list[dict[str, Any]]] = {c.name: [] for c in candidates}
    asked_of = [0] * len(studies)
    scored_of = [0] * len(studies)

    def wanted(i: int) -> int:  # trials start i asks in the next round (none once scored or at its limit)
        return min(budget.batch, budget.trials - scored_of[i], budget.ask_limit - asked_of[i])

    total = budget.search_simulations * len(candidates)
    while any(wanted(i) > 0 for i in range(len(studies))):
        asked: list[tuple[int, Candidate, int, Any, Any, dict[str, float], Sim]] = []
        for i, (cand, j, free, study, sim) in enumerate(studies):
            for _ in range(wanted(i)):
                t = study.ask()
                theta = {f.name: t.suggest_float(f.name, f.low, f.high) for f in free}
                asked.append((i, cand, j, study, t, theta, apply(sim, theta)))
                asked_of[i] += 1
        results = run_all([a[6] for a in asked], budget.patients, client, store)
        for (i, cand, j, study, t, theta, _), summary in zip(asked, results, strict=True):
            g = criterion(targets, summary, constrained=False)
            if math.isinf(g):  # no CRPS cases at these values: a failed trial (JSON keeps no score)
                study.tell(t, state=optuna.trial.TrialState.FAIL)
                scores: dict[str, float | None] = {"deviance": None, "penalty": None, "objective": None}
            else:
                pen = conversion_penalty(summary.get("conversion"))
                study.tell(t, g + pen)
                scores = {"deviance": g, "penalty": pen, "objective": g + pen}
                scored_of[i] += 1
            records[cand.name].append({"start": j, "trial": t.number, **theta, **scores, **summary})
        if progress is not None:
            progress("search", sum(scored_of), total)
    short = [
        f"{studies[i][0].name} start {studies[i][1]}"
        for i in range(len(studies))
        if scored_of[i] < budget.trials
    ]
    if short:  # told, not hidden: the JSON's scored_trials per candidate shows the shortfall too
        warnings.warn(
            f"{', '.join(short)}: fewer than {budget.trials} scored clinics in {budget.ask_limit} trials "
            "(most of the box converts under the floor)",
            stacklevel=2,
        )
    return records


def compare_mechanisms(
    targets: Targets,
    *,
    base: Sim | None = None,
    candidates: Sequence[Candidate] = CANDIDATES,
    budget: Budget | None = None,
    n_patients: int = 400,
    n_trials: int = 48,
    seed: int = 0,
    client: Any | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    heldout_trauma: Mapping[str, tuple[int, int]] | None = None,
    recovery_replicates: int = 0,
    recovery_patients: int | None = None,
    ranges: Mapping[str, tuple[float, float]] = COMPARISON_RANGES,
    store: ClinicStore | None = None,
) -> MechanismComparison:
    """Fit every candidate with the same budget and judge them on replicated held-out clinics.

    `budget` (default: `Budget.of(n_trials, n_patients)`) is one object for all candidates. `base` holds
    the fixed parameters and the follow-up; its values of the free parameters are not used as a start.
    `heldout_trauma`: observed (trauma-preceded, all) second limbs per pattern, a figure not fitted
    (`baseline.van_rijn_2011_trauma`); each candidate's held-out clinics are judged on it too.
    `recovery_replicates` > 0 adds the model-recovery check (`recovery.model_recovery`) with clinics of
    `recovery_patients` (default: the observed cohort's size). `ranges` narrows parameter boxes, the same
    for every candidate (default `COMPARISON_RANGES`; tests narrow the susceptibility to keep clinics cheap).
    """
    base = base or Sim(seed=seed)
    budget = budget or Budget.of(n_trials, n_patients)
    if not candidates:
        raise ValueError("no candidate explanations to compare")
    records = search(candidates, targets, base, budget, seed, client, progress, ranges, store)
    seeds = tuple(seed + HELDOUT_OFFSET + i for i in range(budget.heldout_seeds))
    # the chosen parameter sets; held-out clinics for each distinct one, all simulated together
    chosen: dict[tuple[str, str], dict[str, float]] = {}
    for cand in candidates:
        for name in CRITERIA:
            best = choose(records[cand.name], name)
            chosen[(cand.name, name)] = {n: float(best[n]) for n in cand.free}
    distinct: list[tuple[Candidate, dict[str, float]]] = []
    for cand in candidates:
        for name in CRITERIA:
            theta = chosen[(cand.name, name)]
            if not any(c is cand and t == theta for c, t in distinct):
                distinct.append((cand, theta))
    sims = [
        dataclasses.replace(candidate_sim(base, c, theta), seed=s) for c, theta in distinct for s in seeds
    ]
    if progress is not None:
        progress("held-out clinics", 0, len(sims))
    flat = run_all(sims, budget.heldout_patients, client, store)
    per_point = [flat[i * len(seeds) : (i + 1) * len(seeds)] for i in range(len(distinct))]
    fits = []
    for cand in candidates:
        heldout, crit, devs = {}, {}, {}
        for name in CRITERIA:
            theta = chosen[(cand.name, name)]
            i = next(i for i, (c, t) in enumerate(distinct) if c is cand and t == theta)
            summaries = per_point[i]
            if any(x.get("no_cases") for x in summaries):
                raise NoCasesError(f"'{cand.name}': a held-out clinic at its chosen values had no CRPS cases")
            constrained = name == CRITERIA[0]
            heldout[name] = HeldOut(theta, summaries)
            vals = [criterion(targets, s, constrained=constrained) for s in summaries]
            crit[name] = Spread(tuple(v + 2 * len(cand.free) for v in vals))
            devs[name] = Spread(tuple(criterion(targets, s, constrained=False) for s in summaries))
        trauma = trauma_spreads(heldout[CRITERIA[0]].summaries, heldout_trauma) if heldout_trauma else None
        fits.append(MechanismFit(cand, records[cand.name], heldout, crit, devs, trauma or {}))
    fits = _weigh(fits, len(seeds))
    baseline = _baseline(targets, base.years, heldout_trauma, fits)
    cmp = MechanismComparison(fits, targets, budget, base.years, seed, seeds, base, baseline)
    if recovery_replicates > 0:
        from crpsmap.calibrate.recovery import model_recovery

        rec = model_recovery(
            cmp,
            replicates=recovery_replicates,
            n_patients=recovery_patients or targets.patients,
            client=client,
            progress=progress,
            store=store,
        )
        cmp = dataclasses.replace(cmp, recovery=rec.to_dict())
    return cmp


def trauma_spreads(
    summaries: Sequence[Mapping[str, Any]], observed: Mapping[str, tuple[int, int]]
) -> dict[str, Spread]:
    """The held-out figure judged on each held-out clinic: G of the observed trauma counts at the clinic's
    trauma shares as predicted ("as_predicted", nothing fitted to the figure) and after one common
    log-odds shift fitted to it ("pattern", one parameter, the baseline's freedom; lower is better)."""
    out: dict[str, list[float]] = {"as_predicted": [], "pattern": []}
    for s in summaries:
        pats = {p: int(s[p]) for p in PATTERNS}
        out["as_predicted"].append(trauma_deviance(observed, s["trauma"], pats))
        out["pattern"].append(trauma_deviance(observed, s["trauma"], pats, shift=True))
    return {k: Spread(tuple(v)) for k, v in out.items()}


def _weigh(fits: list[MechanismFit], n_seeds: int) -> list[MechanismFit]:
    """Akaike weights from the mean AIC (with the constraint), and each candidate's share of held-out
    clinics where it has the lowest criterion (paired: the same seeds for every candidate)."""
    aics = [f.aic for f in fits]
    best = min(aics)
    raw = [math.exp(-(a - best) / 2) for a in aics]
    total = math.fsum(raw)
    share: dict[str, list[float]] = {f.candidate.name: [] for f in fits}
    for name in CRITERIA:
        wins = [0] * len(fits)
        for s in range(n_seeds):
            vals = [f.criterion[name].values[s] for f in fits]
            wins[vals.index(min(vals))] += 1
        for f, w in zip(fits, wins, strict=True):
            share[f.candidate.name].append(w / n_seeds)
    return [
        dataclasses.replace(
            f, weight=r / total, share_best=dict(zip(CRITERIA, share[f.candidate.name], strict=True))
        )
        for f, r in zip(fits, raw, strict=True)
    ]


def _baseline(
    targets: Targets,
    years: float,
    heldout_trauma: Mapping[str, tuple[int, int]] | None,
    fits: Sequence[MechanismFit],
) -> dict[str, Any]:
    return baseline_summary(
        targets, years, heldout_trauma, {f.candidate.name: f.trauma["pattern"] for f in fits if f.trauma}
    )


def baseline_summary(
    targets: Targets,
    years: float,
    heldout_trauma: Mapping[str, tuple[int, int]] | None,
    patterns: Mapping[str, Spread],
) -> dict[str, Any]:
    """The Markov description fitted to the same figures, its account of the held-out figure, and for
    each candidate (`patterns`: its "pattern" G per held-out clinic) whether it beats that account
    (`separated`, with one fitted parameter each)."""
    out = fit_markov(targets, years).to_dict(targets)
    out["heldout_trauma"] = None
    if heldout_trauma is not None:
        pooled = pooled_trauma(heldout_trauma)
        versus = {}
        for name, s in patterns.items():
            versus[name] = {
                "aic_mean": s.mean + 2.0,
                "aic_sd": s.sd,
                "beats_baseline": separated((s.mean + 2.0, s.sd), (pooled["aic"], 0.0)),
            }
        out["heldout_trauma"] = {
            "observed": {p: {"trauma": k, "of": n} for p, (k, n) in heldout_trauma.items()},
            **pooled,
            "candidates": versus,
        }
    return out


def rejudge_trauma(
    d: Mapping[str, Any], targets: Targets, observed: Mapping[str, tuple[int, int]]
) -> dict[str, Any]:
    """A comparison's JSON with its held-out trauma figures (each candidate's and the baseline's)
    recomputed from the held-out clinics it stores, by this version's rules; nothing is simulated."""
    out = json.loads(json.dumps(d))
    patterns = {}
    for c in out["candidates"]:
        spreads = trauma_spreads(c["heldout_summaries"][CRITERIA[0]], observed)
        c["heldout_trauma"] = {k: v.to_dict() for k, v in spreads.items()}
        patterns[c["name"]] = spreads["pattern"]
    out["baseline"] = baseline_summary(targets, float(out["years"]), observed, patterns)
    return out
