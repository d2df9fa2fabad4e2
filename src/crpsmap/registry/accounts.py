"""User accounts from the command line: create a user with one role (password from stdin or generated)."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.db import transaction

from crpsmap.registry.audit import record
from crpsmap.registry.roles import Role
from crpsmap.registry.sites import set_site


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def create_user(
    username: str, role: Role, password: str, *, replace_password: bool = False, site: str = ""
) -> Any:
    """Create `username` with `role`, limited to `site` when given (sites.py), or, with replace_password,
    reset an existing user's password and role. Raises ValueError on a weak password, an existing name or
    a site for a role that cannot be limited."""
    model = get_user_model()
    user = model.objects.filter(username=username).first()
    if user is not None and not replace_password:
        raise ValueError(f"user {username!r} exists")
    candidate = user or model(username=username)
    try:
        password_validation.validate_password(password, candidate)
    except Exception as exc:  # django's ValidationError carries a list of messages
        msgs = getattr(exc, "messages", [str(exc)])
        raise ValueError("; ".join(msgs)) from None
    with transaction.atomic():
        if user is None:
            user = model.objects.create_user(username, password=password)
        else:
            user.set_password(password)
            user.is_active = True
            user.save()
        group, _ = Group.objects.get_or_create(name=role.value)
        user.groups.set([group])
        set_site(user, site, role)
        detail = {"username": username, "role": role.value, "site": site.strip() or "every site"}
        record(None, "create_user", detail={**detail, "by": "command line"})
    return user
