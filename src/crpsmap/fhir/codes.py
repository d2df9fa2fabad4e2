"""Every code system URI and every code the FHIR export uses, each with where it was checked.

One place, so that a reviewer can check the export's vocabulary without reading the builder, and so that
nothing unverified slips in: region facts (which SNOMED CT body structure an atlas area has, the
laterality qualifiers, the CRPS type I concept, the ICD-10-CM table) come from the atlas, and the builder
emits an atlas code only if it is listed here as verified. A code that could not be checked against a
primary source stays out of the export (the region's or concept's text is always kept); docs/fhir.md lists
those codes and what is missing to verify them.

"Verified" means: found, with the same meaning, in one of
- the official HL7 FHIR R4B package (hl7.fhir.r4b.core / hl7.fhir.r4b.examples 4.3.0): its example
  resources, StructureDefinitions and code systems;
- the DICOM standard PS3.16 (Content Mapping Resource), whose context groups use SNOMED CT under
  SNOMED International's licence to DICOM; read in the FHIR rendering of PS3.16 by the DICOM/HL7 project
  bvdh/dicom-terminology-in-fhir (input/fsh/ValueSet-dicom-cid-*.fsh);
- LOINC (loinc.org) and HL7 affiliate implementation guides that bind the code with its LOINC name;
- the ICD-10-CM tabular list (NCHS/CMS), read in code-book renderings of FY2026;
- the issue that specified this export (SNOMED CT 734947007 and 128200000 are given by it).
"""

from __future__ import annotations

from dataclasses import dataclass

# ---- code systems --------------------------------------------------------------------------------------

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"

#: crpsmap's own code systems (documented in docs/fhir.md; URNs, not resolvable URLs)
LOCAL_PROVENANCE = "urn:crpsmap:provenance"  # clinic / synthetic / model (crpsmap.history.Provenance)
LOCAL_RECORD_KIND = "urn:crpsmap:record-kind"  # the record kinds of crpsmap.history.RecordKind
LOCAL_OBSERVATION = "urn:crpsmap:observation"  # crpsmap's measurements without a verified LOINC code
CHOIR_BODY_MAP = "urn:crpsmap:choir-body-map"  # CHOIR Body Map segment codes 101-136, 201-238
ATLAS = "urn:crpsmap:atlas"  # crpsmap atlas slugs: segments, areas, visceral systems, limbs
#: Patient.identifier.system when none is given (`crpsmap fhir --identifier-system URI`)
DEFAULT_IDENTIFIER_SYSTEM = "urn:crpsmap:patient-id"

#: the URN namespace of the export's deterministic resource ids (uuid5 of patient id and role)
ID_NAMESPACE_NAME = "urn:crpsmap:fhir"

# sources, named once
R4B_EXAMPLES = "HL7 FHIR R4B examples (hl7.fhir.r4b.examples 4.3.0)"
R4B_CONDITION_SD = "HL7 FHIR R4B StructureDefinition-Condition (hl7.fhir.r4b.core 4.3.0), invariant con-3"
DICOM_CID_4031 = (
    "DICOM PS3.16 CID 4031 Common Anatomic Region "
    "(https://dicom.nema.org/medical/dicom/current/output/chtml/part16/sect_CID_4031.html)"
)
DICOM_CID_4 = (
    "DICOM PS3.16 CID 4 Anatomic Region "
    "(https://dicom.nema.org/medical/dicom/current/output/chtml/part16/sect_CID_4.html)"
)
DICOM_CID_247 = (
    "DICOM PS3.16 CID 247 Laterality Left-Right Only "
    "(https://dicom.nema.org/medical/dicom/current/output/chtml/part16/sect_CID_247.html)"
)
UTG_OBSERVATION_CATEGORY = (
    "HL7 Terminology (THO) CodeSystem observation-category "
    "(https://terminology.hl7.org/CodeSystem-observation-category.html)"
)
ICD10CM_TABULAR = "ICD-10-CM Tabular List FY2026 (NCHS/CMS), category G90.5 Complex regional pain syndrome I"
ISSUE = "issue 11 (the specification of this export)"
LOCAL = "local: crpsmap, docs/fhir.md"


@dataclass(frozen=True)
class Code:
    """One code with its system, a display taken from the source (None where the source gives no
    display that is the code system's own), and the source it was checked against."""

    system: str
    code: str
    display: str | None
    source: str

    def coding(self) -> dict[str, str]:
        out = {"system": self.system, "code": self.code}
        if self.display is not None:
            out["display"] = self.display
        return out


