"""The report's "why" section: which explanation of spread the model favours for a data set.

It shows the JSON of a mechanism comparison (`crpsmap calibrate --compare-mechanisms`, or the bundled
comparison for van Rijn 2011 made by scripts/calibrate_defaults.py), labelled model output. Its first
sentence names the data the comparison was fitted to, read from the comparison's own metadata
(`targets.source`), never from the file being reported: a comparison fitted to a published cohort says
nothing about a clinic's patients. It is shown only when the caller asks for it. Every label from the JSON
is text for the template to escape.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

from crpsmap.report.view import CandidateRow, Cell, Column, MechanismsView, Table

BUNDLED = "mechanisms-vanrijn2011.json"
#: AIC differences below this leave two explanations about equally supported (Burnham & Anderson)
AIC_CLOSE = 2.0


def bundled_comparison() -> dict[str, Any] | None:
    """The comparison fitted to van Rijn 2011 that ships with crpsmap, if it has been made."""
    res = resources.files("crpsmap.calibrate").joinpath("fitted").joinpath(BUNDLED)
    if not res.is_file():
        return None
    return dict(json.loads(res.read_text(encoding="utf-8")))


def _num(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _int(v: Any) -> int | None:
    x = _num(v)
    return None if x is None else int(x)


def _fmt(v: float | None, spec: str = ".1f") -> str:
    return "–" if v is None else format(v, spec)


def short_source(source: str) -> str:
    """'van Rijn et al. 2011' from a full reference; a source without a year ('clinic registry') as is."""
    year = re.search(r"\b(19|20)\d{2}\b", source)
    if not year:
        return source.strip()
    words = source.split(",")[0].split(".")[0].split()
    if len(words) > 1 and words[-1].isupper():
        words = words[:-1]
    return f"{' '.join(words)} et al. {year.group(0)}"


def fitted_to_sentence(d: Mapping[str, Any], *, bundled: bool = False) -> str:
    """The section's first sentence: the data the comparison was fitted to, from its own metadata. For the
    bundled comparison (a published cohort) it adds that these are not the patients of the report."""
    targets = d.get("targets")
    targets = targets if isinstance(targets, Mapping) else {}
    source = targets.get("source")
    multi = targets.get("multi_limb")
    n = _int(multi.get("denominator")) if isinstance(multi, Mapping) else None
    if not isinstance(source, str) or not source.strip():
        return (
            "This comparison does not record the data it was fitted to, so it cannot be tied to any cohort, "
            "this one included."
        )
    size = f" ({n} patients)" if n else ""
    tail = ", a published cohort bundled with crpsmap, not the patients of this report" if bundled else ""
    return (
        f"This comparison was fitted to {short_source(source)}{size}, as the comparison itself records: the "
        "share of patients with more than one limb and the first-to-second-limb patterns of those "
        f"data{tail}."
    )


def mechanisms_view(d: Mapping[str, Any], *, bundled: bool = False) -> MechanismsView:
    """The section's view model: fitted-to sentence, scope, favoured explanation, uncertainty, table.
    `bundled`: the comparison is the one shipped with crpsmap (fitted to van Rijn 2011)."""
    raw = d.get("candidates")
    cands = [c for c in raw if isinstance(c, Mapping)] if isinstance(raw, list) else []
    aics = [_num(c.get("aic")) for c in cands]
    order = sorted(range(len(cands)), key=lambda i: (aics[i] is None, aics[i] or 0.0))
    best = aics[order[0]] if order else None
    rows: list[CandidateRow] = []
    for i in order:
        c = cands[i]
        free = c.get("free")
        weight = _num(c.get("akaike_weight"))
        a = aics[i]
        delta = None if a is None or best is None else a - best
        rows.append(
            CandidateRow(
                label=str(c.get("label") or c.get("name") or "unnamed"),
                free=", ".join(str(x) for x in free) if isinstance(free, list) else "",
                heldout_deviance=_fmt(_num(c.get("heldout_deviance"))),
                aic=_fmt(aics[i]),
                delta_aic=_fmt(delta),
                weight="–" if weight is None else f"{100 * weight:.0f}%",
            )
        )
    n_sim, n_held, years = _int(d.get("n_patients")), _int(d.get("heldout_patients")), _num(d.get("years"))
    if not rows:
        favoured = "The comparison holds no candidate explanation."
        uncertainty = ""
    else:
        favoured = f"Within the model, the data favour “{rows[0].label}” (Akaike weight {rows[0].weight})."
        second = [aics[i] for i in order[1:2]]
        gap = None if not second or second[0] is None or best is None else second[0] - best
        if gap is None:
            uncertainty = "With a single candidate there is no ranking to judge."
        elif gap < AIC_CLOSE:
            uncertainty = (
                f"The runner-up is only {gap:.1f} AIC units behind (less than {AIC_CLOSE:g}): these data "
                "do not separate the two."
            )
        else:
            uncertainty = f"The runner-up is {gap:.1f} AIC units behind."
        uncertainty += (
            " The ranking is less certain than the weights suggest: each AIC comes from one simulation"
            + (f" of {n_held} held-out virtual patients" if n_held else "")
            + ", whose noise the weights ignore, and no weight includes doubt about the model itself."
        )
    table = Table(
        columns=(
            Column("explanation (mechanisms switched on)"),
            Column("fitted parameters"),
            Column("G (held-out)", num=True),
            Column("AIC", num=True),
            Column("ΔAIC", num=True),
            Column("Akaike weight", num=True),
        ),
        rows=tuple(
            (
                Cell(r.label),
                Cell(r.free),
                Cell(r.heldout_deviance, num=True),
                Cell(r.aic, num=True),
                Cell(r.delta_aic, num=True),
                Cell(r.weight, num=True, strong=True),
            )
            for r in rows
        ),
        caption="Candidate explanations and their Akaike weights",
        css_class="wide",
    )
    caption = (
        "Each explanation was fitted to the multi-limb share and the first-to-second-limb patterns"
        + (f" ({n_sim} virtual patients per trial" if n_sim else " (")
        + (f", {years:g} years)" if years is not None else ")")
        + "; G is the deviance of the observed counts at the fitted model, re-simulated"
        + (f" with {n_held} new virtual patients" if n_held else "")
        + "; AIC = G + 2 × parameters; weights = exp(−ΔAIC/2), normalised. See docs/calibration.md."
    )
    return MechanismsView(
        fitted_to=fitted_to_sentence(d, bundled=bundled),
        scope=(
            "It compares explanations of spread inside one hypothesis: crpsmap's simulator, which encodes "
            "one clinic's account of CRPS (spinal glia and cytokines, brain, blood and the vagal reflex). "
            "It does not show that any mechanism operates in patients."
        ),
        favoured=favoured,
        uncertainty=uncertainty,
        table=table,
        caption=caption,
    )
