"""Forms for traumas, surgeries, infections and treatments."""

from __future__ import annotations

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from crpsmap.registry.forms import EventForm, TreatmentForm
from crpsmap.registry.models import ClinicalEvent, Treatment
from crpsmap.registry.roles import Action, require
from crpsmap.registry.views.common import get_patient, save_row


@require(Action.edit_clinical)
def event_create(request: HttpRequest, code: str) -> HttpResponse:
    patient = get_patient(code)
    kind = request.GET.get("kind", "trauma")
    initial = {"kind": kind if kind in ("trauma", "surgery", "infection") else "trauma"}
    form = EventForm(request.POST or None, initial=initial, instance=ClinicalEvent(patient=patient))
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            e = form.save(commit=False)
            e.patient, e.seq = patient, patient.next_seq()
            save_row(e, request)
        return HttpResponseRedirect(reverse("patient_page", args=[patient.code]))
    return render(request, "registry/event_form.html", {"patient": patient, "form": form, "row": None})


@require(Action.edit_clinical)
def event_edit(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    patient = get_patient(code)
    row = ClinicalEvent.objects.filter(patient=patient, pk=pk).first()
    if row is None:
        raise Http404("no such event")
    form = EventForm(request.POST or None, instance=row)
    form.fields["reason"].required = True
    if request.method == "POST" and form.is_valid():
        save_row(form.save(commit=False), request, form.cleaned_data["reason"])
        return HttpResponseRedirect(reverse("patient_page", args=[patient.code]))
    return render(request, "registry/event_form.html", {"patient": patient, "form": form, "row": row})


@require(Action.edit_clinical)
def treatment_create(request: HttpRequest, code: str) -> HttpResponse:
    patient = get_patient(code)
    form = TreatmentForm(request.POST or None, instance=Treatment(patient=patient))
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            t = form.save(commit=False)
            seq = patient.next_seq()
            t.patient, t.start_seq, t.end_seq = patient, seq, seq + 1
            save_row(t, request)
        return HttpResponseRedirect(reverse("patient_page", args=[patient.code]))
    return render(request, "registry/treatment_form.html", {"patient": patient, "form": form, "row": None})


@require(Action.edit_clinical)
def treatment_edit(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    patient = get_patient(code)
    row = Treatment.objects.filter(patient=patient, pk=pk).first()
    if row is None:
        raise Http404("no such treatment")
    form = TreatmentForm(request.POST or None, instance=row)
    form.fields["reason"].required = True
    if request.method == "POST" and form.is_valid():
        t = form.save(commit=False)
        if t.end is not None and t.end_seq is None:
            t.end_seq = patient.next_seq()
        save_row(t, request, form.cleaned_data["reason"])
        return HttpResponseRedirect(reverse("patient_page", args=[patient.code]))
    return render(request, "registry/treatment_form.html", {"patient": patient, "form": form, "row": row})
