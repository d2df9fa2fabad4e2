"""FHIR R4B export: every Bundle (hand-made histories, the bundled example cohort, a simulated clinic)
validates with fhir.resources and the official JSON schema, keeps the Condition and Bundle invariants,
resolves every reference, is deterministic, pseudonymous, and reads back to the source histories."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from functools import cache

import pytest
from fhir_checks import (
    HAND_CSV,
    UUID_URN,
    bundle_problems,
    con_3,
    con_4,
    con_5,
    condition_problems,
    expected,
    identification_problems,
    model_round_trip,
    read_back,
    schema,
    schema_errors,
    unresolved_references,
)

from crpsmap.atlas import load_atlas
from crpsmap.data import example_cohort_path
from crpsmap.fhir import bundle_text, codes, patient_file_name, validate_bundle, validate_resource
from crpsmap.fhir.bundle import build_bundle
from crpsmap.history import PatientHistory, Record, RecordKind
from crpsmap.io import read_csv, read_csv_text


@cache
def histories(source: str) -> tuple[PatientHistory, ...]:
    if source == "hand":
        return tuple(read_csv_text(HAND_CSV))
    if source == "example":
        return tuple(read_csv(example_cohort_path()))
    from crpsmap.model.sim import Sim

    return tuple(Sim(years=1.5, seed=11).clinic(30).histories)


@cache
def exported(source: str) -> str:
    return bundle_text(list(histories(source)))


SOURCES = ["hand", "example", "sim"]


def entries(bundle: dict, resource_type: str) -> list[dict]:
    return [e["resource"] for e in bundle.get("entry", []) if e["resource"]["resourceType"] == resource_type]


# ---- 1. fhir.resources, 2. the official JSON schema ---------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_bundle_parses_with_the_r4b_models(source: str) -> None:
    text = exported(source)
    back = model_round_trip(text)
    assert back == json.loads(text)  # nothing dropped or changed by the models
    assert back["type"] == "collection"


@pytest.mark.parametrize("source", SOURCES)
def test_bundle_validates_against_the_official_schema(source: str) -> None:
    assert schema_errors(json.loads(exported(source))) == []


def test_schema_discriminator_is_sound() -> None:
    """The validator checks a resource only against the definition its resourceType names; that equals
    the schema's oneOf only if every resource definition pins its own resourceType."""
    s = schema()
    for name, ref in s["discriminator"]["mapping"].items():
        definition = s["definitions"][ref.split("/")[-1]]
        assert definition["properties"]["resourceType"]["const"] == name
        assert "resourceType" in definition["required"] and definition["additionalProperties"] is False


def test_the_checks_can_fail() -> None:
    bundle = json.loads(exported("hand"))
    bad = copy.deepcopy(bundle)
    bad["entry"][0]["resource"]["name"] = "Jane"  # not a Patient.name (a list of HumanName)
    assert schema_errors(bad)
    with pytest.raises(ValueError):
        validate_bundle(bad)
    bad = copy.deepcopy(bundle)
    bad["entry"][1]["resource"]["resourceType"] = "Conditon"
    assert schema_errors(bad)
    bad = copy.deepcopy(bundle)
    bad["entry"][2]["resource"]["subject"]["reference"] = "urn:uuid:00000000-0000-5000-8000-000000000000"
    assert unresolved_references(bad)
    bad = copy.deepcopy(bundle)
    bad["entry"][2]["fullUrl"] = bad["entry"][3]["fullUrl"]
    assert "bdl-7" in bundle_problems(bad)
    bad = copy.deepcopy(bundle)
    bad["entry"][0]["resource"]["birthDate"] = "1980-04-02"
    assert identification_problems(bad, codes.DEFAULT_IDENTIFIER_SYSTEM)
    condition = entries(bundle, "Condition")[0]
    assert not con_3({k: v for k, v in condition.items() if k != "clinicalStatus"})
    assert not con_4({**condition, "abatementDateTime": "2021-01-01"})
    entered_in_error = {"coding": [{"system": codes.CONDITION_VER_STATUS, "code": "entered-in-error"}]}
    assert not con_5({**condition, "verificationStatus": entered_in_error})


# ---- 3. invariants, 4. references and determinism -----------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_condition_and_bundle_invariants(source: str) -> None:
    bundle = json.loads(exported(source))
    assert bundle_problems(bundle) == []
    conditions = entries(bundle, "Condition")
    assert conditions
    for c in conditions:
        assert condition_problems(c) == [], c["id"]


@pytest.mark.parametrize("source", SOURCES)
def test_references_resolve_and_ids_are_uuid_urns(source: str) -> None:
    bundle = json.loads(exported(source))
    assert unresolved_references(bundle) == []
    for e in bundle["entry"]:
        assert UUID_URN.fullmatch(e["fullUrl"]) and e["fullUrl"] == f"urn:uuid:{e['resource']['id']}"
    assert len({e["fullUrl"] for e in bundle["entry"]}) == len(bundle["entry"])


