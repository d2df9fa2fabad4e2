"""What the patient page shows, computed live from the patient's rows: timeline with one small body
map per visit, spread events from the classifier, measurement trends, and "patients like this one"."""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from html import escape
from typing import Any

from markupsafe import Markup

from crpsmap.atlas import load_atlas
from crpsmap.registry import clinic
from crpsmap.registry.histories import history_of
from crpsmap.registry.maps import areas_of, visit_map
from crpsmap.registry.models import ClinicalEvent, Patient, PatientIdentity, Treatment, Visit
from crpsmap.registry.trends import trend_charts
from crpsmap.report.html import LIMB_NAMES
from crpsmap.spread import classify

PATTERN_WORDS = {
    "contiguous": "contiguous (the involved region grew)",
    "mirror": "mirror-image (the opposite side)",
    "independent": "independent (a distant site)",
    "visceral": "visceral (an internal organ)",
}


#: stands for the map's label in a cached map (letters only: escaping leaves it as it is)
_LABEL = "crpsmapLabelPlaceholder"


@lru_cache(maxsize=512)
def _cached_map(new: frozenset[str], before: frozenset[str]) -> str:
    return str(visit_map(new, before, _LABEL))


def _visit_map(new: Collection[str], before: Collection[str], label: str) -> Markup:
    """`visit_map`, with the drawing kept per (new, before) areas: most visits share a few hundred of
    them (no new area, the same onset area), and colouring the drawing is a good part of the page."""
    # B704: the cached map is ours (visit_map); the label is escaped
    return Markup(_cached_map(frozenset(new), frozenset(before)).replace(_LABEL, escape(label)))  # nosec B704 # reason above


def region_name(slug: str) -> str:
    """Readable name of a segment, area or visceral system ("Ankle (left)", not "ankle_left")."""
    atlas = load_atlas()
    if slug in atlas.segment_by_slug:
        return atlas.segment_by_slug[slug].label
    if slug in atlas.area_by_slug:
        return atlas.area_by_slug[slug].name
    return atlas.visceral_by_slug[slug].name


def region_names(regions: list[str]) -> list[str]:
    return [region_name(r) for r in regions]


def patient_page_context(
    patient: Patient, *, show_identity: bool, can_edit: bool, site: str | None = None
) -> dict[str, Any]:
    """The page's data; "patients like this one" among the patients of `site` when the reader is limited
    to one (sites.py), else the whole clinic's."""
    visits = list(Visit.objects.filter(patient=patient).order_by("date", "seq"))
    events = list(ClinicalEvent.objects.filter(patient=patient).order_by("date", "seq"))
    treatments = list(Treatment.objects.filter(patient=patient))
    history = history_of(patient, visits, events, treatments)
    c = classify(history)
    identity = PatientIdentity.objects.filter(patient=patient).first() if show_identity else None

    timeline: list[dict[str, Any]] = []
    before: set[str] = set()
    for v in visits:
        areas = areas_of(v.regions)
        new = areas - before
        label = f"Body map of {v.date.isoformat()}: {len(new)} new area(s)"
        timeline.append(
            {
                "visit": v,
                "map": _visit_map(new, before, label),
                "new_areas": sorted(region_name(a) for a in new),
            }
        )
        before |= areas
    spread_events = [
        {
            "date": e.date,
            "area": region_name(e.area),
            "pattern": e.pattern,
            "pattern_words": PATTERN_WORDS.get(e.pattern, e.pattern),
            "limb_pattern": e.limb_pattern,
            "direction": e.direction,
            "trigger": e.trigger,
        }
        for e in c.events
    ]
    girdle = c.first_limb.split("_")[0] if c.first_limb else None
    like = clinic.like_this_for(site).get(girdle) if girdle else None
    return {
        "patient": patient,
        "identity": identity,
        "show_identity": show_identity,
        "can_edit": can_edit,
        "visits": visits,
        "events": events,
        "treatments": treatments,
        "timeline": timeline,
        "classification": c,
        "spread_events": spread_events,
        "limbs": [LIMB_NAMES[x] for x in c.limbs],
        "girdle": girdle,
        "like_this": like,
        "trends": trend_charts(visits),
        "region_names": region_names,
    }
