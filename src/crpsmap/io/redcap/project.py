"""crpsmap's REDCap project: its instruments and fields, in one place.

The data dictionary (`dictionary.py`), the default import mapping (`mapping.py`) and the export
(`writer.py`) are all built from the tables here, so that a project made from our dictionary imports
with no configuration and an export uploads into it.

The project is a classic (non-longitudinal) REDCap project with repeating instruments:

- `patient` (one per record): the pseudonymous code, sex, birth year, CRPS type, where the data come from;
- `visit` (repeating): the visit date, onset or assessment, the CHOIR Body Map as a checkbox field whose
  choices are the 74 REDCap Image Map keys (`f01`..`b38`, drawn by the Image Map external module through
  `@IMAGEMAP=CHOIRBODYMAP_FEMALE` or `_MALE`), internal-organ systems, pain, CRPS Severity Score, Budapest
  criteria, HRV and CRP;
- `clinical_event` (repeating): traumas, surgeries and infections, with the body map of where;
- `treatment` (repeating): a treatment's name, start date and end date.
"""

from __future__ import annotations

from dataclasses import dataclass

from crpsmap.atlas import load_atlas
from crpsmap.history import PROVENANCE_LABELS, CRPSType, Provenance, RecordKind, Sex
from crpsmap.instruments import BUDAPEST_CATEGORIES, CSS_ITEMS, CSS_MAX

#: the REDCap Image Map module's CHOIR body maps (the keys are the same; only the drawing differs)
BODY_MAP_FIGURES = {"female": "CHOIRBODYMAP_FEMALE", "male": "CHOIRBODYMAP_MALE"}
DEFAULT_FIGURE = "female"

RECORD_ID = "record_id"
PATIENT_FORM = "patient"
VISIT_FORM = "visit"
EVENT_FORM = "clinical_event"
TREATMENT_FORM = "treatment"
#: the instruments that repeat (one instance per visit, event or treatment)
REPEATING_FORMS = (VISIT_FORM, EVENT_FORM, TREATMENT_FORM)

#: form status written on export (REDCap: 0 incomplete, 1 unverified, 2 complete)
FORM_COMPLETE = "2"

_SEX_LABELS = {Sex.female: "Female", Sex.male: "Male", Sex.other: "Other", Sex.unknown: "Unknown"}
_TYPE_LABELS = {CRPSType.I: "CRPS type I", CRPSType.II: "CRPS type II", CRPSType.unknown: "Type not known"}
_VISIT_KINDS = {RecordKind.onset: "CRPS onset (first involvement)", RecordKind.assessment: "Assessment"}
_EVENT_KINDS = {RecordKind.trauma: "Trauma", RecordKind.surgery: "Surgery", RecordKind.infection: "Infection"}
CHOIR_CITATION = "CHOIR Body Map: Stanford CHOIR (Kao, Mackey); Scherrer KH et al., PAIN Reports 2021;6:e880."
NOT_CLINICAL_ADVICE = "For research and records; not a basis for treatment decisions."


@dataclass(frozen=True)
class Field:
    """One row of the data dictionary (the columns that matter here; the rest are empty)."""

    name: str
    form: str
    type: str  # text, radio, checkbox, notes, descriptive
    label: str
    choices: tuple[tuple[str, str], ...] = ()  # (code, label)
    validation: str = ""  # date_ymd, integer, number
    minimum: str = ""
    maximum: str = ""
    note: str = ""
    required: bool = False
    annotation: str = ""
    identifier: bool = False
    section: str = ""

    def choices_text(self) -> str:
        """REDCap's choices cell: `code, label | code, label`."""
        return " | ".join(f"{code}, {label}" for code, label in self.choices)

    def columns(self) -> list[str]:
        """The columns of this field in a flat export (a checkbox has one per choice)."""
        if self.type == "checkbox":
            return [f"{self.name}___{code}" for code, _ in self.choices]
        if self.type == "descriptive":
            return []
        return [self.name]


def body_map_choices() -> tuple[tuple[str, str], ...]:
    """The 74 Image Map keys with the segments' labels, in key order (front f01..f36, back b01..b38)."""
    segments = sorted(load_atlas().segments, key=lambda s: s.choir)
    return tuple((s.redcap, s.label) for s in segments)


def visceral_choices() -> tuple[tuple[str, str], ...]:
    return tuple((v.slug, v.name) for v in load_atlas().visceral)


