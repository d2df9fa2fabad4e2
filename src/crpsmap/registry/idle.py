"""A signed-in session ends after a spell without requests, and no page of a session is kept by a browser
or proxy cache.

A clinic's screens are left unattended: besides the 8-hour absolute lifetime (settings.py), a session
idle for `$CRPSMAP_IDLE_MINUTES` (default 30; config.py) is ended at its next request, audited as
`session_idle_timeout`, and the user is sent to the login page (ASVS 7.3.1). The moment of the last request
is written to the session at most once a minute, so that a busy user's pages do not each write the session
table. Every answer to a signed-in session carries `Cache-Control: no-store` (14.3.2): the back button of a
shared computer shows no patient data after logout. The JSON API has no session (a token per call) and
is left alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from crpsmap.registry.audit import record
from crpsmap.registry.methods import API_PREFIX

LAST_SEEN = "crpsmap_last_seen"
#: the last-request moment is rewritten when it is at least this old (seconds)
TOUCH_EVERY = 60


class IdleTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.limit: int = settings.CRPSMAP_IDLE_SECONDS

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX) or not request.user.is_authenticated:
            return self.get_response(request)
        now = int(time.time())
        last = request.session.get(LAST_SEEN)
        if isinstance(last, int) and now - last > self.limit:
            record(request, "session_idle_timeout", detail={"idle_seconds": now - last})
            logout(request)
            return redirect_to_login(request.get_full_path())
        if not isinstance(last, int) or now - last >= TOUCH_EVERY:
            request.session[LAST_SEEN] = now
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response
