"""The CSV reader as it was before the columnar reader (commit 49c5462), kept verbatim (reading only) so
that tests can show the new reader returns exactly the same histories for the files both accept.

Not used by crpsmap itself; a helper of tests/test_io_equivalence.py, with no tests of its own.
"""

# ruff: noqa

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from crpsmap.atlas import UnknownRegionError, load_atlas
from crpsmap.history import MIN_BIRTH_YEAR, CRPSType, PatientHistory, Record, RecordKind, Sex
from crpsmap.io.problems import MAX_PROBLEMS, HistoryImportError, ImportProblem

REQUIRED_COLUMNS = ("patient_id", "date", "kind", "regions")
PATIENT_COLUMNS = ("sex", "birth_year", "crps_type")
VALUE_COLUMNS = (
    "pain",
    "css",
    "budapest_symptoms",
    "budapest_signs",
    "hrv_rmssd",
    "hrv_hf",
    "crp",
    "treatment",
)
MAX_FILE_BYTES = 2 * 1024**3
MAX_ROWS = 20_000_000
MAX_FIELD_CHARS = 10_000
MAX_REGIONS_PER_RECORD = 200
_SEX_ALIASES = {"f": "female", "m": "male", "w": "female", "": "unknown"}


class _Collector:
    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        self.problems: list[ImportProblem] = []
        self.truncated = False

    def add(self, row: int | None, field: str | None, message: str) -> None:
        if len(self.problems) < self.limit:
            self.problems.append(ImportProblem(self.name, row, field, message))
        else:
            self.truncated = True

    def full(self) -> bool:
        return self.truncated

    def raise_if_any(self) -> None:
        if self.problems:
            raise HistoryImportError(self.problems, self.truncated)


def read_csv(
    path: str | Path, *, today: dt.date | None = None, max_problems: int = MAX_PROBLEMS
) -> list[PatientHistory]:
    """Read a CSV long-format file into patient histories, in order of first appearance."""
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise HistoryImportError(
            [ImportProblem(name, None, None, f"cannot read file: {exc.strerror}")]
        ) from None
    if size > MAX_FILE_BYTES:
        raise HistoryImportError(
            [ImportProblem(name, None, None, f"file is {size} bytes; the limit is {MAX_FILE_BYTES}")]
        )
    raw = path.read_bytes()
    return read_csv_bytes(raw, name=name, today=today, max_problems=max_problems)


def read_csv_text(text: str, *, name: str = "<text>", today: dt.date | None = None) -> list[PatientHistory]:
    return read_csv_bytes(text.encode("utf-8"), name=name, today=today)