def fields(figure: str = DEFAULT_FIGURE) -> tuple[Field, ...]:
    """Every field of the project in dictionary order; `figure` is the body-map drawing (female/male)."""
    imagemap = f"@IMAGEMAP={BODY_MAP_FIGURES[figure]}"
    body_map = body_map_choices()
    visceral = visceral_choices()
    budapest = tuple((key, label) for key, label, *_ in BUDAPEST_CATEGORIES)
    return (
        # ---- patient
        Field(
            RECORD_ID,
            PATIENT_FORM,
            "text",
            "Patient code (pseudonymous: no name, no hospital number)",
            note="A code that links to the patient only through a key kept outside REDCap.",
            required=True,
        ),
        Field("sex", PATIENT_FORM, "radio", "Sex", tuple((s.value, lab) for s, lab in _SEX_LABELS.items())),
        Field(
            "birth_year",
            PATIENT_FORM,
            "text",
            "Year of birth",
            validation="integer",
            minimum="1900",
            note="The year only.",
        ),
        Field(
            "crps_type",
            PATIENT_FORM,
            "radio",
            "CRPS type",
            tuple((t.value, lab) for t, lab in _TYPE_LABELS.items()),
        ),
        Field(
            "provenance",
            PATIENT_FORM,
            "radio",
            "Where these data come from",
            tuple((p.value, PROVENANCE_LABELS[p]) for p in Provenance),
            note="Synthetic and model data must never be mistaken for a real patient's.",
        ),
        # ---- visit (repeating)
        Field("visit_date", VISIT_FORM, "text", "Visit date", validation="date_ymd", required=True),
        Field(
            "visit_kind",
            VISIT_FORM,
            "radio",
            "This visit records",
            tuple((k.value, lab) for k, lab in _VISIT_KINDS.items()),
            note="Onset: the first record of CRPS (where it began). Assessment: any later visit.",
            required=True,
        ),
        Field(
            "body_map",
            VISIT_FORM,
            "checkbox",
            "Where is CRPS present today? (CHOIR Body Map)",
            body_map,
            note=CHOIR_CITATION,
            annotation=imagemap,
        ),
        Field("visceral", VISIT_FORM, "checkbox", "Internal-organ involvement", visceral),
        Field(
            "pain",
            VISIT_FORM,
            "text",
            "Average pain intensity (0-10)",
            validation="number",
            minimum="0",
            maximum="10",
        ),
        Field(
            "css",
            VISIT_FORM,
            "text",
            f"CRPS Severity Score, total (0-{CSS_MAX})",
            validation="integer",
            minimum="0",
            maximum=str(CSS_MAX),
            note="Harden RN et al., Pain 2010;151:870-876. Empty: counted from the items below, if any.",
            section="CRPS Severity Score",
        ),
        Field("css_items", VISIT_FORM, "checkbox", "CSS items present", CSS_ITEMS),
        Field(
            "budapest_symptoms",
            VISIT_FORM,
            "text",
            f"Budapest: categories with a reported symptom (0-{len(budapest)})",
            validation="integer",
            minimum="0",
            maximum=str(len(budapest)),
            note="Harden RN et al., Pain 2010;150:268-274. Empty: counted from the categories below, if any.",
            section="Budapest criteria",
        ),
        Field(
            "budapest_symptom_categories",
            VISIT_FORM,
            "checkbox",
            "Categories with a reported symptom",
            budapest,
        ),
        Field(
            "budapest_signs",
            VISIT_FORM,
            "text",
            f"Budapest: categories with a sign on examination (0-{len(budapest)})",
            validation="integer",
            minimum="0",
            maximum=str(len(budapest)),
            note="Empty: counted from the categories below, if any.",
        ),
        Field(
            "budapest_sign_categories",
            VISIT_FORM,
            "checkbox",
            "Categories with a sign on examination",
            budapest,
        ),
        Field(
            "hrv_rmssd",
            VISIT_FORM,
            "text",
            "HRV: RMSSD (ms)",
            validation="number",
            minimum="0",
            maximum="500",
            section="Vagal tone and inflammation",
        ),
        Field(
            "hrv_hf",
            VISIT_FORM,
            "text",
            "HRV: HF power (ms²)",
            validation="number",
            minimum="0",
            maximum="100000",
        ),
        Field(
            "crp",
            VISIT_FORM,
            "text",
            "C-reactive protein (mg/L)",
            validation="number",
            minimum="0",
            maximum="1000",
        ),
        # ---- trauma, surgery, infection (repeating)
        Field("event_date", EVENT_FORM, "text", "Date", validation="date_ymd", required=True),
        Field(
            "event_kind",
            EVENT_FORM,
            "radio",
            "What happened",
            tuple((k.value, lab) for k, lab in _EVENT_KINDS.items()),
            required=True,
        ),
        Field(
            "event_body_map", EVENT_FORM, "checkbox", "Where (CHOIR Body Map)", body_map, annotation=imagemap
        ),
        Field("event_visceral", EVENT_FORM, "checkbox", "Internal organs involved", visceral),
        # ---- treatment (repeating)
        Field("treatment_name", TREATMENT_FORM, "text", "Treatment", required=True, note=NOT_CLINICAL_ADVICE),
        Field("treatment_start", TREATMENT_FORM, "text", "Started", validation="date_ymd"),
        Field("treatment_end", TREATMENT_FORM, "text", "Ended", validation="date_ymd"),
    )


def forms(figure: str = DEFAULT_FIGURE) -> list[str]:
    """The instruments in dictionary order."""
    out: list[str] = []
    for f in fields(figure):
        if f.form not in out:
            out.append(f.form)
    return out


def export_columns(figure: str = DEFAULT_FIGURE) -> list[str]:
    """The columns of a flat export of the project, as REDCap writes them: the record id, the repeat
    columns, then each instrument's fields followed by its `<form>_complete`."""
    out = [RECORD_ID, "redcap_repeat_instrument", "redcap_repeat_instance"]
    by_form: dict[str, list[Field]] = {}
    for f in fields(figure):
        by_form.setdefault(f.form, []).append(f)
    for form, form_fields in by_form.items():
        for f in form_fields:
            if f.name != RECORD_ID:
                out.extend(f.columns())
        out.append(f"{form}_complete")
    return out
