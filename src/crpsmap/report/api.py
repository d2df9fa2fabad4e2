"""One call from patient histories (or a CSV file) to the HTML report and the JSON statistics."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crpsmap.history import PatientHistory
from crpsmap.outputs import atomic_write_text
from crpsmap.report.html import render_html
from crpsmap.report.mechanisms import bundled_comparison
from crpsmap.report.provenance import provenance_summary
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
    show_bundled_mechanisms: bool = False,
) -> CohortStatistics:
    """Compute the cohort statistics and write the self-contained HTML report (and the JSON, if asked).

    A path is read with `crpsmap.io.read_csv` (which raises HistoryImportError on bad input). Where the
    data come from (clinic, synthetic, model output) is read from the histories' provenance and said in
    the title, headline and a note; `data_note` adds a note of the caller's; `source` names the data in the
    header (default: the file name). `mechanisms` is a mechanism comparison (`crpsmap calibrate
    --compare-mechanisms`) to show; `show_bundled_mechanisms=True` shows the bundled comparison fitted to
    van Rijn 2011 when none is given. By default no model comparison is shown. Both files are written
    atomically (whole or not at all). Returns the statistics.
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
        show_bundled_mechanisms=show_bundled_mechanisms,
    )
    atomic_write_text(out_path, html)
    if json_path is not None:
        atomic_write_text(json_path, json.dumps(stats.to_dict(), indent=1) + "\n")
    return stats


def report_html(
    histories: Sequence[PatientHistory],
    *,
    title: str | None = None,
    source: str = "",
    data_note: str | None = None,
    mechanisms: Mapping[str, Any] | None = None,
    show_bundled_mechanisms: bool = False,
    bundled_mechanisms: bool | None = None,
) -> tuple[str, CohortStatistics]:
    """The report's HTML and statistics for histories: the one path used by the CLI report and the
    registry's dashboard, so both show the same numbers.

    The model's mechanism comparison is shown only when asked for: `mechanisms` (a comparison) or
    `show_bundled_mechanisms=True` (the bundled fit to van Rijn 2011). `bundled_mechanisms` is the old
    name of `show_bundled_mechanisms` (deprecated; it now defaults to False as well)."""
    if bundled_mechanisms is not None:
        warnings.warn(
            "report_html(bundled_mechanisms=...) is deprecated; use show_bundled_mechanisms",
            DeprecationWarning,
            stacklevel=2,
        )
        show_bundled_mechanisms = bundled_mechanisms
    stats = cohort_statistics(histories)
    bundled = mechanisms is None and show_bundled_mechanisms
    if bundled:
        mechanisms = bundled_comparison()
    html = render_html(
        stats,
        title=title,
        source=source,
        data_note=data_note,
        mechanisms=mechanisms,
        provenance=provenance_summary(histories),
        mechanisms_bundled=bundled,
    )
    return html, stats
