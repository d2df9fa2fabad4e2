"""Forms for patients, identity, events, treatments, users and import (the visit form: visit_forms.py).

The checks are those of the CSV import (dates from 1900 and not in the future, atlas codes, ranges);
the models' validators and database constraints enforce them again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth import get_user_model, password_validation

from crpsmap.atlas import load_atlas
from crpsmap.io.formats import FORMATS
from crpsmap.registry.models import ClinicalEvent, Patient, PatientIdentity, Treatment
from crpsmap.registry.roles import Role
from crpsmap.registry.sites import LIMITABLE_ROLES

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def area_choices() -> list[tuple[str, str]]:
    return [(a.slug, a.name) for a in load_atlas().areas]


def visceral_choices() -> list[tuple[str, str]]:
    return [(v.slug, v.name) for v in load_atlas().visceral]


def region_choices() -> list[tuple[str, str]]:
    """Areas then visceral systems, for pickers that name whole areas (events, treatments)."""
    return area_choices() + visceral_choices()


def fix_site(field: forms.Field, site: str | None) -> None:
    """Show a user limited to one site (sites.py) that site, not changeable (a disabled field ignores
    whatever a request sends for it)."""
    if site is not None:
        field.disabled = True
        field.initial = site
        field.help_text = "your account is limited to this site"


class PatientForm(forms.ModelForm):
    """A patient's own fields. For a user limited to one site (sites.py) the site is that site, shown
    but not changeable: whatever a request sends for it is ignored."""

    class Meta:
        model = Patient
        fields = ["code", "sex", "birth_year", "crps_type", "site"]

    def __init__(self, *args: Any, site: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fix_site(self.fields["site"], site)
        if site is not None and self.instance.pk is None:
            self.instance.site = site


class IdentityForm(forms.ModelForm):
    class Meta:
        model = PatientIdentity
        fields = ["name", "date_of_birth", "record_number"]
        widgets = {"date_of_birth": DATE_WIDGET}


class ReasonMixin(forms.Form):
    """A reason for change: required when the form edits an existing row."""

    reason = forms.CharField(
        label="Reason for change",
        required=False,
        max_length=200,
        help_text="required when changing a saved entry; kept in the audit trail",
    )

    def require_reason(self, needed: bool) -> None:
        self._reason_needed = needed
        if needed:
            self.fields["reason"].required = True


class EventForm(forms.ModelForm):
    regions = forms.MultipleChoiceField(
        choices=region_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="body areas touched (for a trauma or surgery: the injured area)",
    )
    reason = forms.CharField(label="Reason for change", required=False, max_length=200)

    class Meta:
        model = ClinicalEvent
        fields = ["kind", "date", "regions", "note"]
        widgets = {"date": DATE_WIDGET, "note": forms.Textarea(attrs={"rows": 2})}


class TreatmentForm(forms.ModelForm):
    reason = forms.CharField(label="Reason for change", required=False, max_length=200)

    class Meta:
        model = Treatment
        fields = ["name", "start", "end", "note"]
        widgets = {"start": DATE_WIDGET, "end": DATE_WIDGET, "note": forms.Textarea(attrs={"rows": 2})}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("name"):
            self.add_error("name", "name the treatment")
        if data.get("start") is None and data.get("end") is None:
            self.add_error("start", "a treatment needs a start date")
        return data


class ImportForm(forms.Form):
    """One form for every layout `crpsmap convert` reads (`crpsmap.io.formats.FORMATS`)."""

    file = forms.FileField(label="File")
    layout = forms.ChoiceField(label="Layout", choices=list(FORMATS.items()), initial="csv", required=False)
    site = forms.CharField(required=False, max_length=100, help_text="site of the imported patients")

    def __init__(self, *args: Any, site: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fix_site(self.fields["site"], site)

    visit_date = forms.DateField(
        required=False,
        widget=DATE_WIDGET,
        help_text=(
            "CHOIR without a date column, or a REDCap mapping without a date field: the date of every row"
        ),
    )
    date_column = forms.CharField(
        required=False, max_length=200, help_text="CHOIR: the column that dates each row"
    )
    mapping = forms.FileField(
        required=False,
        help_text="REDCap: which fields hold what (TOML); not needed for crpsmap's own project",
    )
    dictionary = forms.FileField(required=False, help_text="REDCap: the project's data dictionary (CSV)")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        layout = data["layout"] = data.get("layout") or "csv"
        if layout == "choir" and bool(data.get("visit_date")) == bool(data.get("date_column")):
            self.add_error("visit_date", "CHOIR: give a visit date (a file without dates) or a date column")
        for side in ("mapping", "dictionary"):
            if layout != "redcap" and data.get(side):
                self.add_error(side, "a mapping and a data dictionary are for REDCap exports")
        if layout != "choir" and data.get("date_column"):
            self.add_error("date_column", "a date column is for CHOIR tables")
        if layout == "csv" and data.get("visit_date"):
            self.add_error("visit_date", "the CSV long format dates every row itself")
        return data


SITE_HELP = "limit this user to one site's patients (clinicians and researchers); empty: every site"


def check_site_for_role(form: forms.Form, data: dict[str, Any]) -> None:
    if (data.get("site") or "").strip() and data.get("role") not in {r.value for r in LIMITABLE_ROLES}:
        role = data.get("role")
        form.add_error("site", f"a {role} sees every site; only clinicians and researchers are limited")


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=[(r.value, r.value) for r in Role])
    site = forms.CharField(required=False, max_length=100, help_text=SITE_HELP)
    password = forms.CharField(widget=forms.PasswordInput, help_text="at least 12 characters")

    def clean_username(self) -> str:
        name: str = self.cleaned_data["username"]
        if get_user_model().objects.filter(username=name).exists():
            raise forms.ValidationError("a user of that name exists")
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        check_site_for_role(self, data)
        if data.get("password"):
            user = get_user_model()(username=data.get("username", ""))
            try:
                password_validation.validate_password(data["password"], user)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class UserEditForm(forms.Form):
    role = forms.ChoiceField(choices=[(r.value, r.value) for r in Role])
    site = forms.CharField(required=False, max_length=100, help_text=SITE_HELP)
    is_active = forms.BooleanField(label="active", required=False)
    new_password = forms.CharField(widget=forms.PasswordInput, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        check_site_for_role(self, data)
        return data


def not_future(value: dt.date | None) -> None:
    if value is not None and value > dt.date.today():
        raise forms.ValidationError("in the future")
