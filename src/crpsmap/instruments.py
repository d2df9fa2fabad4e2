"""The clinical instruments recorded at a visit: CRPS Severity Score items and Budapest criteria.

One place for their items and rules; forms, models, templates and tests ask here.

- CRPS Severity Score (CSS): 17 items, 8 self-reported symptoms and 9 signs on examination, each
  present (1) or absent (0); total 0-17. Harden RN et al. Development of a severity score for CRPS.
  Pain 2010;151:870-876.
- Budapest criteria: symptoms and signs in four categories. Clinical criteria: continuing pain
  disproportionate to any inciting event; at least one symptom in three of the four categories; at least
  one sign in two or more categories; no other diagnosis better explains the signs and symptoms. Research
  criteria: symptoms in all four categories (and the rest as clinical). Harden RN et al. Validation of
  proposed diagnostic criteria (the "Budapest Criteria") for CRPS. Pain 2010;150:268-274.
"""

from __future__ import annotations

from collections.abc import Iterable

#: (key, label) of the 8 self-reported symptoms of the CSS
CSS_SYMPTOMS: tuple[tuple[str, str], ...] = (
    ("sym_allodynia", "Allodynia or hyperalgesia"),
    ("sym_temperature", "Temperature asymmetry"),
    ("sym_colour", "Skin colour asymmetry"),
    ("sym_sweating", "Sweating asymmetry"),
    ("sym_edema", "Asymmetric oedema"),
    ("sym_trophic", "Trophic changes (hair, nails, skin)"),
    ("sym_motor", "Motor changes (weakness, tremor, dystonia)"),
    ("sym_rom", "Decreased active range of motion"),
)
#: (key, label) of the 9 signs on examination of the CSS
CSS_SIGNS: tuple[tuple[str, str], ...] = (
    ("sign_pinprick", "Hyperpathia or allodynia to pinprick"),
    ("sign_allodynia", "Allodynia (light touch, temperature, pressure or joint movement)"),
    ("sign_temperature", "Temperature asymmetry by palpation"),
    ("sign_colour", "Skin colour asymmetry"),
    ("sign_edema", "Asymmetric oedema"),
    ("sign_sweating", "Asymmetric sweating"),
    ("sign_trophic", "Trophic changes"),
    ("sign_motor", "Motor changes"),
    ("sign_rom", "Decreased active range of motion"),
)
CSS_ITEMS: tuple[tuple[str, str], ...] = CSS_SYMPTOMS + CSS_SIGNS
CSS_KEYS = frozenset(k for k, _ in CSS_ITEMS)
CSS_MAX = len(CSS_ITEMS)

#: (key, label, what counts as a symptom, what counts as a sign) of the four Budapest categories
BUDAPEST_CATEGORIES: tuple[tuple[str, str, str, str], ...] = (
    (
        "sensory",
        "Sensory",
        "hyperaesthesia and/or allodynia",
        "hyperalgesia (to pinprick) and/or allodynia "
        "(to light touch, temperature, deep pressure or joint movement)",
    ),
    (
        "vasomotor",
        "Vasomotor",
        "temperature asymmetry and/or skin colour changes and/or skin colour asymmetry",
        "temperature asymmetry (>1 °C) and/or skin colour changes and/or asymmetry",
    ),
    (
        "sudomotor",
        "Sudomotor / oedema",
        "oedema and/or sweating changes and/or sweating asymmetry",
        "oedema and/or sweating changes and/or sweating asymmetry",
    ),
    (
        "motor",
        "Motor / trophic",
        "decreased range of motion and/or motor dysfunction (weakness, tremor, dystonia) "
        "and/or trophic changes",
        "decreased range of motion and/or motor dysfunction and/or trophic changes",
    ),
)
BUDAPEST_KEYS = frozenset(k for k, *_ in BUDAPEST_CATEGORIES)
BUDAPEST_MAX = len(BUDAPEST_CATEGORIES)
CLINICAL_MIN_SYMPTOM_CATEGORIES = 3
RESEARCH_MIN_SYMPTOM_CATEGORIES = 4
MIN_SIGN_CATEGORIES = 2


def _count(chosen: Iterable[str], known: frozenset[str], what: str) -> int:
    items = set(chosen)
    unknown = items - known
    if unknown:
        raise ValueError(f"unknown {what}: {', '.join(sorted(unknown))}")
    return len(items)


def css_total(items: Iterable[str]) -> int:
    """CSS total: one point per item present."""
    return _count(items, CSS_KEYS, "CSS item(s)")


def budapest_count(categories: Iterable[str]) -> int:
    """Budapest: the number of categories with a symptom (or a sign)."""
    return _count(categories, BUDAPEST_KEYS, "Budapest category(ies)")


def budapest_met(
    symptom_categories: int | None,
    sign_categories: int | None,
    pain_disproportionate: bool | None,
    no_better_diagnosis: bool | None,
    *,
    research: bool = False,
) -> bool | None:
    """Whether the clinical (or research) criteria are met; None when something needed was not recorded.

    A criterion that is certainly failed gives False even when another is unknown.
    """
    need = RESEARCH_MIN_SYMPTOM_CATEGORIES if research else CLINICAL_MIN_SYMPTOM_CATEGORIES
    parts = [
        None if symptom_categories is None else symptom_categories >= need,
        None if sign_categories is None else sign_categories >= MIN_SIGN_CATEGORIES,
        pain_disproportionate,
        no_better_diagnosis,
    ]
    if any(p is False for p in parts):
        return False
    if any(p is None for p in parts):
        return None
    return True