def read_csv_bytes(
    raw: bytes, *, name: str, today: dt.date | None = None, max_problems: int = MAX_PROBLEMS
) -> list[PatientHistory]:
    problems = _Collector(name, max_problems)
    if b"\x00" in raw:
        problems.add(None, None, "not a CSV text file (binary content)")
        problems.raise_if_any()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.add(None, None, f"not UTF-8 text (byte {exc.start})")
        problems.raise_if_any()
    today = today or dt.date.today()
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        problems.add(None, None, "empty file: a header row is required")
        problems.raise_if_any()
        return []
    except csv.Error as exc:
        problems.add(1, None, f"not a valid CSV header: {exc}")
        problems.raise_if_any()
        return []
    header = [h.strip() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        problems.add(
            1, None, f"not a crpsmap CSV: missing column(s) {', '.join(missing)} (header: {header[:8]})"
        )
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        problems.add(1, None, f"duplicate column(s) {', '.join(dup)}")
    problems.raise_if_any()

    col = {h: i for i, h in enumerate(header)}
    extra_cols = [h for h in header if h not in REQUIRED_COLUMNS + PATIENT_COLUMNS + VALUE_COLUMNS and h]
    atlas = load_atlas()
    patients: dict[str, dict[str, Any]] = {}
    rows_read = 0
    while True:
        # rows as a spreadsheet numbers them (header = 1): a quoted field with a line break stays in
        # its row, so count records, not physical lines
        row_no = rows_read + 2
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.add(row_no, None, f"malformed CSV: {exc}")
            break
        rows_read += 1
        if rows_read > MAX_ROWS:
            problems.add(row_no, None, f"too many rows (limit {MAX_ROWS})")
            break
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            problems.add(row_no, None, f"has {len(fields)} fields, the header has {len(header)}")
            continue
        if any(len(f) > MAX_FIELD_CHARS for f in fields):
            problems.add(row_no, None, f"a field is longer than {MAX_FIELD_CHARS} characters")
            continue
        _read_row(fields, col, extra_cols, row_no, atlas, today, patients, problems)
        if problems.full():
            break
    problems.raise_if_any()
    histories = _build(patients, problems)
    problems.raise_if_any()
    return histories


def _read_row(
    fields: list[str],
    col: dict[str, int],
    extra_cols: list[str],
    row_no: int,
    atlas: Any,
    today: dt.date,
    patients: dict[str, dict[str, Any]],
    problems: _Collector,
) -> None:
    def get(c: str) -> str:
        i = col.get(c)
        return fields[i].strip() if i is not None else ""

    ok = True
    pid = get("patient_id")
    if not pid:
        problems.add(row_no, "patient_id", "missing patient_id")
        ok = False
    elif len(pid) > 64:
        problems.add(row_no, "patient_id", "longer than 64 characters")
        ok = False
    raw_date = get("date")
    date: dt.date | None = None
    try:
        date = dt.date.fromisoformat(raw_date)
        if len(raw_date) != 10:
            raise ValueError
    except ValueError:
        problems.add(row_no, "date", f"{raw_date!r} is not an ISO date (YYYY-MM-DD) that exists")
        ok = False
        date = None
    if date is not None and date > today:
        problems.add(row_no, "date", f"{raw_date} is in the future")
        ok = False
    elif date is not None and date.year < MIN_BIRTH_YEAR:
        problems.add(row_no, "date", f"{raw_date} is before {MIN_BIRTH_YEAR}")
        ok = False
    raw_kind = get("kind")
    try:
        kind = RecordKind(raw_kind.lower())
    except ValueError:
        problems.add(
            row_no,
            "kind",
            f"unknown kind {raw_kind!r}; expected one of {', '.join(k.value for k in RecordKind)}",
        )
        ok = False
    regions: list[str] = []
    raw_regions = [r for r in get("regions").split(";") if r.strip()]
    if len(raw_regions) > MAX_REGIONS_PER_RECORD:
        problems.add(row_no, "regions", f"more than {MAX_REGIONS_PER_RECORD} regions")
        ok = False
    for r in raw_regions[:MAX_REGIONS_PER_RECORD]:
        try:
            slug = atlas.resolve(r)
        except UnknownRegionError as exc:
            problems.add(row_no, "regions", str(exc))
            ok = False
            continue
        if slug not in regions:
            regions.append(slug)
    # patient-level columns: must agree on every row of the patient
    sex_raw = get("sex").lower()
    sex_raw = _SEX_ALIASES.get(sex_raw, sex_raw)
    try:
        sex = Sex(sex_raw)
    except ValueError:
        problems.add(row_no, "sex", f"unknown sex {get('sex')!r}; expected female, male, other or unknown")
        ok = False
        sex = Sex.unknown
    birth_year: int | None = None
    by = get("birth_year")
    if by:
        try:
            birth_year = int(by)
            if not MIN_BIRTH_YEAR <= birth_year <= today.year:
                problems.add(row_no, "birth_year", f"{by} is outside {MIN_BIRTH_YEAR}-{today.year}")
                ok = False
        except ValueError:
            problems.add(row_no, "birth_year", f"{by!r} is not a year")
            ok = False
    if date is not None and birth_year is not None and birth_year <= today.year and date.year < birth_year:
        problems.add(row_no, "date", f"{raw_date} is before birth year {birth_year}")
        ok = False
    ct = get("crps_type")
    try:
        crps_type = CRPSType(ct.upper() if ct.lower() != "unknown" else "unknown") if ct else CRPSType.unknown
    except ValueError:
        problems.add(row_no, "crps_type", f"unknown CRPS type {ct!r}; expected I, II or unknown")
        ok = False
        crps_type = CRPSType.unknown
    values: dict[str, Any] = {c: get(c) for c in VALUE_COLUMNS if get(c)}
    extra = {c: fields[col[c]] for c in extra_cols if fields[col[c]] != ""}
    if ok and kind is RecordKind.onset and not regions and not raw_regions:
        problems.add(row_no, "regions", "an onset record must name at least one region")
        ok = False
    # patient-level columns must agree with the first row that named the patient
    p = patients.get(pid) if pid else None
    if pid and p is None:
        p = patients[pid] = {
            "row": row_no,
            "sex": sex,
            "birth_year": birth_year,
            "crps_type": crps_type,
            "records": [],
        }
    elif p is not None:
        for key, value in (("sex", sex), ("birth_year", birth_year), ("crps_type", crps_type)):
            if p[key] != value:
                problems.add(row_no, key, f"{value} differs from {p[key]} given for {pid} on row {p['row']}")
                ok = False
    if not ok or p is None:
        return
    try:
        record = Record.model_validate(
            {"date": date, "kind": kind, "regions": tuple(regions), "extra": extra, **values}
        )
    except ValidationError as exc:
        for err in exc.errors():
            loc = err["loc"][0] if err["loc"] else None
            field = str(loc) if loc in VALUE_COLUMNS or loc in REQUIRED_COLUMNS else None
            problems.add(row_no, field, err["msg"])
        return
    p["records"].append((record, row_no))


def _build(patients: dict[str, dict[str, Any]], problems: _Collector) -> list[PatientHistory]:
    out: list[PatientHistory] = []
    for pid, p in patients.items():
        records = tuple(sorted((r for r, _ in p["records"]), key=lambda r: r.date))
        if not any(r.kind in (RecordKind.onset, RecordKind.assessment) for r in records):
            problems.add(p["row"], "kind", f"patient {pid} has no onset or assessment record")
            continue
        # records were checked one by one; the history adds no new rule beyond those checks
        out.append(
            PatientHistory.model_construct(
                patient_id=pid,
                sex=p["sex"],
                birth_year=p["birth_year"],
                crps_type=p["crps_type"],
                records=records,
            )
        )
    return out
