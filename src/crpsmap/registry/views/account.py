"""A user's own account pages besides the second factor: the signed-in sessions."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from crpsmap.registry.audit import record
from crpsmap.registry.own_sessions import end_sessions, sessions_of
from crpsmap.registry.roles import Action, require


@never_cache
@require(Action.own_sessions)
def own_sessions(request: HttpRequest) -> HttpResponse:
    """The user's sessions (began, address, expiry); end one of the others, or all of them."""
    current = request.session.session_key
    if request.method == "POST":
        chosen = request.POST.get("end", "")
        ended = end_sessions(request.user, current, None if chosen == "others" else {chosen[:16]})
        record(
            request,
            "end_own_sessions",
            detail={"ended": ended, "which": "others" if chosen == "others" else "one"},
        )
        return HttpResponseRedirect(reverse("own_sessions"))
    sessions = sessions_of(request.user, current)
    return render(request, "registry/own_sessions.html", {"sessions": sessions})
