"""Every page renders for a clinician with a real patient (a crash anywhere fails here first)."""

from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_pages_render_for_clinician(client_for, patient) -> None:
    c = client_for("clinician")
    v = patient.visit_set.first()
    e = patient.clinicalevent_set.first()
    for url in [
        "/patients/",
        "/patients/?spread=yes&limbs=2",
        "/patients/new/",
        f"/patients/{patient.code}/",
        f"/patients/{patient.code}/edit/",
        f"/patients/{patient.code}/identity/",
        f"/patients/{patient.code}/visits/new/",
        f"/patients/{patient.code}/visits/{v.pk}/edit/",
        f"/patients/{patient.code}/events/new/?kind=surgery",
        f"/patients/{patient.code}/events/{e.pk}/edit/",
        f"/patients/{patient.code}/treatments/new/",
        "/dashboard/",
        "/dashboard/report/",
        "/import/",
        "/export/",
        "/export/cohort.csv",
        "/export/identity.csv",
    ]:
        r = c.get(url)
        assert r.status_code == 200, (url, r.status_code, r.content[:2000])
    a = client_for("admin")
    for url in ["/audit/", "/users/", "/users/new/"]:
        r = a.get(url)
        assert r.status_code == 200, (url, r.content[:2000])
