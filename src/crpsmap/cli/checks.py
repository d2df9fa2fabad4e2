"""Checking what a user gives before any work starts: option values, names, input files (CSV, JSON) and
output paths. Each check stops with exit status 2 and one line (`console.fail`)."""

from __future__ import annotations

import difflib
import errno
import gc
import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from crpsmap.cli.console import err_console, error_line, fail, warn
from crpsmap.cli.limits import MAX_JSON_BYTES, MAX_WARNINGS_SHOWN
from crpsmap.history import PatientHistory
from crpsmap.io import HistoryImportError, ImportProblem, read_csv_result
from crpsmap.outputs import OutputPathError, check_outputs
from crpsmap.summary import literal

if TYPE_CHECKING:
    from crpsmap.report.api import FileStatistics

T = TypeVar("T")


def finite(value: float | None) -> float | None:
    """Option callback: no NaN (a range check lets NaN through)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a number")
    return value


def did_you_mean(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name.strip().lower(), list(known), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def check_name(what: str, name: str, known: Sequence[str]) -> None:
    """Stop unless `name` is one of `known`, with suggestions."""
    if name not in known:
        listed = (
            f"known: {', '.join(known)}" if len(known) <= 12 else f"{len(known)} known; see docs/model.md"
        )
        fail(f"unknown {what} {name!r}{did_you_mean(name, known)} ({listed})")


def check_input(path: Path) -> None:
    """Stop unless `path` is an existing, readable regular file."""
    try:
        if not path.exists():
            fail(f"{path}: no such file")
        if path.is_dir():
            fail(f"{path}: is a folder, not a file")
        if not path.is_file():
            fail(f"{path}: not a regular file")
    except OSError as exc:  # a name too long, a loop of links
        fail(f"{path}: {exc.strerror or exc}")
    if not os.access(path, os.R_OK):
        fail(f"{path}: cannot read the file: {os.strerror(errno.EACCES)}")


def check_output_paths(outputs: Sequence[Path | None], inputs: Sequence[Path | None] = ()) -> None:
    """Stop, before any work, unless every output can be written: its folder exists and is writable, it
    is not a folder or special file, not one of the inputs, and no two outputs share a path."""
    for out in outputs:
        if out is None:
            continue
        try:
            target = out.expanduser().resolve()
            parent = target.parent
            if not parent.exists():
                fail(f"{out}: cannot write: {os.strerror(errno.ENOENT)} (no folder {parent})")
            if not parent.is_dir():
                fail(f"{out}: cannot write: {os.strerror(errno.ENOTDIR)} ({parent} is a file)")
            if target.is_dir():
                fail(f"{out}: not a regular file (it is a folder)")
            if target.exists() and not target.is_file():
                fail(f"{out}: not a regular file (refusing to write to it)")
        except OSError as exc:
            fail(f"{out}: cannot write: {exc.strerror or exc}")
        if not os.access(parent, os.W_OK | os.X_OK):
            fail(f"{out}: cannot write: {os.strerror(errno.EACCES)} (folder {parent})")
    try:
        check_outputs(outputs, inputs)
    except OutputPathError as exc:
        fail(str(exc))


def read_json(path: Path, what: str) -> Any:
    """A JSON file given by the user; stop with one line if it is missing, too big or not JSON."""
    check_input(path)
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            fail(f"{path}: {path.stat().st_size} bytes is too big for {what} (limit {MAX_JSON_BYTES})")
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        fail(f"{path}: not {what}: not UTF-8 text (byte {exc.start})")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{path}: not {what}: not JSON ({exc.msg}, line {exc.lineno} column {exc.colno})")
    except (ValueError, RecursionError) as exc:
        fail(f"{path}: not {what}: {exc}")


def load_or_exit(path: Path) -> list[PatientHistory]:
    """Read a CSV file; on bad input print every problem and exit with status 2 (nothing is used).
    Warnings (at most MAX_WARNINGS_SHOWN, then a count) and an encoding other than UTF-8 are said."""
    res = read_or_exit(path, lambda: read_csv_result(path))
    if not res.histories:
        fail(f"{path}: no patient records (the file has a header but no rows)")
    tell_reading(path, res.warnings, res.encoding)
    # a batch command keeps what it read to the end: the garbage collector need not walk it again and
    # again (on 100,000 patients that walk took a third of the classification's time)
    gc.freeze()
    return list(res.histories)


def statistics_or_exit(path: Path) -> FileStatistics:
    """The cohort statistics of a CSV file (read in pieces when big, so any size fits in memory), with
    the same problems, warnings and exit status as `load_or_exit`."""
    from rich.progress import Progress, TaskID

    from crpsmap.report.api import file_statistics

    with Progress(console=err_console, transient=True) as bar:
        task: list[TaskID] = []

        def progress(done: int, total: int) -> None:  # called only for a file read in pieces
            if not task:
                task.append(bar.add_task("reading and classifying (pieces)", total=total))
            bar.update(task[0], completed=done)

        res = read_or_exit(path, lambda: file_statistics(path, progress=progress))
    if res.stats.figures.n_patients == 0:
        fail(f"{path}: no patient records (the file has a header but no rows)")
    tell_reading(path, res.warnings, res.encoding)
    return res


def read_or_exit(path: Path, read: Callable[[], T]) -> T:
    """`read()` of a file, or exit 2 with its problems printed literally (one line each)."""
    check_input(path)
    try:
        return read()
    except HistoryImportError as exc:  # file contents are data: printed literally, line by line
        first, *rest = str(exc).splitlines() or ["problems in input"]
        error_line(f"{path}: {first}" if str(path) not in first else first)
        for line in rest:
            err_console.print(literal(line), soft_wrap=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror or exc}")


def tell_reading(path: Path, warnings: Sequence[ImportProblem | str], encoding: str) -> None:
    """Say what reading a file found: its warnings (the first few, then a count) and a non-UTF-8 encoding."""
    for w in warnings[:MAX_WARNINGS_SHOWN]:
        warn(str(w))
    if len(warnings) > MAX_WARNINGS_SHOWN:
        warn(f"{path}: {len(warnings) - MAX_WARNINGS_SHOWN} more warnings not shown")
    if encoding and encoding.lower().replace("-", "").replace("_", "") not in ("utf8", "utf8sig", "ascii"):
        warn(f"{path}: not UTF-8; read as {encoding}")
