"""API tokens for admins: make one for a user (shown once), see every token's state, revoke one.

A token acts with its user's role, so making one grants nothing the user does not have; it expires after
the days chosen (90 by default, at most 365). Making and revoking are audited (api/tokens.py).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from crpsmap.registry.api.tokens import issue_token, revoke_token
from crpsmap.registry.models import API_TOKEN_DEFAULT_DAYS, API_TOKEN_MAX_DAYS, ApiToken
from crpsmap.registry.roles import Action, require, role_of


class TokenForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        help_text="the token acts with this user's role",
    )
    name = forms.CharField(max_length=100, required=False, help_text="what it is for, e.g. 'R analysis'")
    days = forms.IntegerField(
        min_value=1,
        max_value=API_TOKEN_MAX_DAYS,
        initial=API_TOKEN_DEFAULT_DAYS,
        label="valid for (days)",
        help_text=f"1 to {API_TOKEN_MAX_DAYS}",
    )


# B107: no new token to show unless one was just made
def _context(form: TokenForm, new_token: str = "", new_row: ApiToken | None = None) -> dict[str, Any]:  # nosec B107 # reason above
    now = timezone.now()
    tokens = ApiToken.objects.select_related("user").order_by("-created_at", "-id")[:500]
    rows = [{"t": t, "state": t.state(now), "role": role_of(t.user)} for t in tokens]
    return {"form": form, "rows": rows, "new_token": new_token, "new_row": new_row}


@require(Action.manage_users)
@never_cache
def token_list(request: HttpRequest) -> HttpResponse:
    """Every token with its state; the form that makes one. A new token is shown on this answer only."""
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        text, row = issue_token(d["user"], name=d["name"], days=d["days"], by=request.user, request=request)
        return render(request, "registry/tokens.html", _context(TokenForm(), text, row))  # never cached
    return render(request, "registry/tokens.html", _context(form))


@require(Action.manage_users)
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke a token now; it stops working on the next call."""
    token = ApiToken.objects.select_related("user").filter(pk=pk).first()
    if token is None:
        raise Http404("no such token")
    revoke_token(token, by=request.user, request=request)
    return HttpResponseRedirect(reverse("token_list"))
