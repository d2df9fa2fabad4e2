"""CHOIR wide tables: one row per patient per time point, one 0/1 column per CHOIR Body Map segment.

A CHOIR export names each segment by its code, `X101`..`X136` (front view) and `X201`..`X238` (back
view); the atlas says which segment each code is (`load_atlas().resolve("125")`), laterality included.
Each row becomes one `assessment` record of its patient whose regions are the segments marked 1:

- the patient is `PATIENT_NUM` (or the column named by `id_column`);
- the date is the row's `date_column`, or else the one `visit_date` given for the whole file (a date
  stated by whoever converts the file, never invented here: a file without dates needs one);
- `PAIN_INTENSITY_AVERAGE` (0-10) is the record's pain; `PAT_SEX` the patient's sex;
- every other column is kept verbatim in `Record.extra` (empty cells are absent, as in the long format).

All 74 segment columns must be present. A segment cell is 1 (marked), 0 (not marked) or empty (`NA`,
R's missing value, is read as empty). A row with no segment marked is kept, as an assessment without
regions, with a warning: a patient who marked no pain location is data too. Reading is all-or-nothing
like the CSV long format: every problem is named with file, row (as a spreadsheet numbers it, header = 1)
and field, and nothing is returned unless the file is clean.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from itertools import compress
from pathlib import Path
from typing import Any

from crpsmap.atlas import load_atlas
from crpsmap.history import PatientHistory, Record, RecordKind, Sex
from crpsmap.io import fields as F
from crpsmap.io.columns import MAX_COLUMNS, column_for
from crpsmap.io.problems import MAX_PROBLEMS, HistoryImportError, ImportProblem, column_letter, show
from crpsmap.io.reader import MAX_FIELD_CHARS, MAX_ROWS, MAX_WARNINGS, CsvRead
from crpsmap.io.source import read_source, source_label
from crpsmap.io.table import read_table

__all__ = ["ID_COLUMN", "PAIN_COLUMN", "SEX_COLUMN", "read_choir_wide", "segment_columns"]

ID_COLUMN = "PATIENT_NUM"
PAIN_COLUMN = "PAIN_INTENSITY_AVERAGE"
SEX_COLUMN = "PAT_SEX"
#: cell texts of a segment column (after stripping spaces, in any case) and whether they mark it
_MARKS = {"1": True, "0": False, "": False, "na": False}
_MARKS_ALLOWED = "1 (marked), 0 (not marked) or empty"
#: texts of PAT_SEX (in any case) read as unknown, beside what the long format's sex column reads
_SEX_UNKNOWN = frozenset({"na", "u", "unk", "unknown", "not specified", "declined"})
_EMPTY = frozenset({"", "na"})
#: problems collected before they are sorted by row and the first `max_problems` listed
_KEPT = 10_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def segment_columns() -> dict[str, str]:
    """The 74 segment columns of a CHOIR wide table, in code order: column name -> segment slug."""
    segments = sorted(load_atlas().segments, key=lambda s: s.choir)
    return {f"X{s.choir}": s.slug for s in segments}


def read_choir_wide(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    visit_date: dt.date | None = None,
    date_column: str | None = None,
    id_column: str | None = None,
    today: dt.date | None = None,
    max_problems: int = MAX_PROBLEMS,
) -> CsvRead:
    """Read a CHOIR wide table (a path, or the file's bytes) into patient histories, in order of first
    appearance, one `assessment` record per row. Give `date_column` (each row's date) or `visit_date`
    (one date for the whole file, which then has one row per patient). Raises HistoryImportError naming
    `name` (default: the path), row and field of every problem; nothing is returned unless all is well."""
    label = source_label(source, name)
    today = today or dt.date.today()
    if (visit_date is None) == (date_column is None):
        what = "both were given" if visit_date is not None else "neither was given"
        raise HistoryImportError(
            [ImportProblem(label, None, None, f"give either a date column or one visit date ({what})")]
        )
    if visit_date is not None:
        checked = F.parse_date(visit_date.isoformat(), today)
        if isinstance(checked, F.Bad):
            raise HistoryImportError([ImportProblem(label, None, "visit date", checked.messages[0])])
    text = read_source(source, label)
    reader = _WideReader(label, visit_date, date_column, id_column or ID_COLUMN, today, max_problems)
    return reader.read(text.data, text.encoding, text.delimiter)


class _Problems:
    """Problems in row order (a row's in the order of its checks), at most `limit` of them. Up to
    `_KEPT` are collected before sorting, so that the first rows' problems are the ones listed."""

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        self.items: list[ImportProblem] = []
        self.truncated = False

    def add(self, row: int | None, field: str | None, message: str) -> None:
        if len(self.items) < max(self.limit, _KEPT):
            self.items.append(ImportProblem(self.name, row, field, message))
        else:
            self.truncated = True

    def raise_if_any(self) -> None:
        if self.items or self.truncated:
            items = sorted(self.items, key=_row_of)
            truncated = self.truncated or len(items) > self.limit
            raise HistoryImportError(items[: self.limit], truncated)


def _row_of(p: ImportProblem) -> int:
    return -1 if p.row is None else p.row


class _WideReader:
    def __init__(
        self,
        name: str,
        visit_date: dt.date | None,
        date_column: str | None,
        id_column: str,
        today: dt.date,
        max_problems: int,
    ) -> None:
        self.name = name
        self.visit_date = visit_date
        self.date_column = date_column
        self.id_column = id_column
        self.today = today
        self.problems = _Problems(name, max_problems)
        self.warnings: list[ImportProblem] = []

    def read(self, data: bytes, encoding: str, delimiter: str) -> CsvRead:
        table = read_table(data, delimiter, self.problems.add, MAX_ROWS)
        header, rows, rownos = table.header, table.rows, table.rownos
        cols = self._plan(header)
        self.problems.raise_if_any()
        n = len(rows)
        columns = [[r[i] for r in rows] for i in range(len(header))]
        del rows
        pids = self._patient_ids(columns[cols.i_id], rownos)
        dates = self._dates(columns, cols, rownos, n)
        marks = self._marks(columns, cols, rownos)
        pains = self._pains(columns, cols, rownos)
        sexes = self._sexes(columns, cols, rownos)
        self._free_text(columns, cols, rownos)
        self.problems.raise_if_any()
        histories, first_rows = self._histories(pids, dates, marks, pains, sexes, columns, cols, rownos)
        self.problems.raise_if_any()
        warnings = sorted(self.warnings, key=_row_of)
        if len(warnings) > MAX_WARNINGS:
            more = len(warnings) - MAX_WARNINGS
            warnings = warnings[:MAX_WARNINGS] + [
                ImportProblem(self.name, None, None, f"... and {more:,} more warning(s) not listed")
            ]
        return CsvRead(histories, warnings, encoding, delimiter, first_rows, cols.renamed)

    # ---- the table ------------------------------------------------------------------------------------

    def _plan(self, header: list[str]) -> _Columns:
        cols = _Columns()
        cols.header = header
        add = self.problems.add
        if len(header) > MAX_COLUMNS:
            add(1, None, f"the header has {len(header):,} columns; the limit is {MAX_COLUMNS:,}")
            return cols
        seen: dict[str, int] = {}
        for i, h in enumerate(header):
            key = h.upper()
            if not h:
                continue
            if key in seen:
                add(
                    1,
                    None,
                    f"duplicate column {show(h)} (columns {column_letter(seen[key])} and {column_letter(i)})",
                )
            seen.setdefault(key, i)

        def find(wanted: str, what: str, required: bool) -> int:
            i = header.index(wanted) if wanted in header else seen.get(wanted.strip().upper(), -1)
            if i < 0 and required:
                add(1, None, f"no {what} column {show(wanted)}{_close(wanted, header)} ({_shown(header)})")
            return i

        cols.i_id = find(self.id_column, "patient id", True)
        cols.i_date = find(self.date_column, "date", True) if self.date_column is not None else -1
        cols.i_pain = find(PAIN_COLUMN, "pain", False)
        cols.i_sex = find(SEX_COLUMN, "sex", False)
        segments = segment_columns()
        missing = [c for c in segments if c not in seen]
        if missing:
            add(
                1,
                None,
                f"missing {len(missing)} of the 74 CHOIR segment column(s): {_ranges(missing)} "
                f"(a CHOIR wide table has X101..X136 and X201..X238)",
            )
        cols.segments = [(seen[c], slug) for c, slug in segments.items() if c in seen]
        for field, i in (
            ("patient_id", cols.i_id),
            ("date", cols.i_date),
            ("pain", cols.i_pain),
            ("sex", cols.i_sex),
        ):
            if i >= 0:
                cols.renamed[header[i]] = field
        used = {i for i, _ in cols.segments} | {cols.i_id, cols.i_date, cols.i_pain, cols.i_sex}
        for i, h in enumerate(header):
            if i in used:
                continue
            if not h:
                add(1, None, f"column {column_letter(i)} has no name; name it or delete it")
            elif seen.get(h.upper()) != i:
                continue  # a duplicate, said above
            elif _CONTROL.search(h):
                add(
                    1, None, f"the name of column {column_letter(i)}, {show(h)}, contains a control character"
                )
            elif column_for(h) is not None:
                add(
                    1,
                    h,
                    f"an extra column named like crpsmap's {column_for(h)} column would be read as it in "
                    "the converted file; rename it",
                )
            elif _is_segment_name(h):
                add(1, h, f"{show(h)} is not a CHOIR segment code; codes are X101..X136 and X201..X238")
            else:
                cols.extra.append((h, i))
        return cols

    # ---- the columns ----------------------------------------------------------------------------------

    def _patient_ids(self, cells: list[str], rownos: list[int]) -> list[str]:
        out: list[str] = []
        for cell, rowno in zip(cells, rownos, strict=True):
            pid = F.parse_patient_id(cell)
            if isinstance(pid, F.Bad) or cell.strip().lower() in _EMPTY:
                message = pid.messages[0] if isinstance(pid, F.Bad) else ""
                if cell.strip().lower() in _EMPTY:
                    shown = f" ({show(cell.strip())})" if cell.strip() else ""
                    message = f"missing {self.id_column}{shown} (every row names its patient)"
                self.problems.add(rowno, self.id_column, message)
                out.append("")
            else:
                out.append(pid)
        return out

    def _dates(self, columns: list[list[str]], cols: _Columns, rownos: list[int], n: int) -> list[dt.date]:
        if cols.i_date < 0:
            assert self.visit_date is not None
            return [self.visit_date] * n
        parsed: dict[str, dt.date | F.Bad] = {}
        out: list[dt.date] = []
        field = self.date_column
        for cell, rowno in zip(columns[cols.i_date], rownos, strict=True):
            d = parsed.get(cell)
            if d is None:
                d = parsed[cell] = F.parse_date(cell, self.today)
            if isinstance(d, F.Bad):
                self.problems.add(rowno, field, d.messages[0])
                out.append(self.today)
            else:
                out.append(d)
        return out

    def _marks(self, columns: list[list[str]], cols: _Columns, rownos: list[int]) -> list[tuple[str, ...]]:
        """The segments marked on each row; problems for cells that are not marks (each column's distinct
        texts are checked once: only a column with a bad text is looked at row by row)."""
        ones: list[list[bool]] = []
        slugs: list[str] = []
        for i, slug in cols.segments:
            cells = columns[i]
            distinct = set(cells)
            bad = {c for c in distinct if c.strip().lower() not in _MARKS}
            if bad:
                field = column_name(cols, i)
                for k in compress(range(len(cells)), map(bad.__contains__, cells)):
                    self.problems.add(
                        rownos[k],
                        field,
                        f"{show(cells[k])} is not a body-map mark; expected {_MARKS_ALLOWED}",
                    )
            if distinct <= {"0", "1"}:
                ones.append(list(map("1".__eq__, cells)))
            else:
                ones.append([_MARKS.get(c.strip().lower(), False) for c in cells])
            slugs.append(slug)
        if not ones:
            return [()] * len(rownos)
        out: list[tuple[str, ...]] = []
        for k, row in enumerate(zip(*ones, strict=True)):
            regions = tuple(compress(slugs, row))
            if not regions:
                cells_all_empty = all(columns[i][k].strip().lower() in _EMPTY for i, _ in cols.segments)
                why = (
                    "every segment cell is empty: no body map on this row"
                    if cells_all_empty
                    else "no segment marked (no pain location)"
                )
                self.warnings.append(
                    ImportProblem(self.name, rownos[k], None, f"{why}; kept as an assessment without regions")
                )
            out.append(regions)
        return out

    def _pains(self, columns: list[list[str]], cols: _Columns, rownos: list[int]) -> list[float | None]:
        if cols.i_pain < 0:
            return [None] * len(rownos)
        parse = F.value_parsers()["pain"]
        parsed: dict[str, Any] = {}
        out: list[float | None] = []
        for cell, rowno in zip(columns[cols.i_pain], rownos, strict=True):
            if cell not in parsed:
                parsed[cell] = None if cell.strip().lower() in _EMPTY else parse(cell)
            v = parsed[cell]
            if isinstance(v, F.Bad):
                self.problems.add(rowno, column_name(cols, cols.i_pain), v.messages[0])
                v = None
            out.append(v)
        return out

    def _sexes(self, columns: list[list[str]], cols: _Columns, rownos: list[int]) -> list[Sex]:
        if cols.i_sex < 0:
            return [Sex.unknown] * len(rownos)
        parsed: dict[str, Sex | F.Bad] = {}
        out: list[Sex] = []
        for cell, rowno in zip(columns[cols.i_sex], rownos, strict=True):
            s = parsed.get(cell)
            if s is None:
                key = cell.strip().lower()
                s = parsed[cell] = Sex.unknown if key in _SEX_UNKNOWN else F.parse_sex(cell)
            if isinstance(s, F.Bad):
                self.problems.add(rowno, column_name(cols, cols.i_sex), s.messages[0])
                s = Sex.unknown
            out.append(s)
        return out

    def _free_text(self, columns: list[list[str]], cols: _Columns, rownos: list[int]) -> None:
        for h, i in cols.extra:
            cells = columns[i]
            if cells and max(map(len, cells)) > MAX_FIELD_CHARS:
                for k in compress(range(len(cells)), map(MAX_FIELD_CHARS.__lt__, map(len, cells))):
                    self.problems.add(
                        rownos[k], h, f"{len(cells[k]):,} characters; the limit is {MAX_FIELD_CHARS:,}"
                    )

    # ---- the histories --------------------------------------------------------------------------------

    def _histories(
        self,
        pids: list[str],
        dates: list[dt.date],
        marks: list[tuple[str, ...]],
        pains: list[float | None],
        sexes: list[Sex],
        columns: list[list[str]],
        cols: _Columns,
        rownos: list[int],
    ) -> tuple[list[PatientHistory], dict[str, int]]:
        groups: dict[str, list[int]] = {}
        for k, pid in enumerate(pids):
            groups.setdefault(pid, []).append(k)
        names = [h for h, _ in cols.extra]
        extra_cols = [columns[i] for _, i in cols.extra]
        sex_field = column_name(cols, cols.i_sex) if cols.i_sex >= 0 else SEX_COLUMN
        histories: list[PatientHistory] = []
        first_rows: dict[str, int] = {}
        for pid, ks in groups.items():
            first = ks[0]
            first_rows[pid] = rownos[first]
            seen_dates: dict[dt.date, int] = {}
            for k in ks[1:]:
                if sexes[k] != sexes[first]:
                    self.problems.add(
                        rownos[k],
                        sex_field,
                        f"{sexes[k].value} differs from {sexes[first].value} on row {rownos[first]}, the "
                        f"first row of patient {show(pid)}; a patient's sex is the same on every row",
                    )
            for k in ks:
                if self.visit_date is not None and k != first:
                    self.problems.add(
                        rownos[k],
                        self.id_column,
                        f"patient {show(pid)} is also on row {rownos[first]}: with one visit date for the "
                        "whole file each patient has one row; give each row's date in a date column",
                    )
                elif dates[k] in seen_dates:
                    self.warnings.append(
                        ImportProblem(
                            self.name,
                            rownos[k],
                            self.date_column,
                            f"patient {show(pid)} has another row dated {dates[k]} (row "
                            f"{rownos[seen_dates[dates[k]]]}); both are kept",
                        )
                    )
                seen_dates.setdefault(dates[k], k)
            if self.problems.items:
                continue
            records = []
            for k in ks:
                extra = {h: c[k] for h, c in zip(names, extra_cols, strict=True) if c[k]}
                values: dict[str, Any] = {"extra": extra}
                if pains[k] is not None:
                    values["pain"] = pains[k]
                records.append(Record.trusted(dates[k], RecordKind.assessment, marks[k], **values))
            records.sort(key=_date_of)
            histories.append(
                PatientHistory.model_construct(patient_id=pid, sex=sexes[first], records=tuple(records))
            )
        return histories, first_rows


class _Columns:
    """Where the columns of a CHOIR wide table are (-1: absent)."""

    def __init__(self) -> None:
        self.header: list[str] = []
        self.i_id = -1
        self.i_date = -1
        self.i_pain = -1
        self.i_sex = -1
        self.segments: list[tuple[int, str]] = []  # (position, segment slug), in code order
        self.extra: list[tuple[str, int]] = []  # (name, position), in file order
        self.renamed: dict[str, str] = {}


def column_name(cols: _Columns, i: int) -> str:
    return cols.header[i] if i < len(cols.header) else f"column {column_letter(i)}"


def _date_of(r: Record) -> dt.date:
    return r.date


def _is_segment_name(name: str) -> bool:
    return len(name) == 4 and name[0] in "xX" and name[1:].isdigit()


def _ranges(names: list[str]) -> str:
    shown = ", ".join(names[:20])
    return shown + (f" and {len(names) - 20} more" if len(names) > 20 else "")


def _shown(header: list[str]) -> str:
    """The header's columns other than the segment columns, for a message."""
    names = [h for h in header if not _is_segment_name(h)]
    if not names:
        return "the header has segment columns only"
    shown = [show(h) for h in names[:12]] + (["…"] if len(names) > 12 else [])
    return f"columns besides the segments: {', '.join(shown)}"


def _close(wanted: str, header: list[str]) -> str:
    close = difflib.get_close_matches(wanted.upper(), [h.upper() for h in header], n=1, cutoff=0.6)
    if not close:
        return ""
    return f"; did you mean {show(next(h for h in header if h.upper() == close[0]))}?"
