"""Second-factor pages: a user's own TOTP enrolment, and the admins' per-role requirement and resets."""

from __future__ import annotations

import base64
import time

from django import forms
from django.contrib.auth import get_user_model, logout
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from crpsmap.registry.audit import record
from crpsmap.registry.models import RoleSecurityPolicy
from crpsmap.registry.otp import check_code, confirmed_device, new_device, policies, totp_required
from crpsmap.registry.roles import Action, require


class TokenForm(forms.Form):
    token = forms.RegexField(
        label="Code from your authenticator app",
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": "six digits"},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_token(self) -> str:
        return str(self.cleaned_data["token"]).strip()


class PasswordForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


#: a second factor is set up only within this many seconds of entering the password again (ASVS 7.5.1)
REAUTH_SECONDS = 300
REAUTH_AT = "crpsmap_reauth_at"
REAUTH_FAILURES = "crpsmap_reauth_failures"
#: wrong passwords on the enrolment page before the session is ended
REAUTH_MAX_FAILURES = 5


def _reauthenticate(request: HttpRequest) -> HttpResponse | None:
    """None when the user gave the password within REAUTH_SECONDS; else the password step (a page, or
    after too many wrong passwords the end of the session). A stolen session alone cannot set up a
    second factor of its own."""
    at = request.session.get(REAUTH_AT)
    if isinstance(at, int | float) and time.time() - at <= REAUTH_SECONDS:
        return None
    form = PasswordForm(request.POST if "password" in request.POST else None)
    if form.is_bound and form.is_valid():
        if request.user.check_password(form.cleaned_data["password"]):
            request.session[REAUTH_AT] = time.time()
            request.session.pop(REAUTH_FAILURES, None)
            record(request, "reauthenticated", detail={"for": "second factor"})
            return HttpResponseRedirect(reverse("otp_enrol") + "?next=" + safe_next(request))
        failures = int(request.session.get(REAUTH_FAILURES, 0)) + 1
        record(request, "reauthentication_failed", detail={"for": "second factor", "failures": failures})
        if failures >= REAUTH_MAX_FAILURES:
            logout(request)
            return HttpResponseRedirect(reverse("login"))
        request.session[REAUTH_FAILURES] = failures
        form.add_error("password", "wrong password")
    context = {"enrolled": False, "reauth": form, "next": safe_next(request)}
    return render(request, "registry/otp_enrol.html", context)


def safe_next(request: HttpRequest) -> str:
    """The `next` page of the request if it is one of ours, else the landing page."""
    value = request.POST.get("next") or request.GET.get("next") or "/"
    ok = url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}, require_https=False)
    return value if ok else "/"


@never_cache
@require(Action.own_second_factor)
def enrol(request: HttpRequest) -> HttpResponse:
    """Show the key of a new TOTP device (otpauth:// URI and base32 text) and confirm it with one code."""
    if confirmed_device(request.user) is not None:
        return render(request, "registry/otp_enrol.html", {"enrolled": True})
    step = _reauthenticate(request)
    if step is not None:
        return step
    device = new_device(request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        problem = check_code(request, device, form.cleaned_data["token"], stage="enrol")
        if problem is None:
            with transaction.atomic():
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                record(request, "otp_enrol", detail={"device": device.pk})
            otp_login(request, device)
            return HttpResponseRedirect(safe_next(request))
        form.add_error("token", problem)
    context = {
        "enrolled": False,
        "form": form,
        "uri": device.config_url,
        "secret": base64.b32encode(device.bin_key).decode("ascii"),
        "required": totp_required(request.user),
        "next": safe_next(request),
    }
    return render(request, "registry/otp_enrol.html", context)


@never_cache
@require(Action.manage_users)
def security_policy(request: HttpRequest) -> HttpResponse:
    """Which roles must use a TOTP second factor; which users have one (an admin resets a lost one)."""
    users = get_user_model().objects
    if request.method == "POST":
        reset = request.POST.get("reset", "")
        with transaction.atomic():
            if reset.isdigit():
                target = users.filter(pk=int(reset)).first()
                if target is not None:
                    TOTPDevice.objects.filter(user_id=target.pk).delete()
                    record(request, "otp_reset", detail={"username": target.get_username()})
            else:
                for role, required in policies().items():
                    wanted = f"totp-{role.value}" in request.POST
                    if wanted != required:
                        RoleSecurityPolicy.objects.update_or_create(
                            role=role.value, defaults={"require_totp": wanted}
                        )
                        record(
                            request,
                            "change_security_policy",
                            detail={"role": role.value, "require_totp": wanted},
                        )
        return HttpResponseRedirect(reverse("security_policy"))
    enrolled = users.filter(totpdevice__confirmed=True).distinct().order_by("username")
    return render(request, "registry/security.html", {"policies": policies(), "enrolled": enrolled})
