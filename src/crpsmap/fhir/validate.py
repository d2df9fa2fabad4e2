"""Validating exported Bundles with fhir.resources (R4B models), on request: it costs about 0.15 ms per
resource, minutes for a big cohort, so the export itself builds plain dicts (`crpsmap.fhir.bundle`)."""

from __future__ import annotations

from typing import Any


class FhirValidationError(ValueError):
    """A resource that the R4B models refuse (a bug of the export, not of the input)."""


def validate_resource(resource: dict[str, Any]) -> None:
    """Parse one resource with its fhir.resources R4B model; raise FhirValidationError if it fails."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    try:
        get_fhir_model_class(str(resource.get("resourceType"))).model_validate(resource)
    except (ValidationError, KeyError, ValueError) as exc:
        where = f"{resource.get('resourceType')}/{resource.get('id')}"
        raise FhirValidationError(f"{where}: {exc}") from None


def validate_bundle(bundle: dict[str, Any]) -> None:
    """Parse a whole Bundle with the R4B Bundle model (entries and their resources included)."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        Bundle.model_validate(bundle)
    except ValidationError as exc:
        raise FhirValidationError(f"Bundle/{bundle.get('id')}: {exc}") from None
