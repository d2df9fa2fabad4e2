"""All cohort statistics in one typed object: the input of the report and of `crpsmap report --json`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crpsmap.history import INVOLVEMENT_KINDS, PatientHistory
from crpsmap.spread import Classification, classify_all
from crpsmap.stats.cohort import CohortFigures, cohort_figures
from crpsmap.stats.cox import CoxResult, fit_cox
from crpsmap.stats.literature import Comparison, compare_literature
from crpsmap.stats.survival import SecondLimbKM, second_limb_km


@dataclass(frozen=True)
class CohortStatistics:
    """Figures, survival, Cox model and literature comparison of one cohort."""

    figures: CohortFigures
    km: SecondLimbKM
    cox: CoxResult
    literature: list[Comparison]
    results: Sequence[Classification]

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable statistics (the names promised in the report issue, and more)."""
        d = self.figures.to_dict()
        d["second_limb_km"] = self.km.to_dict()
        d["cox"] = self.cox.to_dict()
        d["cox_model"] = self.cox.info()
        d["literature"] = [c.to_dict() for c in self.literature]
        return d


def cohort_statistics(
    histories: Sequence[PatientHistory],
    results: Sequence[Classification] | None = None,
    *,
    cox_fitter: str | None = None,
) -> CohortStatistics:
    """Classify (unless `results` are given, in the order of `histories`) and compute every statistic."""
    if results is None:
        results = list(classify_all(histories))
    records = {h.patient_id: sum(1 for r in h.records if r.kind in INVOLVEMENT_KINDS) for h in histories}
    figures = cohort_figures(results, records)
    return CohortStatistics(
        figures=figures,
        km=second_limb_km(results),
        cox=fit_cox(results, histories, fitter=cox_fitter),
        literature=compare_literature(figures, results, histories),
        results=results,
    )
