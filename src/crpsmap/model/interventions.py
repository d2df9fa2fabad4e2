"""Time-scheduled interventions: when each is given. What each does is a row of the table of effects
(effects.py: the channel of the equations it acts on and the ModelParams strength); an Intervention only
says when. Model output only: these are hypothesis tests in a simulator, not treatment advice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from crpsmap.model.arrays import NEVER
from crpsmap.model.effects import CATALOGUE, intervention_columns

__all__ = ["CATALOGUE", "Anchor", "Intervention", "parse_intervention", "schedule"]

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
        """The column of this intervention in PatientInputs.iv_start / iv_stop."""
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
    """Per-patient (start, stop) steps of each intervention column; one given twice keeps its last
    schedule. One column per registered intervention (effects.intervention_columns)."""
    n = enrolment_day.shape[0]
    k = len(intervention_columns())
    start = np.full((n, k), NEVER, dtype=np.int64)
    stop = np.full((n, k), NEVER, dtype=np.int64)
    for iv in interventions:
        base = enrolment_day if iv.anchor == "enrolment" else np.zeros(n, dtype=np.int64)
        start[:, iv.channel] = (base + iv.start_day) * steps_per_day
        stop[:, iv.channel] = NEVER if iv.stop_day is None else (base + iv.stop_day) * steps_per_day
    return start, stop
