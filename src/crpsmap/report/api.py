"""One call from patient histories (or a CSV file) to the HTML report and the JSON statistics."""

from __future__ import annotations

import collections
import contextlib
import json
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from crpsmap import collector
from crpsmap.history import PatientHistory
from crpsmap.io.pieces import Piece
from crpsmap.io.problems import HistoryImportError, ImportProblem
from crpsmap.io.reader import CsvRead
from crpsmap.outputs import atomic_write_text
from crpsmap.report.html import render_html
from crpsmap.report.mechanisms import bundled_comparison
from crpsmap.report.provenance import ProvenanceSummary, provenance_summary
from crpsmap.spread import classify_all
from crpsmap.stats.summary import CohortStatistics, cohort_statistics
from crpsmap.stats.table import ClassificationTable, PatientTable


@dataclass(frozen=True)
class FileStatistics:
    """The statistics of a CSV file and what reading it found (for the command line to say)."""

    stats: CohortStatistics
    provenance: ProvenanceSummary
    warnings: list[ImportProblem]
    encoding: str


def file_statistics(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FileStatistics:
    """Read, classify and summarise a CSV long-format file. A big file is cut between patients
    (`crpsmap.io.pieces`); the pieces are read and classified on `workers` processes (default: one per
    core) and only compact tables of each are kept, so a million-patient cohort fits in memory. A file
    with a problem, or with a patient whose rows fall in two pieces, is then read whole, so problems,
    warnings and numbers are always those of reading the file whole. `progress(done, total)` is called
    per piece. Raises HistoryImportError naming file, row and field."""
    from crpsmap.io import read_csv_result
    from crpsmap.io.pieces import cut_pieces, read_piece

    pieces = cut_pieces(Path(path), name=name)
    if len(pieces) == 1:
        return _whole(read_piece(pieces[0]))
    n_workers = max(1, min(len(pieces), workers or os.cpu_count() or 1))
    summaries: Iterator[_PieceSummary]
    done: list[_PieceSummary] = []
    failed = False
    with contextlib.ExitStack() as stack:
        if n_workers > 1:
            # fresh workers (not forks of this process, which holds the whole file)
            pool = stack.enter_context(ProcessPoolExecutor(n_workers, mp_context=get_context("spawn")))
            summaries = _in_order(pool, pieces, 2 * n_workers)
        else:
            summaries = map(_summarise, pieces)
        for i, summary in enumerate(summaries, start=1):
            if summary.failed:
                failed = True
                break
            done.append(summary)
            if progress is not None:
                progress(i, len(pieces))
    ids = np.concatenate([d.patients.patient_id for d in done if d.patients is not None]) if done else None
    if failed or ids is None or len(set(ids.tolist())) != len(ids):
        # a problem, or a patient with rows in two pieces: the whole read gives the exact problems
        # (with the rows of the whole file) or the exact histories
        del done, ids
        return _whole(read_csv_result(Path(path), name=name))
    provenance = ProvenanceSummary()
    for summary in done:
        provenance = provenance + summary.provenance
    patients = PatientTable.concat([d.patients for d in done if d.patients is not None])
    stats = cohort_statistics(
        patients, ClassificationTable.concat([d.table for d in done if d.table is not None])
    )
    return FileStatistics(stats, provenance, [w for d in done for w in d.warnings], done[0].encoding)


def _whole(read: CsvRead) -> FileStatistics:
    return _of_histories(read.histories, read.warnings, read.encoding)


def _of_histories(
    histories: Sequence[PatientHistory], warnings: Sequence[ImportProblem] = (), encoding: str = "utf-8"
) -> FileStatistics:
    """Statistics and provenance of histories held in memory (the one place both are computed)."""
    stats = cohort_statistics(histories)
    return FileStatistics(stats, provenance_summary(histories), list(warnings), encoding)


def _in_order(pool: ProcessPoolExecutor, pieces: Sequence[Piece], window: int) -> Iterator[_PieceSummary]:
    """Summaries of the pieces in order, with at most `window` pieces handed out at a time (a piece is
    a copy of part of the file: handing out all at once would hold the file twice)."""
    queue: collections.deque[Future[_PieceSummary]] = collections.deque()
    for piece in pieces:
        queue.append(pool.submit(_summarise, piece))
        if len(queue) >= window:
            yield queue.popleft().result()
    while queue:
        yield queue.popleft().result()


@dataclass(frozen=True)
class _PieceSummary:
    """What a worker sends back of one piece: compact tables, or the piece's problems."""

    patients: PatientTable | None = None
    table: ClassificationTable | None = None
    provenance: ProvenanceSummary = ProvenanceSummary()
    warnings: list[ImportProblem] = field(default_factory=list)
    encoding: str = ""
    failed: bool = False  # the piece has a problem (the whole read will name it)


def _summarise(piece: Piece) -> _PieceSummary:
    from crpsmap.io.pieces import read_piece

    try:
        read = read_piece(piece)
    except HistoryImportError:
        return _PieceSummary(failed=True)
    with collector.paused():
        return _PieceSummary(
            PatientTable.from_histories(read.histories),
            ClassificationTable.from_classifications(classify_all(read.histories)),
            provenance_summary(read.histories),
            read.warnings,
            read.encoding,
        )


def write_report(
    histories_or_path: Sequence[PatientHistory] | FileStatistics | str | os.PathLike[str],
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

    A path is read by `file_statistics` (in pieces when big; HistoryImportError on bad input). Where the
    data come from (clinic, synthetic, model output) is read from the histories' provenance and said in
    the title, headline and a note; `data_note` adds a note of the caller's; `source` names the data in the
    header (default: the file name). `mechanisms` is a mechanism comparison (`crpsmap calibrate
    --compare-mechanisms`) to show; `show_bundled_mechanisms=True` shows the bundled comparison fitted to
    van Rijn 2011 when none is given. By default no model comparison is shown. A cohort in which no patient
    has a second time point gets the cross-sectional report (docs/report.md, "One time point per patient").
    Both files are written atomically (whole or not at all). Returns the statistics.
    """
    src = source or ""
    if isinstance(histories_or_path, FileStatistics):
        read = histories_or_path
    elif isinstance(histories_or_path, str | os.PathLike):
        read = file_statistics(histories_or_path)
        src = source or Path(histories_or_path).name
    else:
        read = _of_histories(histories_or_path)
    html = _render(read.stats, read.provenance, title, src, data_note, mechanisms, show_bundled_mechanisms)
    atomic_write_text(out_path, html)
    if json_path is not None:
        atomic_write_text(json_path, json.dumps(read.stats.to_dict(), indent=1) + "\n")
    return read.stats


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
    read = _of_histories(histories)
    html = _render(read.stats, read.provenance, title, source, data_note, mechanisms, show_bundled_mechanisms)
    return html, read.stats


def _render(
    stats: CohortStatistics,
    provenance: ProvenanceSummary,
    title: str | None,
    source: str,
    data_note: str | None,
    mechanisms: Mapping[str, Any] | None,
    show_bundled_mechanisms: bool,
) -> str:
    bundled = mechanisms is None and show_bundled_mechanisms
    return render_html(
        stats,
        title=title,
        source=source,
        data_note=data_note,
        mechanisms=bundled_comparison() if bundled else mechanisms,
        provenance=provenance,
        mechanisms_bundled=bundled,
    )
