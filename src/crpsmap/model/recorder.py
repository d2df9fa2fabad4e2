"""Recording chosen states over time: `Sim(..., record=Recorder(states=("M", "c"), every_days=7))`.

Why: the run returns only visit masks and the final state; a mechanism study needs the course of the
states in between (when did the mirror segment ignite, how long did the hemisphere stay on). The reference
and the kernel write the chosen states at the end of every `every_days`-th day from the injury into one
array per state, patients x times x nodes, so the recording is the same in both backends and in any
chunking (each patient's course depends only on its own inputs). The per-node states of the dorsal horn
are as wide as the run's dorsal horn (`n_spinal`: N_SPINAL, or more with the somatotopic columns, which
follow the segments in network order). Unused, it costs the kernel one integer
test per simulated day. The recording is model output of a hypothesis, like every output of the simulator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crpsmap.model.network import N_HEMI, N_LIMB, N_ORGAN, N_SPINAL

#: recordable states -> (number of nodes, what it is); the order fixes their ids in the kernel
STATES: dict[str, tuple[int, str]] = {
    "M": (N_SPINAL, "microglial activation per dorsal-horn node"),
    "A": (N_SPINAL, "astrocyte activation per dorsal-horn node"),
    "rho": (N_SPINAL, "priming memory per dorsal-horn node"),
    "c": (N_SPINAL, "spinal cytokine level (last step of the day) per dorsal-horn node"),
    "s": (N_SPINAL, "sensitisation (last step of the day) per dorsal-horn node"),
    "u": (N_SPINAL, "afferent drive of injuries, traumas and surgeries per dorsal-horn node"),
    "R": (N_HEMI, "supraspinal (hemisphere) activation, right-body then left-body side"),
    "O": (N_ORGAN, "visceral system sensitisation"),
    "B": (1, "blood cytokine"),
    "V": (1, "vagal tone"),
    "I_chr": (1, "chronic infection drive"),
    "I_ac": (1, "acute infection drive"),
    "R_limb": (N_LIMB, "per-limb supraspinal nodes (network.LIMBS)"),
}
STATE_ID: dict[str, int] = {name: i for i, name in enumerate(STATES)}
N_STATES = len(STATES)
#: the per-node states of the dorsal horn: as wide as the run's dorsal horn (Topology.n_spinal)
SPINAL_STATES = frozenset(name for name, (size, _) in STATES.items() if size == N_SPINAL)


def width(name: str, n_spinal: int = N_SPINAL) -> int:
    """Columns of state `name` in a run whose dorsal horn has n_spinal nodes."""
    return n_spinal if name in SPINAL_STATES else STATES[name][0]


@dataclass(frozen=True)
class Recorder:
    """Which states to record, and how often (every `every_days` days, from day `every_days` on)."""

    states: tuple[str, ...] = ("M",)
    every_days: int = 7

    def __post_init__(self) -> None:
        unknown = [s for s in self.states if s not in STATES]
        if unknown or not self.states:
            raise ValueError(f"unknown or no states to record {unknown}; known: {', '.join(STATES)}")
        if len(set(self.states)) != len(self.states):
            raise ValueError(f"states to record must be unique: {self.states}")
        if int(self.every_days) != self.every_days or self.every_days < 1:
            raise ValueError(f"every_days must be a whole number of days >= 1, not {self.every_days}")

    def days(self, n_days: int) -> np.ndarray:
        """The recorded days (from the injury) of a run of n_days."""
        return np.arange(self.every_days, n_days + 1, self.every_days, dtype=np.int64)

    def layout(self, n_spinal: int = N_SPINAL) -> tuple[np.ndarray, int]:
        """Column offset of each state (by STATE_ID; -1: not recorded) in one row of the buffer, and the
        row width: the form the kernel writes."""
        off = np.full(N_STATES, -1, dtype=np.int64)
        row = 0
        for name in self.states:
            off[STATE_ID[name]] = row
            row += width(name, n_spinal)
        return off, row

    def buffer(self, n_patients: int, n_days: int, n_spinal: int = N_SPINAL) -> np.ndarray:
        """A zeroed buffer, patients x times x (all recorded nodes side by side)."""
        return np.zeros((n_patients, self.days(n_days).size, self.layout(n_spinal)[1]))

    def empty(self, n_days: int, n_spinal: int = N_SPINAL) -> Recording:
        """The recording of no patients (what a chunk or clinic without cases returns)."""
        return self.split(np.zeros(0, dtype=np.int64), n_days, self.buffer(0, n_days, n_spinal), n_spinal)

    def split(
        self, patients: np.ndarray, n_days: int, buf: np.ndarray, n_spinal: int = N_SPINAL
    ) -> Recording:
        """The buffer as one array per state."""
        off, _ = self.layout(n_spinal)
        out = {}
        for name in self.states:
            o = int(off[STATE_ID[name]])
            out[name] = np.ascontiguousarray(buf[:, :, o : o + width(name, n_spinal)])
        return Recording(np.asarray(patients, dtype=np.int64), self.days(n_days), out)


@dataclass(frozen=True)
class Recording:
    """Recorded states of a run (model output): patients (injury indices, the rows), days (the
    columns, days from the injury) and per state an array patients x days x nodes."""

    patients: np.ndarray
    days: np.ndarray
    states: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.states[name]

    def take(self, rows: np.ndarray) -> Recording:
        """The recording of a subset of the rows."""
        return Recording(self.patients[rows], self.days, {k: v[rows] for k, v in self.states.items()})

    @staticmethod
    def concat(parts: Sequence[Recording]) -> Recording:
        """Rows of several recordings of the same schedule, in order (e.g. the follow blocks of a clinic)."""
        if not parts:
            raise ValueError("nothing to concatenate")
        days = parts[0].days
        if any(not np.array_equal(p.days, days) or p.states.keys() != parts[0].states.keys() for p in parts):
            raise ValueError("recordings with different days or states cannot be concatenated")
        return Recording(
            np.concatenate([p.patients for p in parts]),
            days,
            {k: np.concatenate([p.states[k] for p in parts]) for k in parts[0].states},
        )