# ---- SNOMED CT ----------------------------------------------------------------------------------------

CRPS_TYPE_I = Code(SNOMED, "734947007", None, ISSUE)  # CRPS type I; also atlas.json crps_snomed
CRPS = Code(SNOMED, "128200000", None, ISSUE)  # CRPS (type not specified)
LATERALITY_ATTRIBUTE = Code(
    SNOMED, "272741003", None, f"{R4B_EXAMPLES}: Observation-bmd bodySite 71341001:272741003=7771000"
)

#: SNOMED CT concept ids the export may emit for a body site or a laterality, with their source. The
#: builder takes the id from the atlas and emits it only if it is here; DICOM code meanings are given for
#: the reader, they are not SNOMED CT descriptions and are not sent as displays.
VERIFIED_SNOMED: dict[str, tuple[str, str]] = {
    # laterality qualifiers (atlas.json laterality_snomed)
    "7771000": (
        "Left",
        f"{R4B_EXAMPLES}: Observation-bmd (272741003=7771000, 'Left Femur'); {DICOM_CID_247}",
    ),
    "24028007": ("Right", DICOM_CID_247),
    # limbs (for the CRPS Conditions' bodySite)
    "53120007": ("Upper limb", DICOM_CID_4031),
    "61685007": ("Lower limb", DICOM_CID_4031),
    # body structures of atlas areas
    "14975008": ("Forearm", f"{R4B_EXAMPLES}: BodyStructure-skin-patch location; {DICOM_CID_4031}"),
    "85562004": ("Hand", DICOM_CID_4031),
    "56459004": ("Foot", DICOM_CID_4031),
    "40983000": ("Upper arm", DICOM_CID_4031),
    "16982005": ("Shoulder", DICOM_CID_4031),
    "29836001": ("Hip", DICOM_CID_4031),
    "68367000": ("Thigh", f"{DICOM_CID_4031}; {DICOM_CID_4}"),
    "72696002": ("Knee", DICOM_CID_4031),
    "30021000": ("Lower leg", DICOM_CID_4031),
    "45048000": ("Neck", DICOM_CID_4031),
    "89545001": ("Face", DICOM_CID_4),
    "46862004": ("Buttock", DICOM_CID_4),
    "113345001": ("Abdomen", f"{DICOM_CID_4031}, note 3 (the code of 'Abdomen' in earlier versions)"),
    # visceral systems
    "89837001": ("Bladder", DICOM_CID_4031),
    "113257007": ("Cardiovascular system", DICOM_CID_4031),
}

#: atlas SNOMED CT ids that could not be verified here and are left out of the export (docs/fhir.md)
UNVERIFIED_ATLAS_SNOMED: dict[str, str] = {
    "127949000": "elbow areas",
    "8205005": "wrist areas",
    "344001": "ankle areas",
    "51185008": "chest areas",
    "86762007": "visceral_gastrointestinal",
    "20139000": "visceral_respiratory",
    "12921003": "visceral_pelvic",
}

#: the limb (atlas.LIMBS) -> the SNOMED CT id of the whole limb
LIMB_SNOMED = {"upper": "53120007", "lower": "61685007"}

# ---- ICD-10-CM ----------------------------------------------------------------------------------------

#: ICD-10-CM titles of the atlas's G90.5 table (atlas.json icd10cm), as in the tabular list
ICD10CM_TITLES: dict[str, str] = {
    "G90.50": "Complex regional pain syndrome I, unspecified",
    "G90.511": "Complex regional pain syndrome I of right upper limb",
    "G90.512": "Complex regional pain syndrome I of left upper limb",
    "G90.513": "Complex regional pain syndrome I of upper limb, bilateral",
    "G90.519": "Complex regional pain syndrome I of unspecified upper limb",
    "G90.521": "Complex regional pain syndrome I of right lower limb",
    "G90.522": "Complex regional pain syndrome I of left lower limb",
    "G90.523": "Complex regional pain syndrome I of lower limb, bilateral",
    "G90.529": "Complex regional pain syndrome I of unspecified lower limb",
    "G90.59": "Complex regional pain syndrome I of other specified site",
}

# ---- LOINC --------------------------------------------------------------------------------------------

PAIN_SEVERITY = Code(
    LOINC,
    "72514-3",
    "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
    "https://loinc.org/72514-3, as bound by the HL7 Belgium Patient Monitoring IG (ValueSet pain-scale) and "
    "the ANS France mesures-de-sante IG (profile MesObservationPainSeverity)",
)
CRP_MASS = Code(
    LOINC,
    "1988-5",
    "C reactive protein [Mass/volume] in Serum or Plasma",
    "https://loinc.org/1988-5, as used by the HL7 Switzerland CH LAB-Order IG (ActivityDefinition "
    "procedure-crp) and the Mayo Clinic Laboratories test catalog (CRP, result LOINC 1988-5)",
)

