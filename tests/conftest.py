"""Shared test helpers: build patient histories from compact tuples."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import pytest

from crpsmap.history import PatientHistory, Record

Row = tuple[str, str, str]  # (ISO date, kind, ";"-separated regions)


def build_history(rows: Sequence[Row], patient_id: str = "T1", **patient: object) -> PatientHistory:
    records = [Record(date=dt.date.fromisoformat(d), kind=k, regions=r) for d, k, r in rows]  # type: ignore[arg-type]
    return PatientHistory.model_validate({"patient_id": patient_id, "records": records, **patient})


@pytest.fixture
def history() -> Callable[..., PatientHistory]:
    return build_history
