"""Registry fixtures: one user per role, a small clinic, logged-in clients."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from crpsmap.registry.histories import import_histories
from crpsmap.registry.models import Patient, PatientIdentity
from crpsmap.registry.roles import Role
from registry_support import IDENTITY_NAME, IDENTITY_RECORD, make_user, sample_history


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a `crpsmap` subprocess: this one's, less the test run's database settings, with
    its own data folder."""
    e = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "CRPSMAP_DATABASE", "CRPSMAP_TEST_DATABASE")
    }
    e.update(CRPSMAP_DATA_DIR=str(tmp_path / "data"), CRPSMAP_SECRET_KEY="x", PYTHONUNBUFFERED="1")
    return e


@pytest.fixture
def users(db: None) -> dict[str, User]:
    return {r.value: make_user(f"u-{r.value}", r) for r in Role}


@pytest.fixture
def client_for(users: dict[str, User]) -> Callable[[str | None], Client]:
    def make(role: str | None) -> Client:
        c = Client()
        if role is not None:
            c.force_login(users[role])
        return c

    return make


@pytest.fixture
def patient(users: dict[str, User]) -> Patient:
    import_histories([sample_history()], user=users["clinician"], site="North")
    p = Patient.objects.get(code="P001")
    PatientIdentity.objects.create(patient=p, name=IDENTITY_NAME, record_number=IDENTITY_RECORD)
    return p
