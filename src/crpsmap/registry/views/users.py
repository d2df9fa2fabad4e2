"""User management for admins: create users with one role, change role, deactivate, reset password."""

from __future__ import annotations

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from crpsmap.registry.audit import record
from crpsmap.registry.forms import UserCreateForm, UserEditForm
from crpsmap.registry.roles import ROLE_DESCRIPTIONS, Action, Role, require, role_of
from crpsmap.registry.sites import set_site, site_of


def set_role(user: object, role: Role) -> None:
    group, _ = Group.objects.get_or_create(name=role.value)
    user.groups.set([group])  # type: ignore[attr-defined]


@require(Action.manage_users)
def user_list(request: HttpRequest) -> HttpResponse:
    users = [
        (u, role_of(u) if u.is_active else None, site_of(u))
        for u in get_user_model().objects.order_by("username")
    ]
    return render(request, "registry/users.html", {"users": users, "roles": ROLE_DESCRIPTIONS})


@require(Action.manage_users)
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        with transaction.atomic():
            user = get_user_model().objects.create_user(d["username"], password=d["password"])
            set_role(user, Role(d["role"]))
            set_site(user, d["site"], Role(d["role"]))
            detail = {"username": user.username, "role": d["role"], "site": d["site"].strip() or "every site"}
            record(request, "create_user", detail=detail)
        return HttpResponseRedirect(reverse("user_list"))
    return render(request, "registry/user_form.html", {"form": form, "target": None})


@require(Action.manage_users)
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_user_model().objects.filter(pk=pk).first()
    if target is None:
        raise Http404("no such user")
    current = role_of(target)
    form = UserEditForm(
        request.POST or None,
        initial={
            "role": current.value if current else "",
            "site": site_of(target) or "",
            "is_active": target.is_active,
        },
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        if target.pk == request.user.pk and (d["role"] != Role.admin.value or not d["is_active"]):
            form.add_error("role", "you cannot remove your own admin role or deactivate yourself")
        elif d["new_password"]:
            try:
                password_validation.validate_password(d["new_password"], target)
            except ValidationError as exc:
                form.add_error("new_password", exc)
        if not form.errors:
            with transaction.atomic():
                set_role(target, Role(d["role"]))
                set_site(target, d["site"], Role(d["role"]))
                target.is_active = d["is_active"]
                if d["new_password"]:
                    target.set_password(d["new_password"])
                target.save()
                record(
                    request,
                    "change_user",
                    detail={
                        "username": target.username,
                        "role": d["role"],
                        "site": d["site"].strip() or "every site",
                        "active": d["is_active"],
                        "password_reset": bool(d["new_password"]),
                    },
                )
            return HttpResponseRedirect(reverse("user_list"))
    return render(request, "registry/user_form.html", {"form": form, "target": target})
