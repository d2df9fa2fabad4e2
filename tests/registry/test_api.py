"""The JSON API: tokens (only the hash kept; expiry, revocation, deactivated users, wrong tokens, no
cookies), every endpoint's answers, validation shared with the web forms, the audit line of each call,
the OpenAPI document's rules, and the token pages and command line."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from crpsmap.atlas import load_atlas
from crpsmap.history import Record
from crpsmap.io.csv_long import read_csv_bytes, write_csv_text
from crpsmap.registry.api.schemas import region_slugs
from crpsmap.registry.api.tokens import TOKEN_RE, issue_token, revoke_token, token_hash
from crpsmap.registry.histories import import_histories, load_histories
from crpsmap.registry.models import (
    API_TOKEN_DEFAULT_DAYS,
    API_TOKEN_MAX_DAYS,
    ApiToken,
    AuditEvent,
    ClinicalEvent,
    Patient,
    PatientIdentity,
    Visit,
)
from crpsmap.registry.reports import dashboard_report
from crpsmap.registry.roles import Role
from crpsmap.spread import classify
from registry.test_api_support import (  # noqa: F401 - fixtures
    api_urls_served_fixture,
    bearer,
    call_fixture,
    research_key_fixture,
    tokens_fixture,
)
from registry_support import IDENTITY_NAME, IDENTITY_RECORD, make_user, sample_history

pytestmark = pytest.mark.django_db
NOTE = "Seen with her neighbour Mrs Q., who drove her in"
VISIT = {"date": "2021-03-01", "kind": "assessment", "regions": ["hand_palm_left"], "pain": 5}


@pytest.fixture
def noted(patient: Patient) -> Patient:
    """The conftest patient (identity kept apart) with a free-text note on a visit."""
    v = Visit.objects.filter(patient=patient).first()
    assert v is not None
    v.note = NOTE
    v.save()
    return patient


def api_lines() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="api").order_by("id"))


# ---- tokens ----------------------------------------------------------------------------------------------


def test_only_the_hash_is_stored(users: dict[str, User], call: Any) -> None:
    text, row = issue_token(users["researcher"], name="R analysis")
    assert TOKEN_RE.fullmatch(text) and text.startswith("crpsmap_") and len(text) == 8 + 43
    row.refresh_from_db()
    assert row.token_hash == hashlib.sha256(text.encode()).hexdigest() == token_hash(text)
    assert row.prefix == text[:16]
    columns = [f.attname for f in ApiToken._meta.fields]
    stored = [str(v) for v in ApiToken.objects.filter(pk=row.pk).values_list(*columns).get()]
    assert not any(text in v or text[16:] in v for v in stored)
    assert call("GET", "/api/patients", token=text).status_code == 200
    for line in AuditEvent.objects.all():  # the audit trail names the prefix, never the token
        assert text[16:] not in json.dumps(line.detail)
    made = AuditEvent.objects.get(action="create_api_token", detail__token=row.prefix)
    assert made.detail["token"] == row.prefix and made.detail["username"] == "u-researcher"


def test_lifetime_default_and_bounds(users: dict[str, User]) -> None:
    before = timezone.now()
    _, row = issue_token(users["clinician"])
    days = (row.expires_at - before).total_seconds() / 86400
    assert API_TOKEN_DEFAULT_DAYS - 0.01 < days < API_TOKEN_DEFAULT_DAYS + 0.01
    issue_token(users["clinician"], days=API_TOKEN_MAX_DAYS)
    for bad in (0, -1, API_TOKEN_MAX_DAYS + 1):
        with pytest.raises(ValueError, match="from 1 to 365"):
            issue_token(users["clinician"], days=bad)


def test_expired_token_refused(users: dict[str, User], call: Any) -> None:
    text, row = issue_token(users["clinician"], days=1)
    assert call("GET", "/api/patients", token=text).status_code == 200
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    r = call("GET", "/api/patients", token=text)
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    assert r["WWW-Authenticate"].startswith("Bearer")
    line = api_lines()[-1]
    assert line.detail["status"] == 401 and line.detail["refused"] == "token expired"
    assert line.detail["token"] == row.prefix and line.username == "u-clinician"


def test_revoked_token_refused(users: dict[str, User], call: Any) -> None:
    text, row = issue_token(users["admin"])
    assert call("GET", "/api/patients", token=text).status_code == 200
    assert revoke_token(row) is True
    assert revoke_token(row) is False  # once
    r = call("GET", "/api/patients", token=text)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert AuditEvent.objects.filter(action="revoke_api_token", detail__token=row.prefix).count() == 1


def test_deactivated_user_and_changed_role(users: dict[str, User], call: Any) -> None:
    from django.contrib.auth.models import Group

    user = users["clinician"]
    text, _ = issue_token(user)
    assert call("GET", "/api/patients/P404", token=text).status_code == 404
    user.is_active = False
    user.save()
    assert call("GET", "/api/patients", token=text).status_code == 401
    user.is_active = True
    user.save()
    assert call("GET", "/api/patients", token=text).status_code == 200
    # the token has the user's role of the moment: never more than the user has
    user.groups.set([Group.objects.get_or_create(name=Role.auditor.value)[0]])
    assert call("GET", "/api/patients", token=text).status_code == 403
    user.groups.clear()
    assert call("GET", "/api/patients", token=text).status_code == 403


@pytest.mark.parametrize(
    "header",
    [
        "Bearer crpsmap_" + "A" * 43,  # the shape of a token, but none
        "Bearer {prefix}" + "B" * 35,  # a real token's prefix, the rest wrong
        "Bearer {token}x",
        "Bearer {token_lower}",
        "Basic dXNlcjpwYXNz",
        "Token {token}",
        "{token}",
        "Bearer",
        "Bearer " + "é" * 60,
    ],
)
def test_wrong_tokens_refused(header: str, users: dict[str, User], call: Any) -> None:
    text, row = issue_token(users["admin"])
    value = header.format(prefix=row.prefix, token=text, token_lower=text.lower())
    r = Client().get("/api/patients", HTTP_AUTHORIZATION=value)
    assert r.status_code == 401, value
    assert r["Content-Type"].startswith("application/json") and "detail" in r.json()
    line = api_lines()[-1]
    assert line.user is None and line.detail["status"] == 401
    assert text[16:] not in json.dumps(line.detail)


def test_session_cookie_never_authenticates(users: dict[str, User], api_urls_served: None) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(users["admin"])
    assert browser.get("/patients/").status_code == 200  # logged in to the web pages
    assert browser.get("/api/patients").status_code == 401
    r = browser.post("/api/patients", json.dumps({"code": "CSRF1"}), content_type="application/json")
    assert r.status_code == 401 and not Patient.objects.filter(code="CSRF1").exists()
    line = api_lines()[-1]
    assert line.user is None and line.username == ""  # not the session's user


def test_token_calls_need_no_csrf_token(users: dict[str, User], tokens: dict[str, str]) -> None:
    c = Client(enforce_csrf_checks=True)
    r = c.post(
        "/api/patients",
        json.dumps({"code": "T1"}),
        content_type="application/json",
        **bearer(tokens["clinician"]),
    )
    assert r.status_code == 201


def test_last_used_is_noted(users: dict[str, User], call: Any) -> None:
    text, row = issue_token(users["researcher"])
    assert row.last_used_at is None
    call("GET", "/api/patients", token=text)
    row.refresh_from_db()
    assert row.last_used_at is not None and timezone.now() - row.last_used_at < dt.timedelta(minutes=1)


# ---- reading ---------------------------------------------------------------------------------------------


def test_patient_list_pages_and_filters(users: dict[str, User], call: Any) -> None:
    import_histories([sample_history(c) for c in ("C3", "A1", "B2")], user=users["admin"], site="North")
    import_histories([sample_history("D4")], user=users["admin"], site="South")
    r = call("GET", "/api/patients", "researcher", query={"page_size": 3})
    body = r.json()
    assert r.status_code == 200
    assert (body["count"], body["pages"], body["page"]) == (4, 2, 1)
    assert [p["code"] for p in body["items"]] == ["A1", "B2", "C3"]
    assert set(body["items"][0]) == {"code", "sex", "birth_year", "crps_type", "site", "provenance"}
    second = call("GET", "/api/patients", "researcher", query={"page_size": 3, "page": 2}).json()
    assert [p["code"] for p in second["items"]] == ["D4"]
    south = call("GET", "/api/patients", "clinician", query={"site": "South"}).json()
    assert [p["code"] for p in south["items"]] == ["D4"]
    assert call("GET", "/api/patients", "admin", query={"page_size": 501}).status_code == 422
    assert api_lines()[-4].detail["patients"] == 3


@pytest.mark.parametrize("role", ["admin", "clinician", "researcher"])
def test_patient_history_is_pseudonymous_for_every_role(role: str, noted: Patient, call: Any) -> None:
    r = call("GET", f"/api/patients/{noted.code}", role)
    assert r.status_code == 200
    text = r.content.decode()
    for secret in (IDENTITY_NAME, IDENTITY_RECORD, NOTE, "note"):
        assert secret not in text
    body = r.json()
    assert body["patient"]["code"] == "P001" and body["patient"]["birth_year"] == 1970
    kinds = [(v["date"], v["kind"]) for v in body["visits"]]
    assert kinds == [("2020-01-10", "onset"), ("2020-04-10", "assessment"), ("2020-10-01", "assessment")]
    assert body["visits"][1]["pain"] == 6.5 and body["visits"][1]["css"] == 9
    assert body["events"] == [
        {"id": body["events"][0]["id"], "date": "2020-09-01", "kind": "trauma", "regions": ["ankle_left"]}
    ]
    # the identity and the note are in the database: the check above can fail
    assert PatientIdentity.objects.filter(patient=noted, name=IDENTITY_NAME).exists()
    line = api_lines()[-1]
    assert line.patient_code == "P001" and line.detail["path"] == "/api/patients/{code}"


def test_spread_is_the_classifier_s(patient: Patient, call: Any) -> None:
    body = call("GET", "/api/patients/P001/spread", "researcher").json()
    c = classify(sample_history())
    assert body["spread"] is True and body["limbs"] == list(c.limbs)
    assert body["first_limb"] == c.first_limb == "upper_right"
    assert body["events"] == [e.to_dict() for e in c.events]
    assert body["onset_date"] == "2020-01-10"


def test_unknown_patient_is_404_and_bad_code_422(call: Any) -> None:
    r = call("GET", "/api/patients/NOPE/spread", "admin")
    assert r.status_code == 404 and "NOPE" in r.json()["detail"]
    r = call("GET", "/api/patients/" + "x" * 65, "admin")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "code"


def test_statistics_are_the_dashboard_s(patient: Patient, users: dict[str, User], call: Any) -> None:
    import_histories([sample_history("S2")], user=users["admin"], site="South")
    r = call("GET", "/api/cohort/statistics", "researcher", query={"site": "North"})
    assert r.status_code == 200
    body = r.json()
    _, stats = dashboard_report({"site": "North", "onset_from": None, "onset_to": None})
    figures = stats.figures.to_dict()
    assert body["n_patients"] == figures["n_patients"] == 1
    for k in ("any_spread", "multi_limb", "generalized", "visceral", "maleki"):
        assert body[k] == figures[k]
    assert body["second_limb"]["n"] == stats.km.to_dict()["n"]
    assert body["provenances"] == ["clinic"]
    assert set(body["definitions"]) >= {"any_spread", "multi_limb", "n_with_onset", "second_limb"}
    everyone = call("GET", "/api/cohort/statistics", "clinician").json()
    assert everyone["n_patients"] == 2
    later = call("GET", "/api/cohort/statistics", "admin", query={"onset_from": "2021-01-01"}).json()
    assert later["n_patients"] == 0 and later["any_spread"]["proportion"] is None


def test_export_as_the_export_page(patient: Patient, call: Any, research_key: str) -> None:
    r = call("GET", "/api/export/cohort.csv", "clinician")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    assert r.content.decode() == write_csv_text(load_histories())
    assert api_lines()[-1].detail["export"] == {"kind": "clinic export", "format": "csv_long", "patients": 1}
    # a researcher always gets the research export: pseudonyms, shifted dates
    r = call("GET", "/api/export/cohort.csv", "researcher")
    text = r.content.decode()
    assert r.status_code == 200 and "P001" not in text and "rp-" in text and "2020-01-10" not in text
    histories = read_csv_bytes(r.content, name="research.csv")
    assert len(histories) == 1 and len(histories[0].records) == len(sample_history().records)
    assert api_lines()[-1].detail["export"]["kind"] == "research export"
    # others on request
    r = call("GET", "/api/export/cohort.csv", "admin", query={"research": "true"})
    assert "P001" not in r.content.decode()


def test_research_export_without_key_is_503(
    patient: Patient, call: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crpsmap.registry.pseudonyms import KEY_ENV, KEY_FILE_ENV

    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    r = call("GET", "/api/export/cohort.csv", "researcher")
    assert r.status_code == 503 and "P001" not in r.content.decode()
    assert KEY_ENV in r.json()["detail"]
    assert AuditEvent.objects.filter(action="export_refused").count() == 1


# ---- writing ---------------------------------------------------------------------------------------------


def test_a_site_pushes_a_patient_visits_and_events(users: dict[str, User], call: Any) -> None:
    r = call("POST", "/api/patients", "clinician", {"code": "S-1", "sex": "female", "birth_year": 1980})
    assert r.status_code == 201 and r.json()["provenance"] == "clinic"
    onset = {**VISIT, "kind": "onset", "date": "2021-01-05", "css_items": ["sym_edema", "sign_colour"]}
    r = call("POST", "/api/patients/S-1/visits", "clinician", onset)
    assert r.status_code == 201, r.content
    v = r.json()
    assert v["css"] == 2 and v["css_items"] == ["sign_colour", "sym_edema"] and v["kind"] == "onset"
    r = call("POST", "/api/patients/S-1/events", "admin", {"date": "2021-02-01", "kind": "surgery"})
    assert r.status_code == 201 and r.json()["kind"] == "surgery"
    r = call(
        "POST", "/api/patients/S-1/visits", "admin", {**VISIT, "regions": ["hand_left", "visceral_bladder"]}
    )
    assert r.status_code == 201
    visits = list(Visit.objects.filter(patient__code="S-1").order_by("seq"))
    assert [x.seq for x in visits] == [0, 2]
    assert ClinicalEvent.objects.get(patient__code="S-1").seq == 1
    # row history names the token's user, as a form's save does
    assert visits[0].history.first().history_user == users["clinician"]
    assert visits[1].history.first().history_user == users["admin"]
    history = call("GET", "/api/patients/S-1", "researcher").json()
    assert [x["kind"] for x in history["visits"]] == ["onset", "assessment"]
    assert call("POST", "/api/patients", "admin", {"code": "S-1"}).status_code == 409


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"date": "2999-01-01"}, "date"),
        ({"date": "1899-12-31"}, "date"),
        ({"date": "1969-06-01"}, "date"),  # before the patient's birth year (the model's check)
        ({"date": "2021-02-30"}, "date"),
        ({"pain": 10.5}, "pain"),
        ({"pain": -1}, "pain"),
        ({"css": 18}, "css"),
        ({"budapest_signs": 5}, "budapest_signs"),
        ({"hrv_rmssd": 0}, "hrv_rmssd"),
        ({"hrv_hf": 100001}, "hrv_hf"),
        ({"crp": 1000.5}, "crp"),
        ({"regions": ["hand_palm_left", "hand_palm_left"]}, "regions"),
        ({"regions": ["elbow"]}, "regions.0"),
        ({"regions": ["Hand (left)"]}, "regions.0"),
        ({"css_items": ["sym_edema", "nonsense"]}, "css_items.1"),
        ({"css_items": ["sym_edema"], "css": 3}, ""),
        ({"kind": "onset", "regions": []}, ""),
        ({"kind": "trauma"}, "kind"),
        ({"note": "free text"}, "note"),
    ],
)
def test_invalid_visits_refused_naming_the_field(
    change: dict[str, Any], field: str, patient: Patient, call: Any
) -> None:
    before = Visit.objects.count()
    r = call("POST", "/api/patients/P001/visits", "clinician", {**VISIT, **change})
    assert r.status_code == 422, r.content
    body = r.json()
    assert field in [e["field"] for e in body["errors"]], body
    assert body["detail"].startswith("invalid input")
    assert Visit.objects.count() == before


def test_invalid_patients_and_events(call: Any, patient: Patient) -> None:
    cases = [
        ({"code": "has space"}, "code"),
        ({"code": ""}, "code"),
        ({"code": "A1", "birth_year": 1899}, "birth_year"),
        ({"code": "A1", "birth_year": dt.date.today().year + 1}, "birth_year"),
        ({"code": "A1", "sex": "f"}, "sex"),
        ({"code": "A1", "site": "a\x00b"}, "site"),
        ({"code": "A1", "site": "x" * 101}, "site"),
        ({"code": "A1", "provenance": "synthetic"}, "provenance"),
    ]
    for body, field in cases:
        r = call("POST", "/api/patients", "admin", body)
        assert r.status_code == 422 and field in [e["field"] for e in r.json()["errors"]], (body, r.content)
    r = call("POST", "/api/patients/P001/events", "admin", {"date": "2021-01-01", "kind": "onset"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "kind"
    r = call("POST", "/api/patients/NOPE/events", "admin", {"date": "2021-01-01", "kind": "trauma"})
    assert r.status_code == 404
    r = call("POST", "/api/patients", "admin", "{not json")
    assert r.status_code == 400 and r.json()["detail"]
    assert not Patient.objects.filter(code="A1").exists()


def _web_visit(body: dict[str, Any]) -> dict[str, Any]:
    """The visit form's fields for an API body (segments, whole areas and organs are separate there)."""
    atlas = load_atlas()
    data = {k: v for k, v in body.items() if k not in ("regions",)}
    data["segments"] = [r for r in body.get("regions", []) if r in atlas.segment_by_slug]
    data["visceral"] = [r for r in body.get("regions", []) if r in atlas.visceral_by_slug]
    return data


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"kind": "onset"},
        {"kind": "onset", "regions": []},
        {"date": "2999-01-01"},
        {"date": "1899-06-01"},
        {"date": "1969-12-31"},
        {"pain": 10},
        {"pain": 10.01},
        {"hrv_rmssd": 0},
        {"hrv_rmssd": 500},
        {"crp": 1000.01},
        {"hrv_hf": 100000},
        {"regions": ["visceral_bladder"]},
    ],
)
def test_api_and_visit_form_accept_the_same(
    change: dict[str, Any], patient: Patient, call: Any, client_for: Any
) -> None:
    body = {**VISIT, **change}
    web = client_for("clinician").post("/patients/P001/visits/new/", _web_visit(body))
    api = call("POST", "/api/patients/P001/visits", "clinician", body)
    assert web.status_code in (200, 302) and api.status_code in (201, 422)
    assert (web.status_code == 302) == (api.status_code == 201), (change, web.status_code, api.content)


