"""The cohort dashboard: `crpsmap report` of the registry's current data, from the same code."""

from __future__ import annotations

from typing import Any

from csp.decorators import csp_update
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crpsmap.registry import clinic
from crpsmap.registry.audit import record
from crpsmap.registry.reports import selected_histories, served_report
from crpsmap.registry.roles import Action, require
from crpsmap.registry.sites import limit_filters, site_choices
from crpsmap.registry.views.common import parse_date, site_names


def filters_of(request: HttpRequest) -> dict[str, Any]:
    """The selection asked for; a user limited to one site (sites.py) always gets that site."""
    g = request.GET
    asked = {
        "site": (g.get("site") or "").strip()[:100],
        "onset_from": parse_date(g.get("onset_from")),
        "onset_to": parse_date(g.get("onset_to")),
    }
    return limit_filters(request.user, asked)


@require(Action.view_dashboard)
def dashboard(request: HttpRequest) -> HttpResponse:
    filters = filters_of(request)
    # the page itself only counts the selection; the report (with its Cox fit) is made when the frame
    # asks for it, so the page does not wait for the statistics
    histories, _ = selected_histories(filters, clinic.snapshot())
    sites = site_choices(request.user, site_names())
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
    report = served_report(filters)
    detail = {k: str(v or "") for k, v in filters.items()}
    record(request, "view_dashboard_report", detail={**detail, "data_as_of": report.data_as_of.isoformat()})
    response = HttpResponse(report.html, content_type="text/html; charset=utf-8")
    response["Last-Modified"] = report.data_as_of.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return response
