"""Model recovery: could a clinic of van Rijn's size tell the candidate explanations apart at all?

For each candidate, `replicates` clinics of `n_patients` (default 185, van Rijn's size) are simulated from
its fitted parameters (the comparison's choice under the conversion constraint), each with its own seed.
Every candidate is then fitted to every such clinic and the comparison's criterion (G + 2 k, with and
without the conversion penalty) names a winner; the confusion matrix counts how often each true candidate
wins. A check that mostly recovers the truth says the figures *can* separate the explanations at this
size; one that does not says that a verdict on the real clinic cannot be trusted either.

Budget: refitting every candidate to every clinic with the comparison's search would cost candidates x
clinics x the search (4 x 100 x 48 simulations for 25 clinics per candidate). Instead a candidate is fitted
to a clinic by choosing the best of its own search bank: the parameter sets its search evaluated (the
same number for every candidate, each simulated once with common random numbers). The criterion is then
G at that set's simulated clinic, in-sample; the selection flatters every candidate alike (same bank size,
same clinic size), not the true one in particular. The only new simulations are the recovery clinics.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crpsmap.calibrate.mechanisms import CRITERIA, candidate_sim, choose, criterion, run_all
from crpsmap.calibrate.targets import Targets

if TYPE_CHECKING:
    from crpsmap.calibrate.mechanisms import MechanismComparison, MechanismFit
    from crpsmap.calibrate.store import ClinicStore

#: recovery clinics' seeds start here (apart from the search seed and the held-out clinics)
RECOVERY_OFFSET = 2_000_003


def targets_of(summary: dict[str, Any], source: str) -> Targets:
    """A simulated clinic's figures as calibration targets (identifiable = spreads with a pattern)."""
    patterns = (int(summary["contralateral"]), int(summary["ipsilateral"]), int(summary["diagonal"]))
    return Targets(
        multi_limb=int(summary["multi_limb"]),
        patients=int(summary["patients"]),
        patterns=patterns,
        source=source,
        identifiable=sum(patterns),
    )


def bank_fit(targets: Targets, fit: MechanismFit, name: str) -> tuple[float, dict[str, Any]]:
    """A candidate fitted to `targets` from its search bank: the lowest criterion `name` over the bank's
    clinics, plus 2 k (its AIC), and the chosen trial."""
    constrained = name == CRITERIA[0]
    scored = [
        {
            **r,
            "objective": criterion(targets, r, constrained=True),
            "deviance": criterion(targets, r, constrained=False),
        }
        for r in fit.records
    ]
    best = choose(scored, name)
    value = best["objective"] if constrained else best["deviance"]
    return float(value) + 2 * fit.k, best


@dataclass(frozen=True)
class Recovery:
    """Confusion matrices (criterion -> true candidate -> winning candidate -> clinics)."""

    names: tuple[str, ...]
    counts: dict[str, dict[str, dict[str, int]]]
    replicates: int
    n_patients: int
    seeds: tuple[int, ...]

    def accuracy(self, name: str) -> float:
        """Share of all recovery clinics whose true candidate won under criterion `name`."""
        right = sum(self.counts[name][t][t] for t in self.names)
        return right / (self.replicates * len(self.names))

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_output": True,
            "method": (
                "clinics simulated from each candidate's fitted parameters (with the conversion constraint); "
                "every candidate fitted by the best of its own search bank; winner by G + 2 k"
            ),
            "candidates": list(self.names),
            "replicates": self.replicates,
            "n_patients": self.n_patients,
            "seeds": list(self.seeds),
            "confusion": self.counts,
            "accuracy": {c: self.accuracy(c) for c in CRITERIA},
        }


def model_recovery(
    comparison: MechanismComparison,
    *,
    replicates: int,
    n_patients: int = 185,
    client: Any | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    store: ClinicStore | None = None,
) -> Recovery:
    """The confusion matrix of `replicates` clinics of `n_patients` per true candidate (see module doc)."""
    if replicates < 1:
        raise ValueError("at least one recovery clinic per candidate")
    fits = comparison.fits
    base = comparison.base
    seeds = tuple(comparison.seed + RECOVERY_OFFSET + r for r in range(replicates))
    sims = []
    for f in fits:
        theta = f.heldout[CRITERIA[0]].theta
        sim = candidate_sim(base, f.candidate, theta)
        sims += [dataclasses.replace(sim, seed=s) for s in seeds]
    if progress is not None:
        progress("recovery clinics", 0, len(sims))
    clinics = run_all(sims, n_patients, client, store)
    names = tuple(f.candidate.name for f in fits)
    counts = {c: {t: dict.fromkeys(names, 0) for t in names} for c in CRITERIA}
    for i, truth in enumerate(fits):
        for r in range(replicates):
            summary = clinics[i * replicates + r]
            targets = targets_of(summary, f"simulated from {truth.candidate.name}")
            for c in CRITERIA:
                aics = [bank_fit(targets, f, c)[0] for f in fits]
                counts[c][truth.candidate.name][names[aics.index(min(aics))]] += 1
    return Recovery(names, counts, replicates, n_patients, seeds)
