"""The visit form (clickable body map) and signing a visit."""

from __future__ import annotations

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from crpsmap import instruments
from crpsmap.atlas import load_atlas
from crpsmap.registry.audit import record
from crpsmap.registry.maps import areas_of, interactive_map, visit_map
from crpsmap.registry.models import Patient, Visit
from crpsmap.registry.roles import Action, require
from crpsmap.registry.views.common import get_patient, save_row
from crpsmap.registry.visit_forms import VisitForm


def _previous(patient: Patient, visit: Visit | None) -> Visit | None:
    qs = Visit.objects.filter(patient=patient).order_by("-date", "-seq")
    if visit is not None and visit.pk is not None:
        qs = qs.filter(date__lte=visit.date).exclude(pk=visit.pk)
    return qs.first()


def _render(
    request: HttpRequest, patient: Patient, form: VisitForm, visit: Visit | None, prev: Visit | None
) -> HttpResponse:
    atlas = load_atlas()
    selected = set(form["segments"].value() or [])
    for area in form["areas"].value() or []:
        if area in atlas.area_by_slug:
            selected |= set(atlas.area_by_slug[area].segments)
    prev_map = None
    if prev is not None:
        prev_map = visit_map(
            set(), areas_of(prev.regions), f"Body map of the previous visit, {prev.date.isoformat()}"
        )
    record(request, "read_patient", patient_code=patient.code, detail={"page": "visit_form"})
    return render(
        request,
        "registry/visit_form.html",
        {
            "patient": patient,
            "form": form,
            "visit": visit,
            "previous": prev,
            "previous_map": prev_map,
            "bodymap": interactive_map(selected),
            "areas": atlas.areas,
            "clinical": instruments,
        },
    )


@require(Action.edit_clinical)
def visit_create(request: HttpRequest, code: str) -> HttpResponse:
    patient = get_patient(request, code)
    prev = _previous(patient, None)
    initial: dict[str, object] = {
        "kind": "onset" if prev is None else "assessment",
        "date": timezone.localdate(),
    }
    if prev is not None and request.GET.get("from_previous") == "1":
        # the clinician asked to start from the last map (nothing is saved until they submit)
        initial.update(VisitForm(instance=prev).region_initial())
    form = VisitForm(request.POST or None, initial=initial, instance=Visit(patient=patient))
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            v = form.save(commit=False)
            v.patient = patient
            v.seq = patient.next_seq()
            save_row(v, request, form_checked=True)
        return HttpResponseRedirect(reverse("patient_page", args=[patient.code]) + f"#visit-{v.pk}")
    return _render(request, patient, form, None, prev)


@require(Action.edit_clinical)
def visit_edit(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    patient = get_patient(request, code)
    visit = Visit.objects.filter(patient=patient, pk=pk).first()
    if visit is None:
        raise Http404("no such visit")
    form = VisitForm(request.POST or None, instance=visit)
    if request.method == "POST" and form.is_valid():
        save_row(form.save(commit=False), request, form.cleaned_data.get("reason", ""), form_checked=True)
        return HttpResponseRedirect(reverse("patient_page", args=[patient.code]) + f"#visit-{visit.pk}")
    return _render(request, patient, form, visit, _previous(patient, visit))


@require(Action.edit_clinical)
@require_POST
def visit_sign(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    """Sign a visit: later edits need a reason for change."""
    patient = get_patient(request, code)
    visit = Visit.objects.filter(patient=patient, pk=pk).first()
    if visit is None:
        raise Http404("no such visit")
    if visit.signed_at is None:
        visit.signed_at, visit.signed_by = timezone.now(), request.user
        save_row(visit, request, "signed")
    return HttpResponseRedirect(reverse("patient_page", args=[patient.code]) + f"#visit-{visit.pk}")
