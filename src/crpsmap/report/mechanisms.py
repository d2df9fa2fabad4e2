"""The report's "why" section: which explanation of spread the model favours for a data set.

It renders the JSON of a mechanism comparison (`crpsmap calibrate --compare-mechanisms`, or the bundled
comparison for van Rijn 2011 made by scripts/calibrate_defaults.py). It is labelled model output.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from importlib import resources
from typing import Any

BUNDLED = "mechanisms-vanrijn2011.json"


def bundled_comparison() -> dict[str, Any] | None:
    """The comparison fitted to van Rijn 2011 that ships with crpsmap, if it has been made."""
    res = resources.files("crpsmap.calibrate").joinpath("fitted").joinpath(BUNDLED)
    if not res.is_file():
        return None
    return dict(json.loads(res.read_text(encoding="utf-8")))


def mechanisms_section(d: Mapping[str, Any], data_label: str) -> str:
    """HTML: the favoured explanation, in words, and the table of candidates with their weights."""
    rows = []
    for c in sorted(d["candidates"], key=lambda c: -c["akaike_weight"]):
        free = ", ".join(c["free"])
        rows.append(
            f"<tr><td>{escape(c['label'])}</td><td>{escape(free)}</td>"
            f"<td class='n'>{c['heldout_deviance']:.1f}</td><td class='n'>{c['aic']:.1f}</td>"
            f"<td class='n'><b>{100 * c['akaike_weight']:.0f}%</b></td></tr>"
        )
    return (
        '<div class="note"><b>Model output.</b> This section compares explanations of spread inside '
        "crpsmap's simulator, which encodes one clinic's hypothesis (spinal glia and cytokines, brain, blood "
        "and vagal reflex). It does not show that any mechanism operates in patients.</div>"
        f"<p>Data: {escape(data_label)}. {escape(str(d.get('sentence', '')))}</p>"
        "<table><tr><th>explanation (mechanisms switched on)</th><th>fitted parameters</th>"
        "<th>G (held-out)</th><th>AIC</th><th>Akaike weight</th></tr>" + "".join(rows) + "</table>"
        '<p class="caption">Each explanation was fitted to the multi-limb share and the first-to-second-'
        "limb "
        f"patterns ({d.get('n_patients')} virtual patients per trial, {d.get('years')} years); G is the "
        f"deviance of the observed counts at the fitted model, re-simulated with {d.get('heldout_patients')} "
        "new virtual patients; AIC = G + 2 × parameters; weights = exp(−ΔAIC/2), normalised. "
        "See docs/calibration.md.</p>"
    )
