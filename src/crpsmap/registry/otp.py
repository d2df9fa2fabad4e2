"""The optional TOTP second factor (django-otp) and the per-role requirement an admin sets.

A user with a confirmed TOTP device gives a code after the password (the login page asks for it); a
user whose role an admin has marked "TOTP required" (`RoleSecurityPolicy`) and who has no device yet is
sent to enrolment. Until the step that is due is done, `SecondFactorMiddleware` lets the session reach
only the login, enrolment and logout pages. API tokens are a separate credential (registry/api/auth.py)
and are not affected: the API never reads the session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django_otp.plugins.otp_totp.models import TOTPDevice

from crpsmap.registry.models import RoleSecurityPolicy
from crpsmap.registry.roles import Role, role_of

LOGIN_URL = "/login/"
ENROL_URL = "/account/second-factor/"
#: what a session may reach before its second factor: logging in (the code is asked there), enrolling,
#: logging out, static files, the health check and the API (bearer tokens only, no session)
EXEMPT_PREFIXES = (LOGIN_URL, ENROL_URL, "/logout/", "/static/", "/healthz", "/api/")


def confirmed_device(user: Any) -> TOTPDevice | None:
    """The user's confirmed TOTP device, if any (one per user: enrolment replaces an unconfirmed one)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).order_by("id").first()


def totp_required(user: Any) -> bool:
    """Whether an admin requires a TOTP second factor of the user's role."""
    role = role_of(user)
    return role is not None and RoleSecurityPolicy.objects.filter(role=role.value, require_totp=True).exists()


def is_verified(request: HttpRequest) -> bool:
    """Whether this session has passed the second factor (django-otp's OTPMiddleware sets `is_verified`;
    right after the password the user object is a fresh one without it: not verified)."""
    check = getattr(request.user, "is_verified", None)
    return bool(check()) if callable(check) else False


def pending_step(request: HttpRequest) -> str | None:
    """Where a signed-in session must go before anything else: the code form of the login page (the user
    has a device and this session has not given a code), enrolment (the role requires a second factor
    and the user has none), or None."""
    user = request.user
    if not user.is_authenticated or is_verified(request):
        return None
    if confirmed_device(user) is not None:
        return LOGIN_URL
    if totp_required(user):
        return ENROL_URL
    return None


def with_next(url: str, next_url: str) -> str:
    return f"{url}?next={quote(next_url, safe='/')}" if next_url and next_url != "/" else url


class SecondFactorMiddleware:
    """Sends a signed-in session whose second factor is due to the page that asks for it, from every page
    but the exempt ones (so a user of a role that requires TOTP can do nothing else until enrolled)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and not request.path.startswith(EXEMPT_PREFIXES):
            step = pending_step(request)
            if step is not None:
                return HttpResponseRedirect(with_next(step, request.get_full_path()))
        return self.get_response(request)


def policies() -> dict[Role, bool]:
    """Whether each role requires a TOTP second factor."""
    rows = dict(RoleSecurityPolicy.objects.values_list("role", "require_totp"))
    return {r: bool(rows.get(r.value, False)) for r in Role}


def new_device(user: Any) -> TOTPDevice:
    """An unconfirmed TOTP device for enrolment: the user's pending one, else a new one with a fresh key."""
    device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator app", confirmed=False)
    return device


def check_code(request: HttpRequest, device: TOTPDevice, token: str, *, stage: str) -> str | None:
    """Check a TOTP code against the device: None when it is right, else why not. django-otp refuses a
    code already used (a replay) and slows guessing down after each failure; every failure is audited."""
    from crpsmap.registry.audit import record

    allowed_now, _ = device.verify_is_allowed()
    if allowed_now and device.verify_token(token):
        return None
    reason = "wrong or already used code" if allowed_now else "too many wrong codes: wait a few seconds"
    record(request, "otp_failed", detail={"stage": stage, "reason": reason}, user=request.user)
    return reason
