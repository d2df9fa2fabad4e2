"""Patient histories -> FHIR R4B Bundles (type collection), as plain JSON-ready dicts.

The resources are built as dicts in the shape the R4B models define (docs/fhir.md), not as
fhir.resources objects: a cohort of 10,000 patients has about half a million resources, and building
them as validated models would take minutes where dicts take seconds. The tests validate what this
module writes with fhir.resources (R4B) and the official JSON schema; `crpsmap fhir --validate` does the
former on request (`crpsmap.fhir.validate`).

Every resource id is a uuid5 of the patient id and the resource's role in the history ("patient",
"crps/upper", "record/3/pain", ...), so two exports of one file are byte-identical, and every reference
is the `urn:uuid:` fullUrl of an entry of the same Bundle. Region facts (areas, limbs, sides, SNOMED CT
ids, CHOIR codes, the ICD-10-CM table) are read from the atlas; codes come from `crpsmap.fhir.codes`, and
an atlas code that is not verified there is left out (the text stays).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import IO, Any

from markupsafe import Markup

from crpsmap.atlas import Atlas, load_atlas
from crpsmap.fhir import codes as C
from crpsmap.history import INVOLVEMENT_KINDS, CRPSType, PatientHistory, Provenance, Record, RecordKind
from crpsmap.spread import classify

Json = dict[str, Any]

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, C.ID_NAMESPACE_NAME)
#: a resource's narrative: XHTML whose one text is escaped by markupsafe (Jinja2's escaping)
_NARRATIVE = Markup('<div xmlns="http://www.w3.org/1999/xhtml">{}</div>')

#: the values a record may carry, in export order: (field, code, category, unit or None for integers)
VALUE_FIELDS: tuple[tuple[str, C.Code, C.Code, str | None], ...] = (
    ("pain", C.PAIN_SEVERITY, C.CATEGORY_SURVEY, "{score}"),
    ("css", C.CSS, C.CATEGORY_EXAM, None),
    ("budapest_symptoms", C.BUDAPEST_SYMPTOMS, C.CATEGORY_EXAM, None),
    ("budapest_signs", C.BUDAPEST_SIGNS, C.CATEGORY_EXAM, None),
    ("hrv_rmssd", C.HRV_RMSSD, C.CATEGORY_PROCEDURE, "ms"),
    ("hrv_hf", C.HRV_HF, C.CATEGORY_PROCEDURE, "ms2"),
    ("crp", C.CRP_MASS, C.CATEGORY_LABORATORY, "mg/L"),
)

_CRPS_TEXT = {
    CRPSType.I: "Complex regional pain syndrome type I",
    CRPSType.II: "Complex regional pain syndrome type II",
    CRPSType.unknown: "Complex regional pain syndrome (type not recorded)",
}
_LIMB_CLASS_TEXT = {"upper": "upper limb", "lower": "lower limb", "other": "other site", "unspecified": ""}
_SIDE_TEXT = {"left": "Left", "right": "Right"}


def resource_uuid(patient_id: str, role: str) -> str:
    """The deterministic id of one resource of one patient (a uuid5 string)."""
    return str(uuid.uuid5(_NAMESPACE, f"{patient_id}\x1f{role}"))


def full_url(resource_id: str) -> str:
    return f"urn:uuid:{resource_id}"


# ---- body sites ----------------------------------------------------------------------------------------


def _snomed_site(concept: str | None, side: str | None, atlas: Atlas) -> Json | None:
    """A SNOMED CT coding of a body structure with laterality as a post-coordinated expression
    (`concept:272741003=side`, the style of the official R4B example Observation-bmd), or None when the
    structure or the laterality qualifier is not verified."""
    if concept is None or concept not in C.VERIFIED_SNOMED:
        return None
    if side in ("left", "right"):
        qualifier = atlas.laterality_snomed.get(side)
        if qualifier is None or qualifier not in C.VERIFIED_SNOMED:
            return None
        return {"system": C.SNOMED, "code": f"{concept}:{C.LATERALITY_ATTRIBUTE.code}={qualifier}"}
    return {"system": C.SNOMED, "code": concept}


@cache
def region_site(slug: str) -> Json:
    """The bodySite CodeableConcept of an atlas region (segment, area or visceral system): SNOMED CT body
    structure + laterality where verified, the CHOIR code for a segment, the atlas slug, and its name as
    text. Cached and shared between resources: never modify what it returns."""
    atlas = load_atlas()
    codings: list[Json] = []
    seg = atlas.segment_by_slug.get(slug)
    if seg is not None:
        area = atlas.area_by_slug[seg.area]
        site = _snomed_site(area.snomed, area.side, atlas)
        text = seg.label
    elif slug in atlas.area_by_slug:
        area = atlas.area_by_slug[slug]
        site = _snomed_site(area.snomed, area.side, atlas)
        text = area.name
    else:
        visceral = atlas.visceral_by_slug[slug]
        site = _snomed_site(visceral.snomed, None, atlas)
        text = visceral.name
    if site is not None:
        codings.append(site)
    if seg is not None:
        codings.append({"system": C.CHOIR_BODY_MAP, "code": str(seg.choir), "display": seg.label})
    codings.append({"system": C.ATLAS, "code": slug})
    return {"coding": codings, "text": text}


@cache
def limb_site(limb: str) -> Json:
    """The bodySite of a whole limb (atlas LIMBS name, e.g. upper_left): SNOMED CT upper/lower limb with
    laterality, the atlas limb name, and text."""
    atlas = load_atlas()
    group, side = limb.split("_")
    codings: list[Json] = []
    site = _snomed_site(C.LIMB_SNOMED[group], side, atlas)
    if site is not None:
        codings.append(site)
    codings.append({"system": C.ATLAS, "code": limb})
    return {"coding": codings, "text": f"{_SIDE_TEXT[side]} {group} limb"}


# ---- small pieces ------------------------------------------------------------------------------------


@cache
def _concept(code: C.Code) -> Json:
    """A CodeableConcept of one code, with its display as text (what a reader shows). Cached and shared:
    never modify what it returns."""
    return {"coding": [code.coding()], "text": code.display or code.code}


@cache
def _status(code: C.Code) -> Json:
    """A CodeableConcept of a status or category code of HL7's own code systems (display, no text).
    Cached and shared: never modify what it returns."""
    return {"coding": [code.coding()]}


def _narrative(text: str) -> Json:
    return {"status": "generated", "div": str(_NARRATIVE.format(text))}


@cache
def _meta(provenance: Provenance) -> Json:
    """meta.tag of every resource: crpsmap's provenance, and HL7's "test health data" for made-up and
    virtual patients, so that no resource taken out of the Bundle passes for a real patient's."""
    tags = [C.PROVENANCES[provenance.value].coding()]
    if provenance is not Provenance.clinic:
        tags.append(C.TEST_HEALTH_DATA.coding())
    return {"tag": tags}


