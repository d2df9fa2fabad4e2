"""CSV files as spreadsheets write them: encodings, byte-order marks, delimiters, header spellings and
aliases, line ends, quoted line breaks; and what `read_csv_result` says it assumed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from crpsmap.data import example_cohort_path
from crpsmap.data.synthetic import random_histories
from crpsmap.history import PatientHistory, Provenance, RecordKind, Sex
from crpsmap.io import CsvRead, HistoryImportError, read_csv, read_csv_result, read_csv_text, write_csv_text
from crpsmap.io.columns import ALIASES, KNOWN_COLUMNS, name_key
from crpsmap.io.csv_long import csv_header, history_rows

TEXT = (
    "patient_id,date,kind,regions,sex,birth_year,note\n"
    "P1,2021-03-02,onset,hand_palm_right;hand_top_right,female,1975,Zoledronsäure – €5\n"
    "P1,2021-09-14,assessment,125;230,female,1975,\n"
)


def expected() -> list[PatientHistory]:
    return read_csv_text(TEXT)


def problems(raw: bytes) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(HistoryImportError) as exc:
        read_csv_result(raw, name="in.csv")
    return [(p.row, p.field, p.message) for p in exc.value.problems]


@pytest.mark.parametrize(
    ("encode", "encoding"),
    [
        (lambda t: t.encode("utf-8"), "utf-8"),
        (lambda t: t.encode("utf-8-sig"), "utf-8-sig"),
        (lambda t: t.encode("utf-16"), "utf-16"),  # with a byte-order mark (Excel's "Unicode text")
        (lambda t: b"\xfe\xff" + t.encode("utf-16-be"), "utf-16"),
        (lambda t: t.encode("utf-16-le"), "utf-16-le"),  # without one: recognised by its zero bytes
        (lambda t: t.encode("utf-32"), "utf-32"),
        (lambda t: t.encode("cp1252"), "cp1252"),  # Excel on Windows, "CSV (comma delimited)"
    ],
)
def test_encodings_are_detected_and_named(encode, encoding: str) -> None:  # type: ignore[no-untyped-def]
    result = read_csv_result(encode(TEXT), name="in.csv")
    assert isinstance(result, CsvRead)
    assert result.encoding == encoding and result.delimiter == ","
    assert result.histories == expected()
    assert result.histories[0].records[0].extra == {"note": "Zoledronsäure – €5"}


def test_latin1_bytes_that_cp1252_does_not_define() -> None:
    raw = TEXT.replace("Zoledronsäure – €5", "x\x81y").encode("latin-1")
    result = read_csv_result(raw, name="in.csv")
    assert result.encoding == "latin-1" and result.histories[0].records[0].extra == {"note": "x\x81y"}


def test_utf8_with_a_broken_byte_is_an_error_not_a_guess() -> None:
    raw = TEXT.encode("utf-8").replace(b"2021-09-14,assessment", b"2021-09-14,assessment\xe9", 1)
    ((row, field, message),) = problems(raw)
    assert row is None and field is None
    assert message.startswith("not valid UTF-8 text: byte 0xe9 on line 3")


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\r"])
def test_delimiters_and_line_ends(delimiter: str, line_end: str) -> None:
    text = TEXT.replace(",", delimiter).replace("\n", line_end)
    if delimiter == ";":  # regions with ; must then be quoted, as spreadsheets do
        text = text.replace("hand_palm_right;hand_top_right", '"hand_palm_right;hand_top_right"')
        text = text.replace("125;230", '"125;230"')
    result = read_csv_result(text.encode(), name="in.csv")
    assert result.delimiter == delimiter
    assert result.histories == expected()


def test_the_delimiter_comes_from_the_header_not_the_data() -> None:
    # semicolons inside the regions do not make a comma file a semicolon file
    raw = b"patient_id,date,kind,regions\nP1,2021-01-01,onset,hand_right;foot_left;125\n"
    assert read_csv_result(raw, name="in.csv").delimiter == ","
    raw = b"patient_id;date;kind;regions;note\nP1;2021-01-01;onset;hand_right;a,b\n"
    result = read_csv_result(raw, name="in.csv")
    assert result.delimiter == ";" and result.histories[0].records[0].extra == {"note": "a,b"}


@pytest.mark.parametrize(
    "header",
    [
        "patient_id,date,kind,regions,sex,birth_year,note",
        "Patient ID,Date,Kind,Regions,Sex,Birth Year,note",
        " PATIENT_ID ,DATE , KIND,REGIONS,SEX,BIRTH-YEAR,note",
        "patient,visit_date,type,areas,gender,yob,note",
        "PatientID,Visit Date,Record Kind,Body Regions,Gender,Year of Birth,note",
        "id,date,record_type,region,sex,year_of_birth,note",
    ],
)
def test_header_names_in_any_case_spacing_or_alias(header: str) -> None:
    text = header + "\n" + TEXT.split("\n", 1)[1]
    result = read_csv_result(text.encode(), name="in.csv")
    assert result.histories == expected()
    assert all(result.renamed[name] == col for name, col in result.renamed.items())
    assert set(result.renamed.values()) <= set(KNOWN_COLUMNS)


def test_alias_table_names_known_columns_only_and_does_not_shadow_them() -> None:
    assert set(ALIASES.values()) <= set(KNOWN_COLUMNS)
    assert not {name_key(a) for a in ALIASES} & {name_key(c) for c in KNOWN_COLUMNS}


def test_a_column_named_exactly_wins_over_an_alias_which_stays_an_extra_column() -> None:
    raw = b"patient_id,id,date,kind,type,regions\nP1,row-1,2021-01-01,onset,first,hand_right\n"
    (h,) = read_csv_result(raw, name="in.csv").histories
    assert h.patient_id == "P1" and h.records[0].extra == {"id": "row-1", "type": "first"}
    assert write_csv_text(
        [h]
    ).encode() == b"patient_id,date,kind,regions,sex,birth_year,crps_type,id,type\n" + (
        b"P1,2021-01-01,onset,hand_right,unknown,,unknown,row-1,first\n"
    )


def test_two_aliases_of_one_column_are_an_error_naming_both() -> None:
    ((row, field, message),) = problems(b"patient_id,date,kind,regions,gender,Geschlecht,Gender\nP1\n")
    assert row == 1 and field is None
    assert "'gender' (column E) and 'Gender' (column G) both give sex" in message


def test_a_duplicated_header_name_is_an_error() -> None:
    ((row, _, message),) = problems(b"patient_id,date,kind,regions,note,note\nP1,2021-01-01,onset,125,a,b\n")
    assert row == 1 and "duplicate column 'note' (columns E and F)" in message


def test_a_missing_column_is_named_with_a_did_you_mean() -> None:
    ((row, _, message),) = problems(b"patiend_id,date,kind,regions\nP1,2021-01-01,onset,125\n")
    assert row == 1
    assert "missing column(s) patient_id (did you mean 'patiend_id'?)" in message
    assert "required: patient_id, date, kind, regions" in message


def test_a_near_miss_of_an_optional_column_is_kept_and_warned_of() -> None:
    result = read_csv_result(
        b"patient_id,date,kind,regions,Paine\nP1,2021-01-01,onset,125,3\n", name="in.csv"
    )
    assert (
        result.histories[0].records[0].extra == {"Paine": "3"} and result.histories[0].records[0].pain is None
    )
    assert [(w.row, w.message) for w in result.warnings] == [
        (1, "column 'Paine' is kept as an extra column; did you mean pain?")
    ]


def test_rows_are_numbered_as_a_spreadsheet_numbers_them() -> None:
    raw = (
        b"patient_id,date,kind,regions,note\r\n"
        b'P1,2021-01-01,onset,125,"three\r\nline\nnote"\r\n'
        b"\r\n"  # an empty row (skipped, but it is row 3)
        b'P1,2021-02-01,assessment,125,"x"\r\n'
        b"P1,2021-02-30,assessment,125,\r\n"
    )
    assert problems(raw) == [(5, "date", "'2021-02-30' is not a real calendar date (there is no such day)")]
    assert read_csv_result(raw.replace(b"02-30", b"02-28"), name="in.csv").first_rows == {"P1": 2}


def test_blank_rows_and_rows_of_empty_cells_are_skipped() -> None:
    raw = b"patient_id,date,kind,regions\n\n,,,\n  , ,,\nP1,2021-01-01,onset,125\n\n"
    (h,) = read_csv_result(raw, name="in.csv").histories
    assert len(h.records) == 1


def test_a_midnight_time_after_a_date_is_accepted_other_times_are_not() -> None:
    raw = (
        b"patient_id,date,kind,regions\n"
        b"P1,2021-01-01 00:00:00,onset,125\n"
        b"P1,2021-01-02T00:00,assessment,125\n"
    )
    (h,) = read_csv_result(raw, name="in.csv").histories
    assert [r.date for r in h.records] == [dt.date(2021, 1, 1), dt.date(2021, 1, 2)]
    ((row, field, message),) = problems(raw.replace(b"T00:00", b" 13:45"))
    assert (row, field) == (3, "date") and "has a time of day" in message


def test_kinds_sex_and_types_in_everyday_spellings() -> None:
    raw = (
        b"patient_id,date,kind,regions,sex,crps_type\n"
        b"P1,2021-01-01,Onset,125,W,ii\n"
        b"P1,2021-02-01,Treatment Start,125,F,II\n"
        b"P1,2021-03-01,treatment-end,125,female,II\n"
    )
    (h,) = read_csv_result(raw, name="in.csv").histories
    assert [r.kind for r in h.records] == [
        RecordKind.onset,
        RecordKind.treatment_start,
        RecordKind.treatment_end,
    ]
    assert h.sex is Sex.female


def test_provenance_column_is_read_per_patient_and_written_only_when_needed(tmp_path: Path) -> None:
    raw = (
        b"patient_id,date,kind,regions,provenance\n"
        b"V1,2021-01-01,onset,125,Model\n"
        b"V1,2021-02-01,assessment,125,model\n"
        b"C1,2021-01-01,onset,125,\n"
    )
    v1, c1 = read_csv_result(raw, name="in.csv").histories
    assert v1.provenance is Provenance.model and c1.provenance is Provenance.clinic
    text = write_csv_text([v1, c1])
    assert text.split("\n")[0] == "patient_id,date,kind,regions,sex,birth_year,crps_type,provenance"
    assert read_csv_text(text) == [v1, c1]
    assert "provenance" not in write_csv_text([c1])  # clinic data: the file is as it always was
    different = raw.replace(b"assessment,125,model", b"assessment,125,synthetic")
    assert problems(different) == [
        (
            3,
            "provenance",
            "'synthetic' differs from 'model' given for patient 'V1' on row 2; "
            "provenance must be the same on every row of a patient",
        )
    ]
    assert "did you mean model?" in problems(raw.replace(b"Model", b"modell"))[0][2]


def test_clinic_files_round_trip_byte_for_byte(tmp_path: Path) -> None:
    raw = example_cohort_path().read_bytes()
    assert write_csv_text(read_csv(example_cohort_path())).encode() == raw
    synthetic = random_histories(30, seed=2, validate=True)
    text = write_csv_text(synthetic)
    assert "provenance" in text.split("\n")[0] and write_csv_text(read_csv_text(text)) == text


def test_streaming_writer_can_add_the_provenance_column() -> None:
    (h,) = random_histories(1, seed=4)
    header = csv_header(["hrv_rmssd"], provenance=True)
    rows = list(history_rows(h, ["hrv_rmssd"], provenance=True))
    assert header[7] == "provenance" and {r[7] for r in rows} == {"synthetic"}
    assert csv_header(["hrv_rmssd"]) == [
        "patient_id",
        "date",
        "kind",
        "regions",
        "sex",
        "birth_year",
        "crps_type",
        "hrv_rmssd",
    ]


def test_an_extra_column_named_like_an_alias_round_trips() -> None:
    (h,) = read_csv_text("patient_id,date,kind,regions,hrv_rmssd,rmssd\nP1,2021-01-01,onset,125,,x\n")
    assert h.records[0].extra == {"rmssd": "x"}  # hrv_rmssd itself is there: its alias is an extra column
    again = write_csv_text([h])  # hrv_rmssd is written (empty) so that rmssd is not read as it
    assert again.split("\n")[0].endswith(",hrv_rmssd,rmssd") and read_csv_text(again) == [h]
    assert (
        read_csv_text("patient_id,date,kind,regions,rmssd\nP1,2021-01-01,onset,125,31\n")[0]
        .records[0]
        .hrv_rmssd
        == 31
    )


def test_read_csv_result_takes_a_path_or_bytes(tmp_path: Path) -> None:
    p = tmp_path / "c.csv"
    p.write_text(TEXT, encoding="utf-8")
    by_path = read_csv_result(p)
    by_bytes = read_csv_result(TEXT.encode(), name="c.csv")
    assert by_path.histories == by_bytes.histories == read_csv(p)
    with pytest.raises(HistoryImportError) as exc:
        read_csv_result(b"patient_id,date,kind,regions\nP1,2021-01-01,onsett,125\n", name="upload.csv")
    assert exc.value.problems[0].file == "upload.csv"
    with pytest.raises(HistoryImportError) as exc:
        read_csv_result(str(tmp_path / "missing.csv"))
    assert exc.value.problems[0].file == str(tmp_path / "missing.csv")
