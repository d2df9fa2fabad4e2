"""Patient list (search, filters), patient page, patient and identity forms."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from crpsmap.atlas import LIMBS
from crpsmap.registry import clinic
from crpsmap.registry.audit import record
from crpsmap.registry.forms import IdentityForm, PatientForm
from crpsmap.registry.models import PatientIdentity
from crpsmap.registry.patient_page import patient_page_context
from crpsmap.registry.roles import Action, allowed, require
from crpsmap.registry.sites import site_choices, site_of, visible_patients
from crpsmap.registry.views.common import get_patient, page_of, parse_date, save_row, site_names
from crpsmap.report.html import LIMB_NAMES

PAGE_SIZE = 50


@require(Action.list_patients)
def patient_list(request: HttpRequest) -> HttpResponse:
    """Patients with their spread at a glance; filters on spread, limbs, onset limb, last visit, site."""
    g = request.GET
    show_identity = allowed(request.user, Action.view_identity)
    qs = visible_patients(request.user).order_by("code")
    q = (g.get("q") or "").strip()[:100]
    if q:
        cond = Q(code__icontains=q)
        if show_identity:
            cond |= Q(identity__name__icontains=q) | Q(identity__record_number__iexact=q)
        qs = qs.filter(cond)
    site = (g.get("site") or "").strip()[:100]
    if site:
        qs = qs.filter(site=site)
    snap = clinic.snapshot()
    spread, limbs, onset_limb = g.get("spread", ""), g.get("limbs", ""), g.get("onset_limb", "")
    after, before = parse_date(g.get("last_after")), parse_date(g.get("last_before"))
    matched: list[tuple[str, Any, Any]] = []  # (code, classification, last record) of every match
    for code in qs.values_list("code", flat=True):  # codes only: a model object per patient cost 15 ms
        c = snap.classifications.get(code)
        h = snap.histories.get(code)
        last = c.last_date if c else (h.last_date if h else None)
        if spread in ("yes", "no") and (c is not None and c.spread) != (spread == "yes"):
            continue
        n_limbs = len(c.limbs) if c else 0
        if limbs.isdigit() and n_limbs != int(limbs):
            continue
        first = c.limbs[0] if c and c.limbs else None
        if onset_limb and first != onset_limb:
            continue
        if after and (last is None or last < after):
            continue
        if before and (last is None or last > before):
            continue
        matched.append((code, c, last))
    shown_matches, page, pages = page_of(
        matched, int(g.get("page", "1")) if g.get("page", "1").isdigit() else 1, PAGE_SIZE
    )
    page_qs = qs.filter(code__in=[code for code, _, _ in shown_matches])
    patients = {p.code: p for p in (page_qs.select_related("identity") if show_identity else page_qs)}
    shown: list[dict[str, Any]] = []
    for code, c, last in shown_matches:
        p = patients.get(code)
        if p is None:  # deleted between the two reads
            continue
        shown.append(
            {
                "patient": p,
                "classification": c,
                "last": last,
                "n_limbs": len(c.limbs) if c else 0,
                "limbs": [LIMB_NAMES[x] for x in (c.limbs if c else ())],
                "identity": getattr(p, "identity", None) if show_identity else None,
            }
        )
    record(
        request,
        "list_patients",
        detail={"filters": {k: v[:100] for k, v in g.items()}, "shown": [r["patient"].code for r in shown]},
    )
    sites = site_choices(request.user, site_names())
    return render(
        request,
        "registry/patient_list.html",
        {
            "rows": shown,
            "total": len(matched),
            "page": page,
            "pages": pages,
            "filters": g,
            "sites": sites,
            "limb_labels": LIMB_NAMES,
            "limb_order": LIMBS,
            "show_identity": show_identity,
        },
    )


@require(Action.edit_clinical)
def patient_create(request: HttpRequest) -> HttpResponse:
    form = PatientForm(request.POST or None, site=site_of(request.user))
    id_form = IdentityForm(request.POST or None, prefix="id")
    if request.method == "POST" and form.is_valid() and id_form.is_valid():
        with transaction.atomic():
            p = form.save(commit=False)
            save_row(p, request)
            ident = id_form.save(commit=False)
            ident.patient = p
            save_row(ident, request)
        return HttpResponseRedirect(reverse("patient_page", args=[p.code]))
    return render(request, "registry/patient_form.html", {"form": form, "id_form": id_form, "patient": None})


@require(Action.edit_clinical)
def patient_edit(request: HttpRequest, code: str) -> HttpResponse:
    p = get_patient(request, code)
    form = PatientForm(request.POST or None, instance=p, site=site_of(request.user))
    if request.method == "POST" and form.is_valid():
        save_row(form.save(commit=False), request, request.POST.get("reason", "")[:200])
        return HttpResponseRedirect(reverse("patient_page", args=[form.instance.code]))
    return render(request, "registry/patient_form.html", {"form": form, "id_form": None, "patient": p})


@require(Action.view_identity)
def identity_edit(request: HttpRequest, code: str) -> HttpResponse:
    if not allowed(request.user, Action.edit_clinical):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    p = get_patient(request, code)
    ident = PatientIdentity.objects.filter(patient=p).first() or PatientIdentity(patient=p)
    form = IdentityForm(request.POST or None, instance=ident)
    if request.method == "POST" and form.is_valid():
        save_row(form.save(commit=False), request, request.POST.get("reason", "")[:200])
        return HttpResponseRedirect(reverse("patient_page", args=[p.code]))
    record(request, "read_identity", patient_code=p.code)
    return render(request, "registry/identity_form.html", {"form": form, "patient": p})


@require(Action.view_patient)
def patient_page(request: HttpRequest, code: str) -> HttpResponse:
    p = get_patient(request, code)
    show_identity = allowed(request.user, Action.view_identity)
    record(request, "read_patient", patient_code=p.code, detail={"identity": show_identity})
    ctx = patient_page_context(
        p,
        show_identity=show_identity,
        can_edit=allowed(request.user, Action.edit_clinical),
        site=site_of(request.user),
    )
    return render(request, "registry/patient_page.html", ctx)
