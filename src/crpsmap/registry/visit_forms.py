"""The visit form: body-map regions, pain, CSS items, Budapest categories, HRV, CRP, note.

Regions are real checkboxes (one per CHOIR segment and visceral system) so that the form works without
JavaScript; the clickable SVG only toggles them. A whole-area checkbox adds all of that area's segments.
"""

from __future__ import annotations

from typing import Any

from django import forms

from crpsmap import instruments
from crpsmap.atlas import load_atlas
from crpsmap.registry.forms import DATE_WIDGET, area_choices, visceral_choices
from crpsmap.registry.models import Visit

YES_NO_UNKNOWN = [("", "not assessed"), ("yes", "yes"), ("no", "no")]


def segment_choices() -> list[tuple[str, str]]:
    atlas = load_atlas()
    return [(s.slug, f"{s.label} [{s.choir}]") for s in sorted(atlas.segments, key=lambda s: s.choir)]


def _tri(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def _tri_initial(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


class VisitForm(forms.ModelForm):
    segments = forms.MultipleChoiceField(
        choices=segment_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Body map segments",
    )
    areas = forms.MultipleChoiceField(
        choices=area_choices, required=False, widget=forms.CheckboxSelectMultiple, label="Whole areas"
    )
    visceral = forms.MultipleChoiceField(
        choices=visceral_choices, required=False, widget=forms.CheckboxSelectMultiple, label="Internal organs"
    )
    css_items = forms.MultipleChoiceField(
        choices=instruments.CSS_ITEMS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="CRPS Severity Score items present",
    )
    css_recorded = forms.BooleanField(required=False, label="CSS assessed at this visit")
    budapest_symptom_categories = forms.MultipleChoiceField(
        choices=[(k, label) for k, label, *_ in instruments.BUDAPEST_CATEGORIES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Budapest: symptom categories reported",
    )
    budapest_sign_categories = forms.MultipleChoiceField(
        choices=[(k, label) for k, label, *_ in instruments.BUDAPEST_CATEGORIES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Budapest: sign categories observed",
    )
    budapest_recorded = forms.BooleanField(required=False, label="Budapest criteria assessed at this visit")
    pain_disproportionate = forms.ChoiceField(
        choices=YES_NO_UNKNOWN, required=False, label="Continuing pain disproportionate to any inciting event"
    )
    no_better_diagnosis = forms.ChoiceField(
        choices=YES_NO_UNKNOWN,
        required=False,
        label="No other diagnosis better explains the signs and symptoms",
    )
    reason = forms.CharField(label="Reason for change", required=False, max_length=200)

    class Meta:
        model = Visit
        fields = ["kind", "date", "pain", "hrv_rmssd", "hrv_hf", "crp", "note"]
        widgets = {
            "date": DATE_WIDGET,
            "note": forms.Textarea(attrs={"rows": 3}),
            "pain": forms.NumberInput(attrs={"step": "0.5", "min": "0", "max": "10"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        v: Visit = self.instance
        if v.pk is not None:
            self.initial.update(
                **self.region_initial(),
                css_items=v.css_items or [],
                css_recorded=v.css_items is not None,
                budapest_symptom_categories=v.budapest_symptom_categories or [],
                budapest_sign_categories=v.budapest_sign_categories or [],
                budapest_recorded=v.budapest_symptom_categories is not None,
                pain_disproportionate=_tri_initial(v.pain_disproportionate),
                no_better_diagnosis=_tri_initial(v.no_better_diagnosis),
            )
            if v.signed_at is not None:
                self.fields["reason"].required = True

    def region_initial(self) -> dict[str, list[str]]:
        """The instance's regions as the form's segments, whole areas and visceral systems."""
        atlas = load_atlas()
        out: dict[str, list[str]] = {"segments": [], "areas": [], "visceral": []}
        for slug in self.instance.regions:
            if slug in atlas.segment_by_slug:
                out["segments"].append(slug)
            elif slug in atlas.area_by_slug:
                out["areas"].append(slug)
            else:
                out["visceral"].append(slug)
        return out

    def regions(self) -> list[str]:
        """Chosen segments, whole areas expanded into their segments, then visceral systems."""
        atlas = load_atlas()
        chosen = list(self.cleaned_data.get("segments") or [])
        for area in self.cleaned_data.get("areas") or []:
            for seg in atlas.area_by_slug[area].segments:
                if seg not in chosen:
                    chosen.append(seg)
        order = {s.slug: s.choir for s in atlas.segments}
        chosen.sort(key=order.__getitem__)
        return chosen + list(self.cleaned_data.get("visceral") or [])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        regions = self.regions()
        self.instance.regions = regions  # the model's own checks see what will be saved
        if data.get("kind") == "onset" and not regions:
            self.add_error("segments", "an onset record must name at least one region")
        return data

    def save(self, commit: bool = True) -> Visit:
        v: Visit = super().save(commit=False)
        d = self.cleaned_data
        v.regions = self.regions()
        css_given = d.get("css_recorded") or bool(d.get("css_items"))
        v.css_items = sorted(d.get("css_items") or []) if css_given else None
        if not css_given:
            v.css = None
        bud_given = d.get("budapest_recorded") or bool(
            d.get("budapest_symptom_categories") or d.get("budapest_sign_categories")
        )
        v.budapest_symptom_categories = (
            sorted(d.get("budapest_symptom_categories") or []) if bud_given else None
        )
        v.budapest_sign_categories = sorted(d.get("budapest_sign_categories") or []) if bud_given else None
        if not bud_given:
            v.budapest_symptoms = v.budapest_signs = None
        v.pain_disproportionate = _tri(d.get("pain_disproportionate"))
        v.no_better_diagnosis = _tri(d.get("no_better_diagnosis"))
        v.compute_totals()
        if commit:
            v.save()
        return v
