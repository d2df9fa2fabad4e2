"""A virtual trial: the same virtual patients followed twice, without and with an intervention.

Patients are the first N CRPS cases of the virtual clinic (screening runs without treatment, so both
arms enrol the same people). Each patient's random draws depend only on (seed, patient, step, node,
stream), so up to the first dose the two arms are identical and every difference after it is caused by
the intervention in the model (common random numbers): a paired comparison with no sampling noise
between arms. Follow-up runs in blocks of patients, in process or as Dask tasks, with identical results.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from crpsmap.model import CohortParams, Intervention, ModelParams, Sim
from crpsmap.trial.outcomes import BINARY_OUTCOMES, PatientOutcome, patient_outcome
from crpsmap.trial.paired import PairedBinary, PairedMean

if TYPE_CHECKING:
    from distributed import Client

#: progress(stage, done, total) with stage "screen" or "follow"
Progress = Callable[[str, int, int], None]
DEFAULT_BLOCK = 256
DISCLAIMER = (
    "This is a result of a mathematical model that encodes a hypothesis; it is not clinical evidence "
    "and not a treatment recommendation."
)


@dataclass(frozen=True)
class TrialSpec:
    """What to run: intervention (from enrolment), patients, follow-up, seed, model parameters."""

    intervention: str
    start_day: int = 0
    stop_day: int | None = None
    patients: int = 300
    years: float = 3.0
    seed: int = 0
    params: ModelParams = field(default_factory=ModelParams)
    cohort: CohortParams = field(default_factory=CohortParams)

    def __post_init__(self) -> None:
        if self.patients < 1:
            raise ValueError("a trial needs at least 1 patient")
        if self.start_day < 0:
            raise ValueError("start must be on or after enrolment (day 0 or later)")
        self.treatment()  # validates name and stop

    def treatment(self) -> Intervention:
        """The intervention arm's schedule, anchored at enrolment (the first clinic visit)."""
        return Intervention(self.intervention, self.start_day, self.stop_day, "enrolment")

    def sims(self) -> tuple[Sim, Sim]:
        """(control, intervention): identical but for the intervention."""
        control = Sim(params=self.params, cohort=self.cohort, years=self.years, seed=self.seed)
        return control, dataclasses.replace(control, interventions=(self.treatment(),))

    def changed_parameters(self) -> dict[str, Any]:
        """Model and cohort parameters that differ from the defaults (the page lists them)."""
        out: dict[str, Any] = {}
        for obj, default in ((self.params, ModelParams()), (self.cohort, CohortParams())):
            for f in dataclasses.fields(obj):
                value, base = getattr(obj, f.name), getattr(default, f.name)
                if f.name == "mechanisms":
                    if value.switched_off():
                        out["mechanisms_off"] = list(value.switched_off())
                    if value.variants_changed():
                        out["variants_changed"] = value.variants_changed()
                elif value != base:
                    out[f.name] = value
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "intervention": self.intervention,
            "start_day_after_enrolment": self.start_day,
            "stop_day_after_enrolment": self.stop_day,
            "patients": self.patients,
            "years": self.years,
            "seed": self.seed,
            "changed_parameters": self.changed_parameters(),
        }


@dataclass(frozen=True)
class TrialResult:
    """Both arms' per-patient outcomes (same patients, same order) and their paired statistics."""

    spec: TrialSpec
    injuries_screened: int
    control: list[PatientOutcome]
    intervention: list[PatientOutcome]
    binary: dict[str, PairedBinary]
    hrv: PairedMean  # HRV RMSSD change from the start to the last visit, ms

    @property
    def n(self) -> int:
        return len(self.control)

    @property
    def observed_after_start(self) -> int:
        return sum(o.observed_after_start for o in self.control)

    def to_dict(self, *, patients: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "title": "Virtual trial (model result)",
            "model_result": True,
            "disclaimer": DISCLAIMER,
            "settings": self.spec.to_dict(),
            "patients": self.n,
            "patients_observed_after_start": self.observed_after_start,
            "injuries_screened": self.injuries_screened,
            "window": "events dated after the first day of the intervention, up to the last visit",
            "difference": "intervention minus control (negative: fewer events under the intervention)",
            "outcomes": {k: v.to_dict() for k, v in self.binary.items()},
            "hrv_rmssd_change_ms": self.hrv.to_dict(),
        }
        if patients:
            out["patient_outcomes"] = [
                {"control": c.to_dict(), "intervention": i.to_dict()}
                for c, i in zip(self.control, self.intervention, strict=True)
            ]
        return out


