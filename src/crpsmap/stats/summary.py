"""All cohort statistics in one typed object: the input of the report and of `crpsmap report --json`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from crpsmap import collector
from crpsmap.history import PatientHistory
from crpsmap.spread import Classification, classify_all
from crpsmap.stats.cohort import CohortFigures, figures_from_table
from crpsmap.stats.cox import CoxResult, fit_cox
from crpsmap.stats.cross_section import CrossSection, cross_section, knows_baseline
from crpsmap.stats.literature import Comparison, compare_literature
from crpsmap.stats.survival import SecondLimbKM, second_limb_km
from crpsmap.stats.table import ClassificationTable, PatientTable


@dataclass(frozen=True)
class CohortStatistics:
    """Figures, survival, Cox model, literature comparison and cross-section of one cohort.

    `results` are the classifications when they were given (or made) as a sequence; empty when they
    were streamed or given as a `ClassificationTable`. `cross_section` is the cohort at each patient's
    first time point (None when a `PatientTable` built from columns did not carry it).
    """

    figures: CohortFigures
    km: SecondLimbKM
    cox: CoxResult
    literature: list[Comparison]
    results: Sequence[Classification]
    cross_section: CrossSection | None = None

    @property
    def no_follow_up(self) -> bool:
        """Patients with a body map, but none with a second time point: the cohort is cross-sectional,
        and spread over time cannot be judged (`stats.cross_section.SPREAD_NOT_JUDGED`)."""
        return self.cross_section is not None and self.cross_section.no_follow_up

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable statistics (the names promised in the report issue, and more)."""
        d = self.figures.to_dict()
        d["second_limb_km"] = self.km.to_dict()
        d["cox"] = self.cox.to_dict()
        d["cox_model"] = self.cox.info()
        d["literature"] = [c.to_dict() for c in self.literature]
        cs = self.cross_section
        # whether any patient has a second time point (null when not known)
        d["spread_judgeable"] = None if cs is None else cs.n_follow_up > 0
        d["cross_section"] = None if cs is None else cs.to_dict()
        return d


def cohort_statistics(
    histories: Sequence[PatientHistory] | PatientTable,
    results: Iterable[Classification] | ClassificationTable | None = None,
    *,
    cox_fitter: str | None = None,
    keep_cox_model: bool = False,
) -> CohortStatistics:
    """Classify (unless `results` are given, in any order) and compute every statistic.

    For big cohorts, pass a `PatientTable` instead of histories and the classifications as a generator
    or a `ClassificationTable`: the statistics then hold no per-patient Python object.
    """
    with collector.paused():
        if isinstance(histories, PatientTable):
            if results is None:
                raise ValueError("a PatientTable has no records to classify: pass the classifications")
            patients = histories
        else:
            if results is None:
                results = list(classify_all(histories))
            patients = PatientTable.from_histories(histories)
        kept: Sequence[Classification] = results if isinstance(results, Sequence) else ()
        table = (
            results
            if isinstance(results, ClassificationTable)
            else ClassificationTable.from_classifications(results)
        )
        aligned = patients.aligned_to(table.patient_id)
        figures = figures_from_table(table, aligned.involvement_records)
        return CohortStatistics(
            figures=figures,
            km=second_limb_km(table),
            cox=fit_cox(table, aligned, fitter=cox_fitter, keep_model=keep_cox_model),
            literature=compare_literature(figures, table, patients),
            results=kept,
            cross_section=cross_section(patients) if knows_baseline(patients) else None,
        )
