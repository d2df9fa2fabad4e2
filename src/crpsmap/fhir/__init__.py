"""FHIR R4B export of patient histories: one Bundle (type collection) per cohort or per patient, with a
pseudonymous Patient, CRPS Condition(s) by limb, an Observation panel per visit (pain locations with
CHOIR codes and SNOMED CT body structures, pain, CSS, Budapest counts, HRV, CRP), and trauma, surgery,
infection and treatment records. docs/fhir.md has the mapping and every code with its source."""

from crpsmap.fhir.bundle import (
    build_bundle,
    bundle_text,
    iter_bundle_text,
    patient_entries,
    patient_file_name,
    per_patient_texts,
    resource_uuid,
    write_bundle,
)
from crpsmap.fhir.codes import DEFAULT_IDENTIFIER_SYSTEM
from crpsmap.fhir.validate import FhirValidationError, validate_bundle, validate_resource

__all__ = [
    "DEFAULT_IDENTIFIER_SYSTEM",
    "FhirValidationError",
    "build_bundle",
    "bundle_text",
    "iter_bundle_text",
    "patient_entries",
    "patient_file_name",
    "per_patient_texts",
    "resource_uuid",
    "validate_bundle",
    "validate_resource",
    "write_bundle",
]