@dataclass
class _Patient:
    """What every resource of one patient shares."""

    history: PatientHistory
    meta: Json
    subject: Json

    def resource(self, resource_type: str, role: str, body: Json) -> Json:
        rid = resource_uuid(self.history.patient_id, role)
        return {
            "fullUrl": full_url(rid),
            "resource": {"resourceType": resource_type, "id": rid, "meta": self.meta, **body},
        }


# ---- resources ---------------------------------------------------------------------------------------


def _patient(p: _Patient, identifier_system: str) -> Json:
    h = p.history
    body: Json = {
        "text": _narrative(
            f"Pseudonymous patient {h.patient_id} ({C.PROVENANCE_DISPLAY[h.provenance.value]})"
        ),
        "identifier": [{"system": identifier_system, "value": h.patient_id}],
        "gender": h.sex.value,
    }
    if h.birth_year is not None:
        body["birthDate"] = f"{h.birth_year:04d}"
    return p.resource("Patient", "patient", body)


def _crps_conditions(p: _Patient) -> list[Json]:
    """One CRPS Condition per limb class involved (upper limbs, lower limbs), "other site" when areas but
    no limb were ever involved, "unspecified" when the history names no involvement at all."""
    h = p.history
    atlas = load_atlas()
    c = classify(h)
    first: dict[str, dt.date] = {}
    for limb, date in zip(c.limbs, c.limb_dates, strict=True):
        first.setdefault(limb, date)
    out: list[Json] = []
    for group in ("upper", "lower"):
        limbs = [limb for limb in (f"{group}_right", f"{group}_left") if limb in first]
        if not limbs:
            continue
        key = f"{group}_bilateral" if len(limbs) == 2 else limbs[0]
        onset = min(first[limb] for limb in limbs)
        out.append(_crps(p, group, atlas.icd10cm.get(key), onset, [limb_site(limb) for limb in limbs]))
    if not out and c.onset_date is not None:
        units = list(dict.fromkeys([*c.onset_areas, *(e.area for e in c.events)]))
        out.append(
            _crps(p, "other", atlas.icd10cm.get("other"), c.onset_date, [region_site(u) for u in units])
        )
    if not out:
        out.append(_crps(p, "unspecified", atlas.icd10cm.get("unspecified"), None, []))
    return out


