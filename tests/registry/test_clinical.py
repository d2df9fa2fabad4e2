"""CSS and Budapest rules (Harden et al. 2010) on worked cases, and the visit form that computes them."""

from __future__ import annotations

from typing import Any

import pytest

from crpsmap import instruments
from crpsmap.registry.models import Visit


@pytest.mark.parametrize(
    ("sym", "sig", "pain", "other", "clin", "research"),
    [
        (4, 2, True, True, True, True),
        (3, 2, True, True, True, False),
        (3, 1, True, True, False, False),  # signs in one category only
        (2, 4, True, True, False, False),  # symptoms in two categories only
        (4, 4, False, True, False, False),  # pain not disproportionate
        (4, 4, True, False, False, False),  # another diagnosis explains it
        (4, 4, None, True, None, None),  # not assessed: unknown, not "not met"
        (2, None, None, None, False, False),  # certainly failed even with unknowns
    ],
)
def test_budapest_worked_cases(
    sym: int, sig: int | None, pain: bool | None, other: bool | None, clin: bool | None, research: bool | None
) -> None:
    assert instruments.budapest_met(sym, sig, pain, other) is clin
    assert instruments.budapest_met(sym, sig, pain, other, research=True) is research


def test_css_has_17_items_8_symptoms_9_signs() -> None:
    assert (len(instruments.CSS_SYMPTOMS), len(instruments.CSS_SIGNS), instruments.CSS_MAX) == (8, 9, 17)
    assert instruments.css_total(["sym_edema", "sign_edema", "sign_rom"]) == 3
    with pytest.raises(ValueError, match="unknown CSS item"):
        instruments.css_total(["nonsense"])


def _post(client: Any, code: str, **data: Any) -> Any:
    base = {"kind": "assessment", "date": "2021-06-01"}
    base.update(data)
    return client.post(f"/patients/{code}/visits/new/", base)


@pytest.mark.django_db
def test_visit_form_computes_totals_and_expands_areas(client_for: Any, patient: Any) -> None:
    c = client_for("clinician")
    r = _post(
        c,
        patient.code,
        segments=["knee_front_left"],
        areas=["foot_left"],
        visceral=["visceral_bladder"],
        css_items=["sym_edema", "sym_rom", "sign_rom", "sign_pinprick"],
        budapest_recorded="on",
        budapest_symptom_categories=["sensory", "vasomotor", "sudomotor", "motor"],
        budapest_sign_categories=["sensory", "motor"],
        pain_disproportionate="yes",
        no_better_diagnosis="yes",
        pain="7.5",
        hrv_rmssd="28",
    )
    assert r.status_code == 302, r.content[:3000]
    v = Visit.objects.filter(patient=patient).order_by("-id").first()
    assert v is not None
    assert v.css == 4 and v.budapest_symptoms == 4 and v.budapest_signs == 2
    assert v.budapest_clinical is True and v.budapest_research is True
    from crpsmap.atlas import load_atlas

    foot = set(load_atlas().area_by_slug["foot_left"].segments)
    assert foot <= set(v.regions) and "knee_front_left" in v.regions and v.regions[-1] == "visceral_bladder"
    assert v.pain == 7.5 and v.hrv_rmssd == 28


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"pain": "11", "segments": ["hand_palm_left"]}, "pain"),
        ({"date": "2999-01-01", "segments": ["hand_palm_left"]}, "date"),
        ({"date": "1850-01-01", "segments": ["hand_palm_left"]}, "date"),
        ({"kind": "onset"}, "segments"),
        ({"segments": ["not_a_region"]}, "segments"),
        ({"hrv_rmssd": "0", "segments": ["hand_palm_left"]}, "hrv_rmssd"),
        ({"css_items": ["sym_nonsense"]}, "css_items"),
    ],
)
def test_visit_form_refuses_bad_values(
    client_for: Any, patient: Any, data: dict[str, Any], field: str
) -> None:
    from crpsmap.registry.visit_forms import VisitForm

    before = Visit.objects.count()
    r = _post(client_for("clinician"), patient.code, **data)
    assert r.status_code == 200 and b'class="error"' in r.content
    assert Visit.objects.count() == before
    form = VisitForm({"kind": "assessment", "date": "2021-06-01", **data}, instance=Visit(patient=patient))
    assert not form.is_valid() and field in form.errors, form.errors


@pytest.mark.django_db
def test_database_refuses_out_of_range_values(patient: Any) -> None:
    from django.db import IntegrityError, transaction

    for bad in ({"pain": 12.0}, {"css": 18}, {"budapest_signs": 5}, {"hrv_rmssd": -1.0}, {"kind": "trauma"}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Visit.objects.create(patient=patient, date="2021-01-01", **bad)


@pytest.mark.django_db
def test_event_and_treatment_forms_check_dates(client_for: Any, patient: Any) -> None:
    from crpsmap.registry.models import ClinicalEvent, Treatment

    c = client_for("clinician")
    n_events, n_treat = ClinicalEvent.objects.count(), Treatment.objects.count()
    r = c.post(f"/patients/{patient.code}/events/new/", {"kind": "trauma", "date": "1965-01-01"})
    assert r.status_code == 200 and b"birth year 1970" in r.content  # born 1970
    r = c.post(f"/patients/{patient.code}/events/new/", {"kind": "fall", "date": "2021-01-01"})
    assert r.status_code == 200
    url = f"/patients/{patient.code}/treatments/new/"
    r = c.post(url, {"name": "x", "start": "2021-05-01", "end": "2021-01-01"})
    assert r.status_code == 200 and b"before the start" in r.content
    assert (ClinicalEvent.objects.count(), Treatment.objects.count()) == (n_events, n_treat)
    r = c.post(url, {"name": "graded motor imagery", "start": "2021-05-01"})
    assert r.status_code == 302 and Treatment.objects.count() == n_treat + 1


@pytest.mark.django_db
def test_new_visit_can_start_from_the_previous_map(client_for: Any, patient: Any) -> None:
    c = client_for("clinician")
    plain = c.get(f"/patients/{patient.code}/visits/new/").content.decode()
    prefilled = c.get(f"/patients/{patient.code}/visits/new/?from_previous=1").content.decode()
    # the last visit named hand_right, hand_left and ankle_left (areas): their boxes start checked
    for area in ("hand_right", "hand_left", "ankle_left"):
        assert f'value="{area}"' in plain
        assert f'value="{area}" checked' not in plain.replace("\n", "")
    assert prefilled.count('aria-checked="true"') > plain.count('aria-checked="true"')
