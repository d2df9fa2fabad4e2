"""A whole CSV table read row by row, for the readers of other layouts (CHOIR wide tables, REDCap
exports) that check whole rows: the header, the rows of the right length and their row numbers as a
spreadsheet numbers them. (The long format has its own columnar reader, `reader.py`.)"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

#: how a reader notes a problem: (row or None, field or None, message)
AddProblem = Callable[[int | None, str | None, str], None]


@dataclass(frozen=True)
class Table:
    header: list[str]  # stripped names (a byte-order mark removed)
    rows: list[list[str]]  # the data rows with as many cells as the header
    rownos: list[int]  # each row's number as a spreadsheet shows it (header = 1; blank lines counted)


def read_table(data: bytes, delimiter: str, add: AddProblem, max_rows: int) -> Table:
    """Read UTF-8 CSV bytes; a row of another length, more than `max_rows` rows, a CSV error and an
    empty header are problems (passed to `add`), blank lines are skipped."""
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")
    records: Iterator[list[str]] = csv.reader(stream, delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    rownos: list[int] = []
    header: list[str] = []
    rowno = 0
    try:
        for cells in records:
            rowno += 1
            if rowno == 1:
                header = [c.strip().lstrip("\ufeff").strip() for c in cells]
                continue
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if len(cells) != len(header):
                add(
                    rowno,
                    None,
                    f"{len(cells)} fields; the header has {len(header)} (a missing or extra delimiter?)",
                )
                continue
            rows.append(cells)
            rownos.append(rowno)
            if len(rows) > max_rows:
                add(None, None, f"more than {max_rows:,} rows; split the file")
                break
    except csv.Error as exc:
        add(rowno + 1, None, f"not valid CSV: {exc}")
    if not any(header):
        add(None, None, "empty file: a header row is required")
    return Table(header, rows, rownos)
