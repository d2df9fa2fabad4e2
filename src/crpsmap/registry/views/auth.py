"""Login, logout, the landing redirect, the health check and the error pages."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from crpsmap.registry import otp
from crpsmap.registry.audit import record
from crpsmap.registry.roles import Action, allowed
from crpsmap.registry.views.otp import TokenForm, safe_next


class LoginView(auth_views.LoginView):
    """The password, then (for a user with a TOTP device) the code on the same page; a user whose role
    requires TOTP and who has none is sent to enrolment (registry/otp.py)."""

    template_name = "registry/login.html"
    redirect_authenticated_user = True

    @method_decorator(never_cache)
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        step = otp.pending_step(request)
        if step == otp.LOGIN_URL:
            return self.second_factor(request)
        if step == otp.ENROL_URL:
            return HttpResponseRedirect(otp.with_next(otp.ENROL_URL, safe_next(request)))
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)  # the password is right: the user is logged in, not verified
        step = otp.pending_step(self.request)
        if step is not None:
            return HttpResponseRedirect(otp.with_next(step, safe_next(self.request)))
        return response

    def second_factor(self, request: HttpRequest) -> HttpResponse:
        """The code form; a right code marks the session verified (django-otp), a wrong one is audited."""
        device = otp.confirmed_device(request.user)
        assert device is not None  # pending_step returned LOGIN_URL: there is one
        form = TokenForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            problem = otp.check_code(request, device, form.cleaned_data["token"], stage="login")
            if problem is None:
                otp_login(request, device)
                record(request, "otp_verified")
                return HttpResponseRedirect(safe_next(request))
            form.add_error("token", problem)
        return render(request, "registry/otp_verify.html", {"form": form, "next": safe_next(request)})


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
