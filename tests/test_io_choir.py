"""CHOIR wide tables (`crpsmap.io.read_choir_wide`): every marked segment arrives on its side, the other
columns are kept, a clean file round-trips through the CSV long format, and every problem is named with
row and field. The fixture is real public data (tests/fixtures/choir/README.md)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from crpsmap.atlas import load_atlas
from crpsmap.history import RecordKind, Sex
from crpsmap.io import HistoryImportError, read_choir_wide, read_csv_text, write_csv_text
from crpsmap.io.choir import segment_columns

FIXTURE = Path(__file__).parent / "fixtures" / "choir" / "alter2021-sample300.csv"
VISIT = dt.date(2021, 1, 1)
CODES = [*range(101, 137), *range(201, 239)]
X = [f"X{c}" for c in CODES]


def table(rows: list[dict[str, str]], header: list[str] | None = None, delimiter: str = ",") -> bytes:
    """A small wide table: each row names its PATIENT_NUM, the codes it marks ("marks": "125;230") and
    any other cells; unmarked segments are 0."""
    header = header or ["PATIENT_NUM", *X, "PAIN_INTENSITY_AVERAGE", "PAT_SEX", "NOTE"]
    lines = [delimiter.join(header)]
    for row in rows:
        marked = {f"X{c}" for c in row.get("marks", "").split(";") if c}
        cells = [row.get(h, "1" if h in marked else "0" if h in X else "") for h in header]
        lines.append(delimiter.join(cells))
    return ("\n".join(lines) + "\n").encode()


def problems_of(raw: bytes, **kwargs: object) -> list[tuple[int | None, str | None, str]]:
    kwargs.setdefault("visit_date", VISIT)
    with pytest.raises(HistoryImportError) as info:
        read_choir_wide(raw, name="t.csv", **kwargs)  # type: ignore[arg-type]
    assert all(p.file == "t.csv" for p in info.value.problems)
    return [(p.row, p.field, p.message) for p in info.value.problems]


# ---- the fixture: real data ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def source_rows() -> list[dict[str, str]]:
    with open(FIXTURE, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_patients_segments_equal_the_rows_marked_columns(source_rows: list[dict[str, str]]) -> None:
    by_code = {s.choir: s.slug for s in load_atlas().segments}  # the atlas table, read directly
    res = read_choir_wide(FIXTURE, visit_date=VISIT)
    assert len(res.histories) == len(source_rows) == 300
    assert res.warnings == [] and res.encoding == "utf-8" and res.delimiter == ","
    for h, row in zip(res.histories, source_rows, strict=True):
        assert h.patient_id == row["PATIENT_NUM"]
        marked = [by_code[int(k[1:])] for k, v in row.items() if k.startswith("X") and v == "1"]
        (record,) = h.records
        assert record.kind is RecordKind.assessment and record.date == VISIT
        assert sorted(record.regions) == sorted(marked) and len(record.regions) == len(marked)


def test_values_sex_and_every_other_column_are_kept(source_rows: list[dict[str, str]]) -> None:
    res = read_choir_wide(FIXTURE, visit_date=VISIT)
    consumed = {"PATIENT_NUM", "PAIN_INTENSITY_AVERAGE", "PAT_SEX", *X}
    for i, (h, row) in enumerate(zip(res.histories, source_rows, strict=True)):
        (record,) = h.records
        assert h.sex == Sex(row["PAT_SEX"]) and h.birth_year is None
        pain = row["PAIN_INTENSITY_AVERAGE"]
        assert record.pain == (float(pain) if pain else None)
        assert record.extra == {k: v for k, v in row.items() if k not in consumed and v}
        assert res.first_rows[h.patient_id] == i + 2  # header = row 1
    assert {h.sex for h in res.histories} == {Sex.female, Sex.male}
    assert any("PAIN_INTENSITY_AVERAGE.FOLLOW_UP" not in h.records[0].extra for h in res.histories)
    assert res.renamed == {"PATIENT_NUM": "patient_id", "PAIN_INTENSITY_AVERAGE": "pain", "PAT_SEX": "sex"}


def test_round_trip_through_the_csv_long_format() -> None:
    res = read_choir_wide(FIXTURE, visit_date=VISIT)
    text = write_csv_text(res.histories)
    back = read_csv_text(text)
    assert back == res.histories
    assert [h.model_dump() for h in back] == [h.model_dump() for h in res.histories]
    assert write_csv_text(back) == text


def test_bytes_and_path_give_the_same_histories() -> None:
    by_path = read_choir_wide(FIXTURE, visit_date=VISIT).histories
    assert read_choir_wide(FIXTURE.read_bytes(), visit_date=VISIT).histories == by_path


# ---- laterality: the atlas table decides -------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "slug"),
    [
        (101, "cranium_front_right"),
        (102, "cranium_front_left"),
        (125, "hand_palm_right"),
        (201, "cranium_back_left"),
        (202, "cranium_back_right"),
        (226, "wrist_back_right"),
        (237, "foot_sole_left"),
        (238, "foot_sole_right"),
    ],
)
def test_laterality_spot_checks_follow_the_atlas(code: int, slug: str) -> None:
    atlas = load_atlas()
    assert atlas.resolve(str(code)) == slug  # what the atlas table says
    (h,) = read_choir_wide(table([{"PATIENT_NUM": "P1", "marks": str(code)}]), visit_date=VISIT).histories
    assert h.records[0].regions == (slug,)
    assert atlas.segment_by_slug[slug].side == slug.rsplit("_", 1)[1]


def test_segment_columns_are_the_74_codes_of_the_atlas() -> None:
    columns = segment_columns()
    assert list(columns) == X
    assert {load_atlas().resolve(c[1:]) for c in columns} == set(columns.values())
    assert len(set(columns.values())) == 74


# ---- dates, patients and time points -----------------------------------------------------------------


def test_a_date_column_dates_each_row_and_orders_a_patients_time_points() -> None:
    header = ["PATIENT_NUM", "VISIT", *X]
    raw = table(
        [
            {"PATIENT_NUM": "A", "VISIT": "2021-06-01", "marks": "125;126"},
            {"PATIENT_NUM": "B", "VISIT": "2021-02-01", "marks": "201"},
            {"PATIENT_NUM": "A", "VISIT": "2021-01-15", "marks": "125"},
        ],
        header,
    )
    res = read_choir_wide(raw, date_column="VISIT")
    a, b = res.histories
    assert a.patient_id == "A" and b.patient_id == "B"
    assert [r.date for r in a.records] == [dt.date(2021, 1, 15), dt.date(2021, 6, 1)]
    assert a.records[0].regions == ("hand_palm_right",)  # the first time point is the first record
    assert a.records[1].regions == ("hand_palm_right", "thigh_front_right")
    assert all("VISIT" not in r.extra for r in a.records)
    assert res.first_rows == {"A": 2, "B": 3}
    assert res.renamed["VISIT"] == "date"
    assert a.sex is Sex.unknown and a.records[0].pain is None  # no PAT_SEX, no pain column


def test_two_rows_of_a_patient_on_one_date_are_a_warning() -> None:
    header = ["PATIENT_NUM", "date_of_visit", *X]
    raw = table(
        [
            {"PATIENT_NUM": "A", "date_of_visit": "2021-01-15", "marks": "125"},
            {"PATIENT_NUM": "A", "date_of_visit": "2021-01-15", "marks": "126"},
        ],
        header,
    )
    res = read_choir_wide(raw, date_column="date_of_visit")
    assert len(res.histories[0].records) == 2
    (w,) = res.warnings
    assert w.row == 3 and w.field == "date_of_visit" and "row 2" in w.message


def test_an_id_column_names_the_patients() -> None:
    header = ["study_id", *X, "PATIENT_NUM"]
    raw = table([{"study_id": "S-1", "PATIENT_NUM": "7", "marks": "230"}], header)
    (h,) = read_choir_wide(raw, visit_date=VISIT, id_column="study_id").histories
    assert h.patient_id == "S-1" and h.records[0].extra == {"PATIENT_NUM": "7"}


def test_one_visit_date_allows_one_row_per_patient() -> None:
    raw = table([{"PATIENT_NUM": "A", "marks": "125"}, {"PATIENT_NUM": "A", "marks": "126"}])
    ((row, field, message),) = problems_of(raw)
    assert (row, field) == (3, "PATIENT_NUM")
    assert "also on row 2" in message and "date column" in message


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({}, "neither was given"),
        ({"visit_date": VISIT, "date_column": "VISIT"}, "both were given"),
        ({"visit_date": dt.date(1899, 12, 31)}, "before 1900"),
        # a year ahead: the date is taken when the tests are collected, which may be the day before they run
        ({"visit_date": dt.date.today() + dt.timedelta(days=366)}, "in the future"),
    ],
)
def test_the_date_rule_is_checked(kwargs: dict[str, object], fragment: str) -> None:
    raw = table([{"PATIENT_NUM": "A", "marks": "125"}])
    with pytest.raises(HistoryImportError) as info:
        read_choir_wide(raw, name="t.csv", **kwargs)  # type: ignore[arg-type]
    (p,) = info.value.problems
    assert p.row is None and fragment in p.message


def test_a_bad_date_is_named_with_row_and_field() -> None:
    header = ["PATIENT_NUM", "VISIT", *X]
    raw = table(
        [
            {"PATIENT_NUM": "A", "VISIT": "2021-01-15", "marks": "125"},
            {"PATIENT_NUM": "B", "VISIT": "15/01/2021", "marks": "125"},
            {"PATIENT_NUM": "C", "VISIT": "", "marks": "125"},
            {"PATIENT_NUM": "D", "VISIT": "2021-02-30", "marks": "125"},
        ],
        header,
    )
    found = problems_of(raw, visit_date=None, date_column="VISIT")
    assert [(r, f) for r, f, _ in found] == [(3, "VISIT"), (4, "VISIT"), (5, "VISIT")]
    assert "'15/01/2021'" in found[0][2] and "YYYY-MM-DD" in found[0][2]
    assert "missing date" in found[1][2] and "no such day" in found[2][2]


def test_a_date_column_that_is_not_there_is_named() -> None:
    ((row, _, message),) = problems_of(table([{"PATIENT_NUM": "A"}]), visit_date=None, date_column="VISIT")
    assert row == 1 and "no date column 'VISIT'" in message
    assert "columns besides the segments: 'PATIENT_NUM', 'PAIN_INTENSITY_AVERAGE', 'PAT_SEX'" in message
    assert "X101" not in message


# ---- segment cells -----------------------------------------------------------------------------------


def test_a_cell_that_is_not_a_mark_is_named_with_row_field_and_what_is_allowed() -> None:
    long = "x" * 300
    raw = table(
        [
            {"PATIENT_NUM": "A", "marks": "125"},
            {"PATIENT_NUM": "B", "marks": "125", "X230": "2"},
            {"PATIENT_NUM": "C", "marks": "125", "X101": long, "X238": "yes"},
        ]
    )
    found = problems_of(raw)
    assert [(r, f) for r, f, _ in found] == [(3, "X230"), (4, "X101"), (4, "X238")]
    assert found[0][2] == "'2' is not a body-map mark; expected 1 (marked), 0 (not marked) or empty"
    assert "…" in found[1][2] and long not in found[1][2]  # the value shortened


def test_empty_and_na_cells_are_not_marked() -> None:
    raw = table([{"PATIENT_NUM": "A", "marks": "125", "X126": "", "X230": "NA", "X231": " 1 "}])
    (h,) = read_choir_wide(raw, visit_date=VISIT).histories
    assert h.records[0].regions == ("hand_palm_right", load_atlas().resolve("231"))


def test_a_row_without_a_marked_segment_is_kept_with_a_warning() -> None:
    raw = table(
        [
            {"PATIENT_NUM": "A", "marks": "125"},
            {"PATIENT_NUM": "B", "marks": ""},
            {"PATIENT_NUM": "C", **dict.fromkeys(X, "")},
        ]
    )
    res = read_choir_wide(raw, visit_date=VISIT, name="t.csv")
    assert [h.records[0].regions for h in res.histories] == [("hand_palm_right",), (), ()]
    assert all(h.records[0].kind is RecordKind.assessment for h in res.histories)
    assert [(w.file, w.row) for w in res.warnings] == [("t.csv", 3), ("t.csv", 4)]
    assert "no segment marked" in res.warnings[0].message
    assert "every segment cell is empty" in res.warnings[1].message
    assert read_csv_text(write_csv_text(res.histories)) == res.histories


def test_missing_segment_columns_are_all_named() -> None:
    header = ["PATIENT_NUM", *[x for x in X if x not in ("X125", "X230")]]
    ((row, _, message),) = problems_of(table([{"PATIENT_NUM": "A"}], header))
    assert row == 1 and "missing 2 of the 74" in message and "X125, X230" in message


def test_a_column_named_like_a_segment_that_is_none_is_an_error() -> None:
    header = ["PATIENT_NUM", *X, "X137"]
    ((row, field, message),) = problems_of(table([{"PATIENT_NUM": "A"}], header))
    assert (row, field) == (1, "X137") and "not a CHOIR segment code" in message


# ---- patients and values -----------------------------------------------------------------------------


def test_a_missing_patient_num_is_named() -> None:
    raw = table([{"PATIENT_NUM": "A", "marks": "125"}, {"PATIENT_NUM": " ", "marks": "125"}])
    assert problems_of(raw) == [(3, "PATIENT_NUM", "missing PATIENT_NUM (every row names its patient)")]
    raw = table([{"PATIENT_NUM": "NA", "marks": "125"}, {"PATIENT_NUM": "x" * 65, "marks": "125"}])
    assert problems_of(raw) == [
        (2, "PATIENT_NUM", "missing PATIENT_NUM ('NA') (every row names its patient)"),
        (3, "PATIENT_NUM", f"'{'x' * 39}…' is longer than 64 characters"),
    ]


def test_no_patient_column_is_an_error() -> None:
    ((row, _, message),) = problems_of(table([{"marks": "125"}], X))
    assert row == 1 and "no patient id column 'PATIENT_NUM'" in message
    any_case = table([{"Patient_Num ": "A", "marks": "125"}], ["Patient_Num ", *X])
    assert read_choir_wide(any_case, visit_date=VISIT).histories[0].patient_id == "A"
    ((_, _, message),) = problems_of(table([{"PATIENTNUM": "A"}], ["PATIENTNUM", *X]))
    assert "did you mean 'PATIENTNUM'?" in message


@pytest.mark.parametrize(
    ("cells", "field", "fragment"),
    [
        ({"PAIN_INTENSITY_AVERAGE": "11"}, "PAIN_INTENSITY_AVERAGE", "from 0 to 10"),
        ({"PAIN_INTENSITY_AVERAGE": "severe"}, "PAIN_INTENSITY_AVERAGE", "'severe' is not a number"),
        ({"PAT_SEX": "hermaphrodite"}, "PAT_SEX", "expected female, male, other, unknown"),
    ],
)
def test_bad_values_are_named(cells: dict[str, str], field: str, fragment: str) -> None:
    raw = table([{"PATIENT_NUM": "A", "marks": "125", **cells}])
    ((row, f, message),) = problems_of(raw)
    assert (row, f) == (2, field) and fragment in message


@pytest.mark.parametrize(
    ("cell", "sex"),
    [
        ("female", Sex.female),
        ("Male", Sex.male),
        ("F", Sex.female),
        ("", Sex.unknown),
        ("NA", Sex.unknown),
        ("unknown", Sex.unknown),
        ("other", Sex.other),
    ],
)
def test_sex_values(cell: str, sex: Sex) -> None:
    raw = table([{"PATIENT_NUM": "A", "marks": "125", "PAT_SEX": cell, "PAIN_INTENSITY_AVERAGE": "NA"}])
    (h,) = read_choir_wide(raw, visit_date=VISIT).histories
    assert h.sex is sex and h.records[0].pain is None


def test_a_patients_sex_is_the_same_on_every_row() -> None:
    header = ["PATIENT_NUM", "VISIT", "PAT_SEX", *X]
    raw = table(
        [
            {"PATIENT_NUM": "A", "VISIT": "2021-01-15", "PAT_SEX": "female", "marks": "125"},
            {"PATIENT_NUM": "A", "VISIT": "2021-03-15", "PAT_SEX": "male", "marks": "125"},
        ],
        header,
    )
    ((row, field, message),) = problems_of(raw, visit_date=None, date_column="VISIT")
    assert (row, field) == (3, "PAT_SEX") and "row 2" in message


# ---- the file ----------------------------------------------------------------------------------------


def test_a_semicolon_table_is_read() -> None:
    raw = table([{"PATIENT_NUM": "A", "marks": "125", "NOTE": "a, b"}], delimiter=";")
    res = read_choir_wide(raw, visit_date=VISIT)
    assert res.delimiter == ";" and res.histories[0].records[0].extra == {"NOTE": "a, b"}


def test_a_row_with_the_wrong_number_of_fields_is_named() -> None:
    raw = table([{"PATIENT_NUM": "A", "marks": "125"}]) + b"B,1,0\n"
    ((row, _, message),) = problems_of(raw)
    assert row == 3 and "3 fields; the header has 78" in message


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        (["", "PATIENT_NUM", *X], "column A has no name"),
        (["PATIENT_NUM", *X, "date"], "crpsmap's date column"),
        (["PATIENT_NUM", *X, "X101"], "duplicate column 'X101'"),
        (["PATIENT_NUM", *X, "x101"], "duplicate column 'x101'"),
        (["PATIENT_NUM", *X, "", "note", ""], "column BZ has no name"),
    ],
)
def test_header_problems(header: list[str], fragment: str) -> None:
    found = problems_of(table([{"PATIENT_NUM": "A", "marks": "125"}], header))
    assert any(row == 1 and fragment in message for row, _, message in found), found


def test_a_file_that_is_not_text_is_refused() -> None:
    ((row, _, message),) = problems_of(b"PK\x03\x04" + bytes(100))
    assert row is None and "Excel workbook" in message


def test_many_problems_are_listed_in_row_order_up_to_the_limit() -> None:
    raw = table([{"PATIENT_NUM": f"P{i}", "marks": "125", "X238": "2", "X101": "?"} for i in range(40)])
    with pytest.raises(HistoryImportError) as info:
        read_choir_wide(raw, name="t.csv", visit_date=VISIT)
    problems = info.value.problems
    assert len(problems) == 50 and info.value.truncated
    assert [(p.row, p.field) for p in problems[:4]] == [(2, "X101"), (2, "X238"), (3, "X101"), (3, "X238")]
    assert "stopped after 50 problems" in str(info.value)


def test_a_cp1252_table_is_read_and_said() -> None:
    raw = table([{"PATIENT_NUM": "A", "marks": "125", "NOTE": "café"}]).decode().encode("cp1252")
    res = read_choir_wide(raw, visit_date=VISIT)
    assert res.encoding == "cp1252" and res.histories[0].records[0].extra == {"NOTE": "café"}
