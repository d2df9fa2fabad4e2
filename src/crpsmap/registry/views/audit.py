"""The audit trail for auditors: row history of every clinical write beside reads, exports and logins."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crpsmap.registry.audit_trail import trail
from crpsmap.registry.roles import Action, require
from crpsmap.registry.views.common import page_of

PAGE_SIZE = 100


@require(Action.view_audit)
def audit_trail(request: HttpRequest) -> HttpResponse:
    g = request.GET
    entries = trail(
        patient_code=(g.get("patient") or "").strip()[:64],
        username=(g.get("user") or "").strip()[:150],
        limit=5000,
    )
    page = int(g["page"]) if g.get("page", "").isdigit() else 1
    shown, page, pages = page_of(entries, page, PAGE_SIZE)
    return render(
        request,
        "registry/audit.html",
        {
            "entries": shown,
            "page": page,
            "pages": pages,
            "filters": g,
            "total": len(entries),
        },
    )