# ---- HL7 code systems ---------------------------------------------------------------------------------

CLINICAL_ACTIVE = Code(CONDITION_CLINICAL, "active", "Active", f"{R4B_EXAMPLES}: Condition-example")
VERIFICATION_CONFIRMED = Code(
    CONDITION_VER_STATUS, "confirmed", "Confirmed", f"{R4B_EXAMPLES}: Condition-example"
)
PROBLEM_LIST_ITEM = Code(CONDITION_CATEGORY, "problem-list-item", "Problem List Item", R4B_CONDITION_SD)
ENCOUNTER_DIAGNOSIS = Code(
    CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis", f"{R4B_EXAMPLES}: Condition-example"
)
TEST_HEALTH_DATA = Code(ACT_REASON, "HTEST", "test health data", f"{R4B_EXAMPLES}: meta.tag of every example")
CATEGORY_SURVEY = Code(OBSERVATION_CATEGORY, "survey", "Survey", UTG_OBSERVATION_CATEGORY)
CATEGORY_EXAM = Code(OBSERVATION_CATEGORY, "exam", "Exam", UTG_OBSERVATION_CATEGORY)
CATEGORY_LABORATORY = Code(OBSERVATION_CATEGORY, "laboratory", "Laboratory", UTG_OBSERVATION_CATEGORY)
CATEGORY_PROCEDURE = Code(OBSERVATION_CATEGORY, "procedure", "Procedure", UTG_OBSERVATION_CATEGORY)
CATEGORY_THERAPY = Code(OBSERVATION_CATEGORY, "therapy", "Therapy", UTG_OBSERVATION_CATEGORY)

# ---- UCUM ---------------------------------------------------------------------------------------------

UCUM_SOURCE = "The Unified Code for Units of Measure (https://ucum.org/ucum): ms, ms2, mg/L, {annotation}"
#: unit text -> UCUM code of the quantities exported
UNITS: dict[str, str] = {"{score}": "{score}", "ms": "ms", "ms2": "ms2", "mg/L": "mg/L"}

# ---- local codes --------------------------------------------------------------------------------------


def local(system: str, code: str, display: str) -> Code:
    return Code(system, code, display, LOCAL)


PAIN_LOCATION = local(LOCAL_OBSERVATION, "pain-location", "Pain at this body site (CHOIR Body Map)")
CSS = local(LOCAL_OBSERVATION, "css", "CRPS Severity Score (0-17)")
BUDAPEST_SYMPTOMS = local(
    LOCAL_OBSERVATION, "budapest-symptoms", "Budapest criteria: symptom categories (0-4)"
)
BUDAPEST_SIGNS = local(LOCAL_OBSERVATION, "budapest-signs", "Budapest criteria: sign categories (0-4)")
HRV_RMSSD = local(LOCAL_OBSERVATION, "hrv-rmssd", "Heart rate variability: RMSSD")
HRV_HF = local(LOCAL_OBSERVATION, "hrv-hf", "Heart rate variability: HF power")
TREATMENT = local(LOCAL_OBSERVATION, "treatment", "Treatment (free text)")

RECORD_KIND_DISPLAY: dict[str, str] = {
    "onset": "CRPS onset visit",
    "assessment": "Assessment visit",
    "trauma": "Trauma (injury)",
    "surgery": "Surgery",
    "infection": "Infection",
    "treatment_start": "Treatment started",
    "treatment_end": "Treatment ended",
}
RECORD_KINDS: dict[str, Code] = {k: local(LOCAL_RECORD_KIND, k, d) for k, d in RECORD_KIND_DISPLAY.items()}

PROVENANCE_DISPLAY: dict[str, str] = {
    "clinic": "Clinic data (a real patient, pseudonymous)",
    "synthetic": "Synthetic (made-up) data",
    "model": "Model output (a virtual patient of the simulator)",
}
PROVENANCES: dict[str, Code] = {k: local(LOCAL_PROVENANCE, k, d) for k, d in PROVENANCE_DISPLAY.items()}


def all_codes() -> list[Code]:
    """Every fixed code of this module (for the documentation check in the tests)."""
    return [v for v in globals().values() if isinstance(v, Code)] + [
        *RECORD_KINDS.values(),
        *PROVENANCES.values(),
    ]
