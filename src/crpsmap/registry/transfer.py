"""Import and export between a file and the registry (atomic both ways), for the command line and the
import page alike. Every layout is read by `crpsmap.io.formats.read_any`, the code `crpsmap convert` uses,
so a file imports with the same problems as it converts."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from crpsmap.io.csv_long import write_csv
from crpsmap.io.formats import ReadOptions, read_any
from crpsmap.io.problems import HistoryImportError, ImportProblem
from crpsmap.outputs import atomic_open, atomic_path
from crpsmap.registry.audit import record
from crpsmap.registry.histories import ImportResult, import_histories, load_histories
from crpsmap.registry.models import Provenance


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


def export_file(path: Path, *, layout: str = "csv") -> int:
    """Write the registry as a CSV long-format file, a REDCap export of crpsmap's project (`"redcap"`) or
    a FHIR R4B Bundle (`"fhir"`), atomically (a temporary file renamed into place)."""
    histories = load_histories()
    path = Path(path)
    if layout == "redcap":
        from crpsmap.io.redcap import write_redcap

        with atomic_open(path) as fh:
            write_redcap(histories, fh)
    elif layout == "fhir":
        from crpsmap.fhir import write_bundle

        with atomic_open(path) as fh:
            write_bundle(histories, fh)
    else:
        with atomic_path(path) as tmp:
            write_csv(histories, tmp)
    detail = {"file": path.name, "format": layout, "patients": len(histories), "by": "command line"}
    record(None, "export", detail=detail)
    return len(histories)
