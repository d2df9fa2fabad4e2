"""Logins, logouts and failed logins go to the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from crpsmap.registry.audit import record
from crpsmap.registry.own_sessions import remember_login


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        remember_login(request)
    record(request, "login", user=user)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record(request, "logout", user=user)


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    record(request, "login_failed", detail={"username": str(credentials.get("username", ""))[:150]})
