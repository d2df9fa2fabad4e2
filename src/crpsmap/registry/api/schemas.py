"""The API's request and response schemas. The rules are in the schemas themselves, so the OpenAPI
document tells clients what is accepted: region slugs, kinds, sex, CRPS type and instrument items are
enums built from the atlas and from `crpsmap.history` / `crpsmap.instruments`; value ranges are those of
`crpsmap.history.Record` (read from its fields: one place of the rule); dates run from 1900-01-01 to
today, as the models' validators say (`models.validate_date_range`, called here).

What the schema cannot say (a visit dated before the patient's birth year) is checked by the models'
own `clean()` on saving, the checks the web forms run; both give a 422 naming the field.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.fields import FieldInfo

from crpsmap import instruments
from crpsmap.atlas import LIMBS, load_atlas
from crpsmap.history import MIN_BIRTH_YEAR, CRPSType, Provenance, Record, RecordKind, Sex
from crpsmap.registry.models import CODE_RE, validate_date_range


def region_slugs() -> list[str]:
    """Every canonical region slug: the 74 CHOIR segments, then the areas, then the visceral systems
    (a slug that is both a segment and an area once)."""
    atlas = load_atlas()
    slugs = (
        [s.slug for s in atlas.segments] + [a.slug for a in atlas.areas] + [v.slug for v in atlas.visceral]
    )
    return list(dict.fromkeys(slugs))


if TYPE_CHECKING:  # the enums are built at run time from the atlas and the instruments
    RegionSlug = str
    CssItem = str
    BudapestCategory = str
    Limb = str
else:
    RegionSlug = StrEnum("RegionSlug", [(s, s) for s in region_slugs()])
    CssItem = StrEnum("CssItem", [(k, k) for k, _ in instruments.CSS_ITEMS])
    BudapestCategory = StrEnum("BudapestCategory", [(k, k) for k, *_ in instruments.BUDAPEST_CATEGORIES])
    Limb = StrEnum("Limb", [(limb, limb) for limb in LIMBS])


class VisitKind(StrEnum):
    onset = RecordKind.onset.value
    assessment = RecordKind.assessment.value


class EventKind(StrEnum):
    trauma = RecordKind.trauma.value
    surgery = RecordKind.surgery.value
    infection = RecordKind.infection.value


def record_rule(name: str) -> FieldInfo:
    """The bounds of `crpsmap.history.Record`'s field `name` (e.g. pain 0-10), to reuse as they are."""
    annotation = Record.model_fields[name].annotation
    for arm in getattr(annotation, "__args__", ()):
        for meta in getattr(arm, "__metadata__", ()):
            if isinstance(meta, FieldInfo):
                return meta
    raise LookupError(f"Record.{name} has no bounds")


def _iso_date(value: Any) -> Any:
    """Only YYYY-MM-DD: pydantic alone would also take a number of seconds since 1970 as a date."""
    if isinstance(value, str) and not re.fullmatch(ISO_DATE, value):
        raise ValueError("a date is written YYYY-MM-DD")
    if not isinstance(value, str | dt.date):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


def _plausible_date(value: dt.date) -> dt.date:
    try:
        validate_date_range(value)
    except DjangoValidationError as exc:
        raise ValueError("; ".join(exc.messages)) from None
    return value


def _not_future_year(value: int) -> int:
    if value > dt.date.today().year:
        raise ValueError("birth year is in the future")
    return value


