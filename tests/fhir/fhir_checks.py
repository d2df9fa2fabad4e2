"""Checks of exported FHIR Bundles, written independently of the exporter: the official R4B JSON schema,
the fhir.resources R4B models, the invariants of Condition and Bundle (their FHIRPath quoted), reference
resolution, pseudonymity, and an independent reading of the Bundle back into per-patient facts."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.validators import extend, validator_for

from crpsmap.atlas import load_atlas
from crpsmap.history import INVOLVEMENT_KINDS, PatientHistory, RecordKind

Json = dict[str, Any]

SCHEMA_PATH = Path(__file__).parent.parent / "fixtures" / "fhir" / "fhir.schema.json.gz"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CHOIR = "urn:crpsmap:choir-body-map"
ATLAS = "urn:crpsmap:atlas"
RECORD_KIND = "urn:crpsmap:record-kind"
VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
UUID_URN = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

#: hand-made histories: every record kind, CRPS type, sex; birth year or not; regions as segments (slug
#: and CHOIR code), areas and visceral systems; an extra column; a hostile patient id
HAND_CSV = """patient_id,date,kind,regions,sex,birth_year,crps_type,provenance,pain,css,budapest_symptoms,\
budapest_signs,hrv_rmssd,hrv_hf,crp,treatment,note
P1,2019-12-01,trauma,wrist_right,female,1980,I,clinic,,,,,,,,,Jane Doe called
P1,2020-01-10,onset,hand_palm_right;wrist_front_right,female,1980,I,clinic,7,12,4,3,35.5,420,3.2,,
P1,2020-02-01,treatment_start,,female,1980,I,clinic,,,,,,,,gabapentin 300 mg,
P1,2020-06-01,assessment,hand_right;hand_left,female,1980,I,clinic,6.5,,,,,,,,
P1,2020-08-01,surgery,hand_left,female,1980,I,clinic,,,,,,,,,
P1,2020-09-01,treatment_end,,female,1980,I,clinic,,,,,,,,gabapentin,
P1,2020-10-01,assessment,121;foot_left;visceral_bladder,female,1980,I,clinic,5,,,,,,,physiotherapy,
P1,2021-01-05,infection,visceral_respiratory,female,1980,I,clinic,,,,,,,,,
"../../etc/passwd",2021-03-01,onset,foot_sole_left,male,,II,synthetic,8,,,,,,,,
"../../etc/passwd",2021-03-01,assessment,lower_leg_front_left,male,,II,synthetic,,,,,,,,,
"../../etc/passwd",2021-05-01,assessment,,male,,II,synthetic,2,,,,,,,,
P3,2018-04-01,onset,chest_left,other,1975,unknown,model,4,,,,,,,,
P3,2018-09-01,assessment,abdomen_right;visceral_gastrointestinal,other,1975,unknown,model,,,,,,,,,
p1,2017-01-01,onset,face_right,unknown,1990,I,clinic,3,,,,,,,,
p1,2017-05-01,assessment,face_right;neck_left,unknown,1990,I,clinic,,,,,,,,,
"""


# ---- the official JSON schema -----------------------------------------------------------------------


@cache
def schema() -> Json:
    with gzip.open(SCHEMA_PATH, "rt", encoding="utf-8") as f:
        return dict(json.load(f))


@cache
def schema_validator() -> jsonschema.protocols.Validator:
    """A validator of the official schema (draft-06) that honours the schema's own `discriminator`
    (propertyName resourceType): a `oneOf` over resource definitions is checked against the one
    definition its resourceType names. Equivalent to plain `oneOf` because every resource definition
    requires its own resourceType as a `const` (checked in `test_schema_discriminator_is_sound`), and it
    keeps a Bundle of thousands of entries from being checked against all 140 resource types each."""
    s = schema()
    base = validator_for(s)
    mapping: dict[str, str] = s["discriminator"]["mapping"]
    refs = set(mapping.values())
    plain_one_of = base.VALIDATORS["oneOf"]

    def one_of(validator: Any, subschemas: Any, instance: Any, sub: Json) -> Iterator[ValidationError]:
        if isinstance(instance, dict) and all(set(x) == {"$ref"} and x["$ref"] in refs for x in subschemas):
            ref = mapping.get(instance.get("resourceType"))  # type: ignore[arg-type]
            if ref is None or {"$ref": ref} not in subschemas:
                yield ValidationError(f"resourceType {instance.get('resourceType')!r} is not a resource")
                return
            yield from validator.descend(instance, {"$ref": ref})
            return
        yield from plain_one_of(validator, subschemas, instance, sub)

    cls = extend(base, {"oneOf": one_of})
    cls.check_schema(s)
    return cls(s)


def schema_errors(bundle: Json) -> list[str]:
    """The schema's complaints about a Bundle (empty when it validates)."""
    errors = list(schema_validator().iter_errors(bundle))
    if not errors:
        return []
    best = best_match(errors)
    return [f"{'/'.join(map(str, best.absolute_path))}: {best.message}"] + [e.message for e in errors[1:5]]