def _crps(p: _Patient, limb_class: str, icd: str | None, onset: dt.date | None, sites: list[Json]) -> Json:
    h = p.history
    atlas = load_atlas()
    text = _CRPS_TEXT[h.crps_type]
    codings: list[Json] = []
    type_i = atlas.crps_snomed.get("I")
    if h.crps_type is CRPSType.I and type_i == C.CRPS_TYPE_I.code:
        codings.append(C.CRPS_TYPE_I.coding())
        # ICD-10-CM G90.5 is CRPS type I (type II is G56.4-/G57.7-, by nerve): a second coding for type I
        if icd is not None and icd in C.ICD10CM_TITLES:
            codings.append({"system": C.ICD10CM, "code": icd, "display": C.ICD10CM_TITLES[icd]})
    else:
        codings.append(C.CRPS.coding())
    where = _LIMB_CLASS_TEXT[limb_class]
    body: Json = {
        "text": _narrative(f"{text}{', ' + where if where else ''}" + (f"; onset {onset}" if onset else "")),
        "clinicalStatus": _status(C.CLINICAL_ACTIVE),
        "verificationStatus": _status(C.VERIFICATION_CONFIRMED),
        "category": [_status(C.PROBLEM_LIST_ITEM)],
        "code": {"coding": codings, "text": text},
    }
    if sites:
        body["bodySite"] = sites
    body["subject"] = p.subject
    if onset is not None:
        body["onsetDateTime"] = onset.isoformat()
    return p.resource("Condition", f"crps/{limb_class}", body)


def _sites(regions: Sequence[str]) -> list[Json]:
    return [region_site(s) for s in regions]


def _record_entries(p: _Patient, index: int, r: Record) -> list[Json]:
    """The resources of one record: a visit (onset, assessment) is a panel Observation whose members are
    its pain locations and measured values; an event is a Condition or Procedure; a treatment record is an
    Observation with the treatment's text."""
    role = f"record/{index}"
    date = r.date.isoformat()
    kind = C.RECORD_KINDS[r.kind.value]
    out: list[Json] = []

    def observation(sub: str, code: C.Code, category: C.Code, value: Json, site: Json | None = None) -> Json:
        body: Json = {
            "status": "final",
            "category": [_status(category)],
            "code": _concept(code),
            "subject": p.subject,
            "effectiveDateTime": date,
            **value,
        }
        if site is not None:
            body["bodySite"] = site
        return p.resource("Observation", f"{role}/{sub}", body)

    members: list[Json] = []
    if r.kind in INVOLVEMENT_KINDS:
        for slug in r.regions:
            members.append(
                observation(
                    f"location/{slug}",
                    C.PAIN_LOCATION,
                    C.CATEGORY_SURVEY,
                    {"valueBoolean": True},
                    region_site(slug),
                )
            )
    for field, code, category, unit in VALUE_FIELDS:
        value = getattr(r, field)
        if value is None:
            continue
        if unit is None:
            v: Json = {"valueInteger": int(value)}
        else:
            v = {"valueQuantity": {"value": value, "unit": unit, "system": C.UCUM, "code": C.UNITS[unit]}}
        members.append(observation(field, code, category, v))
    if r.treatment is not None and r.kind not in (RecordKind.treatment_start, RecordKind.treatment_end):
        members.append(
            observation("treatment", C.TREATMENT, C.CATEGORY_THERAPY, {"valueString": r.treatment})
        )

    if r.kind in INVOLVEMENT_KINDS:
        panel: Json = {
            "status": "final",
            "category": [_status(C.CATEGORY_EXAM)],
            "code": _concept(kind),
            "subject": p.subject,
            "effectiveDateTime": date,
        }
        if members:
            panel["hasMember"] = [{"reference": m["fullUrl"]} for m in members]
        out.append(p.resource("Observation", f"{role}/visit", panel))
    elif r.kind in (RecordKind.treatment_start, RecordKind.treatment_end):
        value = {"valueString": r.treatment} if r.treatment is not None else {}
        out.append(observation("event", kind, C.CATEGORY_THERAPY, value))
    elif r.kind is RecordKind.surgery:
        body: Json = {
            "text": _narrative(f"{kind.display} on {date}"),
            "status": "completed",
            "code": _concept(kind),
            "subject": p.subject,
            "performedDateTime": date,
        }
        if r.regions:
            body["bodySite"] = _sites(r.regions)
        out.append(p.resource("Procedure", f"{role}/event", body))
    else:  # trauma, infection: a Condition that started that day
        body = {
            "text": _narrative(f"{kind.display} on {date}"),
            "category": [_status(C.ENCOUNTER_DIAGNOSIS)],
            "code": _concept(kind),
        }
        if r.regions:
            body["bodySite"] = _sites(r.regions)
        body["subject"] = p.subject
        body["onsetDateTime"] = date
        out.append(p.resource("Condition", f"{role}/event", body))
    return out + members


