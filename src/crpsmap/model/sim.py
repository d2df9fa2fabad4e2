"""The Sim object: parameters + cohort + schedule -> a virtual clinic of PatientHistory records.

A virtual clinic is built like a real one: injuries happen (index 0, 1, 2, ...); those with an involved
area at their diagnostic first visit, after normal healing, are the clinic's CRPS patients.
`clinic(n)` returns the first n cases in injury order, so the result does not depend on block or chunk
sizes; `chunk(start, stop)` simulates a contiguous range of injury indices and is what a Dask task calls.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from crpsmap.history import PatientHistory
from crpsmap.model.arrays import PatientInputs, RunOutput
from crpsmap.model.cohort import Demography, draw_patients, histories
from crpsmap.model.effects import EffectTable, default_table
from crpsmap.model.interventions import Intervention
from crpsmap.model.network import coupling, n_nodes, n_spinal, topology
from crpsmap.model.params import CohortParams, ModelParams
from crpsmap.model.recorder import Recorder, Recording
from crpsmap.model.reference import RunConfig

Backend = Callable[..., RunOutput]
MAX_INJURIES_PER_CASE = 10_000  # give up when conversion is below 1 in this many (mis-set parameters)
#: the part of a block screened first once the conversion so far is known (Sim.find_cases): this many
#: times the injuries expected to hold the cases still needed, in steps of SCREEN_STEP (4 SIMD blocks of
#: the kernel, so that a short call costs little beyond its injuries)
SCREEN_MARGIN = 1.25
SCREEN_STEP = 256
#: when an injury counts as CRPS (Sim.screen). "screen_day" (the default since 2026-11-26): a body area
#: involved on screen_day and at the diagnostic first visit (screen_day + referral delay), i.e. symptoms
#: beyond normal healing of the inciting injury, as CohortParams.screen_day says. "first_visit": involved
#: at the first visit only, the rule of the earlier defaults, which also takes a new injury between
#: screen_day and the visit, still in its acute phase, for CRPS (about a quarter of that clinic's
#: patients; docs/plausibility.md §2).
DIAGNOSES = ("first_visit", "screen_day")


class NoCasesError(RuntimeError):
    """The settings make (almost) no injury become CRPS: a virtual clinic cannot be filled."""


def _backend(name: str) -> Backend:
    if name == "kernel":
        from crpsmap.model.kernel import run_kernel

        return run_kernel
    if name == "reference":
        from crpsmap.model.reference import run_reference

        return run_reference
    raise ValueError(f"unknown backend {name!r} (kernel or reference)")


@dataclass(frozen=True)
class ChunkResult:
    """The injuries start..stop-1: which became CRPS (cases), and the cases' histories."""

    start: int
    stop: int
    cases: np.ndarray  # injury indices that converted, ascending
    histories: list[PatientHistory]
    recording: Recording | None = None  # the cases' recorded states (rows = cases), with Sim(record=...)


@dataclass(frozen=True)
class Clinic:
    """A virtual clinic: its patients' histories and the injury -> CRPS funnel that produced them."""

    histories: list[PatientHistory]
    n_injuries: int  # injuries screened to find the patients (indices 0..n_injuries-1)
    n_cases: int  # cases found (= patients asked for; histories can be fewer only if a horizon is too short)
    recording: Recording | None = None  # the cases' recorded states (rows = cases), with Sim(record=...)

    @property
    def conversion(self) -> float:
        """Fraction of injuries that became CRPS (model output)."""
        return self.n_cases / self.n_injuries if self.n_injuries else float("nan")


