"""Login, logout, the landing redirect, the health check and the error pages."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from crpsmap.registry.roles import Action, allowed


class LoginView(auth_views.LoginView):
    template_name = "registry/login.html"
    redirect_authenticated_user = True


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponseRedirect("/login/")


def home(request: HttpRequest) -> HttpResponse:
    """Each role lands where its work is."""
    if not request.user.is_authenticated:
        return HttpResponseRedirect("/login/")
    if allowed(request.user, Action.list_patients):
        return HttpResponseRedirect("/patients/")
    if allowed(request.user, Action.view_audit):
        return HttpResponseRedirect("/audit/")
    return render(
        request,
        "registry/message.html",
        {
            "title": "No role",
            "message": ("Your account has no role yet. Ask an administrator to give it one."),
        },
        status=403,
    )


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 with JSON when the database answers, 503 otherwise (no data, no login needed)."""
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
    except Exception as exc:  # any database failure means "not healthy"
        return JsonResponse({"status": "error", "database": type(exc).__name__}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})


def forbidden(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return render(
        request,
        "registry/message.html",
        {"title": "Not allowed", "message": ("Your role does not allow this page.")},
        status=403,
    )


def not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return render(
        request,
        "registry/message.html",
        {"title": "Not found", "message": ("There is no such page or patient.")},
        status=404,
    )
