"""Data access groups: a clinician or researcher limited to one site sees, changes and exports only that
site's patients, on every page and every API operation; another site's patient answers 404, as an
unknown one."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from crpsmap.io.csv_long import write_csv_text
from crpsmap.registry import clinic
from crpsmap.registry.accounts import create_user
from crpsmap.registry.api.tokens import issue_token
from crpsmap.registry.histories import import_histories
from crpsmap.registry.models import AuditEvent, ClinicalEvent, Patient, PatientIdentity, SiteAccess, Visit
from crpsmap.registry.roles import Role
from crpsmap.registry.sites import SiteAccessError, set_site, site_of
from crpsmap.spread import classify
from registry.test_api_support import api_urls_served_fixture, bearer, research_key_fixture  # noqa: F401
from registry.test_permissions import POST_ONLY, _patterns, _url
from registry_support import make_user, sample_history

pytestmark = pytest.mark.django_db

NORTH, SOUTH = ("N1", "N2"), ("S1",)


@pytest.fixture
def clinic_of_two_sites(users: dict[str, User]) -> dict[str, Any]:
    import_histories([sample_history(c) for c in NORTH], user=users["clinician"], site="North")
    import_histories([sample_history(c) for c in SOUTH], user=users["clinician"], site="South")
    for code in NORTH + SOUTH:
        PatientIdentity.objects.create(patient=Patient.objects.get(code=code), name=f"Name of {code}")
    limited = {}
    for role in (Role.clinician, Role.researcher):
        user = make_user(f"north-{role.value}", role)
        set_site(user, "North")
        limited[role.value] = user
    return limited


def _client(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _body(r: Any) -> str:
    return (b"".join(r.streaming_content) if r.streaming else r.content).decode()


def _lists(page: str, code: str) -> bool:
    """Does a page list the patient `code` (its link or its cell)? Not a bare substring: the form's random
    CSRF token may contain it by chance."""
    return f"/patients/{code}/" in page or f">{code}<" in page


@pytest.mark.parametrize("role", ["clinician", "researcher"])
def test_limited_user_sees_only_its_site(role: str, clinic_of_two_sites: dict[str, Any]) -> None:
    c = _client(clinic_of_two_sites[role])
    listing = _body(c.get("/patients/"))
    assert all(_lists(listing, code) for code in NORTH) and not _lists(listing, "S1")
    assert not _lists(_body(c.get("/patients/?site=South")), "S1")
    assert c.get("/patients/N1/").status_code == 200
    # every page of a patient of another site answers as for an unknown patient
    s1 = Patient.objects.get(code="S1")
    ids = {
        "code": "S1",
        "visit": Visit.objects.filter(patient=s1).first().pk,  # type: ignore[union-attr]
        "event_edit": ClinicalEvent.objects.filter(patient=s1).first().pk,  # type: ignore[union-attr]
        "treatment_edit": 1,
    }
    checked = 0
    for route, p in _patterns():
        if "<str:code>" not in route or p.name in POST_ONLY:
            continue
        url = _url(route, p, ids)
        assert c.get(url).status_code in (403, 404), url  # 403 where the role has no such page at all
        assert c.get(url.replace("/S1/", "/NOPE/")).status_code == c.get(url).status_code, url
        checked += 1
    assert checked >= 8
    # the dashboard is the site's, whatever site is asked for
    page = _body(c.get("/dashboard/?site=South"))
    assert f"({len(NORTH)} patients)" in page
    report = _body(c.get("/dashboard/report/?site=South"))
    assert "site North" in report and "site South" not in report
    # exports hold the site's patients only
    rows = list(csv.DictReader(io.StringIO(_body(c.get("/export/cohort.csv")))))
    assert len({r["patient_id"] for r in rows}) == len(NORTH)
    if role == "clinician":  # the clinic export keeps the codes; the identity key is the site's too
        assert {r["patient_id"] for r in rows} == set(NORTH)
        key = _body(c.get("/export/identity.csv"))
        assert "Name of N1" in key and "Name of S1" not in key


def test_unlimited_users_see_every_site(clinic_of_two_sites: dict[str, Any], client_for: Any) -> None:
    for role in ("admin", "clinician", "researcher"):
        listing = _body(client_for(role).get("/patients/"))
        assert all(code in listing for code in NORTH + SOUTH), role


def test_limited_clinician_writes_only_to_its_site(clinic_of_two_sites: dict[str, Any]) -> None:
    c = _client(clinic_of_two_sites["clinician"])
    visits = Visit.objects.count()
    visit = {"kind": "assessment", "date": "2021-01-01", "segments": ["hand_palm_left"]}
    assert c.post("/patients/S1/visits/new/", visit).status_code == 404
    assert c.post("/patients/S1/events/new/", {"kind": "trauma", "date": "2021-01-01"}).status_code == 404
    assert Visit.objects.count() == visits
    # a new patient is the user's site's, whatever the form sends
    r = c.post("/patients/new/", {"code": "N9", "sex": "female", "crps_type": "I", "site": "South"})
    assert r.status_code == 302 and Patient.objects.get(code="N9").site == "North"
    # and a patient cannot be moved to another site
    moved = {"code": "N1", "sex": "female", "crps_type": "I", "site": "South", "reason": "moved"}
    assert c.post("/patients/N1/edit/", moved).status_code == 302
    assert Patient.objects.get(code="N1").site == "North"
    # an import lands in the user's site
    text = write_csv_text([sample_history("N7")]).encode()
    r = c.post("/import/", {"file": SimpleUploadedFile("n7.csv", text, "text/csv"), "site": "South"})
    assert r.status_code == 200 and Patient.objects.get(code="N7").site == "North"


def test_api_follows_the_site_limit(
    clinic_of_two_sites: dict[str, Any], api_urls_served: None, research_key: str
) -> None:
    c = Client()
    h = bearer(issue_token(clinic_of_two_sites["clinician"], name="north")[0])
    listed = c.get("/api/patients", {"page_size": 100}, **h).json()
    assert listed["count"] == len(NORTH) and {p["code"] for p in listed["items"]} == set(NORTH)
    assert c.get("/api/patients/S1", **h).status_code == 404
    assert c.get("/api/patients/S1/spread", **h).status_code == 404
    assert c.get("/api/patients/N1", **h).status_code == 200
    visit = '{"date": "2021-05-01", "kind": "assessment", "regions": ["knee_left"]}'
    before = Visit.objects.count()
    r = c.generic("POST", "/api/patients/S1/visits", visit, content_type="application/json", **h)
    assert r.status_code == 404 and Visit.objects.count() == before
    other = '{"code": "N8", "site": "South"}'
    assert c.generic("POST", "/api/patients", other, content_type="application/json", **h).status_code == 403
    assert not Patient.objects.filter(code="N8").exists()
    own = c.generic("POST", "/api/patients", '{"code": "N8"}', content_type="application/json", **h)
    assert own.status_code == 201 and own.json()["site"] == "North"
    stats = c.get("/api/cohort/statistics", {"site": "South"}, **h).json()
    assert stats["n_patients"] == len(NORTH) + 1
    rows = list(csv.DictReader(io.StringIO(c.get("/api/export/cohort.csv", **h).content.decode())))
    assert {r["patient_id"] for r in rows} == set(NORTH)  # (N8 has no records yet)


def test_like_this_of_a_limited_user_comes_from_its_site(clinic_of_two_sites: dict[str, Any]) -> None:
    # a southern patient whose history makes the clinic's figures differ from the North's
    import_histories([sample_history("S2")], site="South")
    snap = clinic.snapshot()
    north = [classify(snap.histories[c]) for c in NORTH]
    assert clinic.like_this_for("North") == clinic.like_this_by_girdle(north)
    everyone = [classify(h) for h in snap.histories.values()]
    assert clinic.like_this_for(None) == clinic.like_this_by_girdle(everyone)


def test_who_can_be_limited(users: dict[str, User], client_for: Any) -> None:
    for role in ("admin", "auditor"):
        with pytest.raises(SiteAccessError):
            set_site(users[role], "North")
    assert not SiteAccess.objects.exists()
    admin = client_for("admin")
    password = "a long enough passphrase 7"
    new = {"username": "aud", "role": "auditor", "site": "North", "password": password}
    r = admin.post("/users/new/", new)
    assert r.status_code == 200 and "only clinicians and researchers" in r.content.decode()
    assert not User.objects.filter(username="aud").exists()
    r = admin.post("/users/new/", {**new, "username": "res", "role": "researcher"})
    assert r.status_code == 302 and site_of(User.objects.get(username="res")) == "North"
    line = AuditEvent.objects.filter(action="create_user").latest("id")
    assert line.detail["site"] == "North"
    # lifted again by an admin (an empty site: every site), audited
    res = User.objects.get(username="res")
    r = admin.post(f"/users/{res.pk}/", {"role": "researcher", "site": "", "is_active": "on"})
    assert r.status_code == 302 and site_of(User.objects.get(username="res")) is None
    assert AuditEvent.objects.filter(action="change_user").latest("id").detail["site"] == "every site"
    # the command line's path: an auditor cannot be limited, and nothing is created then
    with pytest.raises(ValueError, match="only clinicians and researchers"):
        create_user("aud2", Role.auditor, password, site="North")
    assert not User.objects.filter(username="aud2").exists()
    assert site_of(create_user("cli", Role.clinician, password, site="South")) == "South"