@dataclass(frozen=True)
class Sim:
    """A configured simulation. Same arguments -> bit-identical output (no global state, no clock).

    effects: the table of effects (effects.py; default: built-in rows plus registered ones, taken when the
    Sim is made); record: states to record over time during follow-up (recorder.py; screening runs are
    never recorded).
    """

    params: ModelParams = field(default_factory=ModelParams)
    cohort: CohortParams = field(default_factory=CohortParams)
    years: float = 5.0
    seed: int = 0
    dt: float = 0.25
    interventions: tuple[Intervention, ...] = ()
    backend: str = "kernel"
    effects: EffectTable = field(default_factory=default_table)
    record: Recorder | None = None
    diagnosis: str = "screen_day"  # one of DIAGNOSES

    def __post_init__(self) -> None:
        if self.diagnosis not in DIAGNOSES:
            raise ValueError(f"unknown diagnosis rule {self.diagnosis!r} (one of {', '.join(DIAGNOSES)})")

    @property
    def n_days(self) -> int:
        return int(round(self.years * 365.25))

    @property
    def n_spinal(self) -> int:
        """Dorsal-horn nodes of this model (more with the somatotopic columns): a recording's width."""
        return n_spinal(self.params.mechanisms.somatotopy)

    def config(self, n_days: int | None = None) -> RunConfig:
        c = self.cohort
        return RunConfig(
            n_days=self.n_days if n_days is None else n_days,
            seed=self.seed,
            dt=self.dt,
            theta=c.theta,
            persist_days=int(c.persist_days),
            tau_acute=c.acute_infection_days,
        )

    def run(
        self, inputs: PatientInputs, n_days: int | None = None, *, record: Recorder | None = None
    ) -> RunOutput:
        """Run the dynamics for prepared inputs (the backend is the only difference)."""
        p = self.params
        return _backend(self.backend)(
            p,
            self.config(n_days),
            inputs,
            net=coupling(p),
            topo=topology(p.mechanisms.somatotopy),
            effects=self.effects,
            record=record,
        )

    def screen(self, patients: np.ndarray) -> np.ndarray:
        """Which injuries are CRPS: a body area involved at the diagnostic first visit, which comes
        after normal healing (screen_day + referral delay), and with diagnosis="screen_day" on
        screen_day itself as well (DIAGNOSES); simulated without any treatment.

        With "screen_day" the injuries are simulated to screen_day first and only those involved then
        on to their visit (most injuries heal: they are not simulated the referral delay further). Every
        random draw is a function of the injury's index, so a subset gives the same injuries: the result
        is the one of simulating all of them to the last visit."""
        cfg = self.config()
        inputs, _ = draw_patients(
            self.seed, patients, self.cohort, self.n_days, cfg.steps_per_day, (), visits=False
        )
        first = inputs.visit_day[:, 0]
        if self.diagnosis == "first_visit":
            return self._involved_on(inputs, first)
        day = int(self.cohort.screen_day)  # the first visit is never earlier than screen_day
        involved = self._involved_on(inputs, np.full_like(first, day))
        later = np.flatnonzero(involved & (first > day))  # a first visit on screen_day is that same look
        if later.size:
            involved[later] = self._involved_on(inputs.take(later), first[later])
        return involved

    def _involved_on(self, inputs: PatientInputs, day: np.ndarray) -> np.ndarray:
        """Whether each injury has an involved body area on its given day (one look, no treatment)."""
        if not inputs.n:
            return np.zeros(0, dtype=bool)
        looked = dataclasses.replace(inputs, visit_day=np.ascontiguousarray(day[:, None]))
        out = self.run(looked, n_days=int(day.max()))
        area_bits = (1 << topology().n_areas) - 1
        return np.asarray((out.visit_mask[:, 0] & area_bits) != 0)

    def follow_arrays(self, patients: np.ndarray) -> tuple[Demography, RunOutput]:
        """Full follow-up as arrays (no history objects): for summary statistics over huge cohorts."""
        patients = np.asarray(patients, dtype=np.int64)
        cfg = self.config()
        inputs, demo = draw_patients(
            self.seed, patients, self.cohort, self.n_days, cfg.steps_per_day, self.interventions
        )
        return demo, self.run(inputs, record=self.record)

    def follow(self, patients: np.ndarray) -> list[PatientHistory]:
        """Full follow-up of the given (case) injuries, with this Sim's interventions, as histories."""
        return self._follow(patients)[0]

    def _follow(self, patients: np.ndarray) -> tuple[list[PatientHistory], Recording | None]:
        patients = np.asarray(patients, dtype=np.int64)
        if patients.size == 0:
            return [], None if self.record is None else self.record.empty(self.n_days, self.n_spinal)
        demo, out = self.follow_arrays(patients)
        return histories(self.seed, demo, out, self.cohort, self.interventions), out.recording

    def chunk(self, start: int, stop: int) -> ChunkResult:
        """Screen injuries start..stop-1 and follow the cases: the unit of work of a parallel job."""
        idx = np.arange(start, stop, dtype=np.int64)
        cases = idx[self.screen(idx)] if idx.size else idx
        hist, rec = self._follow(cases)
        return ChunkResult(start, stop, cases, hist, rec)

    def find_cases(
        self,
        n: int,
        *,
        block: int = 2048,
        progress: Callable[[int, int], None] | None = None,
        max_injuries_per_case: int = MAX_INJURIES_PER_CASE,
        confidence: float | None = None,
    ) -> tuple[np.ndarray, int]:
        """The first n case indices in injury order and the number of injuries screened to find them.
        `max_injuries_per_case`: give up (NoCasesError) once more than this many injuries per wanted case
        were screened, i.e. when fewer than 1 in this many become CRPS (a search that only needs to know
        that a setting converts implausibly few sets it lower: such clinics are the costliest to fill).
        `confidence` (a search's choice): give up as soon as the screened injuries show at this confidence
        that fewer than 1 in `max_injuries_per_case` convert (exact one-sided Poisson upper bound of the
        cases so far, checked between blocks), typically after a tenth of the injuries. Either way, a
        clinic it returns is the same clinic. Once the conversion so far says that the rest of a block
        is more than the clinic needs, only the part likely to be enough is screened first (the rest only
        if it was not); the rules are checked between blocks, so this changes neither the cases nor when
        it gives up, only how many injuries are simulated for nothing."""
        found: list[np.ndarray] = []
        count = 0
        screened = 0
        while count < n:
            if gives_up(count, screened, n, max_injuries_per_case, confidence):
                raise too_few_cases(count, screened, max_injuries_per_case)
            start, end = screened, screened + block
            while start < end and count < n:  # the block, or first the part of it likely to be enough
                stop = min(end, start + _likely_enough(n - count, count, start))
                idx = np.arange(start, stop, dtype=np.int64)
                hit = idx[self.screen(idx)][: n - count]
                found.append(hit)
                count += hit.size
                start = stop
            screened = int(found[-1][-1]) + 1 if count >= n else end  # the piece that completed it had hits
            if progress is not None:
                progress(count, screened)
        cases = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
        return cases, screened

    def clinic(
        self,
        n: int,
        *,
        block: int = 2048,
        follow_block: int = 512,
        progress: Callable[[str, int, int], None] | None = None,
        max_injuries_per_case: int = MAX_INJURIES_PER_CASE,
        confidence: float | None = None,
    ) -> Clinic:
        """The first n CRPS patients (in injury order) followed for `years`, as histories
        (`max_injuries_per_case`, `confidence`: see `find_cases`)."""
        cases, screened = self.find_cases(
            n,
            block=block,
            progress=(lambda c, s: progress("screen", c, n)) if progress else None,
            max_injuries_per_case=max_injuries_per_case,
            confidence=confidence,
        )
        out: list[PatientHistory] = []
        recs: list[Recording] = []
        for i in range(0, cases.size, follow_block):
            hist, rec = self._follow(cases[i : i + follow_block])
            out += hist
            recs += [rec] if rec is not None else []
            if progress is not None:
                progress("follow", min(i + follow_block, cases.size), n)
        recording = None
        if self.record is not None:
            recording = Recording.concat(recs) if recs else self.record.empty(self.n_days, self.n_spinal)
        return Clinic(out, screened, int(cases.size), recording)


