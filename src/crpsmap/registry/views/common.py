"""Helpers shared by the views: finding a patient, saving with a reason, paginating."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models, transaction
from django.http import HttpRequest

from crpsmap.registry.models import Patient
from crpsmap.registry.sites import patient_for


def get_patient(request: HttpRequest, code: str) -> Patient:
    """The patient of that code if the requesting user may see it (sites.py), else 404."""
    return patient_for(request.user, code)


def save_row(
    obj: models.Model, request: HttpRequest, reason: str = "", *, form_checked: bool = False
) -> None:
    """Save one clinical row; its row history names the user and carries the reason for change.
    A row from a valid ModelForm has passed the model's checks already (`form_checked`)."""
    obj._history_user = request.user
    if reason:
        obj._change_reason = reason
    with transaction.atomic():
        # field and model checks; uniqueness and check constraints are the database's (one place, and
        # a form has asked them already)
        if not form_checked:
            obj.full_clean(validate_unique=False, validate_constraints=False)
        obj.save()


def parse_date(value: str | None) -> dt.date | None:
    """An ISO date from a query parameter; None when absent or not a date (a filter is then off)."""
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def site_names() -> list[str]:
    """The sites in the registry, for the filters."""
    return sorted(s for s in Patient.objects.values_list("site", flat=True).distinct() if s)


def page_of(items: list[Any], page: int, size: int) -> tuple[list[Any], int, int]:
    pages = max(1, (len(items) + size - 1) // size)
    page = min(max(1, page), pages)
    return items[(page - 1) * size : page * size], page, pages