def _storable(value: str) -> str:
    """Text the databases can store: no NUL character (PostgreSQL refuses it), no lone surrogate."""
    if "\x00" in value:
        raise ValueError("a NUL character is not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("not valid Unicode text") from None
    return value


def _unique(values: list[Any] | None) -> list[Any] | None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError("an item is named twice")
    return values


NO_NUL = r"^[^\x00]*$"
ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date), Field(json_schema_extra={"pattern": ISO_DATE})]
PastDate = Annotated[
    IsoDate,
    AfterValidator(_plausible_date),
    Field(description=f"a date from {MIN_BIRTH_YEAR}-01-01 to today (YYYY-MM-DD)"),
]
BirthYear = Annotated[
    int,
    Field(ge=MIN_BIRTH_YEAR, description=f"from {MIN_BIRTH_YEAR} to the current year"),
    AfterValidator(_not_future_year),
]
Site = Annotated[
    str, Field(max_length=100, pattern=NO_NUL, description="the clinic site"), AfterValidator(_storable)
]
Code = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=CODE_RE,
        description="pseudonymous patient code: letters, digits, '.', '_' and '-'; never a name",
    ),
]
Regions = Annotated[
    list[RegionSlug],
    Field(
        max_length=len(region_slugs()),
        json_schema_extra={"uniqueItems": True},
        description="canonical region slugs (CHOIR segments, body areas, visceral systems), each once",
    ),
    AfterValidator(_unique),
]
CssItems = Annotated[
    list[CssItem],
    Field(max_length=instruments.CSS_MAX, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_unique),
]
BudapestCategories = Annotated[
    list[BudapestCategory],
    Field(max_length=instruments.BUDAPEST_MAX, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_unique),
]
Pain = Annotated[float, record_rule("pain")]
Css = Annotated[int, record_rule("css")]
BudapestCount = Annotated[int, record_rule("budapest_symptoms")]
BudapestSignCount = Annotated[int, record_rule("budapest_signs")]
Rmssd = Annotated[float, record_rule("hrv_rmssd")]
HighFrequency = Annotated[float, record_rule("hrv_hf")]
Crp = Annotated[float, record_rule("crp")]


class Strict(Schema):
    """Unknown fields are refused (a misspelt field must not be dropped silently)."""

    model_config = ConfigDict(extra="forbid")


# ---- errors ---------------------------------------------------------------------------------------------


class Error(Schema):
    detail: str = Field(description="what went wrong, in one sentence")


class FieldError(Schema):
    field: str = Field(description="the field at fault ('' for the request as a whole)")
    loc: list[str | int] = Field(description="where: body, query or path, then the field")
    msg: str


class InvalidInput(Schema):
    detail: str
    errors: list[FieldError]


# ---- patients -------------------------------------------------------------------------------------------


class PatientOut(Schema):
    """A patient as the API shows it to every role: pseudonymous; never identity, never notes."""

    code: Code
    sex: Sex
    birth_year: int | None
    crps_type: CRPSType
    site: str
    provenance: Provenance = Field(description="clinic data, synthetic data or model output")


class PatientIn(Strict):
    code: Code
    sex: Sex = Sex.unknown
    birth_year: BirthYear | None = None
    crps_type: CRPSType = CRPSType.unknown
    site: Site = ""


class PatientPage(Schema):
    count: int = Field(ge=0, description="patients matching the filters")
    page: int = Field(ge=1)
    page_size: int = Field(ge=1)
    pages: int = Field(ge=1)
    items: list[PatientOut]


class PatientFilters(Schema):
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(100, ge=1, le=500)
    site: Site | None = None


class VisitOut(Schema):
    id: int
    date: dt.date
    kind: VisitKind
    regions: list[RegionSlug]
    pain: Pain | None
    css: Css | None
    css_items: list[CssItem] | None = Field(description="CSS items present (null: items not recorded)")
    budapest_symptoms: BudapestCount | None
    budapest_signs: BudapestSignCount | None
    budapest_symptom_categories: list[BudapestCategory] | None
    budapest_sign_categories: list[BudapestCategory] | None
    pain_disproportionate: bool | None
    no_better_diagnosis: bool | None
    budapest_clinical: bool | None = Field(description="clinical criteria met (null: not known)")
    budapest_research: bool | None = Field(description="research criteria met (null: not known)")
    hrv_rmssd: Rmssd | None
    hrv_hf: HighFrequency | None
    crp: Crp | None
    signed: bool


