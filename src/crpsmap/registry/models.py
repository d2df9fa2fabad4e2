"""Registry tables. A patient is a pseudonymous code; identity lives apart (`PatientIdentity`).

Each dated row maps to one record of the core `PatientHistory` (a treatment row to its start and end
records); `histories.py` is the only crossing. Regions are stored as canonical atlas slugs, in the order
given. `seq` keeps the order of records within a patient (the CSV order of same-day records), so that an
import followed by an export gives the same file back. Classification and statistics are never stored:
they are computed from these rows on read. Every clinical table keeps its row history (who, when, the
full row before and after) with django-simple-history; `AuditEvent` records reads, exports, imports and
logins. Neither can be altered or deleted (database triggers, migration 0002).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from crpsmap import instruments
from crpsmap.atlas import UnknownRegionError, load_atlas
from crpsmap.history import MIN_BIRTH_YEAR, PROVENANCE_LABELS, CRPSType, Provenance, RecordKind, Sex

CODE_RE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def validate_regions(value: Any) -> None:
    """A list of canonical atlas slugs (segments, areas, visceral systems), each once."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("regions must be a list of region names")
    atlas = load_atlas()
    for name in value:
        try:
            slug = atlas.resolve(name)
        except UnknownRegionError as exc:
            raise ValidationError(str(exc)) from None
        if slug != name:
            raise ValidationError(f"region {name!r} is not canonical (use {slug!r})")
    if len(set(value)) != len(value):
        raise ValidationError("a region is named twice")


def validate_extra(value: Any) -> None:
    """Extra CSV columns: a list of [column, value] pairs, order kept (a JSON object may lose its order)."""
    if not isinstance(value, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in value
    ):
        raise ValidationError("extra values must be a list of [column, value] pairs")


def validate_not_future(value: dt.date) -> None:
    if value > dt.date.today():
        raise ValidationError(f"{value.isoformat()} is in the future")


def validate_date_range(value: dt.date) -> None:
    if value.year < MIN_BIRTH_YEAR:
        raise ValidationError(f"{value.isoformat()} is before {MIN_BIRTH_YEAR}")
    validate_not_future(value)


class Patient(models.Model):
    """A patient under a pseudonymous code; nothing here identifies a person."""

    code = models.CharField(
        "patient code",
        max_length=64,
        unique=True,
        validators=[RegexValidator(CODE_RE, "letters, digits, '.', '_' and '-' only, up to 64")],
        help_text="pseudonymous code; never a name or record number",
    )
    sex = models.CharField(max_length=8, choices=[(s.value, s.value) for s in Sex], default=Sex.unknown.value)
    birth_year = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(MIN_BIRTH_YEAR)]
    )
    crps_type = models.CharField(
        "CRPS type",
        max_length=8,
        choices=[(t.value, t.value) for t in CRPSType],
        default=CRPSType.unknown.value,
    )
    site = models.CharField(max_length=100, blank=True, db_index=True)
    provenance = models.CharField(
        max_length=10,
        choices=[(p.value, PROVENANCE_LABELS[p]) for p in Provenance],
        default=Provenance.clinic.value,
    )
    created = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(birth_year__isnull=True) | Q(birth_year__gte=MIN_BIRTH_YEAR),
                name="patient_birth_year",
            ),
            models.CheckConstraint(condition=Q(sex__in=[s.value for s in Sex]), name="patient_sex"),
            models.CheckConstraint(
                condition=Q(crps_type__in=[t.value for t in CRPSType]), name="patient_crps_type"
            ),
            models.CheckConstraint(
                condition=Q(provenance__in=[p.value for p in Provenance]), name="patient_provenance"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        if self.birth_year is not None and self.birth_year > dt.date.today().year:
            raise ValidationError({"birth_year": "birth year is in the future"})

    def next_seq(self) -> int:
        """The next record position within this patient (after every existing row)."""
        mine = Q(patient=models.OuterRef("pk"))

        def top(model: type[models.Model], field: str) -> models.Subquery:
            rows = model._default_manager.filter(mine).order_by().values("patient")
            return models.Subquery(rows.annotate(m=models.Max(field)).values("m")[:1])

        row = (
            Patient.objects.filter(pk=self.pk)
            .annotate(
                v=top(Visit, "seq"),
                e=top(ClinicalEvent, "seq"),
                ts=top(Treatment, "start_seq"),
                te=top(Treatment, "end_seq"),
            )
            .values_list("v", "e", "ts", "te")
            .get()
        )  # one query
        return max([t for t in row if t is not None], default=-1) + 1


class PatientIdentity(models.Model):
    """Identifying data, kept apart: only clinicians and admins see or export them."""

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="identity")
    name = models.CharField(max_length=200, blank=True)
    date_of_birth = models.DateField(null=True, blank=True, validators=[validate_date_range])
    record_number = models.CharField("hospital record number", max_length=64, blank=True)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"identity of {self.patient.code}"


