"""Patients, their histories and spread; a site pushing patients, visits and events.

Reads are pseudonymous for every role (codes, sex, birth year, CRPS type, site, provenance and the dated
records): identity and free-text notes stay in the web pages, where only clinicians and admins see them.
Writes build the registry's own rows and save them through `views.common.save_row`, the path of the web
forms: the models' validators and `clean()` run there, so both accept and refuse the same data, and the
row history names the token's user.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.errors import HttpError

from crpsmap.registry.api.audit import add_detail
from crpsmap.registry.api.auth import access
from crpsmap.registry.api.schemas import (
    Code,
    Error,
    EventIn,
    EventOut,
    InvalidInput,
    PatientFilters,
    PatientHistoryOut,
    PatientIn,
    PatientOut,
    PatientPage,
    SpreadOut,
    VisitIn,
    VisitOut,
)
from crpsmap.registry.histories import history_of
from crpsmap.registry.models import ClinicalEvent, Patient, Treatment, Visit
from crpsmap.registry.roles import Action
from crpsmap.registry.sites import site_for_new_patient, site_of, visible_patients
from crpsmap.registry.views.common import save_row
from crpsmap.spread import classify

router = Router(tags=["patients"])
#: the answers every operation may give besides its own (400: a body that is not JSON)
LIST: dict[int, Any] = {401: Error, 403: Error, 422: InvalidInput}
ONE: dict[int, Any] = {**LIST, 404: Error}
CREATE: dict[int, Any] = {**LIST, 400: Error}


def get_patient(request: HttpRequest, code: str) -> Patient:
    """The patient, or a 404 naming the code (also for a patient of a site the token's user may not see:
    sites.py)."""
    patient = visible_patients(request.user).filter(code=code).first()
    if patient is None:
        raise HttpError(404, f"no patient with code {code!r}")
    return patient


def patient_out(p: Patient) -> dict[str, Any]:
    return {
        "code": p.code,
        "sex": p.sex,
        "birth_year": p.birth_year,
        "crps_type": p.crps_type,
        "site": p.site,
        "provenance": p.provenance,
    }


def visit_out(v: Visit) -> dict[str, Any]:
    out = {f: getattr(v, f) for f in VisitOut.model_fields if f != "signed"}
    out["signed"] = v.signed_at is not None
    return out


def event_out(e: ClinicalEvent) -> dict[str, Any]:
    return {"id": e.id, "date": e.date, "kind": e.kind, "regions": e.regions}


@router.get("/patients", response={200: PatientPage, **LIST}, **access(Action.list_patients, PatientFilters))
def list_patients(request: HttpRequest, filters: Query[PatientFilters]) -> dict[str, Any]:
    """The patients, by code, a page at a time (admin, clinician, researcher). Pseudonymous."""
    qs = visible_patients(request.user).order_by("code")
    if filters.site is not None:
        qs = qs.filter(site=filters.site)
    count = qs.count()
    start = (filters.page - 1) * filters.page_size
    items = [patient_out(p) for p in qs[start : start + filters.page_size]]
    add_detail(request, patients=len(items))
    return {
        "count": count,
        "page": filters.page,
        "page_size": filters.page_size,
        "pages": max(1, -(-count // filters.page_size)),
        "items": items,
    }


@router.post("/patients", response={201: PatientOut, 409: Error, **CREATE}, **access(Action.edit_clinical))
def create_patient(request: HttpRequest, payload: PatientIn) -> Status[dict[str, Any]]:
    """Add a pseudonymous patient (admin, clinician): 409 when the code is taken; 403 when a user limited
    to one site names another (no site: the user's own)."""
    limited = site_of(request.user)
    if limited is not None and payload.site not in ("", limited):
        raise HttpError(403, f"this account is limited to site {limited!r}")
    if Patient.objects.filter(code=payload.code).exists():
        raise HttpError(409, f"patient {payload.code!r} is already in the registry")
    p = Patient(
        code=payload.code,
        sex=payload.sex.value,
        birth_year=payload.birth_year,
        crps_type=payload.crps_type.value,
        site=site_for_new_patient(request.user, payload.site),
    )
    try:
        save_row(p, request)
    except IntegrityError:  # taken between the check and the save
        raise HttpError(409, f"patient {payload.code!r} is already in the registry") from None
    return Status(201, patient_out(p))


@router.get("/patients/{code}", response={200: PatientHistoryOut, **ONE}, **access(Action.view_patient))
def patient_history(request: HttpRequest, code: Code) -> dict[str, Any]:
    """A patient's history: visits, events (trauma, surgery, infection) and treatments, in date order
    (admin, clinician, researcher). No identity, no notes."""
    p = get_patient(request, code)
    return {
        "patient": patient_out(p),
        "visits": [visit_out(v) for v in Visit.objects.filter(patient=p).order_by("date", "seq")],
        "events": [event_out(e) for e in ClinicalEvent.objects.filter(patient=p).order_by("date", "seq")],
        "treatments": [
            {"id": t.id, "name": t.name, "start": t.start, "end": t.end}
            for t in Treatment.objects.filter(patient=p)
        ],
    }


@router.get("/patients/{code}/spread", response={200: SpreadOut, **ONE}, **access(Action.view_patient))
def patient_spread(request: HttpRequest, code: Code) -> dict[str, Any]:
    """The classifier's reading of the patient's records: spread events with their Maleki and van Rijn
    patterns, direction and trigger (admin, clinician, researcher). Computed on read, as on the page."""
    p = get_patient(request, code)
    history = history_of(
        p,
        Visit.objects.filter(patient=p),
        ClinicalEvent.objects.filter(patient=p),
        Treatment.objects.filter(patient=p),
    )
    c = classify(history)
    return {
        "code": p.code,
        "onset_date": c.onset_date,
        "onset_areas": list(c.onset_areas),
        "spread": c.spread,
        "limbs": list(c.limbs),
        "limb_dates": list(c.limb_dates),
        "first_limb": c.first_limb,
        "generalized_date": c.generalized_date,
        "visceral_date": c.visceral_date,
        "last_date": c.last_date,
        "events": [e.to_dict() for e in c.events],
    }


@router.post(
    "/patients/{code}/visits", response={201: VisitOut, **ONE, **CREATE}, **access(Action.edit_clinical)
)
def create_visit(request: HttpRequest, code: Code, payload: VisitIn) -> Status[dict[str, Any]]:
    """A site pushes a visit (onset or assessment) with its regions and values (admin, clinician).
    Totals follow from CSS items and Budapest categories when given; a visit before the patient's birth
    year is refused (422, field `date`)."""
    p = get_patient(request, code)
    data = payload.model_dump()
    for key in ("css_items", "budapest_symptom_categories", "budapest_sign_categories"):
        if data[key] is not None:
            data[key] = sorted(str(x) for x in data[key])  # stored sorted, as the visit form does
    data["regions"] = [str(r) for r in data["regions"]]
    data["kind"] = payload.kind.value
    v = Visit(patient=p, **data)
    with transaction.atomic():
        v.seq = p.next_seq()
        save_row(v, request)
    return Status(201, visit_out(v))


@router.post(
    "/patients/{code}/events", response={201: EventOut, **ONE, **CREATE}, **access(Action.edit_clinical)
)
def create_event(request: HttpRequest, code: Code, payload: EventIn) -> Status[dict[str, Any]]:
    """A trauma, surgery or infection with the regions it touched (admin, clinician)."""
    p = get_patient(request, code)
    e = ClinicalEvent(
        patient=p, date=payload.date, kind=payload.kind.value, regions=[str(r) for r in payload.regions]
    )
    with transaction.atomic():
        e.seq = p.next_seq()
        save_row(e, request)
    return Status(201, event_out(e))
