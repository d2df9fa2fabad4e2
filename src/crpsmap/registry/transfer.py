"""Import and export between a CSV file and the registry (atomic both ways), for the command line and
the import page alike."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from crpsmap.io import read_csv_result
from crpsmap.io.csv_long import write_csv
from crpsmap.io.problems import HistoryImportError, ImportProblem
from crpsmap.outputs import atomic_path
from crpsmap.registry.audit import record
from crpsmap.registry.histories import ImportResult, import_histories, load_histories
from crpsmap.registry.models import Provenance


def import_file(path: Path, *, site: str = "", provenance: Provenance | None = None) -> ImportResult:
    """Import a CSV long-format file whole or not at all; raises HistoryImportError with every problem."""
    name = str(path)
    if not path.is_file():
        raise HistoryImportError([ImportProblem(name, None, None, "not a regular file")])
    return import_bytes(path.read_bytes(), name=name, site=site, provenance=provenance)


def import_bytes(
    raw: bytes,
    *,
    name: str,
    site: str = "",
    provenance: Provenance | None = None,
    user: Any = None,
    request: HttpRequest | None = None,
) -> ImportResult:
    """Check a CSV file's bytes, then add its patients and the audit line in one transaction (all or
    nothing); raises HistoryImportError with every problem, naming `name`, row and field."""
    read = read_csv_result(raw, name=name)
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
            "patients": result.patients,
            "visits": result.visits,
            "events": result.events,
            "treatments": result.treatments,
        }
        if request is None:
            detail["by"] = "command line"
        record(request, "import", detail=detail, user=user)
    return dataclasses.replace(result, warnings=tuple(map(str, read.warnings)), encoding=read.encoding)


def export_file(path: Path) -> int:
    """Write the registry as a CSV long-format file atomically (a temporary file renamed into place)."""
    histories = load_histories()
    path = Path(path)
    with atomic_path(path) as tmp:
        write_csv(histories, tmp)
    record(None, "export", detail={"file": path.name, "patients": len(histories), "by": "command line"})
    return len(histories)
