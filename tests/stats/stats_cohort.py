"""A shared synthetic cohort for the statistics tests (a plain module: tests/conftest.py owns that name)."""

from __future__ import annotations

from functools import cache

from crpsmap.data.synthetic import random_histories
from crpsmap.history import PatientHistory
from crpsmap.spread import Classification, classify_all


@cache
def cohort_data() -> tuple[list[PatientHistory], list[Classification]]:
    histories = random_histories(400, seed=11)
    return histories, list(classify_all(histories))
