"""A user's own signed-in sessions: where and when each began, and ending the others (ASVS 7.5.2).

A forgotten session on a ward computer can be ended from any other one. At login the session keeps the
moment and the client address (sessions are on the server, in the database); the list is found by
reading the unexpired sessions of the database, which for a clinic's few hundred is quick. A session is
named on the page by a digest of its key, never by the key itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.http import HttpRequest
from django.utils import timezone

from crpsmap.registry.clients import client_address

BEGAN = "crpsmap_began"
ADDRESS = "crpsmap_address"


def remember_login(request: HttpRequest) -> None:
    """At login: note when and from where this session began."""
    request.session[BEGAN] = timezone.now().isoformat(timespec="seconds")
    request.session[ADDRESS] = client_address(request) or ""


def session_id(key: str) -> str:
    """The name of a session on the page: not its key (which would let a reader take it over)."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class OwnSession:
    id: str
    began: dt.datetime | None
    address: str
    expires: dt.datetime
    current: bool


def sessions_of(user: Any, current_key: str | None) -> list[OwnSession]:
    """The user's unexpired sessions, the newest first."""
    out = []
    for s in Session.objects.filter(expire_date__gt=timezone.now()):
        data = s.get_decoded()
        if str(data.get(SESSION_KEY)) != str(user.pk):
            continue
        began = data.get(BEGAN)
        out.append(
            OwnSession(
                id=session_id(s.session_key),
                began=dt.datetime.fromisoformat(began) if isinstance(began, str) else None,
                address=str(data.get(ADDRESS, "")),
                expires=s.expire_date,
                current=s.session_key == current_key,
            )
        )
    return sorted(out, key=lambda o: (o.began is None, -(o.began.timestamp() if o.began else 0)))


def end_sessions(user: Any, current_key: str | None, ids: set[str] | None) -> int:
    """End the user's sessions named by `ids` (None: all but the current one); the current one is never
    ended here (that is logout). Returns how many were ended."""
    ended = 0
    for s in Session.objects.filter(expire_date__gt=timezone.now()):
        if s.session_key == current_key or str(s.get_decoded().get(SESSION_KEY)) != str(user.pk):
            continue
        if ids is None or session_id(s.session_key) in ids:
            s.delete()
            ended += 1
    return ended
