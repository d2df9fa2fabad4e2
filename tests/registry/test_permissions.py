"""The permission matrix: every URL as every role and as an anonymous visitor, checked against the one
table in registry/roles.py. Nothing is reachable that should not be, and a researcher never sees
identity or free-text notes."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from crpsmap.registry.models import ClinicalEvent, Patient, Treatment, Visit
from crpsmap.registry.roles import PERMISSIONS, Action, Role
from registry_support import IDENTITY_NAME, IDENTITY_RECORD

OPEN_VIEWS = {"healthz", "login"}  # no login needed
POST_ONLY = {"visit_sign", "logout", "token_revoke"}
NOTE = "Patient said her neighbour Mrs Q. drove her in"


def _walk(patterns: list[Any], prefix: str) -> list[tuple[str, URLPattern]]:
    out: list[tuple[str, URLPattern]] = []
    for p in patterns:
        if isinstance(p, URLPattern):
            out.append((prefix + str(p.pattern), p))
        elif isinstance(p, URLResolver) and p.namespace != "api":
            out.extend(_walk(p.url_patterns, prefix + str(p.pattern)))
    return out


def _patterns() -> list[tuple[str, URLPattern]]:
    """Every page of the URL map with its full route, included ones too; the JSON API (namespace "api")
    has its own matrix, built from its OpenAPI document (test_api_permissions.py)."""
    return _walk(get_resolver().url_patterns, "")


def _url(route: str, p: URLPattern, ids: dict[str, Any]) -> str:
    kwargs = {"code": ids["code"], "pk": ids.get(p.name, ids["visit"])}
    for k, v in kwargs.items():
        route = route.replace(f"<str:{k}>", str(v)).replace(f"<int:{k}>", str(v))
    return "/" + route


@pytest.fixture
def ids(patient: Patient, users: dict[str, Any]) -> dict[str, Any]:
    v = Visit.objects.filter(patient=patient).first()
    assert v is not None
    v.note = NOTE
    v.save()
    t = Treatment.objects.create(patient=patient, name="physiotherapy", start=v.date, start_seq=99)
    e = ClinicalEvent.objects.filter(patient=patient).first()
    assert e is not None
    return {
        "code": patient.code,
        "visit": v.pk,
        "visit_edit": v.pk,
        "visit_sign": v.pk,
        "event_edit": e.pk,
        "treatment_edit": t.pk,
        "user_edit": users["researcher"].pk,
    }


def test_every_registry_view_declares_its_action() -> None:
    for _, p in _patterns():
        if p.name in OPEN_VIEWS | {"home", "logout"}:
            continue
        assert isinstance(getattr(p.callback, "required_action", None), Action), p.name


@pytest.mark.django_db
@pytest.mark.parametrize("role", [None, *(r.value for r in Role)])
def test_permission_matrix(role: str | None, client_for: Any, ids: dict[str, Any]) -> None:
    client = client_for(role)
    checked = 0
    for route, p in _patterns():
        if p.name in OPEN_VIEWS or p.name == "logout":
            continue
        url = _url(route, p, ids)
        r = client.get(url)
        action = getattr(p.callback, "required_action", None)
        if p.name == "home" or role is None:  # home redirects every role to its own landing page
            expected = 302
        elif Role(role) in PERMISSIONS[action]:
            expected = 405 if p.name in POST_ONLY else 200
        else:
            expected = 403
        assert r.status_code == expected, (role, p.name, url, r.status_code)
        if role is None:
            assert r["Location"].startswith("/login/"), (p.name, r["Location"])
        checked += 1
    assert checked >= 20


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["researcher", "auditor"])
def test_writes_refused_and_nothing_written(role: str, client_for: Any, ids: dict[str, Any]) -> None:
    client = client_for(role)
    before = (Patient.objects.count(), Visit.objects.count(), ClinicalEvent.objects.count())
    code = ids["code"]
    posts = {
        "/patients/new/": {"code": "X9", "sex": "female", "crps_type": "I"},
        f"/patients/{code}/visits/new/": {
            "kind": "assessment",
            "date": "2021-01-01",
            "segments": ["hand_palm_left"],
        },
        f"/patients/{code}/events/new/": {"kind": "trauma", "date": "2021-01-01"},
        f"/patients/{code}/visits/{ids['visit']}/sign/": {},
        f"/patients/{code}/edit/": {"code": code, "sex": "male", "crps_type": "I"},
        "/users/new/": {"username": "mallory", "role": "admin", "password": "correct-horse-battery"},
    }
    for url, data in posts.items():
        assert client.post(url, data).status_code == 403, url
    assert (Patient.objects.count(), Visit.objects.count(), ClinicalEvent.objects.count()) == before
    assert Patient.objects.get(code=code).sex == "female"
    assert not Visit.objects.filter(signed_at__isnull=False).exists()


@pytest.mark.django_db
def test_researcher_never_sees_identity_or_notes(client_for: Any, ids: dict[str, Any]) -> None:
    researcher, clinician = client_for("researcher"), client_for("clinician")
    code = ids["code"]
    pages = [
        "/patients/",
        f"/patients/{code}/",
        "/export/cohort.csv",
        "/export/redcap.csv",
        "/export/bundle.fhir.json",
        "/dashboard/",
        "/dashboard/report/",
        f"/patients/?q={IDENTITY_NAME[:5]}",
    ]
    for url in pages:
        r = researcher.get(url)
        body = (b"".join(r.streaming_content) if r.streaming else r.content).decode()
        for secret in (IDENTITY_NAME, IDENTITY_RECORD, NOTE):
            assert secret not in body, (url, secret)
    # searching by name finds nobody for a researcher (and the patient for a clinician)
    assert code not in researcher.get(f"/patients/?q={IDENTITY_NAME[:5]}").content.decode()
    assert code in clinician.get(f"/patients/?q={IDENTITY_NAME[:5]}").content.decode()
    # the same pages do show identity and notes to a clinician: the check above can fail
    page = clinician.get(f"/patients/{code}/").content.decode()
    assert IDENTITY_NAME in page and IDENTITY_RECORD in page and NOTE in page


@pytest.mark.django_db
def test_role_less_and_inactive_users_get_nothing(
    users: dict[str, Any], client_for: Any, ids: dict[str, Any]
) -> None:
    from django.test import Client

    from registry_support import make_user

    nobody = Client()
    nobody.force_login(make_user("no-role", None))
    assert nobody.get("/").status_code == 403
    assert nobody.get(f"/patients/{ids['code']}/").status_code == 403
    c = client_for("clinician")
    users["clinician"].is_active = False
    users["clinician"].save()
    assert c.get(f"/patients/{ids['code']}/").status_code in (302, 403)


@pytest.mark.django_db
def test_open_urls_and_security_headers(client_for: Any) -> None:
    anon = client_for(None)
    r = anon.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    r = anon.get("/login/")
    assert r.status_code == 200
    csp = r["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[1].split(";")[0]
    assert r["X-Content-Type-Options"] == "nosniff"
    assert anon.post("/logout/").status_code == 302
