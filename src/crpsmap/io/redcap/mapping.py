"""Which fields of a REDCap project hold what: the mapping file (TOML) and crpsmap's own project's mapping.

A project built from crpsmap's dictionary needs no mapping (`default_mapping`). Any other project is
described by a small TOML file (docs/import.md, "REDCap"):

    [patient]
    id = "record_id"          # default: the first column of the export
    sex = "sex"               # radio/dropdown/text; codes read through [choices.sex] or the dictionary
    birth_date = "dob"        # only its year is kept (or birth_year = "FIELD")

    [[records]]               # one table per kind of row that gives records
    instrument = "bp"         # the repeating instrument; "" (default) = rows of no repeating instrument
    kind = "assessment"       # or kind_field = "FIELD"
    date = "date_bp"          # or none: the command's --visit-date
    regions = ["body_map"]    # checkbox fields (body_map___f01...) or text fields ("f01,b17")
    pain = "pain_now"
    extra = ["bp_systolic"]   # kept verbatim as extra values

    [choices.sex]             # what a field's codes mean, where the dictionary does not say it
    "0" = "female"
    "1" = "male"

    [region_codes.check_two]  # what a checkbox's codes mean, where they are not atlas names
    a = "hand_right"
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crpsmap.history import RecordKind
from crpsmap.io.columns import VALUE_COLUMNS
from crpsmap.io.problems import HistoryImportError, ImportProblem, show
from crpsmap.io.redcap import project
from crpsmap.io.source import SourceError, read_path

#: Record values a field may give, as the long format names them (its value columns)
VALUE_FIELDS = VALUE_COLUMNS
#: Record values that may instead be counted from a checkbox field (the number of boxes ticked)
COUNTED_FIELDS = {
    "css": "css_items",
    "budapest_symptoms": "budapest_symptom_items",
    "budapest_signs": "budapest_sign_items",
}
PATIENT_KEYS = ("id", "sex", "birth_year", "birth_date", "crps_type", "provenance")
RECORD_KEYS = (
    "instrument",
    "events",
    "kind",
    "kind_field",
    "date",
    "optional",
    "regions",
    "extra",
    *VALUE_FIELDS,
    *COUNTED_FIELDS.values(),
)
TOP_KEYS = ("patient", "records", "choices", "region_codes")
MAX_MAPPING_BYTES = 1_000_000
#: the name of `default_mapping()`, the mapping of a project built from crpsmap's dictionary
OWN_PROJECT = "crpsmap's REDCap project"


@dataclass(frozen=True)
class RecordSource:
    """One kind of row of the export that gives one record per row."""

    where: str  # how messages name this table ("records[2]")
    instrument: str = ""
    events: tuple[str, ...] = ()  # empty: every event
    kind: RecordKind | None = None
    kind_field: str | None = None
    date: str | None = None  # None: the one visit date given for the file
    optional: bool = False  # a row without a date gives no record (start/end pairs of one instrument)
    regions: tuple[str, ...] = ()
    values: dict[str, str] = field(default_factory=dict)  # Record field -> REDCap field
    counted: dict[str, str] = field(default_factory=dict)  # Record field -> checkbox field counted
    extra: tuple[str, ...] = ()

    def fields(self) -> list[str]:
        """Every REDCap field this source reads."""
        out = [f for f in (self.kind_field, self.date) if f]
        return (
            out
            + list(self.regions)
            + list(self.values.values())
            + list(self.counted.values())
            + list(self.extra)
        )


@dataclass(frozen=True)
class PatientFields:
    id: str | None = None  # None: the first column
    sex: str | None = None
    birth_year: str | None = None
    birth_date: str | None = None
    crps_type: str | None = None
    provenance: str | None = None


@dataclass(frozen=True)
class Mapping:
    """Where each part of a patient history is in a REDCap export."""

    name: str  # where the mapping came from, for messages
    patient: PatientFields
    records: tuple[RecordSource, ...]
    choices: dict[str, dict[str, str]] = field(default_factory=dict)  # field -> code -> our name
    region_codes: dict[str, dict[str, str]] = field(default_factory=dict)  # field -> code -> region


def default_mapping() -> Mapping:
    """The mapping of a project built from crpsmap's data dictionary (`project.py`)."""
    visit_values = {
        v: v for v in ("pain", "css", "budapest_symptoms", "budapest_signs", "hrv_rmssd", "hrv_hf", "crp")
    }
    return Mapping(
        name=OWN_PROJECT,
        patient=PatientFields(
            id=project.RECORD_ID,
            sex="sex",
            birth_year="birth_year",
            crps_type="crps_type",
            provenance="provenance",
        ),
        records=(
            RecordSource(
                "visit",
                instrument=project.VISIT_FORM,
                kind_field="visit_kind",
                date="visit_date",
                regions=("body_map", "visceral"),
                values=visit_values,
                counted={
                    "css": "css_items",
                    "budapest_symptoms": "budapest_symptom_categories",
                    "budapest_signs": "budapest_sign_categories",
                },
            ),
            RecordSource(
                "clinical_event",
                instrument=project.EVENT_FORM,
                kind_field="event_kind",
                date="event_date",
                regions=("event_body_map", "event_visceral"),
            ),
            RecordSource(
                "treatment start",
                instrument=project.TREATMENT_FORM,
                kind=RecordKind.treatment_start,
                date="treatment_start",
                optional=True,
                values={"treatment": "treatment_name"},
            ),
            RecordSource(
                "treatment end",
                instrument=project.TREATMENT_FORM,
                kind=RecordKind.treatment_end,
                date="treatment_end",
                optional=True,
                values={"treatment": "treatment_name"},
            ),
        ),
    )


