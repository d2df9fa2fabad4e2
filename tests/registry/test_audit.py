"""The audit trail: every write with who, when, before and after (same transaction); reads and exports
recorded; nothing can alter or delete it; edits to a signed visit need a reason."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from crpsmap.registry.audit_trail import trail
from crpsmap.registry.models import AuditEvent, Patient, Visit


def _visit_post(**extra: Any) -> dict[str, Any]:
    data = {"kind": "assessment", "date": "2021-03-01", "segments": ["hand_palm_left"], "pain": "5"}
    data.update(extra)
    return data


@pytest.mark.django_db
def test_trail_holds_exactly_the_writes_and_reads(client_for: Any, users: dict[str, Any]) -> None:
    clin, res, aud = client_for("clinician"), client_for("researcher"), client_for("auditor")
    r = clin.post("/patients/new/", {"code": "A1", "sex": "male", "crps_type": "I", "id-name": "Bob Named"})
    assert r.status_code == 302
    assert clin.post("/patients/A1/visits/new/", _visit_post(kind="onset")).status_code == 302
    assert (
        clin.post(
            "/patients/A1/events/new/", {"kind": "trauma", "date": "2021-04-01", "regions": ["ankle_left"]}
        ).status_code
        == 302
    )
    assert clin.get("/patients/A1/").status_code == 200
    assert res.get("/patients/A1/").status_code == 200
    assert res.get("/export/cohort.csv").status_code == 200
    entries = [(e.username, e.action, e.table) for e in trail(patient_code="A1")]
    writes = sorted(x for x in entries if x[1] in ("create", "change", "delete"))
    assert writes == sorted(
        [
            ("u-clinician", "create", "patient"),
            ("u-clinician", "create", "patient identity"),
            ("u-clinician", "create", "visit"),
            ("u-clinician", "create", "clinical event"),
        ]
    )
    reads = sorted(x[:2] for x in entries if x[1] == "read_patient")
    assert reads == [("u-clinician", "read_patient"), ("u-researcher", "read_patient")]
    assert AuditEvent.objects.filter(action="export", username="u-researcher").count() == 1
    # the auditor's page shows them, and reading the trail is itself not a patient read
    page = aud.get("/audit/?patient=A1").content.decode()
    assert page.count("read_patient") == 2 and "clinical event" in page


@pytest.mark.django_db
def test_row_history_keeps_before_and_after_with_reason(client_for: Any, patient: Patient) -> None:
    c = client_for("clinician")
    v = Visit.objects.filter(patient=patient, kind="assessment").first()
    assert v is not None
    assert c.post(f"/patients/{patient.code}/visits/{v.pk}/sign/").status_code == 302
    v.refresh_from_db()
    assert v.signed_at is not None
    data = _visit_post(date=v.date.isoformat(), segments=["hand_palm_left"], pain="8")
    r = c.post(f"/patients/{patient.code}/visits/{v.pk}/edit/", data)
    assert r.status_code == 200 and b"This field is required" in r.content  # signed: reason required
    v.refresh_from_db()
    assert v.pain == 6.5
    r = c.post(f"/patients/{patient.code}/visits/{v.pk}/edit/", {**data, "reason": "typo in pain score"})
    assert r.status_code == 302
    last = v.history.order_by("-history_id").first()
    assert last.history_user.username == "u-clinician"
    assert last.history_change_reason == "typo in pain score"
    changes = {c.field: (c.old, c.new) for c in last.diff_against(last.prev_record).changes}
    assert changes["pain"] == (6.5, 8.0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "table", ["registry_auditevent", "registry_historicalvisit", "registry_historicalpatient"]
)
def test_audit_tables_cannot_be_altered_or_deleted(client_for: Any, patient: Patient, table: str) -> None:
    client_for("clinician").get(f"/patients/{patient.code}/")  # at least one audit event
    n = _count(table)
    assert n > 0
    for sql in (
        f"UPDATE {table} SET history_change_reason = 'x'"
        if "historical" in table
        else f"UPDATE {table} SET action = 'x'",
        f"DELETE FROM {table}",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cur,
        ):
            cur.execute(sql)
    assert _count(table) == n


def _count(table: str) -> int:
    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {table}")
        return int(cur.fetchone()[0])


@pytest.mark.django_db
def test_audit_event_model_refuses_change(client_for: Any, patient: Patient) -> None:
    client_for("researcher").get(f"/patients/{patient.code}/")
    e = AuditEvent.objects.get(action="read_patient")
    e.action = "nothing"
    with pytest.raises(PermissionError):
        e.save()
    with pytest.raises(PermissionError):
        e.delete()


@pytest.mark.django_db
def test_failed_import_leaves_no_data_and_no_import_line(client_for: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    c = client_for("clinician")
    bad = (
        b"patient_id,date,kind,regions\nB1,2020-01-01,onset,hand_right\nB1,2020-13-01,assessment,hand_left\n"
    )
    r = c.post("/import/", {"file": SimpleUploadedFile("bad.csv", bad, "text/csv")})
    body = r.content.decode()
    assert r.status_code == 200 and "Nothing was imported" in body and "row 3" in body and "date" in body
    assert not Patient.objects.filter(code="B1").exists()
    assert not AuditEvent.objects.filter(action="import").exists()
    good = b"patient_id,date,kind,regions\nB1,2020-01-01,onset,hand_right\n"
    r = c.post("/import/", {"file": SimpleUploadedFile("good.csv", good, "text/csv"), "site": "South"})
    assert "Imported 1 patients" in r.content.decode()
    assert Patient.objects.get(code="B1").site == "South"
    assert AuditEvent.objects.filter(action="import", username="u-clinician").count() == 1


@pytest.mark.django_db
def test_logins_and_failures_are_audited(users: dict[str, Any]) -> None:
    from django.test import Client

    c = Client()
    c.post("/login/", {"username": "u-clinician", "password": "wrong-password-here"})
    c.post("/login/", {"username": "u-clinician", "password": "not-used-in-tests-1"})
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["login_failed", "login"]


@pytest.mark.django_db
def test_login_is_throttled_after_repeated_failures(users: dict[str, Any]) -> None:
    from django.test import Client

    c = Client()
    for _ in range(5):
        c.post("/login/", {"username": "u-admin", "password": "guess-guess-guess"})
    r = c.post("/login/", {"username": "u-admin", "password": "not-used-in-tests-1"})
    assert r.status_code == 429  # locked even with the right password
    assert "_auth_user_id" not in c.session


@pytest.mark.django_db
def test_event_and_treatment_edits_need_a_reason(client_for: Any, patient: Patient) -> None:
    from crpsmap.registry.models import ClinicalEvent

    c = client_for("clinician")
    e = ClinicalEvent.objects.get(patient=patient)
    url = f"/patients/{patient.code}/events/{e.pk}/edit/"
    data = {"kind": "surgery", "date": e.date.isoformat(), "regions": ["ankle_left"]}
    assert c.post(url, data).status_code == 200
    e.refresh_from_db()
    assert e.kind == "trauma"
    assert c.post(url, {**data, "reason": "was an operation"}).status_code == 302
    e.refresh_from_db()
    last = e.history.order_by("-history_id").first()
    assert e.kind == "surgery" and last.history_change_reason == "was an operation"
    r = c.post(f"/patients/{patient.code}/treatments/new/", {"name": "GMI", "start": "2021-02-01"})
    assert r.status_code == 302
    t = patient.treatment_set.get()
    turl = f"/patients/{patient.code}/treatments/{t.pk}/edit/"
    assert c.post(turl, {"name": "GMI", "start": "2021-02-01", "end": "2021-05-01"}).status_code == 200
    r = c.post(turl, {"name": "GMI", "start": "2021-02-01", "end": "2021-05-01", "reason": "course finished"})
    assert r.status_code == 302
    t.refresh_from_db()
    assert t.end is not None and t.end_seq is not None


@pytest.mark.django_db
def test_an_import_page_says_the_reader_s_warnings_and_encoding(client_for: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    c = client_for("clinician")
    text = (
        "patient_id;date;kind;regions;note\r\n"
        "W1;2020-01-01;onset;hand_right;Gr\u00fc\u00dfe <b>x</b>\r\n"
        "W1;2020-03-01;assessment;hand_right;\r\n"
        "W1;2020-03-01;assessment;hand_right;\r\n"
    )
    r = c.post("/import/", {"file": SimpleUploadedFile("w.csv", text.encode("cp1252"), "text/csv")})
    body = r.content.decode()
    assert "Imported 1 patients" in body
    assert "read as cp1252" in body
    assert "worth a look" in body and "row 4" in body and "the same record as row 3" in body
    assert "<b>x</b>" not in body  # file content is escaped (and not shown in warnings anyway)
