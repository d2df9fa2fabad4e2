"""Cohort statistics: proportions with Wilson intervals, Kaplan-Meier, Cox, literature comparison, and the
cross-section at each patient's first time point (`cross_section`).

Entry point: `cohort_statistics(histories)` -> `CohortStatistics`; `.to_dict()` is the JSON of
`crpsmap report --json`. For big cohorts the statistics read columnar tables (`PatientTable`,
`ClassificationTable`; see stats/table.py) that a reader can fill without a Python object per patient.
"""

from crpsmap.stats.cross_section import SPREAD_NOT_JUDGED, CrossSection, cross_section
from crpsmap.stats.proportions import Proportion, wilson_interval
from crpsmap.stats.summary import CohortStatistics, cohort_statistics
from crpsmap.stats.table import ClassificationTable, PatientTable

__all__ = [
    "SPREAD_NOT_JUDGED",
    "ClassificationTable",
    "CohortStatistics",
    "CrossSection",
    "PatientTable",
    "Proportion",
    "cohort_statistics",
    "cross_section",
    "wilson_interval",
]
