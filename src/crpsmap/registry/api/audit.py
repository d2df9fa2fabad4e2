"""Every API call in the audit trail: one line per call, answered, refused or failed.

The line (action "api") names the caller (the token's user and role, and the token's prefix; nobody for
a call without a valid token), the method, the path template (`/api/patients/{code}/visits`, not the
path), the status, and why a call was refused; the patient code only when the path names one. Nothing
else of the request or the answer is kept: no body, no query, no patient data.

The views of the API are wrapped here (`audited`), in the URL list, so that no API URL can be reached
without its line, whatever the operation does; an exception that escapes is logged and answered with a
JSON 500 that says nothing about it, and a method a path does not take with a JSON 405.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver

from crpsmap.registry.api.auth import CALLER
from crpsmap.registry.audit import record
from crpsmap.registry.models import CODE_RE

logger = logging.getLogger("crpsmap.registry.api")
#: extra audit detail an operation may add for its line (counts, the kind of export): never patient data
DETAIL = "_crpsmap_api_detail"


def add_detail(request: HttpRequest, **detail: Any) -> None:
    """Add to this call's audit line (numbers and kinds only, never patient data)."""
    if not hasattr(request, DETAIL):
        setattr(request, DETAIL, {})
    getattr(request, DETAIL).update(detail)


def path_template(route: str) -> str:
    """`api/patients/<code>/visits` -> `/api/patients/{code}/visits`."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def audit_line(request: HttpRequest, response: HttpResponse, kwargs: dict[str, Any]) -> None:
    """Append the call's audit line."""
    match = getattr(request, "resolver_match", None)
    route = match.route if match is not None else request.path.lstrip("/")
    # B105: an empty token in an audit line (no token given), not a password
    caller: dict[str, Any] = getattr(request, CALLER, None) or {"token": "", "refused": "no token"}  # nosec B105 # reason above
    detail: dict[str, Any] = {
        "method": request.method,
        "path": path_template(route),
        "status": response.status_code,
        "token": caller.get("token", ""),
    }
    if caller.get("refused") and response.status_code in (401, 403):
        detail["refused"] = caller["refused"]
    detail.update(getattr(request, DETAIL, None) or {})
    code = kwargs.get("code")
    patient_code = code if isinstance(code, str) and re.fullmatch(CODE_RE, code) else ""
    # the token's user, never the session's: a logged-in browser does not make an API call anyone's
    record(
        request, "api", patient_code=patient_code, detail=detail, user=caller.get("user") or AnonymousUser()
    )


def audited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """`view`, with its audit line written after every call."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Http404:  # a URL of the API's own that is no operation (the bare /api/)
            response = JsonResponse({"detail": "no such API path; see /api/openapi.json"}, status=404)
        except Exception:
            logger.exception("API call failed: %s %s", request.method, request.path)
            response = JsonResponse({"detail": "internal error; the call is in the audit trail"}, status=500)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            allow = response.get("Allow", "")
            response = JsonResponse({"detail": f"method not allowed here (allowed: {allow})"}, status=405)
            response["Allow"] = allow
        audit_line(request, response, kwargs)
        return response

    return wrapped


def audited_patterns(patterns: list[URLPattern | URLResolver]) -> list[URLPattern]:
    """The URL patterns with every view wrapped by `audited`."""
    out: list[URLPattern] = []
    for p in patterns:
        if not isinstance(p, URLPattern):  # the API's URL list is flat; an include would escape the audit
            raise TypeError(f"cannot audit {p!r}")
        out.append(URLPattern(p.pattern, audited(p.callback), p.default_args, p.name))
    return out
