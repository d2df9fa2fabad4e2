"""Import and export between a CSV file and the registry, for the command line (atomic both ways)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.db import transaction

from crpsmap.io.csv_long import read_csv_bytes, write_csv
from crpsmap.io.problems import HistoryImportError, ImportProblem
from crpsmap.registry.audit import record
from crpsmap.registry.histories import ImportResult, first_rows, import_histories, load_histories
from crpsmap.registry.models import Provenance


def import_file(path: Path, *, site: str = "", provenance: Provenance = Provenance.clinic) -> ImportResult:
    """Import a CSV long-format file whole or not at all; raises HistoryImportError with every problem."""
    name = str(path)
    if not path.is_file():
        raise HistoryImportError([ImportProblem(name, None, None, "not a regular file")])
    raw = path.read_bytes()
    histories = read_csv_bytes(raw, name=name)
    with transaction.atomic():
        result = import_histories(
            histories, site=site, provenance=provenance, source_name=name, first_row=first_rows(raw)
        )
        record(None, "import", detail={"file": path.name, "patients": result.patients, "by": "command line"})
    return result


def export_file(path: Path) -> int:
    """Write the registry as a CSV long-format file atomically (a temporary file renamed into place)."""
    histories = load_histories()
    path = Path(path)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent if str(path.parent) else ".", prefix=".crpsmap-", suffix=".tmp"
    )
    os.close(fd)
    try:
        write_csv(histories, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    record(None, "export", detail={"file": path.name, "patients": len(histories), "by": "command line"})
    return len(histories)