class VisitIn(Strict):
    """A visit as a site pushes it. With CSS items (or Budapest categories) the totals follow from them,
    as in the visit form; a total given beside its items must agree with them."""

    date: PastDate
    kind: VisitKind = VisitKind.assessment
    regions: Regions = []
    pain: Pain | None = Field(None, description="pain, NRS 0-10")
    css_items: CssItems | None = Field(None, description="CRPS Severity Score items present")
    css: Css | None = Field(None, description="CRPS Severity Score 0-17 (the total, when no items)")
    budapest_symptom_categories: BudapestCategories | None = None
    budapest_sign_categories: BudapestCategories | None = None
    budapest_symptoms: BudapestCount | None = Field(None, description="symptom categories reported, 0-4")
    budapest_signs: BudapestSignCount | None = Field(None, description="sign categories observed, 0-4")
    pain_disproportionate: bool | None = None
    no_better_diagnosis: bool | None = None
    hrv_rmssd: Rmssd | None = Field(None, description="HRV RMSSD in ms (above 0, up to 500)")
    hrv_hf: HighFrequency | None = Field(None, description="HRV HF power in ms², 0-100000")
    crp: Crp | None = Field(None, description="C-reactive protein in mg/L, 0-1000")

    @model_validator(mode="after")
    def _consistent(self) -> VisitIn:
        if self.kind is VisitKind.onset and not self.regions:
            raise ValueError("an onset record must name at least one region")
        pairs = (
            ("css_items", "css"),
            ("budapest_symptom_categories", "budapest_symptoms"),
            ("budapest_sign_categories", "budapest_signs"),
        )
        for items, total in pairs:
            chosen, given = getattr(self, items), getattr(self, total)
            if chosen is not None and given is not None and len(chosen) != given:
                raise ValueError(f"{total} {given} disagrees with the {len(chosen)} {items} given")
        return self


class EventOut(Schema):
    id: int
    date: dt.date
    kind: EventKind
    regions: list[RegionSlug]


class EventIn(Strict):
    date: PastDate
    kind: EventKind
    regions: Regions = []


class TreatmentOut(Schema):
    id: int
    name: str
    start: dt.date | None
    end: dt.date | None


class PatientHistoryOut(Schema):
    patient: PatientOut
    visits: list[VisitOut]
    events: list[EventOut]
    treatments: list[TreatmentOut]


class SpreadEventOut(Schema):
    date: dt.date
    area: RegionSlug = Field(description="the newly involved area or visceral system")
    pattern: Literal["mirror", "contiguous", "independent", "visceral"] = Field(description="Maleki pattern")
    limb_pattern: Literal["contralateral", "ipsilateral", "diagonal"] | None = Field(
        description="van Rijn pattern, for the first area of a newly involved limb"
    )
    direction: Literal["ascending", "descending", "lateral"] | None
    trigger: Literal["trauma", "spontaneous"]


class SpreadOut(Schema):
    """What the classifier finds in this patient's records (computed on read, never stored)."""

    code: Code
    onset_date: dt.date | None
    onset_areas: list[RegionSlug]
    spread: bool
    limbs: list[Limb] = Field(description="limbs in the order they became involved")
    limb_dates: list[dt.date]
    first_limb: Limb | None = Field(description="null when none, or several at once")
    generalized_date: dt.date | None
    visceral_date: dt.date | None
    last_date: dt.date | None
    events: list[SpreadEventOut]


# ---- cohort ---------------------------------------------------------------------------------------------


class StatisticsFilters(Schema):
    site: Site | None = None
    onset_from: IsoDate | None = Field(None, description="onset on or after this date")
    onset_to: IsoDate | None = Field(None, description="onset on or before this date")


class ExportOptions(Schema):
    research: bool = Field(
        False, description="the research export (keyed pseudonyms, shifted dates); researchers always get it"
    )


class ProportionOut(Schema):
    count: int = Field(ge=0)
    denominator: int = Field(ge=0)
    proportion: float | None = Field(ge=0, le=1, description="null when the denominator is 0")
    ci_low: float | None = Field(ge=0, le=1, description="Wilson 95% interval")
    ci_high: float | None = Field(ge=0, le=1)


class SecondLimbOut(Schema):
    n: int = Field(ge=0, description="patients with an identifiable first limb")
    events: int = Field(ge=0, description="of them, patients with a second limb")
    median_days: float | None = Field(
        description="Kaplan-Meier median days to a second limb (null: not reached)"
    )
    ci_low: float | None
    ci_high: float | None


class StatisticsOut(Schema):
    site: str | None
    onset_from: dt.date | None
    onset_to: dt.date | None
    provenances: list[Provenance] = Field(description="where the selected patients' data come from")
    n_patients: int = Field(ge=0)
    n_with_onset: int = Field(ge=0)
    n_without_involvement: int = Field(ge=0)
    n_single_record: int = Field(ge=0)
    any_spread: ProportionOut
    multi_limb: ProportionOut
    generalized: ProportionOut
    visceral: ProportionOut
    maleki: dict[str, ProportionOut]
    second_limb: SecondLimbOut
    definitions: dict[str, str]
