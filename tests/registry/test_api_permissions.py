"""The permission matrix of the API: every operation of the OpenAPI document, as every role and as an
anonymous caller, against the one table in registry/roles.py. The operations are read from the document
served, so a new endpoint is checked as soon as it exists (and fails here until it has a sample request).
The admins' token pages are in the matrix too."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from crpsmap.registry.api.tokens import issue_token
from crpsmap.registry.models import ApiToken, ClinicalEvent, Patient, Visit
from crpsmap.registry.roles import PERMISSIONS, Action, Role
from registry.test_api_support import (  # noqa: F401 - fixtures
    ROLES,
    api_urls_served_fixture,
    call_fixture,
    research_key_fixture,
    tokens_fixture,
)

pytestmark = pytest.mark.django_db


#: every operation's action, as the issue asks (a new operation fails the matrix until it is added here)
ACTIONS = {
    "list_patients": Action.list_patients,
    "create_patient": Action.edit_clinical,
    "patient_history": Action.view_patient,
    "patient_spread": Action.view_patient,
    "create_visit": Action.edit_clinical,
    "create_event": Action.edit_clinical,
    "cohort_statistics": Action.view_dashboard,
    "export_cohort_csv": Action.export_pseudonymised,
}


def sample(op_id: str, role: str | None) -> tuple[dict[str, str], Any, dict[str, Any]]:
    """A valid request of each operation: path parameters, JSON body, query. Writes use a code of the
    role's own, so that each allowed role's request succeeds."""
    mine = f"NEW-{role}"
    visit = {"date": "2021-05-01", "kind": "assessment", "regions": ["knee_left"], "pain": 4}
    known = {
        "list_patients": ({}, None, {"page_size": 10}),
        "create_patient": ({}, {"code": mine, "sex": "male", "birth_year": 1975}, {}),
        "patient_history": ({"code": "P001"}, None, {}),
        "patient_spread": ({"code": "P001"}, None, {}),
        "create_visit": ({"code": "P001"}, visit, {}),
        "create_event": ({"code": "P001"}, {"date": "2021-05-02", "kind": "trauma"}, {}),
        "cohort_statistics": ({}, None, {"site": "North"}),
        "export_cohort_csv": ({}, None, {}),
    }
    if op_id not in known or op_id not in ACTIONS:
        pytest.fail(f"operation {op_id} has no action or sample request in {__file__}: add them")
    return known[op_id]


def fill(template: str, params: dict[str, str]) -> str:
    """/api/patients/{code} -> /api/patients/P001."""
    return re.sub(r"{(\w+)}", lambda m: params[m.group(1)], template)


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, operation) of every operation in the served OpenAPI document."""
    doc = Client().get("/api/openapi.json").json()
    return [(m.upper(), path, op) for path, ops in doc["paths"].items() for m, op in ops.items()]


def expected(op: dict[str, Any], role: str | None) -> int:
    """The answer the table in roles.py calls for: 401 without a token, 403 for a role without the
    operation's action, else the operation's own success status."""
    if role is None:
        return 401
    if Role(role) not in PERMISSIONS[Action(op["x-required-action"])]:
        return 403
    return min(int(s) for s in op["responses"] if s.startswith("2"))


@pytest.mark.parametrize("role", ROLES)
def test_api_permission_matrix(role: str | None, patient: Patient, call: Any, research_key: str) -> None:
    ops = operations()
    assert len(ops) >= 8
    before = (Patient.objects.count(), Visit.objects.count(), ClinicalEvent.objects.count())
    for method, template, op in ops:
        action = Action(op["x-required-action"])  # every operation names its action ...
        params, body, query = sample(op["operationId"], role)
        assert action is ACTIONS[op["operationId"]], (template, action)
        assert op["x-roles"] == [r.value for r in Role if r in PERMISSIONS[action]], template
        assert op["security"] == [{"TokenAuth": []}], template  # ... and needs a token
        path = fill(template, params)
        r = call(method, path, role, body, query=query if method == "GET" else None)
        if method != "GET" and query:
            pytest.fail("a write with query parameters: extend the test")
        assert r.status_code == expected(op, role), (role, method, template, r.status_code, r.content[:300])
        if r.status_code in (401, 403):
            assert set(r.json()) == {"detail"}, template  # a refusal says nothing about the data
    writes_allowed = role is not None and Role(role) in PERMISSIONS[Action.edit_clinical]
    after = (Patient.objects.count(), Visit.objects.count(), ClinicalEvent.objects.count())
    assert (after != before) == writes_allowed, (role, before, after)


def test_every_operation_refuses_role_less_and_inactive_users(
    users: dict[str, User], patient: Patient, call: Any
) -> None:
    from registry_support import make_user

    nobody, _ = issue_token(make_user("no-role", None))
    inactive_user = make_user("gone", Role.admin)
    inactive, _ = issue_token(inactive_user)
    inactive_user.is_active = False
    inactive_user.save()
    for method, template, op in operations():
        params, body, query = sample(op["operationId"], "admin")
        path = fill(template, params)
        assert call(method, path, body=body, token=nobody).status_code == 403, template
        assert call(method, path, body=body, token=inactive).status_code == 401, template


@pytest.mark.parametrize("role", ROLES)
def test_token_pages_matrix(
    role: str | None, users: dict[str, User], client_for: Any, api_urls_served: None
) -> None:
    _, token = issue_token(users["researcher"])
    client = client_for(role)
    admin = role is not None and Role(role) in PERMISSIONS[Action.manage_users]
    pages = [
        ("get", "/users/tokens/", {}, 200),
        ("post", "/users/tokens/", {"user": users["clinician"].pk, "days": 5}, 200),
        ("post", f"/users/tokens/{token.pk}/revoke/", {}, 302),
    ]
    for method, url, data, ok in pages:
        r = getattr(client, method)(url, data)
        if role is None:
            assert r.status_code == 302 and r["Location"].startswith("/login/"), url
        else:
            assert r.status_code == (ok if admin else 403), (role, url, r.status_code)
    token.refresh_from_db()
    assert (token.revoked_at is not None) == admin
    assert ApiToken.objects.filter(user=users["clinician"]).count() == (1 if admin else 0)
    assert client.get(f"/users/tokens/{token.pk}/revoke/").status_code == (
        405 if admin else 302 if role is None else 403
    )