# ---- fhir.resources ------------------------------------------------------------------------------------


def model_round_trip(text: str) -> Json:
    """Parse the JSON text with the fhir.resources R4B Bundle model and give back what it holds."""
    from fhir.resources.R4B.bundle import Bundle

    model = Bundle.model_validate_json(text)
    return dict(json.loads(model.model_dump_json()))


# ---- invariants ----------------------------------------------------------------------------------------


def _codings(concept: Json | None) -> list[Json]:
    return list((concept or {}).get("coding", []))


def _has(concept: Json | None, system: str, *codes: str) -> bool:
    return any(c.get("system") == system and c.get("code") in codes for c in _codings(concept))


def con_3(c: Json) -> bool:
    """con-3: verificationStatus.empty().not() and verificationStatus.coding.where(system=
    'http://terminology.hl7.org/CodeSystem/condition-ver-status' and code='entered-in-error').exists().not()
    and category.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-category' and
    code='problem-list-item').exists() implies clinicalStatus.empty().not()"""
    premise = (
        "verificationStatus" in c
        and not _has(c.get("verificationStatus"), VER_STATUS, "entered-in-error")
        and any(_has(cat, CATEGORY, "problem-list-item") for cat in c.get("category", []))
    )
    return not premise or "clinicalStatus" in c


def con_4(c: Json) -> bool:
    """con-4: abatement.empty() or clinicalStatus.coding.where(system=
    'http://terminology.hl7.org/CodeSystem/condition-clinical' and (code='resolved' or code='remission' or
    code='inactive')).exists()"""
    abated = any(k.startswith("abatement") for k in c)
    return not abated or _has(c.get("clinicalStatus"), CLINICAL, "resolved", "remission", "inactive")


def con_5(c: Json) -> bool:
    """con-5: verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/
    condition-ver-status' and code='entered-in-error').empty() or clinicalStatus.empty()"""
    return not _has(c.get("verificationStatus"), VER_STATUS, "entered-in-error") or "clinicalStatus" not in c


def con_1_2(c: Json) -> bool:
    """con-1 (Condition.stage): summary.exists() or assessment.exists(); con-2 (Condition.evidence):
    code.exists() or detail.exists()"""
    return all("summary" in s or "assessment" in s for s in c.get("stage", [])) and all(
        "code" in e or "detail" in e for e in c.get("evidence", [])
    )


def dom_6(r: Json) -> bool:
    """dom-6 (warning): text.`div`.exists()"""
    return bool(r.get("text", {}).get("div"))


#: the required bindings of Condition.clinicalStatus and .verificationStatus (R4B code systems)
CLINICAL_CODES = {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}
VER_STATUS_CODES = {"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"}


def condition_problems(c: Json) -> list[str]:
    out = [name for name, ok in (("con-1/2", con_1_2(c)), ("con-3", con_3(c)), ("con-4", con_4(c))) if not ok]
    out += [name for name, ok in (("con-5", con_5(c)), ("dom-6", dom_6(c))) if not ok]
    for field, system, allowed in (
        ("clinicalStatus", CLINICAL, CLINICAL_CODES),
        ("verificationStatus", VER_STATUS, VER_STATUS_CODES),
    ):
        if field in c and not all(x["system"] == system and x["code"] in allowed for x in _codings(c[field])):
            out.append(f"{field} outside its required value set")
    return out


