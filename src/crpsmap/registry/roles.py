"""Roles and the one permission table. Every view declares its action; `require` checks it here.

Roles are Django groups; a user has exactly one. Anonymous visitors are sent to the login page; a
signed-in user without the permission gets 403 (and the refusal is audited).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


class Role(StrEnum):
    admin = "admin"
    clinician = "clinician"
    researcher = "researcher"
    auditor = "auditor"


class Action(StrEnum):
    list_patients = "list_patients"  # the patient list (pseudonymous codes)
    view_patient = "view_patient"  # a patient's clinical data (pseudonymised)
    view_identity = "view_identity"  # name, date of birth, record number; free-text notes
    edit_clinical = "edit_clinical"  # create and edit patients, visits, events, treatments
    view_dashboard = "view_dashboard"  # the cohort report of the registry
    export_pseudonymised = "export_pseudonymised"  # CSV, REDCap, FHIR exports (no identity, no notes)
    # with the registry's own codes and real dates (the clinic export); whoever may export but may not do
    # this always gets the research export instead (keyed pseudonyms, shifted dates: pseudonyms.py)
    export_clinic = "export_clinic"
    export_identity = "export_identity"  # the key: patient code -> identity
    import_data = "import_data"  # CSV import
    view_audit = "view_audit"  # the audit trail
    manage_users = "manage_users"  # user accounts and roles
    own_second_factor = "own_second_factor"  # enrol one's own TOTP second factor (registry/otp.py)
    own_sessions = "own_sessions"  # list and end one's own other sessions (registry/own_sessions.py)


R = Role
PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.list_patients: frozenset({R.admin, R.clinician, R.researcher}),
    Action.view_patient: frozenset({R.admin, R.clinician, R.researcher}),
    Action.view_identity: frozenset({R.admin, R.clinician}),
    Action.edit_clinical: frozenset({R.admin, R.clinician}),
    Action.view_dashboard: frozenset({R.admin, R.clinician, R.researcher}),
    Action.export_pseudonymised: frozenset({R.admin, R.clinician, R.researcher}),
    Action.export_clinic: frozenset({R.admin, R.clinician}),
    Action.export_identity: frozenset({R.admin, R.clinician}),
    Action.import_data: frozenset({R.admin, R.clinician}),
    Action.view_audit: frozenset({R.admin, R.auditor}),
    Action.manage_users: frozenset({R.admin}),
    Action.own_second_factor: frozenset(Role),
    Action.own_sessions: frozenset(Role),
}
ROLE_DESCRIPTIONS: dict[Role, str] = {
    R.admin: "everything, including user accounts",
    R.clinician: "enter and edit clinical data; sees identity",
    R.researcher: "pseudonymised reading, dashboard and research export; never identity",
    R.auditor: "the audit trail only",
}


def role_of(user: Any) -> Role | None:
    """The user's role (its group), or None for anonymous, inactive or role-less users."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    cached = getattr(user, "_crpsmap_role", "unset")
    if cached != "unset":
        return Role(cached) if cached else None
    names = set(user.groups.values_list("name", flat=True))
    roles = [r for r in Role if r.value in names]
    role = roles[0] if len(roles) == 1 else None
    user._crpsmap_role = role
    return role


def allowed(user: Any, action: Action) -> bool:
    role = role_of(user)
    return role is not None and role in PERMISSIONS[action]


def actions_of(user: Any) -> frozenset[Action]:
    """Everything the user may do (templates use it to show only usable links)."""
    return frozenset(a for a in Action if allowed(user, a))


View = Callable[..., HttpResponse]


def require(action: Action) -> Callable[[View], View]:
    """View decorator: anonymous -> login page; no permission -> 403, audited."""

    def deco(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            if not allowed(request.user, action):
                from crpsmap.registry.audit import record

                record(request, "denied", detail={"action": action.value, "path": request.path})
                raise PermissionDenied(action.value)
            return view(request, *args, **kwargs)

        wrapped.required_action = action  # type: ignore[attr-defined]
        return wrapped

    return deco
