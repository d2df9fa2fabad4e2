"""Time-scheduled interventions: which model channel each acts on, and when it is given.

Strengths live in ModelParams (vns_dV, e_sys, e_glia, e_IT, tau_clear); an Intervention only says when.
Model output only: these are hypothesis tests in a simulator, not treatment advice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from crpsmap.model.arrays import IV_CLEAR, IV_GLIA, IV_INTRATHECAL, IV_SYSTEMIC, IV_VAGAL, N_IV, NEVER

#: name -> (channel, what it does in the model)
CATALOGUE: dict[str, tuple[int, str]] = {
    "vagal_stimulation": (
        IV_VAGAL,
        "vagal tone V raised by vns_dV (inflammatory reflex, central inhibition)",
    ),
    "anti_inflammatory": (IV_SYSTEMIC, "peripheral (blood) cytokine production scaled by 1 - e_sys"),
    "glial_inhibitor": (IV_GLIA, "microglial activation rate scaled by 1 - e_glia (minocycline-like)"),
    "intrathecal_anticytokine": (IV_INTRATHECAL, "spinal cytokine activity scaled by 1 - e_IT"),
    "infection_cleared": (IV_CLEAR, "chronic infection drive decays with time constant tau_clear"),
}

Anchor = Literal["enrolment", "injury"]


@dataclass(frozen=True)
class Intervention:
    """Give `name` from start_day to stop_day (None: to the end), counted from the anchor event.

    anchor "enrolment" is the patient's first clinic visit; "injury" is the inciting injury (day 0).
    """

    name: str
    start_day: int = 0
    stop_day: int | None = None
    anchor: Anchor = "enrolment"

    def __post_init__(self) -> None:
        if self.name not in CATALOGUE:
            raise ValueError(f"unknown intervention {self.name!r}; known: {', '.join(CATALOGUE)}")
        if self.start_day < 0:
            raise ValueError(f"intervention {self.name}: start_day must be 0 or later (days after anchor)")
        if self.stop_day is not None and self.stop_day <= self.start_day:
            raise ValueError(f"intervention {self.name}: stop_day must be after start_day")

    @property
    def channel(self) -> int:
        return CATALOGUE[self.name][0]


def parse_intervention(text: str) -> Intervention:
    """`name`, `name@start`, `name@start:stop` (days after enrolment) or `name@injury+start[:stop]`."""
    name, _, when = text.strip().partition("@")
    if not when:
        return Intervention(name)
    anchor: Anchor = "enrolment"
    if when.startswith("injury+"):
        anchor, when = "injury", when[len("injury+") :]
    start, _, stop = when.partition(":")
    try:
        return Intervention(name, int(start), int(stop) if stop else None, anchor)
    except ValueError as exc:
        raise ValueError(f"cannot read intervention {text!r}: {exc}") from None


def schedule(
    interventions: tuple[Intervention, ...], enrolment_day: np.ndarray, steps_per_day: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-patient (start, stop) steps of each channel; a channel given twice keeps its last schedule."""
    n = enrolment_day.shape[0]
    start = np.full((n, N_IV), NEVER, dtype=np.int64)
    stop = np.full((n, N_IV), NEVER, dtype=np.int64)
    for iv in interventions:
        base = enrolment_day if iv.anchor == "enrolment" else np.zeros(n, dtype=np.int64)
        start[:, iv.channel] = (base + iv.start_day) * steps_per_day
        stop[:, iv.channel] = NEVER if iv.stop_day is None else (base + iv.stop_day) * steps_per_day
    return start, stop