def bundle_problems(b: Json) -> list[str]:
    """The Bundle invariants (R4B) that apply to a collection, each quoted."""
    out = []
    kind = b.get("type")
    entries = b.get("entry", [])
    # bdl-1: total.empty() or (type = 'searchset') or (type = 'history')
    if "total" in b and kind not in ("searchset", "history"):
        out.append("bdl-1")
    # bdl-2: entry.search.empty() or (type = 'searchset')
    if any("search" in e for e in entries) and kind != "searchset":
        out.append("bdl-2")
    # bdl-3: entry.all(request.exists() = (%resource.type = 'batch' or ... 'transaction' or ... 'history'))
    if any(("request" in e) != (kind in ("batch", "transaction", "history")) for e in entries):
        out.append("bdl-3")
    # bdl-4: entry.all(response.exists() = (%resource.type = 'batch-response' or ... or 'history'))
    if any(
        ("response" in e) != (kind in ("batch-response", "transaction-response", "history")) for e in entries
    ):
        out.append("bdl-4")
    # bdl-7: (type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId)
    #        .isDistinct()
    keys = [
        (e["fullUrl"], e.get("resource", {}).get("meta", {}).get("versionId"))
        for e in entries
        if "fullUrl" in e
    ]
    if kind != "history" and len(keys) != len(set(keys)):
        out.append("bdl-7")
    # bdl-5 (entry): resource.exists() or request.exists() or response.exists()
    if not all("resource" in e or "request" in e or "response" in e for e in entries):
        out.append("bdl-5")
    # bdl-8 (entry): fullUrl.contains('/_history/').not()
    if any("/_history/" in e.get("fullUrl", "") for e in entries):
        out.append("bdl-8")
    return out


