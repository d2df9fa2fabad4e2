"""Import of every layout crpsmap reads (atomic; every problem shown with row and field) and exports
(audited): the clinic export, and the pseudonymised research export that researchers always get
(docs/pseudonymisation.md)."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crpsmap.history import PatientHistory
from crpsmap.io import HistoryImportError
from crpsmap.io.csv_long import MAX_FILE_BYTES
from crpsmap.io.formats import ReadOptions
from crpsmap.registry.audit import record
from crpsmap.registry.forms import ImportForm
from crpsmap.registry.models import PatientIdentity
from crpsmap.registry.pseudonyms import (
    PseudonymisationError,
    PseudonymKey,
    load_key,
)
from crpsmap.registry.roles import Action, allowed, require
from crpsmap.registry.sites import site_for_new_patient, site_of, visible_patients
from crpsmap.registry.transfer import (
    RESEARCH_EXPORT,
    export_detail,
    export_histories,
    export_text,
    import_bytes,
    refuse_research_export,
    research_key,
)

UPLOAD_LIMIT = min(MAX_FILE_BYTES, 200 * 1024 * 1024)
#: a mapping or data dictionary beside a REDCap export
SIDE_FILE_LIMIT = 5 * 1024 * 1024


@require(Action.import_data)
def import_csv(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None, site=site_of(request.user))
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
                    site=site_for_new_patient(request.user, data["site"]),
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


def wants_research(request: HttpRequest) -> bool:
    """Whether this export is the research export: always for a user who may export but not have the
    clinic export (roles.py: a researcher), and for others when they ask (`?research=1`, or `true`)."""
    asked = request.GET.get("research", "").lower() in ("1", "true", "yes")
    return asked or not allowed(request.user, Action.export_clinic)


def _key_status() -> tuple[PseudonymKey | None, str]:
    try:
        return load_key(), ""
    except PseudonymisationError as exc:
        return None, str(exc)


@require(Action.export_pseudonymised)
def export_page(request: HttpRequest) -> HttpResponse:
    key, problem = _key_status()
    return render(request, "registry/export.html", _page_context(request, key, problem))


def _page_context(request: HttpRequest, key: PseudonymKey | None, problem: str) -> dict[str, Any]:
    return {
        "n": visible_patients(request.user).count(),
        "clinic": allowed(request.user, Action.export_clinic),
        "key_id": key.key_id if key is not None else "",
        "key_problem": problem,
        "refused": "",
    }


def _export(request: HttpRequest, layout: str) -> tuple[list[PatientHistory], dict[str, Any]] | HttpResponse:
    """The histories to export and the audit detail; for a research export without a usable key (or with
    a patient it cannot shift), a 503 page that explains, audited, and no data."""
    research = wants_research(request)
    key: PseudonymKey | None = None
    try:
        if research:
            key = research_key(layout=layout, request=request)
        histories = export_histories(research=research, key=key, site=site_of(request.user))
    except PseudonymisationError as exc:
        if key is not None:  # (a refused key is audited by research_key)
            refuse_research_export(str(exc), layout=layout, request=request)
        context = _page_context(request, key, "" if key is not None else str(exc))
        context["refused"] = str(exc)
        return render(request, "registry/export.html", context, status=503)
    return histories, export_detail(layout, len(histories), key)


def _filename(detail: dict[str, Any], clinic: str, research: str) -> str:
    return f'attachment; filename="{research if detail["kind"] == RESEARCH_EXPORT else clinic}"'


@require(Action.export_pseudonymised)
def export_csv(request: HttpRequest) -> HttpResponse:
    """The whole registry in the CSV long format: no identity, no free-text notes; the research export
    (pseudonyms, shifted dates, no extra columns) for researchers or on request."""
    got = _export(request, "csv_long")
    if isinstance(got, HttpResponse):
        return got
    histories, detail = got
    text = "".join(export_text(histories, "csv", research=detail["kind"] == RESEARCH_EXPORT))
    record(request, "export", detail=detail)
    resp = HttpResponse(text, content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = _filename(detail, "crpsmap-registry.csv", "crpsmap-research.csv")
    return resp


@require(Action.export_pseudonymised)
def export_redcap(request: HttpRequest) -> HttpResponse:
    """The whole registry as a REDCap export of crpsmap's project (as the CSV export: clinic or research)."""
    got = _export(request, "redcap")
    if isinstance(got, HttpResponse):
        return got
    histories, detail = got
    text = "".join(export_text(histories, "redcap", research=detail["kind"] == RESEARCH_EXPORT))
    record(request, "export", detail=detail)
    resp = HttpResponse(text, content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = _filename(
        detail, "crpsmap-registry-redcap.csv", "crpsmap-research-redcap.csv"
    )
    return resp


@require(Action.export_pseudonymised)
def export_fhir(request: HttpRequest) -> HttpResponse:
    """The whole registry as one FHIR R4B Bundle (docs/fhir.md), streamed; research exports name their
    Patients under their own identifier system."""
    from django.http import StreamingHttpResponse

    got = _export(request, "fhir")
    if isinstance(got, HttpResponse):
        return got
    histories, detail = got
    record(request, "export", detail=detail)
    resp = StreamingHttpResponse(
        export_text(histories, "fhir", research=detail["kind"] == RESEARCH_EXPORT),
        content_type="application/fhir+json; charset=utf-8",
    )
    resp["Content-Disposition"] = _filename(
        detail, "crpsmap-registry.fhir.json", "crpsmap-research.fhir.json"
    )
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
    site = site_of(request.user)
    if site is not None:
        rows = rows.filter(patient__site=site)
    n = 0
    for ident in rows:
        dob = ident.date_of_birth.isoformat() if ident.date_of_birth else ""
        w.writerow(
            [ident.patient.code, spreadsheet_safe(ident.name), dob, spreadsheet_safe(ident.record_number)]
        )
        n += 1
    record(request, "export_identity", detail={"patients": n})
    resp = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = 'attachment; filename="crpsmap-identity.csv"'
    return resp


def spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