def follow_pair(
    control: Sim, treated: Sim, cases: np.ndarray, start_day: int
) -> tuple[list[PatientOutcome], list[PatientOutcome]]:
    """One block: follow `cases` under both arms and reduce each history to its outcomes (a Dask task)."""
    a = [patient_outcome(h, start_day) for h in control.follow(cases)]
    b = [patient_outcome(h, start_day) for h in treated.follow(cases)]
    if [o.patient_id for o in a] != [o.patient_id for o in b]:
        raise RuntimeError("the arms followed different patients; common random numbers are broken")
    return a, b


def screening_block(n: int) -> int:
    """Injuries screened per step to find n cases: about 8 per case (1 in 6 injuries converts), 256 to
    2048. Why: small trials (tests, many draws) need not screen 2,048 injuries; the cases found do not
    depend on the block size (Sim.find_cases, tested in tests/model)."""
    return int(min(2048, max(256, 8 * n)))


def _blocks(cases: np.ndarray, block: int) -> list[np.ndarray]:
    if block < 1:
        raise ValueError("block must be at least 1")
    return [cases[i : i + block] for i in range(0, cases.size, block)]


def _follow_all(
    control: Sim,
    treated: Sim,
    blocks: Sequence[np.ndarray],
    start_day: int,
    client: Client | None,
    tick: Callable[[int], None],
) -> list[tuple[list[PatientOutcome], list[PatientOutcome]]]:
    """Each block's outcomes, in block order, whether run here or on Dask workers."""
    if client is None:
        results = []
        for b in blocks:
            results.append(follow_pair(control, treated, b, start_day))
            tick(len(b))
        return results
    from distributed import as_completed

    sims = client.scatter([control, treated], broadcast=True, hash=False)
    futures = [client.submit(follow_pair, sims[0], sims[1], b, start_day, pure=False) for b in blocks]
    index = {f.key: i for i, f in enumerate(futures)}
    out: list[Any] = [None] * len(futures)
    for fut in as_completed(futures):
        out[index[fut.key]] = fut.result()
        tick(len(blocks[index[fut.key]]))
    return out


def run_trial(
    spec: TrialSpec,
    *,
    block: int = DEFAULT_BLOCK,
    client: Client | None = None,
    progress: Progress | None = None,
) -> TrialResult:
    """Enrol spec.patients CRPS cases, follow them under both arms, and compare them pair by pair."""
    control, treated = spec.sims()
    n = spec.patients
    cases, screened = control.find_cases(
        n,
        block=screening_block(n),
        progress=(lambda c, s: progress("screen", c, n)) if progress else None,
    )
    done = 0

    def tick(k: int) -> None:
        nonlocal done
        done += k
        if progress is not None:
            progress("follow", done, n)

    parts = _follow_all(control, treated, _blocks(cases, block), spec.start_day, client, tick)
    a = [o for part in parts for o in part[0]]
    b = [o for part in parts for o in part[1]]
    return summarise(spec, screened, a, b)


def summarise(
    spec: TrialSpec, screened: int, control: list[PatientOutcome], intervention: list[PatientOutcome]
) -> TrialResult:
    """The paired statistics of per-patient outcomes (all trial patients are the denominator)."""
    binary = {
        k: PairedBinary.of([o.flag(k) for o in control], [o.flag(k) for o in intervention])
        for k in BINARY_OUTCOMES
    }
    hc, hi = [], []
    for c, i in zip(control, intervention, strict=True):
        if c.hrv_change is not None and i.hrv_change is not None:
            hc.append(c.hrv_change)
            hi.append(i.hrv_change)
    return TrialResult(spec, screened, control, intervention, binary, PairedMean.of(hc, hi))