class DatedRow(models.Model):
    """Common columns of the rows that become history records."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT)
    regions = models.JSONField(default=list, blank=True, validators=[validate_regions])
    extra = models.JSONField(default=list, blank=True, validators=[validate_extra])
    #: record values the row has no column for (e.g. pain on a trauma row of an imported file)
    other_values = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True, max_length=5000)

    class Meta:
        abstract = True

    def check_after_birth(self, date: dt.date | None, field: str) -> None:
        """A record cannot predate the patient's birth year (the CSV import's rule)."""
        if date is None or not self.patient_id:
            return
        if type(self).patient.is_cached(self):  # the view has the patient already: no query
            by = self.patient.birth_year
        else:
            by = Patient.objects.filter(pk=self.patient_id).values_list("birth_year", flat=True).first()
        if by is not None and date.year < by:
            raise ValidationError({field: f"before the patient's birth year {by}"})


def _range(lo: float, hi: float) -> list[Any]:
    return [MinValueValidator(lo), MaxValueValidator(hi)]


class Visit(DatedRow):
    """A clinic visit (or the onset record): involved regions and the measurements of that day."""

    KINDS = [(RecordKind.onset.value, "onset"), (RecordKind.assessment.value, "visit / assessment")]

    date = models.DateField(validators=[validate_date_range])
    kind = models.CharField(max_length=12, choices=KINDS, default=RecordKind.assessment.value)
    seq = models.IntegerField(default=0)
    pain = models.FloatField("pain (NRS 0-10)", null=True, blank=True, validators=_range(0, 10))
    css_items = models.JSONField("CSS items present", null=True, blank=True)
    css = models.PositiveSmallIntegerField(
        "CRPS Severity Score", null=True, blank=True, validators=_range(0, instruments.CSS_MAX)
    )
    budapest_symptom_categories = models.JSONField(null=True, blank=True)
    budapest_sign_categories = models.JSONField(null=True, blank=True)
    budapest_symptoms = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=_range(0, instruments.BUDAPEST_MAX)
    )
    budapest_signs = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=_range(0, instruments.BUDAPEST_MAX)
    )
    pain_disproportionate = models.BooleanField(null=True, blank=True)
    no_better_diagnosis = models.BooleanField(null=True, blank=True)
    hrv_rmssd = models.FloatField(
        "HRV RMSSD (ms)", null=True, blank=True, validators=[MinValueValidator(0.001), MaxValueValidator(500)]
    )
    hrv_hf = models.FloatField("HRV HF power (ms²)", null=True, blank=True, validators=_range(0, 100000))
    crp = models.FloatField("CRP (mg/L)", null=True, blank=True, validators=_range(0, 1000))
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "seq"]
        indexes = [models.Index(fields=["patient", "date", "seq"])]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["onset", "assessment"]), name="visit_kind"),
            models.CheckConstraint(
                condition=Q(pain__isnull=True) | Q(pain__gte=0, pain__lte=10), name="visit_pain"
            ),
            models.CheckConstraint(
                condition=Q(css__isnull=True) | Q(css__lte=instruments.CSS_MAX), name="visit_css"
            ),
            models.CheckConstraint(
                condition=Q(budapest_symptoms__isnull=True)
                | Q(budapest_symptoms__lte=instruments.BUDAPEST_MAX),
                name="visit_budapest_symptoms",
            ),
            models.CheckConstraint(
                condition=Q(budapest_signs__isnull=True) | Q(budapest_signs__lte=instruments.BUDAPEST_MAX),
                name="visit_budapest_signs",
            ),
            models.CheckConstraint(
                condition=Q(hrv_rmssd__isnull=True) | Q(hrv_rmssd__gt=0, hrv_rmssd__lte=500),
                name="visit_rmssd",
            ),
            models.CheckConstraint(
                condition=Q(hrv_hf__isnull=True) | Q(hrv_hf__gte=0, hrv_hf__lte=100000), name="visit_hf"
            ),
            models.CheckConstraint(
                condition=Q(crp__isnull=True) | Q(crp__gte=0, crp__lte=1000), name="visit_crp"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.date} of {self.patient_id}"

    def compute_totals(self) -> None:
        """CSS and Budapest counts follow from their items whenever the items were recorded."""
        if self.css_items is not None:
            self.css = instruments.css_total(self.css_items)
        if self.budapest_symptom_categories is not None:
            self.budapest_symptoms = instruments.budapest_count(self.budapest_symptom_categories)
        if self.budapest_sign_categories is not None:
            self.budapest_signs = instruments.budapest_count(self.budapest_sign_categories)

    def clean(self) -> None:
        try:
            self.compute_totals()
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        if self.kind == RecordKind.onset.value and not self.regions:
            raise ValidationError("an onset record must name at least one region")
        self.check_after_birth(self.date, "date")

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.compute_totals()
        super().save(*args, **kwargs)

    @property
    def budapest_clinical(self) -> bool | None:
        return instruments.budapest_met(
            self.budapest_symptoms, self.budapest_signs, self.pain_disproportionate, self.no_better_diagnosis
        )

    @property
    def budapest_research(self) -> bool | None:
        return instruments.budapest_met(
            self.budapest_symptoms,
            self.budapest_signs,
            self.pain_disproportionate,
            self.no_better_diagnosis,
            research=True,
        )


class ClinicalEvent(DatedRow):
    """A trauma, surgery or infection, with the regions it touched."""

    KINDS = [
        (RecordKind.trauma.value, "trauma"),
        (RecordKind.surgery.value, "surgery"),
        (RecordKind.infection.value, "infection"),
    ]

    date = models.DateField(validators=[validate_date_range])
    kind = models.CharField(max_length=12, choices=KINDS)
    seq = models.IntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "seq"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["trauma", "surgery", "infection"]), name="event_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.date} of {self.patient_id}"

    def clean(self) -> None:
        self.check_after_birth(self.date, "date")


class Treatment(DatedRow):
    """A treatment with its start and (once known) end; either date may be missing in imported data."""

    name = models.CharField(max_length=200, blank=True)
    start = models.DateField(null=True, blank=True, validators=[validate_date_range])
    end = models.DateField(null=True, blank=True, validators=[validate_date_range])
    start_seq = models.IntegerField(null=True, blank=True)
    end_seq = models.IntegerField(null=True, blank=True)
    #: extra columns and values of the end record (the start record's are in `extra` / `other_values`)
    end_extra = models.JSONField(default=list, blank=True, validators=[validate_extra])
    end_other_values = models.JSONField(default=dict, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["start", "end", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__isnull=False) | Q(end__isnull=False), name="treatment_has_a_date"
            ),
            models.CheckConstraint(
                condition=Q(start__isnull=True) | Q(end__isnull=True) | Q(end__gte=models.F("start")),
                name="treatment_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"treatment {self.name or '(unnamed)'} of {self.patient_id}"

    def clean(self) -> None:
        if self.start is None and self.end is None:
            raise ValidationError("a treatment needs a start or an end date")
        if self.start and self.end and self.end < self.start:
            raise ValidationError({"end": "the end is before the start"})
        self.check_after_birth(self.start, "start")
        self.check_after_birth(self.end, "end")


class AuditEvent(models.Model):
    """An append-only line of the audit trail: reads of patient data, exports, imports, logins, user
    changes. Writes of clinical rows are in their row history (simple-history), shown beside these."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, blank=True)
    action = models.CharField(max_length=40, db_index=True)
    patient_code = models.CharField(max_length=64, blank=True, db_index=True)
    detail = models.JSONField(default=dict, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.patient_code}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("audit records are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("audit records cannot be deleted")


#: an API token lives this long unless its creator says otherwise, and never longer than the maximum
API_TOKEN_DEFAULT_DAYS = 90
API_TOKEN_MAX_DAYS = 365


class ApiToken(models.Model):
    """A bearer token for the JSON API (docs/registry-api.md). Only its SHA-256 is stored: the token is
    shown once when it is made. It acts with its user's current role (`roles.role_of`), so it never grants
    more than the user has, and stops working when the user is deactivated, when it expires or when it is
    revoked. `prefix` (the first characters of the token) names it in lists and in the audit trail."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, help_text="what the token is for")
    prefix = models.CharField(max_length=16, db_index=True)
    token_hash = models.CharField("SHA-256 of the token", max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"API token {self.prefix}… of {self.user_id}"

    def state(self, now: dt.datetime) -> str:
        """The token's state at `now`: "revoked", "expired", "user inactive" or "active" (the first that
        applies, in that order)."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        if not self.user.is_active:
            return "user inactive"
        return "active"


class RoleSecurityPolicy(models.Model):
    """What an admin asks of every user of one role at login: `require_totp` makes a TOTP second factor
    (django-otp) compulsory for that role; a user of it without a device is sent to enrolment first.
    No row for a role means nothing is required beyond the password."""

    role = models.CharField(max_length=20, unique=True)
    require_totp = models.BooleanField("require a TOTP second factor", default=False)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["role"]

    def __str__(self) -> str:
        return f"{self.role}: {'TOTP required' if self.require_totp else 'password only'}"


class SiteAccess(models.Model):
    """The one site whose patients a user may see and change (REDCap's data access group). A user without
    a row sees every site. Admins and auditors are never limited (sites.py says why)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="site_access"
    )
    site = models.CharField(max_length=100)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["site"]
        constraints = [models.CheckConstraint(condition=~Q(site=""), name="site_access_site_not_empty")]

    def __str__(self) -> str:
        return f"{self.user}: {self.site}"
