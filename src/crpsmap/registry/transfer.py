"""Import and export between a file and the registry (atomic both ways), for the command line and the
import page alike. Every layout is read by `crpsmap.io.formats.read_any`, the code `crpsmap convert` uses,
so a file imports with the same problems as it converts."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from crpsmap.history import PatientHistory
from crpsmap.io.formats import ReadOptions, read_any
from crpsmap.io.problems import HistoryImportError, ImportProblem
from crpsmap.outputs import atomic_open
from crpsmap.registry.audit import record
from crpsmap.registry.clinic import current_histories
from crpsmap.registry.export_cache import csv_text
from crpsmap.registry.histories import ImportResult, import_histories
from crpsmap.registry.models import Patient, Provenance
from crpsmap.registry.pseudonyms import (
    RESEARCH_IDENTIFIER_SYSTEM,
    PseudonymisationError,
    PseudonymKey,
    load_key,
    pseudonymise,
)

#: what the audit trail calls each kind of export
RESEARCH_EXPORT = "research export"
CLINIC_EXPORT = "clinic export"


def import_file(
    path: Path,
    *,
    site: str = "",
    provenance: Provenance | None = None,
    layout: str = "csv",
    options: ReadOptions | None = None,
) -> ImportResult:
    """Import a file (CSV long format, CHOIR wide table or REDCap export) whole or not at all; raises
    HistoryImportError with every problem."""
    name = str(path)
    if not path.is_file():
        raise HistoryImportError([ImportProblem(name, None, None, "not a regular file")])
    return import_bytes(
        path.read_bytes(), name=name, site=site, provenance=provenance, layout=layout, options=options
    )


def import_bytes(
    raw: bytes,
    *,
    name: str,
    site: str = "",
    provenance: Provenance | None = None,
    user: Any = None,
    request: HttpRequest | None = None,
    layout: str = "csv",
    options: ReadOptions | None = None,
) -> ImportResult:
    """Check a file's bytes (in `layout`, a key of `crpsmap.io.formats.FORMATS`), then add its patients
    and the audit line in one transaction (all or nothing); raises HistoryImportError with every problem,
    naming `name`, row and field."""
    read = read_any(raw, layout, options, name=name)
    histories = read.histories
    with transaction.atomic():
        result = import_histories(
            histories,
            user=user,
            site=site,
            provenance=provenance,
            source_name=name,
            first_row=read.first_rows,
        )
        detail = {
            "file": Path(name).name,
            "format": layout,
            "patients": result.patients,
            "visits": result.visits,
            "events": result.events,
            "treatments": result.treatments,
        }
        if request is None:
            detail["by"] = "command line"
        record(request, "import", detail=detail, user=user)
    return dataclasses.replace(result, warnings=tuple(map(str, read.warnings)), encoding=read.encoding)


def research_key(
    *, layout: str, key_file: Path | None = None, request: HttpRequest | None = None, user: Any = None
) -> PseudonymKey:
    """The pseudonym key for a research export; without one, the refusal is audited ("export_refused")
    and PseudonymKeyError raised (one line, naming the variable, never the key)."""
    try:
        return load_key(key_file=key_file)
    except PseudonymisationError as exc:
        refuse_research_export(str(exc), layout=layout, request=request, user=user)
        raise


def refuse_research_export(
    reason: str, *, layout: str, request: HttpRequest | None = None, user: Any = None
) -> None:
    """The audit line of a research export that was not made (the user got no data)."""
    detail = {"kind": RESEARCH_EXPORT, "format": layout, "reason": reason}
    if request is None:
        detail["by"] = "command line"
    record(request, "export_refused", detail=detail, user=user)


def export_histories(
    *, research: bool = False, key: PseudonymKey | None = None, site: str | None = None
) -> list[PatientHistory]:
    """The registry's histories as exported: the clinic's own (registry codes, real dates) or, with
    `research`, pseudonymised with `key` (crpsmap.registry.pseudonyms); raises PseudonymisationError.
    `site`: only that site's patients (a user limited to it: sites.py)."""
    histories = current_histories()
    if site is not None:
        codes = set(Patient.objects.filter(site=site).values_list("code", flat=True))
        histories = [h for h in histories if h.patient_id in codes]
    if not research:
        return histories
    if key is None:
        raise PseudonymisationError("a research export needs the pseudonym key")
    return pseudonymise(histories, key)


def export_detail(layout: str, n: int, key: PseudonymKey | None) -> dict[str, Any]:
    """The audit line's detail of an export: its kind ("research export" with the key id, which says
    which exports link; or "clinic export"), format and size."""
    detail: dict[str, Any] = {"kind": RESEARCH_EXPORT if key is not None else CLINIC_EXPORT}
    detail.update(format=layout, patients=n)
    if key is not None:
        detail["key_id"] = key.key_id
    return detail


def export_text(histories: list[PatientHistory], layout: str, *, research: bool) -> Iterator[str]:
    """An export's text in pieces, one rule for the command line and the export pages: the REDCap export
    of crpsmap's project (`"redcap"`), a FHIR R4B Bundle (`"fhir"`, streamed entry by entry; a research
    export names its Patients under its own identifier system), else the CSV long format."""
    if layout == "redcap":
        from crpsmap.io.redcap import write_redcap

        buf = io.StringIO()
        write_redcap(histories, buf)
        yield buf.getvalue()
    elif layout == "fhir":
        from crpsmap.fhir import iter_bundle_text
        from crpsmap.fhir.codes import DEFAULT_IDENTIFIER_SYSTEM

        system = RESEARCH_IDENTIFIER_SYSTEM if research else DEFAULT_IDENTIFIER_SYSTEM
        yield from iter_bundle_text(histories, identifier_system=system)
    else:
        yield csv_text(histories)


def export_file(
    path: Path,
    *,
    layout: str = "csv",
    research: bool = False,
    key: PseudonymKey | None = None,
    key_file: Path | None = None,
) -> int:
    """Write the registry as a CSV long-format file, a REDCap export of crpsmap's project (`"redcap"`) or
    a FHIR R4B Bundle (`"fhir"`), atomically (a temporary file renamed into place). With `research`, the
    pseudonymised research export (docs/pseudonymisation.md), made with `key`, else the key of `key_file`
    or of the environment; without a key nothing is written (PseudonymKeyError, audited)."""
    if research and key is None:
        key = research_key(layout=layout, key_file=key_file)
    try:
        histories = export_histories(research=research, key=key)
    except PseudonymisationError as exc:
        refuse_research_export(str(exc), layout=layout)
        raise
    path = Path(path)
    with atomic_open(path) as fh:
        for piece in export_text(histories, layout, research=research):
            fh.write(piece)
    detail = {"file": path.name, **export_detail(layout, len(histories), key if research else None)}
    detail["by"] = "command line"
    record(None, "export", detail=detail)
    return len(histories)
