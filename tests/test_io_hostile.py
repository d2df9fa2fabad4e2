"""Bad, odd and hostile inputs: each is refused with a message that names row, field and value and says
what is allowed, or read with a warning; nothing from the file reaches a terminal unescaped, and nothing
makes the reader wait, read without bound or run out of memory."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crpsmap.io import HistoryImportError, ImportProblem, read_csv, read_csv_result
from crpsmap.io import source as src
from crpsmap.io.problems import visible

HEADER = b"patient_id,date,kind,regions,sex,birth_year,note\n"
GOOD = b"P1,2021-01-01,onset,hand_right,female,1975,\n"


def refused(raw: bytes, **kw: object) -> list[ImportProblem]:
    with pytest.raises(HistoryImportError) as exc:
        read_csv_result(raw, name="in.csv", **kw)  # type: ignore[arg-type]
    for p in exc.value.problems:  # whatever came from the file: printable as it is
        assert str(p).isprintable(), str(p)
    assert all(line.isprintable() for line in str(exc.value).split("\n"))
    return exc.value.problems


def one(raw: bytes) -> tuple[int | None, str | None, str]:
    (p,) = refused(raw)
    return p.row, p.field, p.message


# ---- not a text file ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "what"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00", "an Excel workbook (.xlsx)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "an old Excel workbook (.xls)"),
        (b"%PDF-1.7\n%\xe2\xe3", "a PDF document"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
        (b"\x1f\x8b\x08\x00\x00\x00", "a gzip archive"),
        (b"SQLite format 3\x00\x10\x00", "an SQLite database"),
    ],
)
def test_binary_files_get_one_line_saying_what_they_look_like(
    tmp_path: Path, start: bytes, what: str
) -> None:
    p = tmp_path / "cohort.csv"
    p.write_bytes(start + bytes(range(256)) * 40)
    with pytest.raises(HistoryImportError) as exc:
        read_csv(p)
    (problem,) = exc.value.problems
    assert problem.message.startswith(f"not a text CSV file: it looks like {what}")
    assert "\n" not in problem.message


def test_nul_bytes_anywhere_make_a_file_binary() -> None:
    late = HEADER + GOOD * 3000 + b"P1,2021-02-01,assessment,hand_right,female,1975,a\x00b\n"
    (row, field, message) = one(late)
    assert (row, field) == (
        None,
        None,
    ) and message == "not a text CSV file (binary content: a NUL byte on line 3,002)"
    with_bom = b"\xef\xbb\xbf" + HEADER + GOOD.replace(b"female", b"fe\x00male")
    assert one(with_bom)[2] == "not a text CSV file (binary content: a NUL byte on line 2)"
    utf16 = (HEADER + GOOD).decode().replace("female", "fe\x00male").encode("utf-16")
    assert "binary content: a NUL character" in one(utf16)[2]


def test_text_full_of_control_characters_is_binary() -> None:
    assert "binary content" in one(HEADER + bytes(range(1, 9)) * 400)[2]


# ---- not a regular file, or too large ---------------------------------------------------------------


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HistoryImportError, match=r"not a regular file \(a folder\)"):
        read_csv(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    with pytest.raises(HistoryImportError, match=r"not a regular file \(a named pipe \(FIFO\)\)"):
        read_csv(fifo)
    assert time.monotonic() - t0 < 5


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_device_is_refused_without_reading_it() -> None:
    with pytest.raises(HistoryImportError, match=r"not a regular file \(a device\)"):
        read_csv("/dev/zero")


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with big.open("wb") as fh:  # sparse: no disk space, and reading it would take long
        fh.truncate(src.MAX_FILE_BYTES + 1)
    t0 = time.monotonic()
    with pytest.raises(HistoryImportError, match="the limit is 2,147,483,648"):
        read_csv(big)
    assert time.monotonic() - t0 < 5


def test_bytes_over_the_size_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(src, "MAX_FILE_BYTES", 100)
    assert "the limit is 100" in one(HEADER + GOOD * 3)[2]


def test_a_file_that_grows_while_read_is_read_only_up_to_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = tmp_path / "c.csv"
    p.write_bytes(HEADER + GOOD * 10)
    real_stat = os.stat
    monkeypatch.setattr(src, "MAX_FILE_BYTES", 200)
    # the file looked small when it was looked at, and is larger when read
    monkeypatch.setattr(src.os, "stat", lambda path: real_stat(tmp_path / "small"))
    (tmp_path / "small").write_bytes(b"x")
    with pytest.raises(HistoryImportError, match="the limit is 200"):
        read_csv(p)


def test_one_endless_line_is_refused_quickly() -> None:
    assert "longer than 65,536 characters" in one(b"patient_id," + b"x" * 5_000_000)[2]
    row, _, message = one(HEADER + b'P1,2021-01-01,onset,hand_right,female,1975,"' + b"y" * 300_000 + b'"\n')
    assert row == 2 and message == "malformed CSV: a field is longer than 131,072 characters"


def test_a_long_free_text_field_is_refused_with_its_length() -> None:
    assert one(HEADER + GOOD.replace(b"1975,", b"1975," + b"z" * 10_001)) == (
        2,
        "note",
        "10,001 characters; the limit is 10,000",
    )


def test_too_many_columns() -> None:
    assert (
        "the header has 1,004 columns; the limit is 1,000"
        in one(b"patient_id,date,kind,regions" + b",c" * 1000)[2]
    )


# ---- messages: row, field, value, what is allowed -----------------------------------------------------


def test_control_characters_and_terminal_escapes_are_shown_not_sent() -> None:
    raw = HEADER + GOOD + b"P1,2021-02-01,visit\x1b[2J\x1b[31m,hand_right,female,1975,\n"
    row, field, message = one(raw)
    assert (row, field) == (3, "kind")
    assert "\x1b" not in message and "'visit\\x1b[2J\\x1b[31m'" in message
    assert message.endswith(
        "expected one of onset, assessment, trauma, surgery, infection, treatment_start, treatment_end"
    )


def test_invisible_and_bidi_characters_are_shown_escaped() -> None:
    problems = refused(HEADER + GOOD.replace(b"hand_right", "hand_right\u202e;\u200b".encode()))
    assert [str(p) for p in problems] == [
        "in.csv, row 2, field 'regions': unknown region 'hand_right\\u202e': not a slug, CHOIR code "
        "(101-136, 201-238) or REDCap key (f01-f36, b01-b38); did you mean hand_right or hand_top_right or "
        "hand_palm_right?",
        "in.csv, row 2, field 'regions': unknown region '\\u200b': not a slug, CHOIR code (101-136, 201-238) "
        "or REDCap key (f01-f36, b01-b38)",
    ]


def test_control_characters_in_a_patient_id_are_refused() -> None:
    assert one(HEADER + GOOD.replace(b"P1", b"P\x071")) == (
        2,
        "patient_id",
        "'P\\x071' contains a control character; a patient_id is printable text",
    )


def test_control_characters_in_a_header_name_are_refused() -> None:
    assert one(b"patient_id,date,kind,regions,note\x1b[8m\nP1,2021-01-01,onset,125,x\n") == (
        1,
        None,
        "the name of column E, 'note\\x1b[8m', contains a control character",
    )


def test_the_file_name_is_shown_escaped_too(tmp_path: Path) -> None:
    p = ImportProblem("evil\x1b]0;title\x07.csv", 3, "note\x1b", "bad \x9b value")
    assert str(p) == "evil\\x1b]0;title\\x07.csv, row 3, field 'note\\x1b': bad \\x9b value"
    assert visible("tab\there") == "tab\\x09here" and visible("plain é €") == "plain é €"


def test_rich_markup_in_values_reaches_the_terminal_as_text(tmp_path: Path) -> None:
    p = tmp_path / "markup.csv"
    p.write_bytes(HEADER + GOOD + b"P1,2021-02-01,[red]visit[/red],[bold]hand,female,1975,\x1b[5m\n")
    out = subprocess.run(
        [sys.executable, "-m", "crpsmap", "classify", str(p)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 2
    err = " ".join(out.stderr.split())
    assert "unknown kind '[red]visit[/red]'" in err and "unknown region '[bold]hand'" in err
    assert "\x1b" not in out.stderr.replace("\x1b[1;31m", "").replace("\x1b[0m", "")


def test_long_values_are_shortened_in_messages() -> None:
    _, _, message = one(HEADER + GOOD.replace(b"onset", b"o" * 5000))
    assert "'" + "o" * 39 + "…'" in message and len(message) < 300


@pytest.mark.parametrize(
    ("date", "message"),
    [
        ("2021-W05-2", "'2021-W05-2' is an ISO week date; expected a calendar date written YYYY-MM-DD"),
        ("2021W052", "'2021W052' is an ISO week date"),
        ("2021-032", "'2021-032' is an ordinal (day-of-year) date"),
        ("20210302", "'20210302' is not a date; expected a calendar date written YYYY-MM-DD"),
        ("02/03/2021", "'02/03/2021' is not in year-month-day order"),
        ("2021-02-29", "'2021-02-29' is not a real calendar date"),
        ("2021-13-01", "'2021-13-01' is not a real calendar date"),
        ("1899-12-31", "1899-12-31 is before 1900; dates from 1900-01-01 on are allowed"),
        ("2021-03-02T10:30:00", "has a time of day"),
        ("２０２１-０３-０２", "is not a date"),  # full-width digits
        ("", "missing date"),
    ],
)
def test_only_real_calendar_dates_from_1900_on(date: str, message: str) -> None:
    row, field, got = one(HEADER + GOOD.replace(b"2021-01-01", date.encode()))
    assert (row, field) == (2, "date") and message in got


def test_future_dates_and_dates_before_the_birth_year() -> None:
    today = dt.date(2021, 6, 1)
    raw = (
        HEADER
        + GOOD
        + b"P1,2021-06-02,assessment,hand_right,female,1975,\nP1,1974-12-31,trauma,hand_right,female,1975,\n"
    )
    assert [(p.row, p.field, p.message) for p in refused(raw, today=today)] == [
        (3, "date", "2021-06-02 is in the future (today is 2021-06-01)"),
        (4, "date", "1974-12-31 is before the birth year 1975"),
    ]
    assert one(HEADER + GOOD.replace(b"1975", b"2999"))[2].startswith("2999 is outside 1900-")


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("kind", "onsett", "unknown kind 'onsett' (did you mean onset?); expected one of onset, assessment"),
        ("kind", "asessment", "(did you mean assessment?)"),
        ("sex", "femal", "unknown sex 'femal' (did you mean female?); expected female, male, other, unknown"),
        ("sex", "xx", "unknown sex 'xx'; expected"),
        ("regions", "hand_rigth", "unknown region 'hand_rigth': not a slug"),
        ("regions", "right hand", "did you mean hand_right"),
        ("birth_year", "19x5", "'19x5' is not a year; expected a year from 1900 to"),
    ],
)
def test_did_you_mean_and_what_is_allowed(column: str, value: str, message: str) -> None:
    header = HEADER.decode().strip().split(",")
    cells = GOOD.decode().strip().split(",")
    cells[header.index(column)] = value
    row, field, got = one(HEADER + (",".join(cells) + "\n").encode())
    assert (row, field) == (2, column) and message in got


def test_crps_type_did_you_mean() -> None:
    raw = b"patient_id,date,kind,regions,crps_type\nP1,2021-01-01,onset,125,III\n"
    assert one(raw) == (
        2,
        "crps_type",
        "unknown CRPS type 'III' (did you mean II?); expected I, II or unknown",
    )


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("pain", "11", "'11' is out of range; pain must be a number from 0 to 10"),
        ("pain", "7/10", "'7/10' is not a number; pain must be a number from 0 to 10"),
        ("css", "5.5", "'5.5' is not a whole number; css must be a whole number from 0 to 17"),
        ("hrv_rmssd", "0", "'0' is out of range; hrv_rmssd must be a number above 0 and at most 500 (ms)"),
        ("hrv_rmssd", "nan", "'nan' is out of range"),
        ("crp", "-1", "'-1' is out of range; crp must be a number from 0 to 1000 (mg/L)"),
        ("treatment", "t" * 201, "is 201 characters long; treatment must be text of at most 200 characters"),
    ],
)
def test_values_out_of_range_say_what_is_allowed(column: str, value: str, message: str) -> None:
    raw = f"patient_id,date,kind,regions,{column}\nP1,2021-01-01,onset,125,{value}\n".encode()
    row, field, got = one(raw)
    assert (row, field) == (2, column) and message in got


def test_a_value_in_a_column_without_a_name_is_not_dropped() -> None:
    raw = (
        b"patient_id,date,kind,regions,,note\n"
        b"P1,2021-01-01,onset,125,,a\n"
        b"P1,2021-02-01,assessment,125,lost?,\n"
    )
    assert one(raw) == (
        3,
        None,
        "column E has no name in the header, but this row has 'lost?' in it; "
        "name the column or leave it empty",
    )
    (h,) = read_csv_result(raw.replace(b"lost?", b" "), name="in.csv").histories  # (spaces are nothing)
    assert [r.extra for r in h.records] == [{"note": "a"}, {}]


def test_malformed_quoting_names_the_row() -> None:
    assert one(HEADER + GOOD + b'P1,2021-02-01,"assessment"x,125,female,1975,\n') == (
        3,
        None,
        "malformed CSV: ',' expected after '\"' (a quote inside a quoted field must be doubled: \"\")",
    )
    assert one(HEADER + GOOD + b'P1,2021-02-01,assessment,125,female,1975,"open\n') == (
        3,
        None,
        'malformed CSV: a quoted field is not closed (a closing " is missing)',
    )


# ---- warnings: the file is read, a person should look ----------------------------------------------


def test_duplicate_rows_are_warnings_with_row_numbers() -> None:
    raw = (
        HEADER
        + GOOD
        + b"P1,2021-02-01,trauma,hand_right,female,1975,x\n" * 3
        + b"P1,2021-02-01,trauma,hand_right,female,1975,y\n"
    )
    result = read_csv_result(raw, name="in.csv")
    assert len(result.histories[0].records) == 5  # nothing is dropped
    assert [(w.row, w.message) for w in result.warnings] == [
        (4, "the same record as row 3 (patient 'P1': same date, kind, regions and values); both are kept"),
        (5, "the same record as row 3 (patient 'P1': same date, kind, regions and values); both are kept"),
    ]


def test_an_assessment_before_the_onset_is_a_warning() -> None:
    raw = (
        HEADER
        + b"P1,2020-12-01,assessment,hand_right,female,1975,\n"
        + GOOD
        + b"P1,2020-11-01,trauma,hand_right,female,1975,\n"
    )
    result = read_csv_result(raw, name="in.csv")
    assert [(w.row, w.field, w.message) for w in result.warnings] == [
        (2, "date", "an assessment dated 2020-12-01, before the onset on 2021-01-01 (row 3) of patient 'P1'")
    ]


def test_warnings_are_bounded() -> None:
    raw = HEADER + GOOD * 80
    result = read_csv_result(raw, name="in.csv")
    assert (
        len(result.warnings) == 51 and result.warnings[-1].message == "... and 29 more warning(s) not listed"
    )


def test_an_empty_or_blank_file_and_a_header_only_file() -> None:
    assert one(b"") == (None, None, "empty file: a header row is required")
    assert one(b" \r\n\n") == (None, None, "empty file: a header row is required")
    assert one(b"\xef\xbb\xbf\n") == (None, None, "empty file: a header row is required")
    assert read_csv_result(HEADER, name="in.csv").histories == []


def test_did_you_mean_is_worked_out_for_a_bounded_number_of_unknown_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file of many made-up region names fails fast: suggestions stop after MAX_SUGGESTED_NAMES."""
    from crpsmap.atlas.loader import Atlas
    from crpsmap.io.fields import MAX_SUGGESTED_NAMES

    calls = []
    original = Atlas.suggest

    def counting(self: Atlas, name: str, n: int = 3) -> list[str]:
        calls.append(name)
        return original(self, name, n)

    monkeypatch.setattr(Atlas, "suggest", counting)
    rows = ["patient_id,date,kind,regions", "P0,2020-01-01,onset,hnad_right"]
    rows += [f"P{i},2020-01-01,onset,zz{i}q" for i in range(1, 3 * MAX_SUGGESTED_NAMES)]
    with pytest.raises(HistoryImportError) as exc:
        read_csv_result(("\n".join(rows) + "\n").encode(), name="many.csv")
    assert 0 < len(calls) <= MAX_SUGGESTED_NAMES
    assert "did you mean hand_right" in str(exc.value.problems[0])
