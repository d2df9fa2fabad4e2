"""Struct-of-arrays inputs and outputs of one simulation run (a batch of virtual patients).

Both the NumPy reference and the Numba kernel take exactly these arrays, so they can be compared and a
chunk of patients can be shipped to a worker as plain arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from crpsmap.model.effects import N_BUILTIN_INTERVENTIONS
from crpsmap.model.network import N_HEMI, N_LIMB, N_ORGAN, N_SPINAL
from crpsmap.model.recorder import Recording

#: columns of iv_start / iv_stop that always exist: the built-in interventions (effects.BUILTIN); a
#: registered intervention adds one (interventions.schedule), and inputs with fewer columns are valid
N_IV = N_BUILTIN_INTERVENTIONS
NEVER = np.iinfo(np.int64).max // 4


def no_priming() -> np.ndarray:
    """The neutral initial priming: an empty (0, N_SPINAL) array, i.e. every node starts at rho = 0
    (an empty array also leaves digests of the inputs unchanged)."""
    return np.zeros((0, N_SPINAL))


#: per-patient inputs that may be left empty (their neutral value for every patient: today's model)
OPTIONAL_INPUTS = ("rho0", "phi", "crosstalk_group")


def no_share() -> np.ndarray:
    """The neutral T-cell share: an empty (0,) array, i.e. phi_i = 0 for every patient."""
    return np.zeros(0)


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
    #: (P, N_SPINAL) initial priming rho(0) per node (patient-level modifiers: age, prior pain), or the
    #: empty (0, N_SPINAL) array = all zero, today's model
    rho0: np.ndarray = field(default_factory=no_priming)
    #: (P,) share phi_i of microglial activation through T cells (sex modifier), or empty = all zero
    phi: np.ndarray = field(default_factory=no_share)
    #: (P,) membership w_i in [0, 1] of the cross-talk subgroup (CohortParams.p_crosstalk_group): the
    #: descending cross-talk is (1 - w_i) c_desc + w_i c_desc_group; or empty = 0 for every patient
    crosstalk_group: np.ndarray = field(default_factory=no_share)

    @property
    def n(self) -> int:
        return int(self.patient.shape[0])

    def check_modifiers(self) -> None:
        """rho0 must be empty (no priming) or one row of N_SPINAL values in [0, 1] per patient; phi
        and crosstalk_group empty or one share in [0, 1] per patient."""
        r = self.rho0
        if r.shape[0] and r.shape != (self.n, N_SPINAL):
            raise ValueError(f"rho0 has shape {r.shape}; expected (0, {N_SPINAL}) or ({self.n}, {N_SPINAL})")
        if r.shape[0] and not (np.all(r >= 0.0) and np.all(r <= 1.0)):
            raise ValueError("rho0 (initial priming) must lie in [0, 1]")
        for name in ("phi", "crosstalk_group"):
            x = getattr(self, name)
            if x.shape[0] and (x.shape != (self.n,) or not (np.all(x >= 0.0) and np.all(x <= 1.0))):
                raise ValueError(f"{name} must be empty or ({self.n},) values in [0, 1], got shape {x.shape}")

    def without_infection(self) -> PatientInputs:
        """The same patients with chronic and acute infection drive removed (mechanism switched off)."""
        amp = np.where(self.ev_unit < 0, 0.0, self.ev_amp)
        fields = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return PatientInputs(**{**fields, "infection": np.zeros_like(self.infection), "ev_amp": amp})

    def take(self, rows: np.ndarray) -> PatientInputs:
        """The inputs of a subset of patients (same streams: a patient's trajectory does not change)."""
        return PatientInputs(
            **{
                k: np.ascontiguousarray(getattr(self, k) if self._unset(k) else getattr(self, k)[rows])
                for k in self.__dataclass_fields__
            }
        )

    def _unset(self, name: str) -> bool:
        """An optional per-patient input left at its empty neutral value (kept empty by take)."""
        return name in OPTIONAL_INPUTS and getattr(self, name).shape[0] == 0


@dataclass
class RunOutput:
    """What a run returns: the observations at visit days and the final state."""

    visit_mask: np.ndarray  # (P, V) int64 bit u set when unit u is involved (persistently symptomatic)
    visit_v: np.ndarray  # (P, V) vagal tone V on the visit day
    M: np.ndarray  # (P, N_SPINAL) microglia; M, A, rho, s: n_spinal columns with Mechanisms.somatotopy
    A: np.ndarray  # (P, N_SPINAL) astrocytes
    rho: np.ndarray  # (P, N_SPINAL) priming
    s: np.ndarray  # (P, N_SPINAL) sensitisation at the last step
    R: np.ndarray  # (P, N_HEMI) supraspinal
    O: np.ndarray  # (P, N_ORGAN) organs  # noqa: E741
    B: np.ndarray  # (P,) blood cytokine
    V: np.ndarray  # (P,) vagal tone
    #: (P, N_LIMB) per-limb supraspinal nodes (network.LIMBS order); all zero unless
    #: Mechanisms.limb_representations is on (then R, the hemisphere nodes, stays zero instead)
    R_limb: np.ndarray
    recording: Recording | None = None  # chosen states over time, when the run had a Recorder

    @classmethod
    def empty(cls, n: int, n_visits: int, n_spinal: int = N_SPINAL) -> RunOutput:
        """Zeroed outputs; n_spinal: dorsal-horn nodes (more than N_SPINAL with Mechanisms.somatotopy)."""
        return cls(
            visit_mask=np.zeros((n, n_visits), dtype=np.int64),
            visit_v=np.zeros((n, n_visits)),
            M=np.zeros((n, n_spinal)),
            A=np.zeros((n, n_spinal)),
            rho=np.zeros((n, n_spinal)),
            s=np.zeros((n, n_spinal)),
            R=np.zeros((n, N_HEMI)),
            O=np.zeros((n, N_ORGAN)),
            B=np.zeros(n),
            V=np.zeros(n),
            R_limb=np.zeros((n, N_LIMB)),
        )
