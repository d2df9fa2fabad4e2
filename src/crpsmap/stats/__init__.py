"""Cohort statistics: proportions with Wilson intervals, Kaplan-Meier, Cox, literature comparison.

Entry point: `cohort_statistics(histories)` -> `CohortStatistics`; `.to_dict()` is the JSON of
`crpsmap report --json`.
"""

from crpsmap.stats.proportions import Proportion, wilson_interval
from crpsmap.stats.summary import CohortStatistics, cohort_statistics

__all__ = ["CohortStatistics", "Proportion", "cohort_statistics", "wilson_interval"]
