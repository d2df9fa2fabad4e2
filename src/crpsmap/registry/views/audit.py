"""The audit trail for auditors: row history of every clinical write beside reads, exports and logins."""

from __future__ import annotations

import csv
import io
import json

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crpsmap.registry.audit import record
from crpsmap.registry.audit_trail import trail
from crpsmap.registry.roles import Action, require
from crpsmap.registry.views.common import page_of
from crpsmap.registry.views.transfer import spreadsheet_safe

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


#: the columns of the audit export, in order
EXPORT_COLUMNS = ("at_utc", "user", "action", "table", "patient_code", "reason", "changes", "detail")


@require(Action.view_audit)
def audit_export(request: HttpRequest) -> HttpResponse:
    """The whole audit trail as CSV (the page's entries, every one, oldest first), for an auditor's own
    tools; the export is itself recorded before the file is made, so it is in the file."""
    record(request, "export_audit")
    entries = trail(limit=10**9)
    entries.reverse()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(EXPORT_COLUMNS)
    for e in entries:
        e.load_changes()
        changes = "; ".join(f"{f}: {a or '-'} -> {b or '-'}" for f, a, b in e.changes)
        row = [e.at.isoformat(), e.username, e.action, e.table, e.patient_code, e.reason, changes]
        row.append(json.dumps(e.detail, sort_keys=True, default=str))
        w.writerow([spreadsheet_safe(c) for c in row])
    resp = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = 'attachment; filename="crpsmap-audit-trail.csv"'
    return resp
