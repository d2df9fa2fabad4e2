"""Data access groups: a user limited to one site sees and changes only that site's patients.

As in REDCap, a user in a group sees only the records of the group, and a user in no group sees every
record. Every way to a patient asks this module: the patient list and page, the visit, event and
treatment forms, the dashboard and "patients like this one", imports, exports and the API. A patient of
another site answers 404, as a patient that does not exist (its code is not confirmed either). Admins are
never limited (they manage users and the audit of every site) and neither are auditors (they read the
audit trail only, never a patient's data).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404

from crpsmap.registry.models import Patient, SiteAccess
from crpsmap.registry.roles import Role, role_of

#: the roles a site limit may be given to (it means nothing for the others)
LIMITABLE_ROLES = frozenset({Role.clinician, Role.researcher})


class SiteAccessError(ValueError):
    """A site limit that cannot be given (to an admin or auditor, or an empty site name)."""


def site_of(user: Any) -> str | None:
    """The one site the user is limited to, or None for every site (cached on the user object for the
    request, like its role)."""
    cached = getattr(user, "_crpsmap_site", "unset")
    if cached != "unset":
        return cached
    site = None
    if getattr(user, "is_authenticated", False) and role_of(user) in LIMITABLE_ROLES:
        site = SiteAccess.objects.filter(user=user).values_list("site", flat=True).first()
    user._crpsmap_site = site
    return site


def set_site(user: Any, site: str | None, role: Role | None = None) -> None:
    """Limit the user to `site`, or (None or "") lift the limit. `role` is the user's role after the
    change when it is changing too."""
    site = (site or "").strip()
    role = role or role_of(user)
    if site and role not in LIMITABLE_ROLES:
        who = role.value if role else "role-less"
        raise SiteAccessError(f"a {who} user sees every site; only clinicians and researchers are limited")
    if len(site) > 100:
        raise SiteAccessError("a site name has at most 100 characters")
    with transaction.atomic():
        if site:
            SiteAccess.objects.update_or_create(user=user, defaults={"site": site})
        else:
            SiteAccess.objects.filter(user=user).delete()
    user._crpsmap_site = site or None


def visible_patients(user: Any) -> QuerySet[Patient]:
    """The patients the user may see."""
    site = site_of(user)
    qs = Patient.objects.all()
    return qs.filter(site=site) if site is not None else qs


def patient_for(user: Any, code: str) -> Patient:
    """The patient of that code if the user may see it; else 404, the same answer as an unknown code."""
    patient = visible_patients(user).filter(code=code).first()
    if patient is None:
        raise Http404("no such patient")
    return patient


def site_choices(user: Any, sites: list[str]) -> list[str]:
    """The sites a user may filter by, of the registry's `sites`."""
    site = site_of(user)
    return sites if site is None else [site]


def limit_filters(user: Any, filters: dict[str, Any]) -> dict[str, Any]:
    """A selection by site as the user may have it: a limited user's selection is always its site."""
    site = site_of(user)
    return filters if site is None else {**filters, "site": site}


def site_for_new_patient(user: Any, requested: str) -> str:
    """The site a new patient of this user gets: a limited user's own (whatever was asked)."""
    site = site_of(user)
    return requested if site is None else site
