"""One way for every benchmark to report: print the JSON line and add it to results/NAME.jsonl.

The file is written atomically (a temporary file beside it, flushed, fsynced and renamed over it:
crpsmap.outputs.atomic_write_text), so a crash or Ctrl-C mid-write leaves the old file whole, never a torn
last line; a lock on the results folder serialises benchmarks that record at once, so none loses another's
row. A file whose last line was torn by an older writer gets a line break first, so the new row stays a
line of its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on the results folder itself while a row is added (no lock file is left)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def append_line(path: Path, line: str) -> None:
    """Add one complete line to `path` atomically (the whole file is rewritten and renamed over it)."""
    if "\n" in line or "\r" in line:
        raise ValueError("a results row must be one line")
    # imported here: bench_model.py --baseline-rev loads this module beside another tree's crpsmap
    from crpsmap.outputs import atomic_write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path.parent):
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        if old and not old.endswith("\n"):
            old += "\n"
        atomic_write_text(path, old + line + "\n")


def record(name: str, row: dict[str, Any], *, save: bool = True) -> str:
    """Print `row` as one JSON line and (save) add it to results/NAME.jsonl; returns the line."""
    line = json.dumps(row)
    print(line)
    if save:
        append_line(RESULTS / f"{name}.jsonl", line)
    return line