def gives_up(count: int, screened: int, n: int, max_injuries_per_case: int, confidence: float | None) -> bool:
    """Whether a search for `n` cases stops after `count` cases in `screened` injuries: more than
    `max_injuries_per_case` injuries per wanted case screened, or (with `confidence`) the exact one-sided
    Poisson upper bound of the cases so far under 1 in `max_injuries_per_case`. One rule for every search
    (Sim.find_cases, the chunked virtual clinic of crpsmap.scale)."""
    if screened > max_injuries_per_case * max(n, 1):
        return True
    return (
        confidence is not None
        and screened > 0
        and _poisson_upper(count, confidence) * max_injuries_per_case < screened
    )


def too_few_cases(count: int, screened: int, max_injuries_per_case: int) -> NoCasesError:
    """The error of a search that `gives_up`, with what it saw."""
    return NoCasesError(
        f"fewer than 1 in {max_injuries_per_case:,} injuries become CRPS ({count:,} in {screened:,} "
        "screened); check parameters"
    )


def _likely_enough(need: int, count: int, screened: int) -> int:
    """Injuries likely to hold `need` more cases at the conversion seen so far (`count` cases in
    `screened` injuries), with SCREEN_MARGIN to spare, in whole SCREEN_STEPs; unbounded before a case."""
    if count == 0:
        return np.iinfo(np.int64).max
    expected = SCREEN_MARGIN * need * screened / count
    return SCREEN_STEP * max(1, math.ceil(expected / SCREEN_STEP))


def _poisson_upper(count: int, confidence: float) -> float:
    """Exact one-sided upper confidence bound of a Poisson mean after `count` events (Garwood 1936)."""
    from scipy.stats import chi2

    return float(chi2.ppf(confidence, 2 * (count + 1))) / 2


def node_days(
    n_patients: int, n_days: int, *, limb_representations: bool = False, somatotopy: bool = False
) -> float:
    """Work measure of the benchmark: patients x all model nodes x days (67 nodes; 69 with the per-limb
    supraspinal nodes of Mechanisms.limb_representations; 22 more with Mechanisms.somatotopy)."""
    return float(n_patients) * n_nodes(limb_representations, somatotopy) * n_days
