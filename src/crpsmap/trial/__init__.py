"""Virtual trials: control and intervention on the same virtual patients (MODEL RESULT, not evidence).

Public API: TrialSpec (what to run), run_trial (run both arms, paired statistics), TrialResult,
write_trial_page (the HTML page). See docs/trial.md.
"""

from crpsmap.trial.design import DISCLAIMER, TrialResult, TrialSpec, run_trial
from crpsmap.trial.outcomes import BINARY_OUTCOMES, PatientOutcome, patient_outcome
from crpsmap.trial.page import render_trial_html, write_trial_page
from crpsmap.trial.paired import PairedBinary, PairedMean, PairedTable, newcombe_paired_interval

__all__ = [
    "BINARY_OUTCOMES",
    "DISCLAIMER",
    "PairedBinary",
    "PairedMean",
    "PairedTable",
    "PatientOutcome",
    "TrialResult",
    "TrialSpec",
    "newcombe_paired_interval",
    "patient_outcome",
    "render_trial_html",
    "run_trial",
    "write_trial_page",
]