def patient_entries(
    history: PatientHistory, *, identifier_system: str = C.DEFAULT_IDENTIFIER_SYSTEM
) -> list[Json]:
    """The Bundle entries of one patient: Patient, CRPS Condition(s), then each record's resources in date
    order."""
    pid = resource_uuid(history.patient_id, "patient")
    p = _Patient(history, _meta(history.provenance), {"reference": full_url(pid)})
    entries = [_patient(p, identifier_system), *_crps_conditions(p)]
    for i, r in enumerate(history.records):
        entries += _record_entries(p, i, r)
    return entries


# ---- bundles -------------------------------------------------------------------------------------------


def _bundle_head(bundle_id: str) -> Json:
    return {"resourceType": "Bundle", "id": bundle_id, "type": "collection"}


def bundle_id(histories: Sequence[PatientHistory]) -> str:
    """The Bundle's own id: of its patient for a one-patient Bundle, of the patients' ids for a cohort."""
    if len(histories) == 1:
        return resource_uuid(histories[0].patient_id, "bundle")
    return str(uuid.uuid5(_NAMESPACE, "cohort\x1f" + "\x1f".join(h.patient_id for h in histories)))


def build_bundle(
    histories: Sequence[PatientHistory], *, identifier_system: str = C.DEFAULT_IDENTIFIER_SYSTEM
) -> Json:
    """One Bundle (a dict) with every patient of `histories`; one patient gives a per-patient Bundle."""
    bundle = _bundle_head(bundle_id(histories))
    entries = [e for h in histories for e in patient_entries(h, identifier_system=identifier_system)]
    if entries:  # FHIR forbids empty arrays
        bundle["entry"] = entries
    return bundle


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def iter_bundle_text(
    histories: Sequence[PatientHistory],
    *,
    identifier_system: str = C.DEFAULT_IDENTIFIER_SYSTEM,
    check: Callable[[Json], None] | None = None,
) -> Iterator[str]:
    """The Bundle as JSON text, in pieces, one entry per line: a big cohort is written without holding
    its whole Bundle in memory. The pieces joined parse to `build_bundle`'s dict. `check`, if given, is
    called with each resource before it is written (`crpsmap.fhir.validate_resource`)."""
    head = _dumps(_bundle_head(bundle_id(histories)))
    first = True
    for h in histories:
        for entry in patient_entries(h, identifier_system=identifier_system):
            if check is not None:
                check(entry["resource"])
            yield (head[:-1] + ',"entry":[\n' if first else ",\n") + _dumps(entry)
            first = False
    yield head + "\n" if first else "\n]}\n"


def write_bundle(
    histories: Sequence[PatientHistory],
    out: IO[str],
    *,
    identifier_system: str = C.DEFAULT_IDENTIFIER_SYSTEM,
    check: Callable[[Json], None] | None = None,
) -> None:
    """Write the Bundle of `histories` to a text file (see `iter_bundle_text`)."""
    for piece in iter_bundle_text(histories, identifier_system=identifier_system, check=check):
        out.write(piece)


def bundle_text(
    histories: Sequence[PatientHistory],
    *,
    identifier_system: str = C.DEFAULT_IDENTIFIER_SYSTEM,
    check: Callable[[Json], None] | None = None,
) -> str:
    """The Bundle of `histories` as one JSON text (see `iter_bundle_text`)."""
    return "".join(iter_bundle_text(histories, identifier_system=identifier_system, check=check))


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def patient_file_name(patient_id: str) -> str:
    """A file name for a patient's Bundle that is safe whatever the id holds (separators, "..", control
    or invisible characters, reserved device names, case-only differences): the id's letters, digits, "_"
    and "-" (at most 40), then a hash of the whole id so that two ids never share a name."""
    stem = _UNSAFE.sub("_", patient_id).strip("_-")[:40] or "patient"
    digest = hashlib.sha256(patient_id.encode("utf-8")).hexdigest()[:16]
    return f"{stem}-{digest}.fhir.json"


def per_patient_texts(
    histories: Iterable[PatientHistory],
    *,
    identifier_system: str = C.DEFAULT_IDENTIFIER_SYSTEM,
    check: Callable[[Json], None] | None = None,
) -> Iterator[tuple[str, str]]:
    """(file name, Bundle JSON text) of each patient."""
    for h in histories:
        yield (
            patient_file_name(h.patient_id),
            bundle_text([h], identifier_system=identifier_system, check=check),
        )
