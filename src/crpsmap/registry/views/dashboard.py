"""The cohort dashboard: `crpsmap report` of the registry's current data, from the same code."""

from __future__ import annotations

import threading
from typing import Any

from csp.decorators import csp_update
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crpsmap.history import PatientHistory
from crpsmap.registry import clinic
from crpsmap.registry.audit import record
from crpsmap.registry.models import Patient
from crpsmap.registry.roles import Action, require
from crpsmap.registry.views.common import parse_date, site_names
from crpsmap.report.api import report_html
from crpsmap.stats.summary import CohortStatistics


def filters_of(request: HttpRequest) -> dict[str, Any]:
    g = request.GET
    return {
        "site": (g.get("site") or "").strip()[:100],
        "onset_from": parse_date(g.get("onset_from")),
        "onset_to": parse_date(g.get("onset_to")),
    }


def selected_histories(
    filters: dict[str, Any], snap: clinic.ClinicSnapshot | None = None
) -> tuple[list[PatientHistory], set[str]]:
    """The histories the filters select, and the provenances among them."""
    qs = Patient.objects.all()
    if filters["site"]:
        qs = qs.filter(site=filters["site"])
    rows = list(qs.order_by("id").values_list("code", "provenance"))
    # the snapshot is read after the rows, so it holds every patient they name
    snap = snap if snap is not None and all(code in snap.histories for code, _ in rows) else clinic.snapshot()
    out, provenances = [], set()
    for code, prov in rows:
        c = snap.classifications.get(code)
        onset = c.onset_date if c else None
        if filters["onset_from"] and (onset is None or onset < filters["onset_from"]):
            continue
        if filters["onset_to"] and (onset is None or onset > filters["onset_to"]):
            continue
        out.append(snap.histories[code])
        provenances.add(prov)
    return out, provenances


_cache_lock = threading.Lock()
_compute_lock = threading.Lock()
_cache: dict[tuple[Any, ...], tuple[str, CohortStatistics]] = {}


def dashboard_report(filters: dict[str, Any]) -> tuple[str, CohortStatistics]:
    """The report's HTML and statistics for the filters (cached per data version and filters; one
    thread computes a missing report while the others asking for it wait for that one)."""
    snap = clinic.snapshot()
    key = (snap.version, filters["site"], filters["onset_from"], filters["onset_to"])
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    with _compute_lock:
        with _cache_lock:
            hit = _cache.get(key)
        if hit is not None:
            return hit
        histories, _ = selected_histories(filters, snap)
        parts = [f"site {filters['site']}" if filters["site"] else "all sites"]
        if filters["onset_from"] or filters["onset_to"]:
            parts.append(f"onset {filters['onset_from'] or '…'} to {filters['onset_to'] or '…'}")
        result = report_html(
            histories,
            title="Does CRPS spread? Registry dashboard",
            source="registry, " + ", ".join(parts),
        )
        with _cache_lock:
            if len(_cache) > 32:
                _cache.clear()
            _cache[key] = result
        return result


@require(Action.view_dashboard)
def dashboard(request: HttpRequest) -> HttpResponse:
    filters = filters_of(request)
    # the page itself only counts the selection; the report (with its Cox fit) is made when the frame
    # asks for it, so the page does not wait for the statistics
    histories, _ = selected_histories(filters, clinic.snapshot())
    sites = site_names()
    record(request, "view_dashboard", detail={k: str(v or "") for k, v in filters.items()})
    return render(
        request,
        "registry/dashboard.html",
        {
            "filters": filters,
            "sites": sites,
            "query": request.GET.urlencode(),
            "n_patients": len(histories),
        },
    )


@require(Action.view_dashboard)
@csp_update({"style-src": ["'unsafe-inline'"]})
def report(request: HttpRequest) -> HttpResponse:
    """The report itself (self-contained HTML with its inline style sheet and no script)."""
    filters = filters_of(request)
    html, _ = dashboard_report(filters)
    record(request, "view_dashboard_report", detail={k: str(v or "") for k, v in filters.items()})
    return HttpResponse(html, content_type="text/html; charset=utf-8")
