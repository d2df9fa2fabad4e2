"""Struct-of-arrays inputs and outputs of one simulation run (a batch of virtual patients).

Both the NumPy reference and the Numba kernel take exactly these arrays, so they can be compared and a
chunk of patients can be shipped to a worker as plain arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crpsmap.model.effects import N_BUILTIN_INTERVENTIONS
from crpsmap.model.network import N_HEMI, N_ORGAN, N_SPINAL
from crpsmap.model.recorder import Recording

#: columns of iv_start / iv_stop that always exist: the built-in interventions (effects.BUILTIN); a
#: registered intervention adds one (interventions.schedule), and inputs with fewer columns are valid
N_IV = N_BUILTIN_INTERVENTIONS
NEVER = np.iinfo(np.int64).max // 4


@dataclass(frozen=True)
class PatientInputs:
    """Per-patient inputs; P patients, E event slots, V visit slots. Steps count from the injury."""

    patient: np.ndarray  # (P,) int64 injury index: the identity of the virtual patient's random streams
    gain: np.ndarray  # (P,) susceptibility g_p
    v0: np.ndarray  # (P,) baseline vagal tone
    infection: np.ndarray  # (P,) chronic infection drive level
    ev_step: np.ndarray  # (P, E) int64 step of a drive pulse, -1 = none (sorted per patient)
    ev_unit: np.ndarray  # (P, E) int64 area unit that gets the pulse, or -1 = acute infection
    ev_amp: np.ndarray  # (P, E) pulse amplitude
    iv_start: np.ndarray  # (P, K) int64 first step intervention column k is on (effects.CATALOGUE)
    iv_stop: np.ndarray  # (P, K) int64 first step it is off again
    visit_day: np.ndarray  # (P, V) int64 day (from injury) of each observation, -1 = none; ascending

    @property
    def n(self) -> int:
        return int(self.patient.shape[0])

    def without_infection(self) -> PatientInputs:
        """The same patients with chronic and acute infection drive removed (mechanism switched off)."""
        amp = np.where(self.ev_unit < 0, 0.0, self.ev_amp)
        fields = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return PatientInputs(**{**fields, "infection": np.zeros_like(self.infection), "ev_amp": amp})

    def take(self, rows: np.ndarray) -> PatientInputs:
        """The inputs of a subset of patients (same streams: a patient's trajectory does not change)."""
        return PatientInputs(
            **{k: np.ascontiguousarray(getattr(self, k)[rows]) for k in self.__dataclass_fields__}
        )


@dataclass
class RunOutput:
    """What a run returns: the observations at visit days and the final state."""

    visit_mask: np.ndarray  # (P, V) int64 bit u set when unit u is involved (persistently symptomatic)
    visit_v: np.ndarray  # (P, V) vagal tone V on the visit day
    M: np.ndarray  # (P, N_SPINAL) microglia
    A: np.ndarray  # (P, N_SPINAL) astrocytes
    rho: np.ndarray  # (P, N_SPINAL) priming
    s: np.ndarray  # (P, N_SPINAL) sensitisation at the last step
    R: np.ndarray  # (P, N_HEMI) supraspinal
    O: np.ndarray  # (P, N_ORGAN) organs  # noqa: E741
    B: np.ndarray  # (P,) blood cytokine
    V: np.ndarray  # (P,) vagal tone
    recording: Recording | None = None  # chosen states over time, when the run had a Recorder

    @classmethod
    def empty(cls, n: int, n_visits: int) -> RunOutput:
        return cls(
            visit_mask=np.zeros((n, n_visits), dtype=np.int64),
            visit_v=np.zeros((n, n_visits)),
            M=np.zeros((n, N_SPINAL)),
            A=np.zeros((n, N_SPINAL)),
            rho=np.zeros((n, N_SPINAL)),
            s=np.zeros((n, N_SPINAL)),
            R=np.zeros((n, N_HEMI)),
            O=np.zeros((n, N_ORGAN)),
            B=np.zeros(n),
            V=np.zeros(n),
        )
