"""One call from patient histories (or a CSV file) to the HTML report and the JSON statistics."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from crpsmap.history import PatientHistory
from crpsmap.report.html import data_note_for, render_html
from crpsmap.stats.summary import CohortStatistics, cohort_statistics


def write_report(
    histories_or_path: Sequence[PatientHistory] | str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    json_path: str | os.PathLike[str] | None = None,
    *,
    data_note: str | None = None,
    title: str | None = None,
    source: str | None = None,
) -> CohortStatistics:
    """Compute the cohort statistics and write the self-contained HTML report (and the JSON, if asked).

    A path is read with `crpsmap.io.read_csv` (which raises HistoryImportError on bad input). `data_note`
    defaults to a synthetic-data warning when every patient id starts with SYN or V; `source` names the
    data in the report's header. Returns the statistics.
    """
    src = source or ""
    if isinstance(histories_or_path, str | os.PathLike):
        from crpsmap.io import read_csv

        src = source or Path(histories_or_path).name
        histories: Sequence[PatientHistory] = read_csv(Path(histories_or_path))
    else:
        histories = histories_or_path
    stats = cohort_statistics(histories)
    note = data_note if data_note is not None else data_note_for([h.patient_id for h in histories])
    html = render_html(stats, title=title or "Does CRPS spread? Cohort report", source=src, data_note=note)
    Path(out_path).write_text(html, encoding="utf-8")
    if json_path is not None:
        Path(json_path).write_text(json.dumps(stats.to_dict(), indent=1) + "\n", encoding="utf-8")
    return stats
