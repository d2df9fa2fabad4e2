"""Forms for traumas, surgeries, infections and treatments (one create and one edit path for both)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.db import models, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from crpsmap.registry.forms import EventForm, TreatmentForm
from crpsmap.registry.models import ClinicalEvent, Patient, Treatment
from crpsmap.registry.roles import Action, require
from crpsmap.registry.views.common import get_patient, save_row

EVENT_KINDS = ("trauma", "surgery", "infection")


def _create(
    request: HttpRequest,
    code: str,
    form_class: type[forms.ModelForm],
    template: str,
    new_row: Callable[[Patient], models.Model],
    place: Callable[[Any, Patient], None],
    initial: dict[str, Any] | None = None,
) -> HttpResponse:
    patient = get_patient(request, code)
    form = form_class(request.POST or None, initial=initial, instance=new_row(patient))
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            row = form.save(commit=False)
            place(row, patient)
            save_row(row, request, form_checked=True)
        return HttpResponseRedirect(reverse("patient_page", args=[patient.code]))
    return render(request, template, {"patient": patient, "form": form, "row": None})


def _edit(
    request: HttpRequest,
    code: str,
    pk: int,
    model: type[models.Model],
    form_class: type[forms.ModelForm],
    template: str,
    before_save: Callable[[Any, Patient], None] | None = None,
) -> HttpResponse:
    patient = get_patient(request, code)
    row = model._default_manager.filter(patient=patient, pk=pk).first()
    if row is None:
        raise Http404("no such entry")
    form = form_class(request.POST or None, instance=row)
    form.fields["reason"].required = True  # a saved entry changes only with a reason
    if request.method == "POST" and form.is_valid():
        changed = form.save(commit=False)
        if before_save is not None:
            before_save(changed, patient)
        save_row(changed, request, form.cleaned_data["reason"], form_checked=True)
        return HttpResponseRedirect(reverse("patient_page", args=[patient.code]))
    return render(request, template, {"patient": patient, "form": form, "row": row})


def _place_event(e: ClinicalEvent, patient: Patient) -> None:
    e.patient, e.seq = patient, patient.next_seq()


def _place_treatment(t: Treatment, patient: Patient) -> None:
    seq = patient.next_seq()
    t.patient, t.start_seq, t.end_seq = patient, seq, seq + 1


def _treatment_end_seq(t: Treatment, patient: Patient) -> None:
    if t.end is not None and t.end_seq is None:
        t.end_seq = patient.next_seq()


@require(Action.edit_clinical)
def event_create(request: HttpRequest, code: str) -> HttpResponse:
    kind = request.GET.get("kind", "trauma")
    return _create(
        request,
        code,
        EventForm,
        "registry/event_form.html",
        lambda p: ClinicalEvent(patient=p),
        _place_event,
        initial={"kind": kind if kind in EVENT_KINDS else "trauma"},
    )


@require(Action.edit_clinical)
def event_edit(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    return _edit(request, code, pk, ClinicalEvent, EventForm, "registry/event_form.html")


@require(Action.edit_clinical)
def treatment_create(request: HttpRequest, code: str) -> HttpResponse:
    return _create(
        request,
        code,
        TreatmentForm,
        "registry/treatment_form.html",
        lambda p: Treatment(patient=p),
        _place_treatment,
    )


@require(Action.edit_clinical)
def treatment_edit(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    return _edit(
        request, code, pk, Treatment, TreatmentForm, "registry/treatment_form.html", _treatment_end_seq
    )
