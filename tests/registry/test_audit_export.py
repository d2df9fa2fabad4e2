"""The auditor's export of the audit trail: every entry of the page, oldest first, including API calls
and the export itself; CSV cells a spreadsheet would run as formulas are defused."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from crpsmap.registry.models import Patient


@pytest.mark.django_db
def test_auditor_exports_every_entry_including_api_calls(client_for: Any, patient: Patient) -> None:
    from crpsmap.registry.api.tokens import issue_token

    clinician = client_for("clinician")
    clinician.get(f"/patients/{patient.code}/")  # a read
    user = clinician.get("/").wsgi_request.user
    token, _ = issue_token(user, name="=cmd|' /C calc'!A0", days=1)
    api = clinician.__class__()
    r = api.get(f"/api/patients/{patient.code}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 200
    r = client_for("auditor").get("/audit/export.csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    actions = [row["action"] for row in rows]
    assert "read_patient" in actions and "api" in actions and actions[-1] == "export_audit"
    assert [row["at_utc"] for row in rows] == sorted(row["at_utc"] for row in rows)  # oldest first
    api_line = next(row for row in rows if row["action"] == "api")
    assert api_line["patient_code"] == patient.code and json.loads(api_line["detail"])
    created = [row for row in rows if row["action"] == "create" and row["table"]]
    assert created, "row history (writes) is in the export too"
    # a cell that starts like a formula is written as text
    assert not any(v.startswith(("=", "+", "@")) for row in rows for v in row.values())


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["clinician", "researcher"])
def test_only_auditors_and_admins_export_the_trail(client_for: Any, role: str) -> None:
    assert client_for(role).get("/audit/export.csv").status_code == 403