@pytest.mark.parametrize("source", ["hand", "sim"])
def test_two_exports_are_byte_identical(source: str) -> None:
    again = bundle_text(list(histories(source)))
    assert again == exported(source)
    assert json.loads(again) == build_bundle(list(histories(source)))


def test_ids_depend_on_patient_and_role_only() -> None:
    hs = list(histories("hand"))
    alone = {e["fullUrl"] for e in build_bundle(hs[:1])["entry"]}
    together = {e["fullUrl"] for e in build_bundle(hs)["entry"]}
    assert alone <= together  # a patient's resources keep their ids in any cohort
    assert build_bundle(hs[:1])["id"] != build_bundle(hs)["id"]
    other = hs[0].model_copy(update={"patient_id": "P1-other"})
    assert not alone & {e["fullUrl"] for e in build_bundle([other])["entry"]}


# ---- 5. content reads back ----------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_content_reads_back(source: str) -> None:
    got = read_back(json.loads(exported(source)))
    assert set(got) == {h.patient_id for h in histories(source)}
    for h in histories(source):
        want, facts = expected(h), got[h.patient_id]
        assert facts.get("onset") == want["onset"], h.patient_id
        assert facts.get("crps_onset") == want["crps_onset"], h.patient_id
        assert facts["limbs"] == want["limbs"], h.patient_id
        assert facts["visits"] == want["visits"], h.patient_id
        assert facts["events"] == want["events"], h.patient_id


@pytest.mark.parametrize("source", SOURCES)
def test_crps_codes_follow_the_type_and_the_limbs(source: str) -> None:
    got = read_back(json.loads(exported(source)))
    for h in histories(source):
        facts = got[h.patient_id]
        limbs = set(facts["limbs"])
        if h.crps_type.value == "I":
            assert facts["crps_codes"] == {"734947007"}
            want = []
            for group, digit in (("upper", "1"), ("lower", "2")):
                sides = {limb.split("_")[1] for limb in limbs if limb.startswith(group)}
                if sides:
                    last = "3" if len(sides) == 2 else ("1" if sides == {"right"} else "2")
                    want.append(f"G90.5{digit}{last}")
            assert facts["icd"] == (want or ["G90.59"]), h.patient_id
        else:
            assert facts["crps_codes"] == {"128200000"} and facts["icd"] == []
            assert ("type II" in facts["crps_text"]) == (h.crps_type.value == "II")


def test_hand_made_details() -> None:
    bundle = json.loads(exported("hand"))
    by_pid = {r["identifier"][0]["value"]: r for r in entries(bundle, "Patient")}
    assert by_pid["P1"]["gender"] == "female" and by_pid["P1"]["birthDate"] == "1980"
    assert by_pid["../../etc/passwd"]["gender"] == "male" and "birthDate" not in by_pid["../../etc/passwd"]
    assert by_pid["P3"]["gender"] == "other" and by_pid["p1"]["gender"] == "unknown"
    # made-up and virtual patients are tagged on every resource; clinic data is not tagged as test data
    subject = {f"urn:uuid:{r['id']}": pid for pid, r in by_pid.items()}
    for e in bundle["entry"]:
        r = e["resource"]
        pid = (
            r["identifier"][0]["value"]
            if r["resourceType"] == "Patient"
            else subject[r["subject"]["reference"]]
        )
        tags = {(t["system"], t["code"]) for t in r["meta"]["tag"]}
        provenance = {"P1": "clinic", "p1": "clinic", "P3": "model", "../../etc/passwd": "synthetic"}[pid]
        assert (codes.LOCAL_PROVENANCE, provenance) in tags
        assert ((codes.ACT_REASON, "HTEST") in tags) == (provenance != "clinic")
    kinds = {r["resourceType"] for r in (e["resource"] for e in bundle["entry"])}
    assert kinds == {"Patient", "Condition", "Observation", "Procedure"}
    (surgery,) = entries(bundle, "Procedure")
    assert surgery["performedDateTime"] == "2020-08-01" and surgery["status"] == "completed"
    assert surgery["bodySite"][0]["coding"][0]["code"] == "85562004:272741003=7771000"  # left hand
    # the CHOIR segment of a record given by code (121) keeps its code; its area has no SNOMED CT id
    visit_sites = [
        r["bodySite"]
        for r in entries(bundle, "Observation")
        if r.get("effectiveDateTime") == "2020-10-01" and "bodySite" in r
    ]
    pubic = next(s for s in visit_sites if any(c["code"] == "121" for c in s["coding"]))
    assert [c["system"] for c in pubic["coding"]] == [codes.CHOIR_BODY_MAP, codes.ATLAS]
    assert pubic["text"]
    # the other-site rule: P3 and p1 involve no limb; p1 is type I, so G90.59
    got = read_back(bundle)
    assert got["p1"]["icd"] == ["G90.59"] and got["P3"]["icd"] == []
    assert got["P1"]["icd"] == ["G90.513", "G90.522"]
    assert got["P1"]["limbs"] == {
        "upper_right": "2020-01-10",
        "upper_left": "2020-01-10",
        "lower_left": "2020-10-01",
    }
    # values with their units
    onset_values = {
        r["code"]["coding"][0]["code"]: r.get("valueQuantity", r.get("valueInteger"))
        for r in entries(bundle, "Observation")
        if r.get("effectiveDateTime") == "2020-01-10" and "hasMember" not in r and "bodySite" not in r
    }
    assert onset_values["72514-3"] == {
        "value": 7.0,
        "unit": "{score}",
        "system": codes.UCUM,
        "code": "{score}",
    }
    assert onset_values["hrv-hf"]["code"] == "ms2" and onset_values["hrv-rmssd"]["code"] == "ms"
    assert onset_values["1988-5"]["value"] == 3.2 and onset_values["1988-5"]["code"] == "mg/L"
    assert (
        onset_values["css"] == 12
        and onset_values["budapest-symptoms"] == 4
        and onset_values["budapest-signs"] == 3
    )
    texts = [r.get("valueString") for r in entries(bundle, "Observation")]
    assert {"gabapentin 300 mg", "gabapentin", "physiotherapy"} <= set(texts)


