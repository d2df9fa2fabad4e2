from __future__ import annotations

import pytest

from crpsmap.data.synthetic import random_histories
from crpsmap.history import PatientHistory
from crpsmap.spread import Classification, classify_all


@pytest.fixture(scope="session")
def cohort() -> tuple[list[PatientHistory], list[Classification]]:
    histories = random_histories(400, seed=11)
    return histories, list(classify_all(histories))
