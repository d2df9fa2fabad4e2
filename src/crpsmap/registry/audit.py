"""Writing the audit trail: one call per read, export, import, login or refusal.

Writes of clinical rows are recorded by simple-history in the same transaction as the write; this module
adds what row history cannot see. The record is written in the caller's transaction, so a failed import
leaves neither data nor an "import" line behind.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from crpsmap.registry.clients import client_address
from crpsmap.registry.models import AuditEvent
from crpsmap.registry.roles import role_of


def record(
    request: HttpRequest | None,
    action: str,
    *,
    patient_code: str = "",
    detail: dict[str, Any] | None = None,
    user: Any = None,
) -> AuditEvent:
    """Append one audit line for the request's user (or `user`, for command-line use)."""
    who = user if user is not None else (getattr(request, "user", None) if request is not None else None)
    authenticated = who is not None and getattr(who, "is_authenticated", False)
    role = role_of(who) if authenticated else None
    return AuditEvent.objects.create(
        user=who if authenticated else None,
        username=who.get_username() if authenticated and who is not None else "",
        role=role.value if role else "",
        action=action,
        patient_code=patient_code,
        detail=detail or {},
        address=client_address(request),
    )