def test_a_history_without_involvement_gets_an_unspecified_crps_condition() -> None:
    h = PatientHistory(
        patient_id="P5",
        crps_type="I",
        records=(Record(date=dt.date(2016, 1, 1), kind=RecordKind.trauma, regions=("knee_left",)),),
    )
    bundle = build_bundle([h])
    (crps,) = [c for c in entries(bundle, "Condition") if "clinicalStatus" in c]
    assert [c["code"] for c in crps["code"]["coding"]] == ["734947007", "G90.50"]
    assert "onsetDateTime" not in crps and "bodySite" not in crps
    validate_bundle(bundle)
    assert schema_errors(bundle) == [] and condition_problems(crps) == []


# ---- codes: only verified SNOMED CT ids ---------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_every_snomed_code_is_verified(source: str) -> None:
    found = set(re.findall(r'"system":"http://snomed.info/sct","code":"([^"]+)"', exported(source)))
    assert found
    for code in found:
        for part in re.split(r"[:=]", code):
            assert part in codes.VERIFIED_SNOMED or part in (
                codes.CRPS_TYPE_I.code,
                codes.CRPS.code,
                codes.LATERALITY_ATTRIBUTE.code,
            ), code
    for unverified in codes.UNVERIFIED_ATLAS_SNOMED:
        assert f'"{unverified}' not in exported(source) and f"{unverified}:" not in exported(source)


def test_every_atlas_code_is_verified_or_listed_as_left_out() -> None:
    atlas = load_atlas()
    ids = (
        {a.snomed for a in atlas.areas}
        | {v.snomed for v in atlas.visceral}
        | set(atlas.laterality_snomed.values())
    )
    ids.discard(None)
    for code in ids:
        assert (code in codes.VERIFIED_SNOMED) != (code in codes.UNVERIFIED_ATLAS_SNOMED), code
    assert set(codes.ICD10CM_TITLES) == set(atlas.icd10cm.values())
    assert atlas.crps_snomed["I"] == codes.CRPS_TYPE_I.code


# ---- 6. pseudonymous ---------------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_nothing_identifying_beyond_the_pseudonym(source: str) -> None:
    bundle = json.loads(exported(source))
    assert identification_problems(bundle, codes.DEFAULT_IDENTIFIER_SYSTEM) == []
    assert len(entries(bundle, "Patient")) == len(histories(source))


def test_extra_columns_are_not_exported() -> None:
    assert "Jane Doe" not in exported("hand")


def test_identifier_system_can_be_chosen() -> None:
    system = "https://clinic.example.org/fhir/pseudonyms"
    bundle = json.loads(bundle_text(list(histories("hand")), identifier_system=system))
    assert identification_problems(bundle, system) == []


# ---- per-patient files and validation on request ------------------------------------------------------


def test_per_patient_file_names_are_safe_and_distinct() -> None:
    ids = ["../../etc/passwd", "P1", "p1", "a/b\\c", "..", "CON", "x" * 64, "P 1", "P_1", "é\u202e", ""]
    names = [patient_file_name(i) for i in ids]
    assert len({n.lower() for n in names}) == len(ids)
    for n in names:
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}-[0-9a-f]{16}\.fhir\.json", n), n
    assert patient_file_name("P1") == patient_file_name("P1")


def test_validate_resource_reports_the_resource() -> None:
    resource = entries(build_bundle(list(histories("hand"))), "Observation")[0]
    validate_resource(resource)
    with pytest.raises(ValueError, match="Observation/"):
        validate_resource({**resource, "status": ["final"]})