class _Checker:
    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[ImportProblem] = []

    def add(self, key: str | None, message: str) -> None:
        self.problems.append(ImportProblem(self.name, None, key, message))

    def table(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.add(key, f"must be a table ([{key}]), not {type(value).__name__}")
            return {}
        return value

    def keys(self, table: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                self.add(
                    f"{where}.{key}" if where else key, f"unknown key{hint}; known: {', '.join(allowed)}"
                )

    def name_of(self, value: Any, key: str) -> str | None:
        """A field name: a non-empty string."""
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(key, f"must be a field name (a string), not {show(str(value))}")
            return None
        return value.strip()

    def names(self, value: Any, key: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.add(key, "must be a list of field names")
            return ()
        out = [self.name_of(v, key) for v in value]
        return tuple(v for v in out if v)

    def codes(self, value: Any, key: str) -> dict[str, str]:
        table = self.table(value, key)
        out = {}
        for code, meaning in table.items():
            if not isinstance(meaning, (str, int)):
                self.add(f"{key}.{code}", "must be a name (a string)")
                continue
            out[str(code).strip()] = str(meaning).strip()
        return out


def parse_mapping(data: dict[str, Any], name: str) -> Mapping:
    """A Mapping from a parsed TOML document; raises HistoryImportError naming each wrong key."""
    c = _Checker(name)
    c.keys(data, TOP_KEYS, "")
    patient_table = c.table(data.get("patient", {}), "patient")
    c.keys(patient_table, PATIENT_KEYS, "patient")
    patient = PatientFields(**{k: c.name_of(patient_table.get(k), f"patient.{k}") for k in PATIENT_KEYS})
    if patient.birth_year and patient.birth_date:
        c.add("patient", "give birth_year or birth_date, not both")
    raw_records = data.get("records")
    if not isinstance(raw_records, list) or not raw_records:
        c.add("records", "give at least one [[records]] table (which rows give records, and their dates)")
        raw_records = []
    records = []
    for i, raw in enumerate(raw_records):
        where = f"records[{i}]"
        table = c.table(raw, where)
        c.keys(table, RECORD_KEYS, where)
        kind: RecordKind | None = None
        if "kind" in table:
            try:
                kind = RecordKind(str(table["kind"]).strip().lower())
            except ValueError:
                c.add(
                    f"{where}.kind",
                    f"unknown kind {show(str(table['kind']))}; expected one of "
                    f"{', '.join(k.value for k in RecordKind)}",
                )
        kind_field = c.name_of(table.get("kind_field"), f"{where}.kind_field")
        if (kind is None) == (kind_field is None) and "kind" not in table:
            c.add(where, 'give kind = "assessment" (or another kind) or kind_field = "FIELD"')
        elif kind is not None and kind_field is not None:
            c.add(where, "give kind or kind_field, not both")
        optional = table.get("optional", False)
        if not isinstance(optional, bool):
            c.add(f"{where}.optional", "must be true or false")
            optional = False
        instrument = table.get("instrument", "")
        if not isinstance(instrument, str):
            c.add(f"{where}.instrument", "must be an instrument name (a string)")
            instrument = ""
        counted = {
            value: fname
            for value, key in COUNTED_FIELDS.items()
            if (fname := c.name_of(table.get(key), f"{where}.{key}")) is not None
        }
        records.append(
            RecordSource(
                where,
                instrument=instrument.strip(),
                events=c.names(table.get("events"), f"{where}.events"),
                kind=kind,
                kind_field=kind_field,
                date=c.name_of(table.get("date"), f"{where}.date"),
                optional=optional,
                regions=c.names(table.get("regions"), f"{where}.regions"),
                values={
                    v: fname
                    for v in VALUE_FIELDS
                    if (fname := c.name_of(table.get(v), f"{where}.{v}")) is not None
                },
                counted=counted,
                extra=c.names(table.get("extra"), f"{where}.extra"),
            )
        )
    choices = {f: c.codes(t, f"choices.{f}") for f, t in c.table(data.get("choices", {}), "choices").items()}
    region_codes = {
        f: c.codes(t, f"region_codes.{f}")
        for f, t in c.table(data.get("region_codes", {}), "region_codes").items()
    }
    if c.problems:
        raise HistoryImportError(c.problems)
    return Mapping(name, patient, tuple(records), choices, region_codes)


def read_mapping(source: Path | bytes, *, name: str | None = None) -> Mapping:
    """Read a mapping file (TOML; a path, or its bytes, e.g. an upload); raises HistoryImportError
    naming the file (`name`, default the path) and what is wrong."""
    if isinstance(source, bytes):
        name, raw = name or "mapping", source
    else:
        name = name or str(source)
        try:
            raw = read_path(source)
        except SourceError as exc:
            raise HistoryImportError([ImportProblem(name, None, None, str(exc))]) from None
    if len(raw) > MAX_MAPPING_BYTES:
        raise HistoryImportError(
            [ImportProblem(name, None, None, f"over {MAX_MAPPING_BYTES:,} bytes; not a mapping")]
        )
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise HistoryImportError(
            [ImportProblem(name, None, None, "not UTF-8 text; a mapping is a TOML file")]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise HistoryImportError([ImportProblem(name, None, None, f"not valid TOML: {exc}")]) from None
    return parse_mapping(data, name)
