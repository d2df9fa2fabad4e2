"""Cohorts for comparing implementations: the smooth synthetic generator and a rough one with the awkward
cases (several limbs at onset, second and third limb on one date, no involvement record, unknown sex or
birth year, same-day records, visceral areas, dates on a coarse grid for ties). A plain module."""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np

from crpsmap.data import example_cohort_path
from crpsmap.data.synthetic import random_histories
from crpsmap.history import PatientHistory, Record, RecordKind, Sex
from crpsmap.io import read_csv
from crpsmap.spread import Classification, classify_all

POOL = (
    "hand_right",
    "hand_left",
    "wrist_right",
    "forearm_left",
    "foot_right",
    "foot_left",
    "ankle_left",
    "knee_right",
    "thigh_left",
    "shoulder_right",
    "chest_left",
    "lower_back_right",
    "visceral_bladder",
    "visceral_gastrointestinal",
)
KINDS = (
    RecordKind.onset,
    RecordKind.assessment,
    RecordKind.assessment,
    RecordKind.assessment,
    RecordKind.trauma,
    RecordKind.surgery,
    RecordKind.infection,
    RecordKind.treatment_start,
)


def rough_histories(n: int, seed: int, grid_days: int = 1, hrv_share: float = 0.6) -> list[PatientHistory]:
    """`n` patients with random records; dates are multiples of `grid_days` after 2015-01-01; a record
    has an HRV value with probability `hrv_share`."""
    rng = np.random.default_rng(seed)
    out: list[PatientHistory] = []
    for i in range(n):
        day = int(rng.integers(0, 1500))
        records = []
        for _ in range(int(rng.integers(0, 9))):
            day += int(rng.choice([0, 0, 1, 2, 5, 30, 90, 200]))
            kind = KINDS[int(rng.integers(0, len(KINDS)))]
            k = int(rng.integers(1, 7) if kind is RecordKind.onset else rng.integers(0, 4))
            regions = tuple(dict.fromkeys(POOL[int(j)] for j in rng.integers(0, len(POOL), k)))
            hrv = float(np.round(rng.lognormal(3.4, 0.4), 1)) if rng.random() < hrv_share else None
            records.append(
                Record(
                    date=dt.date(2015, 1, 1) + dt.timedelta(days=day // grid_days * grid_days),
                    kind=kind,
                    regions=regions,
                    hrv_rmssd=hrv,
                )
            )
        out.append(
            PatientHistory(
                patient_id=f"R{seed}-{i:04d}",
                sex=tuple(Sex)[int(rng.choice(4, p=[0.6, 0.3, 0.05, 0.05]))],
                birth_year=None if rng.random() < 0.08 else int(rng.integers(1940, 2000)),
                records=tuple(records),
            )
        )
    return out


NAMES = ("synthetic", "single_record", "short", "rough", "rough_ties", "rough_no_hrv", "example", "empty")


@cache
def cohorts() -> dict[str, tuple[list[PatientHistory], list[Classification]]]:
    made = {
        "synthetic": random_histories(300, seed=5),
        "single_record": random_histories(40, seed=6, records_per_patient=1),
        "short": random_histories(80, seed=7, records_per_patient=3),
        "rough": rough_histories(400, seed=1),
        "rough_ties": rough_histories(400, seed=2, grid_days=30),
        "rough_no_hrv": rough_histories(300, seed=4, hrv_share=0.04),
        "example": read_csv(example_cohort_path()),
        "empty": [],
    }
    return {k: (h, list(classify_all(h))) for k, h in made.items()}
