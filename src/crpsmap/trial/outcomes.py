"""Per-patient trial outcomes, read from the histories with the same classifier as a clinic's data.

Only what happens after the intervention starts counts: before that day both arms are the same person
with the same random draws, so earlier events are identical in both arms and would only dilute the
comparison. The window is (start, last visit]: an event on the start day itself was observed before the
first dose (a visit on day D records the state at the start of day D, before any dose given on D).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from crpsmap.history import INVOLVEMENT_KINDS, PatientHistory
from crpsmap.model.cohort import is_recalled
from crpsmap.spread import classify

#: binary outcomes, in the order of the page: key -> label
BINARY_OUTCOMES: dict[str, str] = {
    "spread": "Any spread (a new area)",
    "new_limb": "Spread to a new limb",
    "generalized": "Generalized (4 limbs + trunk)",
    "visceral": "Visceral involvement",
}


@dataclass(frozen=True)
class PatientOutcome:
    """One patient in one arm: new events after the start day and the HRV RMSSD at start and at the end."""

    patient_id: str
    enrolment: dt.date
    start: dt.date  # first day the intervention is given (the same date in both arms)
    observed_after_start: bool  # at least one visit after the start day
    spread: bool
    new_limb: bool
    generalized: bool
    visceral: bool
    hrv_start: float | None  # RMSSD at the last visit on or before the start day
    hrv_last: float | None  # RMSSD at the last visit after the start day

    def flag(self, key: str) -> bool:
        return bool(getattr(self, key))

    @property
    def hrv_change(self) -> float | None:
        if self.hrv_start is None or self.hrv_last is None:
            return None
        return self.hrv_last - self.hrv_start

    def to_dict(self) -> dict[str, Any]:
        return {
            "patient_id": self.patient_id,
            "enrolment": self.enrolment.isoformat(),
            "start": self.start.isoformat(),
            "observed_after_start": self.observed_after_start,
            **{k: self.flag(k) for k in BINARY_OUTCOMES},
            "hrv_start": self.hrv_start,
            "hrv_last": self.hrv_last,
        }


def enrolment_date(h: PatientHistory) -> dt.date | None:
    """The first clinic visit: the first onset or assessment record (what the model calls enrolment),
    skipping records dated by the patient's recall (extra column dated=recall), which precede the visit
    at which they were reported."""
    for r in h.records:
        if r.kind in INVOLVEMENT_KINDS and not is_recalled(r):
            return r.date
    return None


def patient_outcome(h: PatientHistory, start_day: int) -> PatientOutcome:
    """The outcomes of one history for an intervention started `start_day` days after enrolment."""
    enrol = enrolment_date(h)
    if enrol is None:
        raise ValueError(f"patient {h.patient_id} has no clinic visit, so no enrolment day")
    start = enrol + dt.timedelta(days=start_day)
    c = classify(h)
    visits = [r for r in h.records if r.kind in INVOLVEMENT_KINDS]
    before = [r for r in visits if r.date <= start and r.hrv_rmssd is not None]
    after = [r for r in visits if r.date > start]
    after_hrv = [r for r in after if r.hrv_rmssd is not None]
    onset = c.onset_date or start
    return PatientOutcome(
        patient_id=h.patient_id,
        enrolment=enrol,
        start=start,
        observed_after_start=bool(after),
        spread=any(e.date > start for e in c.events),
        new_limb=any(d > start and d > onset for d in c.limb_dates),
        generalized=c.generalized_date is not None and c.generalized_date > start,
        visceral=c.visceral_date is not None and c.visceral_date > start,
        hrv_start=before[-1].hrv_rmssd if before else None,
        hrv_last=after_hrv[-1].hrv_rmssd if after_hrv else None,
    )
