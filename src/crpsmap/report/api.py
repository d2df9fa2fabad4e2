"""One call from patient histories (or a CSV file) to the HTML report and the JSON statistics."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crpsmap.history import PatientHistory
from crpsmap.report.html import data_note_for, render_html
from crpsmap.report.mechanisms import bundled_comparison
from crpsmap.stats.summary import CohortStatistics, cohort_statistics


def write_report(
    histories_or_path: Sequence[PatientHistory] | str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    json_path: str | os.PathLike[str] | None = None,
    *,
    data_note: str | None = None,
    title: str | None = None,
    source: str | None = None,
    mechanisms: Mapping[str, Any] | None = None,
    mechanisms_label: str | None = None,
) -> CohortStatistics:
    """Compute the cohort statistics and write the self-contained HTML report (and the JSON, if asked).

    A path is read with `crpsmap.io.read_csv` (which raises HistoryImportError on bad input). `data_note`
    defaults to a synthetic-data warning when every patient id starts with SYN or V; `source` names the
    data in the report's header. `mechanisms` is a mechanism comparison (`crpsmap calibrate
    --compare-mechanisms`); without one, the bundled comparison for van Rijn 2011 is shown, if present.
    Returns the statistics.
    """
    src = source or ""
    if isinstance(histories_or_path, str | os.PathLike):
        from crpsmap.io import read_csv

        src = source or Path(histories_or_path).name
        histories: Sequence[PatientHistory] = read_csv(Path(histories_or_path))
    else:
        histories = histories_or_path
    html, stats = report_html(
        histories,
        title=title,
        source=src,
        data_note=data_note,
        mechanisms=mechanisms,
        mechanisms_label=mechanisms_label,
    )
    Path(out_path).write_text(html, encoding="utf-8")
    if json_path is not None:
        Path(json_path).write_text(json.dumps(stats.to_dict(), indent=1) + "\n", encoding="utf-8")
    return stats


def report_html(
    histories: Sequence[PatientHistory],
    *,
    title: str | None = None,
    source: str = "",
    data_note: str | None = None,
    mechanisms: Mapping[str, Any] | None = None,
    mechanisms_label: str | None = None,
    bundled_mechanisms: bool = True,
) -> tuple[str, CohortStatistics]:
    """The report's HTML and statistics for histories: the one path used by the CLI report and the
    registry's dashboard, so both show the same numbers. `bundled_mechanisms=False` leaves the bundled
    model comparison out when no comparison is given."""
    stats = cohort_statistics(histories)
    note = data_note if data_note is not None else data_note_for([h.patient_id for h in histories])
    label = mechanisms_label or "this cohort"
    if mechanisms is None and bundled_mechanisms:
        mechanisms = bundled_comparison()
        label = "van Rijn et al. 2011 (185 patients; bundled fit, not this cohort)"
    html = render_html(
        stats,
        title=title or "Does CRPS spread? Cohort report",
        source=source,
        data_note=note,
        mechanisms=mechanisms,
        mechanisms_label=label,
    )
    return html, stats
