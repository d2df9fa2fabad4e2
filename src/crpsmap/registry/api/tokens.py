"""API tokens: making, finding and revoking them (the web pages and the command line both call these).

A token is `crpsmap_` followed by 43 URL-safe characters (`secrets.token_urlsafe(32)`: 256 random bits).
Only its SHA-256 is stored, with the first 16 characters as a public prefix that names it in lists and in
the audit trail; the token itself is shown once, when it is made. A fast unsalted hash is enough here
(unlike for passwords): nobody can guess a 256-bit random value, so there is no dictionary to slow down.
Lookup is by prefix, then the hashes are compared in constant time (`hmac.compare_digest`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from crpsmap.registry.audit import record
from crpsmap.registry.models import API_TOKEN_DEFAULT_DAYS, API_TOKEN_MAX_DAYS, ApiToken

TOKEN_START = "crpsmap_"  # nosec B105 # the public prefix of every token, not a secret
#: characters of the token kept in clear (the start and 8 random characters: 48 of the 256 bits)
PREFIX_CHARS = 16
TOKEN_RE = re.compile(r"crpsmap_[A-Za-z0-9_-]{43}")
PREFIX_RE = re.compile(r"crpsmap_[A-Za-z0-9_-]{8}")
#: last_used_at is written at most this often per token (one write per call would double the writes)
TOUCH_EVERY = dt.timedelta(seconds=60)


def new_token_text() -> str:
    """A fresh token (never stored; shown once)."""
    return TOKEN_START + secrets.token_urlsafe(32)


def token_hash(text: str) -> str:
    """The hex SHA-256 of a token, as stored."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def prefix_of(text: str) -> str:
    """The token's public prefix, or "" when `text` does not look like a token (then nothing of it is
    written anywhere: it might be a password pasted by mistake)."""
    head = text[:PREFIX_CHARS]
    return head if PREFIX_RE.fullmatch(head) else ""


def find_token(text: str) -> ApiToken | None:
    """The token whose hash matches `text` (whatever its state), or None."""
    if not TOKEN_RE.fullmatch(text):
        return None
    digest = token_hash(text)
    found = None
    for candidate in ApiToken.objects.filter(prefix=text[:PREFIX_CHARS]).select_related("user"):
        if hmac.compare_digest(candidate.token_hash, digest):
            found = candidate
    return found


def touch(token: ApiToken, now: dt.datetime) -> None:
    """Note that the token was used (at most once a minute: a cheap UPDATE of one row)."""
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def check_days(days: int) -> int:
    """The lifetime in days, from 1 to API_TOKEN_MAX_DAYS; ValueError otherwise."""
    if not 1 <= days <= API_TOKEN_MAX_DAYS:
        raise ValueError(f"a token lives from 1 to {API_TOKEN_MAX_DAYS} days")
    return days


def issue_token(
    user: Any,
    *,
    name: str = "",
    days: int = API_TOKEN_DEFAULT_DAYS,
    by: Any = None,
    request: HttpRequest | None = None,
) -> tuple[str, ApiToken]:
    """Make a token for `user` valid for `days` (audited as "create_api_token"); returns the token text
    (to show once) and its row. `by` is the admin who made it (None from the command line)."""
    check_days(days)
    if not user.is_active:
        raise ValueError(f"user {user.get_username()!r} is not active")
    text = new_token_text()
    now = timezone.now()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name[:100],
            prefix=text[:PREFIX_CHARS],
            token_hash=token_hash(text),
            created_by=by,
            expires_at=now + dt.timedelta(days=days),
        )
        detail = _detail(token)
        if request is None:
            detail["by"] = "command line"
        record(request, "create_api_token", detail=detail, user=by)
    return text, token


def revoke_token(token: ApiToken, *, by: Any = None, request: HttpRequest | None = None) -> bool:
    """Revoke a token now (audited as "revoke_api_token"); False when it was revoked already."""
    with transaction.atomic():
        n = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        if not n:
            return False
        token.refresh_from_db(fields=["revoked_at"])
        detail = _detail(token)
        if request is None:
            detail["by"] = "command line"
        record(request, "revoke_api_token", detail=detail, user=by)
    return True


def _detail(token: ApiToken) -> dict[str, Any]:
    return {
        "username": token.user.get_username(),
        "token": token.prefix,
        "name": token.name,
        "expires": token.expires_at.isoformat(timespec="seconds"),
    }
