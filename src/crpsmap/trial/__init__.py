"""Virtual trials: control and intervention on the same virtual patients (MODEL RESULT, not evidence).

Public API: TrialSpec (what to run), run_trial (one run at the point parameters, paired statistics),
run_trial_draws (the trial over draws of model parameters and effect strength), TrialResult,
DrawsTrialResult, the effect priors (PRIORS, prior_for), write_trial_page (the HTML page). See
docs/trial.md. Names are imported on first use, so that `crpsmap.trial.limits` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crpsmap.trial.design import DISCLAIMER, TrialResult, TrialSpec, run_trial
    from crpsmap.trial.outcomes import BINARY_OUTCOMES, PatientOutcome, patient_outcome
    from crpsmap.trial.page import render_trial_html, write_trial_page
    from crpsmap.trial.paired import PairedBinary, PairedMean, PairedTable, newcombe_paired_interval
    from crpsmap.trial.priors import PRIORS, EffectPrior, prior_for
    from crpsmap.trial.uncertainty import DrawsTrialResult, run_trial_draws

_WHERE = {
    "DISCLAIMER": "design",
    "TrialResult": "design",
    "TrialSpec": "design",
    "run_trial": "design",
    "BINARY_OUTCOMES": "outcomes",
    "PatientOutcome": "outcomes",
    "patient_outcome": "outcomes",
    "render_trial_html": "page",
    "write_trial_page": "page",
    "PairedBinary": "paired",
    "PairedMean": "paired",
    "PairedTable": "paired",
    "newcombe_paired_interval": "paired",
    "PRIORS": "priors",
    "EffectPrior": "priors",
    "prior_for": "priors",
    "DrawsTrialResult": "uncertainty",
    "run_trial_draws": "uncertainty",
}

__all__ = [
    "BINARY_OUTCOMES",
    "DISCLAIMER",
    "DrawsTrialResult",
    "EffectPrior",
    "PRIORS",
    "PairedBinary",
    "PairedMean",
    "PairedTable",
    "PatientOutcome",
    "TrialResult",
    "TrialSpec",
    "newcombe_paired_interval",
    "patient_outcome",
    "prior_for",
    "render_trial_html",
    "run_trial",
    "run_trial_draws",
    "write_trial_page",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'crpsmap.trial' has no attribute {name!r}")
    return getattr(importlib.import_module(f"crpsmap.trial.{_WHERE[name]}"), name)