def references(value: Any) -> Iterator[str]:
    """Every Reference.reference anywhere in a JSON value."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "reference" and isinstance(v, str):
                yield v
            else:
                yield from references(v)
    elif isinstance(value, list):
        for v in value:
            yield from references(v)


def unresolved_references(b: Json) -> list[str]:
    urls = {e["fullUrl"] for e in b.get("entry", [])}
    return [r for e in b.get("entry", []) for r in references(e["resource"]) if r not in urls]


# ---- pseudonymity ------------------------------------------------------------------------------------

IDENTIFYING = ("name", "address", "telecom", "photo", "contact", "birthDate")


def identification_problems(b: Json, identifier_system: str) -> list[str]:
    out = []
    for e in b.get("entry", []):
        r = e["resource"]
        if r["resourceType"] != "Patient":
            continue
        extra = set(r) - {"resourceType", "id", "meta", "text", "identifier", "gender", "birthDate"}
        if extra:
            out.append(f"Patient has {sorted(extra)}")
        if "birthDate" in r and not re.fullmatch(r"\d{4}", r["birthDate"]):
            out.append(f"birthDate {r['birthDate']!r} is more than a year")
        if [i["system"] for i in r["identifier"]] != [identifier_system]:
            out.append("identifier is not the one pseudonym")
    return out


# ---- an independent reading --------------------------------------------------------------------------


def _limb_of_snomed(code: str) -> str | None:
    """53120007:272741003=24028007 -> upper_right (reading the post-coordinated expression)."""
    m = re.fullmatch(r"(\d+):272741003=(\d+)", code)
    if not m:
        return None
    group = {"53120007": "upper", "61685007": "lower"}.get(m.group(1))
    side = {"24028007": "right", "7771000": "left"}.get(m.group(2))
    return f"{group}_{side}" if group and side else None


def read_back(b: Json) -> dict[str, Json]:
    """Per patient identifier: the facts the tests compare with the source histories, read from the
    Bundle alone (no exporter code)."""
    by_url = {e["fullUrl"]: e["resource"] for e in b.get("entry", [])}
    patients = {
        url: r["identifier"][0]["value"] for url, r in by_url.items() if r["resourceType"] == "Patient"
    }
    out: dict[str, Json] = {
        pid: {"limbs": {}, "icd": [], "visits": [], "crps_codes": set(), "events": []}
        for pid in patients.values()
    }
    for r in by_url.values():
        if r["resourceType"] == "Patient":
            continue
        facts = out[patients[r["subject"]["reference"]]]
        cats = [c for cat in r.get("category", []) for c in cat.get("coding", [])]
        if r["resourceType"] == "Condition" and any(c["code"] == "problem-list-item" for c in cats):
            facts["crps_codes"] |= {c["code"] for c in r["code"]["coding"] if c["system"] == SNOMED}
            facts["crps_text"] = r["code"]["text"]
            facts["icd"] += [c["code"] for c in r["code"]["coding"] if c["system"] == ICD10CM]
            if "onsetDateTime" in r:
                facts["crps_onset"] = min(facts.get("crps_onset", "9999"), r["onsetDateTime"])
            for site in r.get("bodySite", []):
                for c in site["coding"]:
                    limb = _limb_of_snomed(c["code"]) if c["system"] == SNOMED else None
                    if limb is not None:
                        facts["limbs"][limb] = r["onsetDateTime"]
            continue
        kind = next((c["code"] for c in r["code"].get("coding", []) if c["system"] == RECORD_KIND), None)
        if r["resourceType"] == "Observation" and kind in ("onset", "assessment"):
            members = [by_url[m["reference"]] for m in r.get("hasMember", [])]
            pain = [m["valueQuantity"]["value"] for m in members if _has(m["code"], LOINC, "72514-3")]
            sites = [m["bodySite"]["coding"] for m in members if "bodySite" in m]
            visit = {
                "date": r["effectiveDateTime"],
                "kind": kind,
                "pain": pain[0] if pain else None,
                "choir": sorted(int(c["code"]) for s in sites for c in s if c["system"] == CHOIR),
                "regions": sorted(c["code"] for s in sites for c in s if c["system"] == ATLAS),
            }
            if kind == "onset":
                facts["onset"] = r["effectiveDateTime"]
            facts["visits"].append(visit)
        elif kind is not None:
            date = r.get("effectiveDateTime") or r.get("performedDateTime") or r.get("onsetDateTime")
            facts["events"].append((date, kind))
    for facts in out.values():
        facts["visits"].sort(key=lambda v: (v["date"], v["kind"], v["choir"], v["regions"]))
        facts["events"].sort()
    return out


def expected(h: PatientHistory) -> Json:
    """The same facts computed from a source history (atlas look-ups only)."""
    atlas = load_atlas()
    involvement = [r for r in h.records if r.kind in INVOLVEMENT_KINDS]
    onset = next((r.date for r in involvement if r.kind is RecordKind.onset), involvement[0].date)
    limbs: dict[str, dt.date] = {}
    for r in involvement:
        for slug in r.regions:
            limb = atlas.limb_of(atlas.unit_of(slug))
            if limb is not None:
                limbs[limb] = min(limbs.get(limb, dt.date.max), max(r.date, onset))
    firsts = {}
    for limb in limbs:  # a Condition per limb class dates all its limbs by the class's first limb
        group = limb.split("_")[0]
        firsts[limb] = min(d for other, d in limbs.items() if other.startswith(group)).isoformat()
    visits = [
        {
            "date": r.date.isoformat(),
            "kind": r.kind.value,
            "pain": r.pain,
            "choir": sorted(atlas.segment_by_slug[s].choir for s in r.regions if s in atlas.segment_by_slug),
            "regions": sorted(r.regions),
        }
        for r in involvement
    ]
    visits.sort(key=lambda v: (v["date"], v["kind"], v["choir"], v["regions"]))
    events = sorted((r.date.isoformat(), r.kind.value) for r in h.records if r.kind not in INVOLVEMENT_KINDS)
    crps_onset = min(firsts.values()) if firsts else onset.isoformat()
    has_onset = any(r.kind is RecordKind.onset for r in involvement)
    return {
        "onset": onset.isoformat() if has_onset else None,
        "crps_onset": crps_onset,
        "limbs": firsts,
        "visits": visits,
        "events": events,
    }
