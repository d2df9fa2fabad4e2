"""The cohort: the dashboard's summary statistics as JSON, and the pseudonymised CSV export."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja.errors import HttpError

from crpsmap.registry.api.audit import add_detail
from crpsmap.registry.api.auth import access
from crpsmap.registry.api.schemas import Error, ExportOptions, InvalidInput, StatisticsFilters, StatisticsOut
from crpsmap.registry.export_cache import csv_text
from crpsmap.registry.pseudonyms import PseudonymisationError, PseudonymKey
from crpsmap.registry.reports import dashboard_report, selected_histories
from crpsmap.registry.roles import Action, allowed
from crpsmap.registry.sites import limit_filters, site_of
from crpsmap.registry.transfer import export_detail, export_histories, refuse_research_export, research_key

router = Router(tags=["cohort"])

#: what each number means (docs/report.md, "Definitions"), sent with the numbers
DEFINITIONS = {
    "n_patients": "patients selected by the filters",
    "n_with_onset": "patients with at least one onset or assessment record: the denominator of every share",
    "n_without_involvement": "patients with no onset or assessment record (counted, in no share)",
    "n_single_record": "patients with a single involvement record: no spread could be seen; they count as "
    "not spread",
    "any_spread": "at least one newly involved area after onset",
    "multi_limb": "two or more limbs involved at the last follow-up (limbs involved at onset included)",
    "generalized": "four limbs and a trunk area involved",
    "visceral": "a visceral system involved",
    "maleki": "patients with at least one spread event of that Maleki pattern, among patients who spread "
    "(a patient can count in several)",
    "second_limb": "Kaplan-Meier time from onset to a second limb, among patients with an identifiable first "
    "limb (censored at the last record); median null when not reached",
    "proportion": "count / denominator with its Wilson 95% interval; null when the denominator is 0",
}


@router.get(
    "/cohort/statistics",
    response={200: StatisticsOut, 401: Error, 403: Error, 422: InvalidInput},
    **access(Action.view_dashboard, StatisticsFilters),
)
def cohort_statistics(request: HttpRequest, filters: Query[StatisticsFilters]) -> dict[str, Any]:
    """The dashboard's summary numbers for the patients the filters select (site, onset period), with
    their definitions (admin, clinician, researcher). The same computation as the dashboard, from the
    registry's current data; it describes this clinic and is no prediction."""
    asked = {"site": filters.site or "", "onset_from": filters.onset_from, "onset_to": filters.onset_to}
    chosen = limit_filters(request.user, asked)
    _, stats = dashboard_report(chosen)
    _, provenances = selected_histories(chosen)
    figures = stats.figures.to_dict()
    km = stats.km.to_dict()
    add_detail(request, patients=figures["n_patients"])
    return {
        "site": filters.site,
        "onset_from": filters.onset_from,
        "onset_to": filters.onset_to,
        "provenances": sorted(provenances),
        **{k: figures[k] for k in ("n_patients", "n_with_onset", "n_without_involvement", "n_single_record")},
        **{k: figures[k] for k in ("any_spread", "multi_limb", "generalized", "visceral", "maleki")},
        "second_limb": {k: km[k] for k in ("n", "events", "median_days", "ci_low", "ci_high")},
        "definitions": DEFINITIONS,
    }


CSV_RESPONSE = {
    200: {
        "description": 'the CSV long format (README, "Input"), one row per record',
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/export/cohort.csv",
    response={401: Error, 403: Error, 422: InvalidInput, 503: Error},
    **access(Action.export_pseudonymised, ExportOptions, {"responses": CSV_RESPONSE}),
)
def export_cohort_csv(request: HttpRequest, options: Query[ExportOptions]) -> HttpResponse:
    """The whole registry in the CSV long format, as the export page gives it (admin, clinician,
    researcher): no identity, no free-text notes. A role without the clinic export (a researcher) always
    gets the research export (keyed pseudonyms, shifted dates: docs/pseudonymisation.md), others when they
    ask (`research=true`); without a pseudonym key configured that is a 503, and no data."""
    research = options.research or not allowed(request.user, Action.export_clinic)
    key: PseudonymKey | None = None
    try:
        if research:
            key = research_key(layout="csv_long", request=request)
        histories = export_histories(research=research, key=key, site=site_of(request.user))
    except PseudonymisationError as exc:
        if key is not None:  # a refused key is audited by research_key itself
            refuse_research_export(str(exc), layout="csv_long", request=request)
        raise HttpError(503, f"no research export: {exc}") from None
    detail = export_detail("csv_long", len(histories), key)
    add_detail(request, export=detail)
    response = HttpResponse(csv_text(histories), content_type="text/csv; charset=utf-8")
    name = "crpsmap-research.csv" if key is not None else "crpsmap-registry.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
