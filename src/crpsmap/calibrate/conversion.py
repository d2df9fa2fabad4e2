"""Injury -> CRPS conversion of a virtual clinic, overall and by kind of injury (model output).

Why: the calibration keeps the overall conversion inside a band sourced for fractures
(`distance.PLAUSIBLE_CONVERSION`, docs/plausibility.md 3.1), but the model's injuries are fractures and
other injuries (sprains, contusions; `CohortParams.p_fracture`). The sourced figures are conversion among
fractures, so the honest comparison is the model's conversion among its fractures, reported here beside
the conversion among its other injuries (for which no source was found) and the overall share.

A virtual injury "becomes CRPS" when a body area is involved at the diagnostic first visit (`Sim.screen`),
not by the Budapest (Harden-Bruehl) criteria of the studies: the comparison is of rates, not definitions.
The studies' fractures are wrist, scaphoid, ankle and metatarsal fractures; the model's are any injury of
its onset sites drawn as a fracture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from crpsmap.calibrate.distance import PLAUSIBLE_CONVERSION
from crpsmap.model import Sim
from crpsmap.model.cohort import injury_is_fracture
from crpsmap.stats.proportions import Proportion, wilson_interval


@dataclass(frozen=True)
class FractureStudy:
    """A published conversion rate after fracture: the share and its 95% interval, as the study gives it
    (or, where it gives counts only, the Wilson interval of the counts, said in `interval_from`)."""

    key: str
    source: str
    cohort: str
    criteria: str
    share: float
    ci_low: float
    ci_high: float
    interval_from: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "source": self.source,
            "cohort": self.cohort,
            "criteria": self.criteria,
            "share": self.share,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "interval_from": self.interval_from,
        }


def _beerthuizen_2012() -> FractureStudy:
    count, n = 42, 596
    ci = wilson_interval(count, n)
    assert ci is not None
    return FractureStudy(
        "beerthuizen2012",
        "Beerthuizen A, Stronks DL, van't Spijker A, Yaksh A, Hanraets BM, Klein J, Huygen FJPM. Demographic "
        "and medical parameters in the development of complex regional pain syndrome type 1 (CRPS1): "
        "prospective study on 596 patients with a fracture. Pain 2012;153(6):1187-1192. "
        "doi:10.1016/j.pain.2012.01.026",
        "596 patients with a single fracture of wrist, scaphoid, ankle or metatarsal V",
        "Harden-Bruehl (Budapest research) criteria: 42/596; 127 (21.3%) by Veldman's and 289 (48.5%) by "
        "the IASP 1994 criteria in the same patients",
        count / n,
        ci[0],
        ci[1],
        "Wilson 95% interval of 42/596 (computed here; the abstract gives counts)",
    )


#: conversion after fracture under strict criteria (docs/plausibility.md 3.1): the figures a virtual
#: clinic's conversion among fractures is compared with
FRACTURE_STUDIES: tuple[FractureStudy, ...] = (
    FractureStudy(
        "moseley2014",
        "Moseley GL, Herbert RD, Parsons T, Lucas S, Van Hilten JJ, Marinus J. Intense pain soon after wrist "
        "fracture strongly predicts who will develop complex regional pain syndrome: prospective cohort "
        "study. J Pain 2014;15(1):16-23. doi:10.1016/j.jpain.2013.08.009",
        "1,549 nonsurgically managed wrist fractures, CRPS within 4 months",
        "Budapest research criteria",
        0.038,
        0.029,
        0.048,
        "as published (95% CI)",
    ),
    _beerthuizen_2012(),
)


@dataclass(frozen=True)
class ConversionSplit:
    """Injuries screened and cases found, overall and by kind of the inciting injury (model output)."""

    injuries: int
    cases: int
    fracture_injuries: int
    fracture_cases: int

    def __post_init__(self) -> None:
        if not 0 <= self.fracture_cases <= self.fracture_injuries <= self.injuries:
            raise ValueError("conversion split: fracture counts must fit inside the totals")
        if not 0 <= self.cases - self.fracture_cases <= self.injuries - self.fracture_injuries:
            raise ValueError("conversion split: other-injury counts must fit inside the totals")

    @property
    def overall(self) -> Proportion:
        return Proportion.of(self.cases, self.injuries)

    @property
    def fractures(self) -> Proportion:
        return Proportion.of(self.fracture_cases, self.fracture_injuries)

    @property
    def other(self) -> Proportion:
        """Sprains, contusions and other injuries: no conversion figure was found for them."""
        return Proportion.of(self.cases - self.fracture_cases, self.injuries - self.fracture_injuries)

    def compare(self) -> list[dict[str, Any]]:
        """Each fracture study beside the model's conversion among fractures: do the two 95% intervals
        overlap (None when the model has no fracture)?"""
        f = self.fractures
        out = []
        for s in FRACTURE_STUDIES:
            overlap = None
            if f.ci_low is not None and f.ci_high is not None:
                overlap = f.ci_low <= s.ci_high and s.ci_low <= f.ci_high
            out.append({**s.to_dict(), "model_fractures": f.proportion, "intervals_overlap": overlap})
        return out

    def to_dict(self) -> dict[str, Any]:
        lo, hi = PLAUSIBLE_CONVERSION
        p = self.overall.proportion
        return {
            "model_output": True,
            "overall": self.overall.to_dict(),
            "fractures": self.fractures.to_dict(),
            "other_injuries": self.other.to_dict(),
            "plausible_band": [lo, hi],
            "overall_inside_band": None if p is None else lo <= p <= hi,
            "fracture_studies": self.compare(),
        }


def split(fracture: np.ndarray, converted: np.ndarray) -> ConversionSplit:
    """The split of per-injury flags: `fracture` (was the injury a fracture) and `converted` (did it
    become CRPS), both over the same injuries."""
    fracture = np.asarray(fracture, dtype=bool)
    converted = np.asarray(converted, dtype=bool)
    if fracture.shape != converted.shape or fracture.ndim != 1:
        raise ValueError("fracture and converted must be flags over the same injuries")
    return ConversionSplit(
        injuries=int(fracture.size),
        cases=int(converted.sum()),
        fracture_injuries=int(fracture.sum()),
        fracture_cases=int((fracture & converted).sum()),
    )


def split_of_cases(sim: Sim, cases: np.ndarray, n_injuries: int) -> ConversionSplit:
    """The split of a funnel: injuries 0 .. n_injuries-1 were screened and `cases` (their indices) became
    CRPS, as `Sim.find_cases` returns them."""
    cases = np.asarray(cases, dtype=np.int64)
    if cases.size and (cases.min() < 0 or cases.max() >= n_injuries):
        raise ValueError("every case must be one of the injuries screened")
    converted = np.zeros(n_injuries, dtype=bool)
    converted[cases] = True
    fracture = injury_is_fracture(sim.seed, np.arange(n_injuries, dtype=np.int64), sim.cohort)
    return split(fracture, converted)


def clinic_conversion(sim: Sim, n_patients: int) -> ConversionSplit:
    """The conversion split of the virtual clinic `sim.clinic(n_patients)` would make: the same screening
    (the first n_patients cases in injury order), without following the cases."""
    cases, screened = sim.find_cases(n_patients)
    return split_of_cases(sim, cases, screened)
