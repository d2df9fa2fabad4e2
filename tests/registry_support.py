"""Shared registry test helpers (importable as `registry_support`: tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import Group, User

from crpsmap.history import PatientHistory, Record
from crpsmap.registry.roles import Role

IDENTITY_NAME = "Ada Identifiable-Person"
IDENTITY_RECORD = "MRN-778899"


def make_user(name: str, role: Role | None) -> User:
    user = User.objects.create_user(name, password="not-used-in-tests-1")
    if role is not None:
        group, _ = Group.objects.get_or_create(name=role.value)
        user.groups.add(group)
    return user


def sample_history(code: str = "P001") -> PatientHistory:
    d = dt.date.fromisoformat
    return PatientHistory(
        patient_id=code,
        sex="female",
        birth_year=1970,
        crps_type="I",
        records=(
            Record(date=d("2020-01-10"), kind="onset", regions=("hand_palm_right", "hand_top_right")),
            Record(
                date=d("2020-04-10"), kind="assessment", regions=("hand_right", "hand_left"), pain=6.5, css=9
            ),
            Record(date=d("2020-09-01"), kind="trauma", regions=("ankle_left",)),
            Record(
                date=d("2020-10-01"),
                kind="assessment",
                regions=("hand_right", "hand_left", "ankle_left"),
                hrv_rmssd=31.5,
            ),
        ),
    )
