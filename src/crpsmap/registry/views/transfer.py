"""Import of every layout crpsmap reads (atomic; every problem shown with row and field) and exports
(audited)."""

from __future__ import annotations

import csv
import io

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crpsmap.io import HistoryImportError
from crpsmap.io.csv_long import MAX_FILE_BYTES, write_csv_text
from crpsmap.io.formats import ReadOptions
from crpsmap.registry.audit import record
from crpsmap.registry.forms import ImportForm
from crpsmap.registry.histories import load_histories
from crpsmap.registry.models import Patient, PatientIdentity
from crpsmap.registry.roles import Action, require
from crpsmap.registry.transfer import import_bytes

UPLOAD_LIMIT = min(MAX_FILE_BYTES, 200 * 1024 * 1024)
#: a mapping or data dictionary beside a REDCap export
SIDE_FILE_LIMIT = 5 * 1024 * 1024


@require(Action.import_data)
def import_csv(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    problems: list[str] = []
    result = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data["file"]
        name = upload.name[:200]
        too_big = [
            f"{f.name[:200]}: file is {f.size} bytes; the limit is {limit}"
            for f, limit in (
                (upload, UPLOAD_LIMIT),
                (data["mapping"], SIDE_FILE_LIMIT),
                (data["dictionary"], SIDE_FILE_LIMIT),
            )
            if f is not None and f.size > limit
        ]
        if too_big:
            problems = too_big
        else:
            options = ReadOptions(
                visit_date=data["visit_date"],
                date_column=data["date_column"] or None,
                mapping_text=data["mapping"].read() if data["mapping"] else None,
                dictionary_bytes=data["dictionary"].read() if data["dictionary"] else None,
            )
            try:
                result = import_bytes(
                    upload.read(),
                    name=name,
                    site=data["site"],
                    user=request.user,
                    request=request,
                    layout=data["layout"],
                    options=options,
                )
            except HistoryImportError as exc:
                problems = [str(p) for p in exc.problems]
                if exc.truncated:
                    problems.append("… more problems not shown")
    return render(request, "registry/import.html", {"form": form, "problems": problems, "result": result})


@require(Action.export_pseudonymised)
def export_page(request: HttpRequest) -> HttpResponse:
    return render(request, "registry/export.html", {"n": Patient.objects.count()})


@require(Action.export_pseudonymised)
def export_csv(request: HttpRequest) -> HttpResponse:
    """The whole registry in the CSV long format: pseudonymous codes, no identity, no free-text notes."""
    histories = load_histories()
    text = write_csv_text(histories)
    record(request, "export", detail={"format": "csv_long", "patients": len(histories)})
    resp = HttpResponse(text, content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = 'attachment; filename="crpsmap-registry.csv"'
    return resp


@require(Action.export_pseudonymised)
def export_redcap(request: HttpRequest) -> HttpResponse:
    """The whole registry as a REDCap export of crpsmap's project (pseudonymous, like the CSV export)."""
    from crpsmap.io.redcap import write_redcap

    histories = load_histories()
    buf = io.StringIO()
    write_redcap(histories, buf)
    record(request, "export", detail={"format": "redcap", "patients": len(histories)})
    resp = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = 'attachment; filename="crpsmap-registry-redcap.csv"'
    return resp


@require(Action.export_pseudonymised)
def export_fhir(request: HttpRequest) -> HttpResponse:
    """The whole registry as one FHIR R4B Bundle (pseudonymous Patients; docs/fhir.md), streamed."""
    from django.http import StreamingHttpResponse

    from crpsmap.fhir import iter_bundle_text

    histories = load_histories()
    record(request, "export", detail={"format": "fhir", "patients": len(histories)})
    resp = StreamingHttpResponse(
        iter_bundle_text(histories), content_type="application/fhir+json; charset=utf-8"
    )
    resp["Content-Disposition"] = 'attachment; filename="crpsmap-registry.fhir.json"'
    return resp


@require(Action.export_pseudonymised)
def export_redcap_dictionary(request: HttpRequest) -> HttpResponse:
    """The data dictionary of crpsmap's REDCap project (no patient data)."""
    from crpsmap.io.redcap import write_dictionary

    buf = io.StringIO()
    write_dictionary(buf)
    resp = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = 'attachment; filename="crpsmap-redcap-dictionary.csv"'
    return resp


@require(Action.export_identity)
def export_identity(request: HttpRequest) -> HttpResponse:
    """The key from patient codes to identity (clinicians and admins only; audited)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["patient_code", "name", "date_of_birth", "record_number"])
    rows = PatientIdentity.objects.select_related("patient").order_by("patient__id")
    n = 0
    for ident in rows:
        dob = ident.date_of_birth.isoformat() if ident.date_of_birth else ""
        w.writerow([ident.patient.code, _cell(ident.name), dob, _cell(ident.record_number)])
        n += 1
    record(request, "export_identity", detail={"patients": n})
    resp = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = 'attachment; filename="crpsmap-identity.csv"'
    return resp


def _cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