# ---- the document and the errors ------------------------------------------------------------------------


def test_openapi_document_states_the_rules(api_urls_served: None) -> None:
    r = Client().get("/api/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    schemas = doc["components"]["schemas"]
    assert sorted(schemas["RegionSlug"]["enum"]) == sorted(region_slugs())
    assert len(region_slugs()) == len(
        {*load_atlas().segment_by_slug, *load_atlas().area_by_slug, *load_atlas().visceral_by_slug}
    )
    visit = schemas["VisitIn"]["properties"]

    def bounds(prop: dict[str, Any]) -> dict[str, Any]:
        arm = next(a for a in prop["anyOf"] if a.get("type") in ("number", "integer"))
        return {k: arm[k] for k in ("minimum", "maximum", "exclusiveMinimum") if k in arm}

    record = Record.model_json_schema()["properties"]
    for name in ("pain", "css", "budapest_symptoms", "budapest_signs", "hrv_rmssd", "hrv_hf", "crp"):
        assert bounds(visit[name]) == bounds(record[name]), name
    assert bounds(visit["pain"]) == {"minimum": 0, "maximum": 10}
    assert bounds(visit["hrv_rmssd"]) == {"exclusiveMinimum": 0, "maximum": 500}
    assert schemas["VisitIn"]["additionalProperties"] is False
    assert set(schemas["VisitKind"]["enum"]) == {"onset", "assessment"}
    assert set(schemas["EventKind"]["enum"]) == {"trauma", "surgery", "infection"}
    assert set(schemas["Sex"]["enum"]) == {"female", "male", "other", "unknown"}
    assert set(schemas["CRPSType"]["enum"]) == {"I", "II", "unknown"}
    assert len(schemas["CssItem"]["enum"]) == 17
    assert doc["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"
    for path, ops in doc["paths"].items():
        for op in ops.values():
            assert op["security"] == [{"TokenAuth": []}], path
            assert {"401", "403"} <= set(op["responses"]), path


def test_errors_are_json_and_audited(call: Any, api_urls_served: None) -> None:
    for path in ("/api/", "/api/nothing/here", "/api/patients/P001/nothing"):
        r = Client().get(path)
        assert r.status_code == 404 and r.json()["detail"], path
    r = call("GET", "/api/patients", "admin", query={"page": "x"})
    assert r.status_code == 422 and "Traceback" not in r.content.decode()
    r = call("DELETE", "/api/patients", "admin")
    assert r.status_code == 405 and "allowed" in r.json()["detail"]
    assert sorted(r["Allow"].split(", ")) == ["GET", "POST"]
    paths = [line.detail["path"] for line in api_lines()]
    assert "/api/" in paths and "/api/{rest}" in paths


def test_docs_page_and_its_files(api_urls_served: None) -> None:
    c = Client()
    r = c.get("/api/docs")
    assert r.status_code == 200
    page = r.content.decode()
    assert "/api/openapi.json" in page and "<script>" not in page  # no inline script
    assert "script-src 'self'" in r["Content-Security-Policy"]
    for f in ("ninja/swagger-ui-bundle.js", "ninja/swagger-ui-init.js", "ninja/swagger-ui.css"):
        assert f"/static/{f}" in page
        got = c.get(f"/static/{f}")
        assert got.status_code == 200, f
        b"".join(got.streaming_content) if got.streaming else got.content


def test_every_call_has_one_audit_line(patient: Patient, call: Any) -> None:
    start = AuditEvent.objects.count()
    calls = [
        ("GET", "/api/patients", "researcher", None, 200),
        ("GET", "/api/patients/P001", "clinician", None, 200),
        ("POST", "/api/patients/P001/visits", "researcher", VISIT, 403),
        ("POST", "/api/patients/P001/visits", None, VISIT, 401),
        ("POST", "/api/patients/P001/visits", "clinician", {**VISIT, "pain": 99}, 422),
        ("POST", "/api/patients/P001/visits", "clinician", VISIT, 201),
        ("GET", "/api/cohort/statistics", "auditor", None, 403),
    ]
    for method, path, role, body, status in calls:
        assert call(method, path, role, body).status_code == status, (method, path, role)
    lines = list(AuditEvent.objects.filter(id__gt=0).order_by("id"))[start:]
    assert len(lines) == len(calls)
    for line, (method, _, role, _, status) in zip(lines, calls, strict=True):
        assert line.action == "api"
        assert (line.detail["method"], line.detail["status"]) == (method, status)
        assert line.role == (role or "") and line.username == (f"u-{role}" if role else "")
        assert ("refused" in line.detail) == (status in (401, 403))
        assert set(line.detail) <= {"method", "path", "status", "token", "refused", "patients", "export"}
    assert [line.patient_code for line in lines] == ["", "P001", "P001", "P001", "P001", "P001", ""]
    assert lines[2].detail["refused"] == "role researcher may not edit_clinical"
    assert lines[2].detail["path"] == "/api/patients/{code}/visits"


# ---- token pages and command line -----------------------------------------------------------------------


def test_admin_makes_and_revokes_tokens_on_the_page(
    users: dict[str, User], client_for: Any, api_urls_served: None
) -> None:
    admin = client_for("admin")
    assert "/users/tokens/" in admin.get("/users/").content.decode()
    r = admin.post("/users/tokens/", {"user": users["researcher"].pk, "name": "R", "days": 30})
    assert r.status_code == 200 and "no-store" in r["Cache-Control"]
    row = ApiToken.objects.get()
    page = r.content.decode()
    start = page.index(row.prefix)
    text = page[start : start + 51]
    assert TOKEN_RE.fullmatch(text) and token_hash(text) == row.token_hash
    assert Client().get("/api/patients", **bearer(text)).status_code == 200
    again = admin.get("/users/tokens/").content.decode()
    assert row.prefix in again and text not in again  # shown once
    assert admin.post("/users/tokens/", {"user": users["researcher"].pk, "days": 366}).status_code == 200
    assert ApiToken.objects.count() == 1
    assert admin.post(f"/users/tokens/{row.pk}/revoke/").status_code == 302
    assert Client().get("/api/patients", **bearer(text)).status_code == 401
    kinds = [e.action for e in AuditEvent.objects.filter(username="u-admin").order_by("id")]
    assert "create_api_token" in kinds and "revoke_api_token" in kinds


@pytest.mark.skipif(
    "postgresql" in os.environ.get("CRPSMAP_TEST_DATABASE", ""),
    reason="the command line runs on its own SQLite file: once is enough",
)
def test_command_line_prints_the_token_once(tmp_path: Path) -> None:
    """The real command line, in a subprocess: the token alone on stdout, only its hash in the file."""
    db = tmp_path / "registry.sqlite3"
    env = {**os.environ, "CRPSMAP_DATA_DIR": str(tmp_path), "CRPSMAP_SECRET_KEY": "test-only"}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def run(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, *argv, "--database", str(db)]
        return subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True, timeout=120)

    user = run(
        "-m",
        "crpsmap",
        "registry",
        "createuser",
        "rita",
        "--role",
        "researcher",
        "--password-stdin",
        stdin="a long enough password 1\n",
    )
    assert user.returncode == 0, user.stderr
    created = run(
        "-m", "crpsmap", "registry", "token", "create", "rita", "--days", "7", "--name", "R analysis"
    )
    assert created.returncode == 0, created.stderr
    text = created.stdout.strip()
    assert TOKEN_RE.fullmatch(text) and created.stdout == text + "\n"  # the token alone on stdout
    assert "shown once" in created.stderr and "researcher" in created.stderr
    with sqlite3.connect(db) as con:
        ((stored, prefix, name),) = con.execute("SELECT token_hash, prefix, name FROM registry_apitoken")
        actions = [r[0] for r in con.execute("SELECT action FROM registry_auditevent")]
    assert (
        stored == hashlib.sha256(text.encode()).hexdigest() and prefix == text[:16] and name == "R analysis"
    )
    assert text[16:].encode() not in db.read_bytes()
    assert actions.count("create_api_token") == 1


def test_command_line_list_revoke_and_mistakes(users: dict[str, User], call: Any) -> None:
    """The token commands in this process, on the test database (the subprocess test covers stdout and
    the database option)."""
    from typer.testing import CliRunner

    from crpsmap.cli.registry_token import token_app

    runner = CliRunner()
    made = runner.invoke(token_app, ["create", "u-clinician", "--name", "site push"])
    assert made.exit_code == 0, made.output
    text = made.stdout.strip()
    assert call("POST", "/api/patients", token=text, body={"code": "CLI1"}).status_code == 201
    row = ApiToken.objects.get(token_hash=token_hash(text))
    assert abs((row.expires_at - row.created_at).days - API_TOKEN_DEFAULT_DAYS) <= 1
    listed = runner.invoke(token_app, ["list", "u-clinician"])
    assert listed.exit_code == 0 and row.prefix in listed.stdout and "site push" in listed.stdout
    assert "active" in listed.stdout and text[16:] not in listed.stdout
    for argv in (
        ["create", "u-clinician", "--days", "366"],
        ["create", "u-clinician", "--days", "0"],
        ["create", "nobody"],
        ["list", "nobody"],
        ["revoke", "crpsmap_zz"],
        ["revoke", "999999"],
    ):
        bad = runner.invoke(token_app, argv)
        assert bad.exit_code == 2 and bad.stderr.startswith("error:"), (argv, bad.output)
    assert ApiToken.objects.filter(user=users["clinician"]).count() == 2  # the fixture's and this one
    by_prefix = runner.invoke(token_app, ["revoke", row.prefix])
    assert by_prefix.exit_code == 0 and "revoked token" in by_prefix.stdout
    assert call("GET", "/api/patients", token=text).status_code == 401
    again = runner.invoke(token_app, ["revoke", str(row.pk)])
    assert again.exit_code == 0 and "revoked already" in again.stdout
    assert "revoked" in runner.invoke(token_app, ["list", "u-clinician"]).stdout
    lines = AuditEvent.objects.filter(detail__token=row.prefix).exclude(action="api")
    assert sorted(e.action for e in lines) == ["create_api_token", "revoke_api_token"]
    assert all(e.detail["by"] == "command line" for e in lines)


def test_role_less_token_and_users(users: dict[str, User], call: Any) -> None:
    nobody = make_user("no-role", None)
    text, _ = issue_token(nobody)
    assert call("GET", "/api/patients", token=text).status_code == 403
    assert api_lines()[-1].detail["refused"] == "role none may not list_patients"


def test_a_failure_is_a_json_500_and_audited() -> None:
    """An exception that escapes an API view: a JSON 500 that says nothing of it, and its audit line."""
    from django.test import RequestFactory

    from crpsmap.registry.api.audit import audited

    def broken(request: Any) -> Any:
        raise RuntimeError("internal detail P001")

    response = audited(broken)(RequestFactory().get("/api/broken"))
    text = response.content.decode()
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert "P001" not in text and "Traceback" not in text and json.loads(text)["detail"]
    line = api_lines()[-1]
    assert (line.detail["path"], line.detail["status"], line.user) == ("/api/broken", 500, None)
