"""A plain row-by-row reader of the CSV long format, for tests: what the columnar reader
(crpsmap.io.reader) must give, problem for problem and history for history.

It shares with crpsmap only the rules for one cell (crpsmap.io.fields), the header (crpsmap.io.columns)
and the encoding (crpsmap.io.source); the rest is written the obvious way: the csv module row by row,
one row's checks after another, records validated by pydantic (`Record.model_validate` on the cell
texts, so pydantic itself parses every value), and warnings found by comparing records pairwise.
A helper of tests/test_io_equivalence.py, with no tests of its own.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from crpsmap.atlas import load_atlas
from crpsmap.history import CRPSType, PatientHistory, Provenance, Record, RecordKind, Sex
from crpsmap.io import fields as F
from crpsmap.io import reader as fast
from crpsmap.io.columns import PATIENT_COLUMNS, PROVENANCE_COLUMN, VALUE_COLUMNS, read_header
from crpsmap.io.problems import MAX_PROBLEMS, HistoryImportError, ImportProblem, column_letter, show
from crpsmap.io.source import SourceError, decode

PATIENT_PARSERS = {
    "sex": F.parse_sex,
    "birth_year": None,  # (needs today)
    "crps_type": F.parse_crps_type,
    PROVENANCE_COLUMN: F.parse_provenance,
}
DEFAULTS: dict[str, Any] = {
    "sex": Sex.unknown,
    "birth_year": None,
    "crps_type": CRPSType.unknown,
    PROVENANCE_COLUMN: Provenance.clinic,
}


class Stop(Exception):
    pass


def reference_read(
    raw: bytes, *, name: str = "in.csv", today: dt.date | None = None, max_problems: int = MAX_PROBLEMS
) -> tuple[list[PatientHistory], list[ImportProblem]]:
    today = today or dt.date.today()
    problems: list[ImportProblem] = []
    truncated = False

    def add(row: int | None, field: str | None, message: str) -> None:
        nonlocal truncated
        if len(problems) < max_problems:
            problems.append(ImportProblem(name, row, field, message))
        else:
            truncated = True
            raise Stop

    def fail() -> None:
        if problems or truncated:
            raise HistoryImportError(problems, truncated)

    try:
        text = decode(raw)
    except SourceError as exc:
        raise HistoryImportError([ImportProblem(name, None, None, str(exc))]) from None
    reader = csv.reader(
        io.TextIOWrapper(io.BytesIO(text.data), encoding="utf-8", newline=""),
        delimiter=text.delimiter,
        strict=True,
    )
    try:
        cells = next(reader)
    except StopIteration:
        cells = []
    except csv.Error as exc:
        add(1, None, f"not a valid CSV header: {fast._csv_message(exc)}")
        fail()
    if not any(c.strip() for c in cells):
        add(None, None, "empty file: a header row is required")
        fail()
    header = read_header(cells)
    for message in header.problems:
        add(1, None, message)
    fail()
    warnings: list[tuple[int, int, str | None, str]] = [(1, 0, None, m) for m in header.warnings]
    col = header.index
    ncols = len(header.names)
    atlas = load_atlas()
    parsers = F.value_parsers()
    patient_cols = [c for c in (*PATIENT_COLUMNS, PROVENANCE_COLUMN) if c in col]

    def parse_patient(c: str, s: str) -> Any:
        return F.parse_birth_year(s, today) if c == "birth_year" else PATIENT_PARSERS[c](s)  # type: ignore[misc]

    patients: dict[str, dict[str, Any]] = {}
    row_no = 1
    try:
        while True:
            row_no += 1
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                add(row_no, None, f"malformed CSV: {fast._csv_message(exc)}")
                break
            if row_no - 1 > fast.MAX_ROWS:
                add(row_no, None, f"too many rows (limit {fast.MAX_ROWS:,})")
                break
            if len(fields) != ncols:
                if any(f.strip() for f in fields):
                    add(row_no, None, f"has {len(fields)} fields, the header has {ncols}")
                continue
            if not any(f.strip() for f in fields):
                continue
            msgs: list[tuple[str | None, str]] = []

            def check(field: str | None, value: Any, msgs: list[tuple[str | None, str]] = msgs) -> Any:
                if isinstance(value, F.Bad):
                    msgs.extend((field, m) for m in value.messages)
                return value

            pid = check("patient_id", F.parse_patient_id(fields[col["patient_id"]]))
            date = check("date", F.parse_date(fields[col["date"]], today))
            kind = check("kind", F.parse_kind(fields[col["kind"]]))
            regions = check("regions", F.parse_regions(fields[col["regions"]], atlas))
            pvalues: dict[str, Any] = {}
            for c in patient_cols:
                pvalues[c] = check(c, parse_patient(c, fields[col[c]]))
                if c == "birth_year":
                    by = pvalues[c]
                    if isinstance(by, int) and isinstance(date, dt.date) and date.year < by:
                        msgs.append(("date", f"{date} is before the birth year {by}"))
            for c in VALUE_COLUMNS:
                if c in col:
                    check(c, parsers[c](fields[col[c]]))
            for extra_name, i in header.extra:
                if len(fields[i]) > fast.MAX_FIELD_CHARS:
                    msgs.append(
                        (extra_name, f"{len(fields[i]):,} characters; the limit is {fast.MAX_FIELD_CHARS:,}")
                    )
            for i in header.unnamed:
                if fields[i].strip():
                    msgs.append(
                        (
                            None,
                            f"column {column_letter(i)} has no name in the header, but this row has "
                            f"{show(fields[i].strip())} in it; name the column or leave it empty",
                        )
                    )
            if kind is RecordKind.onset and regions == ():
                msgs.append(("regions", "an onset record must name at least one region"))
            if not isinstance(pid, F.Bad):
                p = patients.get(pid)
                if p is None:
                    p = patients[pid] = {"row": row_no, "values": pvalues, "records": []}
                else:
                    for c in patient_cols:
                        value, given = pvalues[c], p["values"][c]
                        if isinstance(value, F.Bad) or isinstance(given, F.Bad) or value == given:
                            continue
                        shown_value = "empty" if value is None else show(str(value))
                        shown_given = "empty" if given is None else show(str(given))
                        msgs.append(
                            (
                                c,
                                f"{shown_value} differs from {shown_given} given for patient {show(pid)} "
                                f"on row {p['row']}; {c} must be the same on every row of a patient",
                            )
                        )
            for field, message in msgs:
                add(row_no, field, message)
            if msgs or problems:
                continue
            values = {c: fields[col[c]].strip() for c in VALUE_COLUMNS if c in col and fields[col[c]].strip()}
            extra = {n: fields[i] for n, i in header.extra if fields[i] != ""}
            record = Record.model_validate(
                {"date": date, "kind": kind, "regions": regions, "extra": extra, **values}
            )
            patients[pid]["records"].append((record, row_no))
    except Stop:
        pass
    fail()
    try:
        for pid, p in patients.items():
            if not any(r.kind in (RecordKind.onset, RecordKind.assessment) for r, _ in p["records"]):
                add(p["row"], "kind", f"patient {show(pid)} has no onset or assessment record")
    except Stop:
        pass
    fail()
    out = []
    for pid, p in patients.items():
        pairs = sorted(p["records"], key=lambda rr: rr[0].date)
        kw = {c: p["values"].get(c, DEFAULTS[c]) for c in PATIENT_COLUMNS}
        if PROVENANCE_COLUMN in col:
            kw[PROVENANCE_COLUMN] = p["values"][PROVENANCE_COLUMN]
        h = PatientHistory.model_construct(patient_id=pid, records=tuple(r for r, _ in pairs), **kw)
        PatientHistory.model_validate(h.model_dump())  # pydantic finds nothing wrong either
        out.append(h)
        for j, (r, row) in enumerate(pairs):
            same = [row2 for r2, row2 in pairs[:j] if r2 == r]
            if same:
                warnings.append(
                    (
                        row,
                        0,
                        None,
                        f"the same record as row {same[0]} (patient {show(pid)}: same date, kind, regions "
                        "and values); both are kept",
                    )
                )
        onsets = [(r, row) for r, row in pairs if r.kind is RecordKind.onset]
        if onsets:
            onset, onset_row = onsets[0]
            for r, row in pairs:
                if r.kind is RecordKind.assessment and r.date < onset.date:
                    warnings.append(
                        (
                            row,
                            1,
                            "date",
                            f"an assessment dated {r.date}, before the onset on {onset.date} "
                            f"(row {onset_row}) of patient {show(pid)}",
                        )
                    )
    warnings.sort(key=lambda w: (w[0], w[1]))
    listed = [ImportProblem(name, r, f, m) for r, _, f, m in warnings]
    if len(listed) > fast.MAX_WARNINGS:
        more = len(listed) - fast.MAX_WARNINGS
        listed = listed[: fast.MAX_WARNINGS] + [
            ImportProblem(name, None, None, f"... and {more:,} more warning(s) not listed")
        ]
    return out, listed
