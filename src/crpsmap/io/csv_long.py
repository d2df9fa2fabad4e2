"""The CSV long format: one row per record, patient columns repeated on each row.

Reading is all-or-nothing: the whole file is checked, every problem (up to a bound) is reported with
file, row (as a spreadsheet numbers it, header = 1) and field, and no history is returned unless the file
is clean. Files are read as spreadsheets write them: UTF-8 (with or without a byte-order mark), UTF-16,
Windows-1252; comma, semicolon or tab delimited; header names in any case and spacing, with common
aliases (`crpsmap.io.columns`). `read_csv_result` also says what it assumed and gives the warnings
(duplicate rows, assessments dated before the onset); `read_csv` and friends return the histories only.

Writing gives the canonical form: UTF-8, comma, the columns in a fixed order, `provenance` only when some
history is not clinic data; reading a file crpsmap wrote and writing it again gives the same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from crpsmap.history import PatientHistory, Provenance
from crpsmap.io.columns import (
    PATIENT_COLUMNS,
    PROVENANCE_COLUMN,
    REQUIRED_COLUMNS,
    VALUE_COLUMNS,
    column_for,
)
from crpsmap.io.fields import MAX_REGIONS_PER_RECORD, SEX_ALIASES
from crpsmap.io.problems import MAX_PROBLEMS
from crpsmap.io.reader import MAX_FIELD_CHARS, MAX_ROWS, CsvRead, Reader
from crpsmap.io.source import (
    MAX_FILE_BYTES,
    read_source,
    source_label,
)

__all__ = [
    "MAX_FIELD_CHARS",
    "MAX_FILE_BYTES",
    "MAX_REGIONS_PER_RECORD",
    "MAX_ROWS",
    "PATIENT_COLUMNS",
    "PROVENANCE_COLUMN",
    "REQUIRED_COLUMNS",
    "SEX_ALIASES",
    "VALUE_COLUMNS",
    "CsvRead",
    "HistoryColumns",
    "csv_columns",
    "csv_header",
    "history_columns",
    "history_rows",
    "merge_columns",
    "needs_provenance",
    "read_csv",
    "read_csv_bytes",
    "read_csv_result",
    "read_csv_text",
    "rows_text",
    "write_csv",
    "write_csv_text",
]


def read_csv_result(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    today: dt.date | None = None,
    max_problems: int = MAX_PROBLEMS,
) -> CsvRead:
    """Read a CSV long-format file (a path, or the file's bytes) into patient histories, in order of first
    appearance, with the warnings and the encoding and delimiter assumed. Raises HistoryImportError, naming
    `name` (default: the path), row and field of every problem; nothing is returned unless all is well."""
    label = source_label(source, name)
    text = read_source(source, label)
    return Reader(label, today=today, max_problems=max_problems).read(text)


def read_csv(
    path: str | Path, *, today: dt.date | None = None, max_problems: int = MAX_PROBLEMS
) -> list[PatientHistory]:
    """Read a CSV long-format file into patient histories, in order of first appearance."""
    return read_csv_result(Path(path), today=today, max_problems=max_problems).histories


def read_csv_text(
    text: str, *, name: str = "<text>", today: dt.date | None = None, max_problems: int = MAX_PROBLEMS
) -> list[PatientHistory]:
    return read_csv_result(text.encode("utf-8"), name=name, today=today, max_problems=max_problems).histories


def read_csv_bytes(
    raw: bytes, *, name: str, today: dt.date | None = None, max_problems: int = MAX_PROBLEMS
) -> list[PatientHistory]:
    return read_csv_result(raw, name=name, today=today, max_problems=max_problems).histories


# ---- writing -------------------------------------------------------------------------------------------


def format_cell(value: object) -> str:
    """A value as the long format writes it (whole numbers without ".0", None empty)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def write_csv_text(histories: Iterable[PatientHistory]) -> str:
    buf = io.StringIO()
    write_csv(histories, buf)
    return buf.getvalue()


@dataclass(frozen=True)
class HistoryColumns:
    """The value columns one history fills and its extra columns in first-use order: what it adds to the
    header (merged over a cohort by `merge_columns`)."""

    values: frozenset[str]
    extra: tuple[str, ...]


def history_columns(h: PatientHistory) -> HistoryColumns:
    extra: dict[str, None] = {}
    for r in h.records:
        for k in r.extra:
            extra.setdefault(k)
    used = frozenset(c for c in VALUE_COLUMNS if any(getattr(r, c) is not None for r in h.records))
    return HistoryColumns(used, tuple(extra))


def merge_columns(per_history: Iterable[HistoryColumns]) -> tuple[list[str], list[str]]:
    """The value and extra columns of a cohort from its histories' own (see `csv_columns`)."""
    extra: dict[str, None] = {}
    used: set[str] = set()
    for hc in per_history:
        used |= hc.values
        for k in hc.extra:
            extra.setdefault(k)
    shadowed = {column_for(k) for k in extra}
    return [c for c in VALUE_COLUMNS if c in used or c in shadowed], list(extra)


def csv_columns(histories: Sequence[PatientHistory]) -> tuple[list[str], list[str]]:
    """The value and extra columns that the histories use (what `write_csv` puts in the header).

    A value column is also written, empty, when an extra column is named like one of its aliases
    ("nrs" beside pain): with the column itself in the header, the alias is read back as an extra column.
    """
    return merge_columns(history_columns(h) for h in histories)


def needs_provenance(histories: Sequence[PatientHistory], extra_columns: Sequence[str] = ()) -> bool:
    """Whether a file of these histories needs the provenance column: some history is not clinic data (or
    an extra column is named like an alias of provenance)."""
    return any(h.provenance != Provenance.clinic for h in histories) or any(
        column_for(k) == PROVENANCE_COLUMN for k in extra_columns
    )


def csv_header(
    value_columns: Sequence[str], extra_columns: Sequence[str] = (), *, provenance: bool = False
) -> list[str]:
    patient = [*PATIENT_COLUMNS, PROVENANCE_COLUMN] if provenance else list(PATIENT_COLUMNS)
    return list(REQUIRED_COLUMNS) + patient + list(value_columns) + list(extra_columns)


def history_rows(
    h: PatientHistory,
    value_columns: Sequence[str],
    extra_columns: Sequence[str] = (),
    *,
    provenance: bool = False,
) -> Iterator[list[str]]:
    """One patient's CSV rows for a fixed set of columns (for writers that stream in chunks)."""
    patient = [h.sex.value, format_cell(h.birth_year), h.crps_type.value]
    if provenance:
        patient.append(Provenance(h.provenance).value)
    for r in h.records:
        yield (
            [h.patient_id, r.date.isoformat(), r.kind.value, ";".join(r.regions)]
            + patient
            + [format_cell(getattr(r, c)) for c in value_columns]
            + [r.extra.get(c, "") for c in extra_columns]
        )


def rows_text(rows: Iterable[list[str]]) -> str:
    """Rows as `write_csv` writes them (so pieces written apart join to the same bytes)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def write_csv(histories: Iterable[PatientHistory], dest: str | Path | io.TextIOBase) -> None:
    """Write histories in the long format; reading the result gives the same histories back."""
    histories = list(histories)
    used_values, extra_cols = csv_columns(histories)
    provenance = needs_provenance(histories, extra_cols)

    def rows() -> Iterable[list[str]]:
        yield csv_header(used_values, extra_cols, provenance=provenance)
        for h in histories:
            yield from history_rows(h, used_values, extra_cols, provenance=provenance)

    if isinstance(dest, (str, Path)):
        with open(dest, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows())
    else:
        csv.writer(dest, lineterminator="\n").writerows(rows())
