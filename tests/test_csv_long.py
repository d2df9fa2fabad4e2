"""The CSV long format: exact round trips, and atomic imports whose errors name file, row and field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crpsmap.data import example_cohort_path
from crpsmap.data.synthetic import random_histories
from crpsmap.history import PatientHistory, Record, RecordKind
from crpsmap.io import HistoryImportError, read_csv, read_csv_text, write_csv, write_csv_text
from crpsmap.io.problems import MAX_PROBLEMS

HEADER = "patient_id,date,kind,regions,sex,birth_year\n"


def problems_of(text: str, name: str = "in.csv") -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(HistoryImportError) as exc:
        read_csv_text(text, name=name)
    assert all(p.file == name for p in exc.value.problems)
    return [(p.row, p.field, p.message) for p in exc.value.problems]


def test_design_example_reads(tmp_path: Path) -> None:
    text = (
        HEADER
        + "P001,2021-03-02,onset,hand_palm_right;hand_top_right,female,1975\n"
        + "P001,2021-09-14,assessment,125;230;wrist_front_right,female,1975\n"
        + "P001,2022-01-10,trauma,ankle_front_left,female,1975\n"
    )
    (h,) = read_csv_text(text)
    assert h.patient_id == "P001" and h.birth_year == 1975 and h.sex == "female"
    assert h.records[1].regions == ("hand_palm_right", "hand_top_right", "wrist_front_right")
    assert [r.kind for r in h.records] == [RecordKind.onset, RecordKind.assessment, RecordKind.trauma]


def test_round_trip_is_exact(tmp_path: Path) -> None:
    hs = random_histories(200, seed=5, validate=True)
    p = tmp_path / "c.csv"
    write_csv(hs, p)
    back = read_csv(p)
    assert back == hs
    p2 = tmp_path / "c2.csv"
    write_csv(back, p2)
    assert p2.read_bytes() == p.read_bytes()


def test_bundled_example_round_trips_byte_for_byte(tmp_path: Path) -> None:
    hs = read_csv(example_cohort_path())
    assert len(hs) >= 50 and all(h.patient_id.startswith("SYN") for h in hs)
    assert all(r.extra == {"dataset": "synthetic-demo"} for h in hs for r in h.records)
    assert write_csv_text(hs) == example_cohort_path().read_text()


values = st.fixed_dictionaries(
    {},
    optional={
        "pain": st.floats(0, 10, allow_nan=False),
        "css": st.integers(0, 17),
        "hrv_rmssd": st.floats(0.5, 500, allow_nan=False),
        "crp": st.floats(0, 1000, allow_nan=False),
        "treatment": st.text(
            st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20
        ).filter(lambda s: s.strip() == s),
        "budapest_signs": st.integers(0, 4),
    },
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 4000),
            st.sampled_from(["assessment", "trauma", "treatment_start", "infection"]),
            st.lists(
                st.sampled_from(["hand_palm_right", "foot_left", "visceral_bladder", "chest_left"]),
                max_size=3,
                unique=True,
            ),
            values,
            st.dictionaries(
                st.sampled_from(["site", "note"]),
                st.text('ab,"\n x', min_size=1, max_size=5).filter(lambda s: s.strip() == s),
                max_size=2,
            ),
        ),
        max_size=6,
    ),
    st.sampled_from(["female", "male", "unknown"]),
)
def test_round_trip_property(rows: list, sex: str) -> None:  # type: ignore[type-arg]
    recs = [Record(date=dt.date(2012, 1, 1), kind=RecordKind.onset, regions=("hand_palm_right",))]
    for day, kind, regs, vals, extra in rows:
        recs.append(
            Record(
                date=dt.date(2012, 1, 1) + dt.timedelta(days=day),
                kind=kind,
                regions=tuple(regs),
                extra=extra,
                **vals,
            )
        )
    h = PatientHistory(patient_id="X,1", sex=sex, birth_year=1960, records=tuple(recs))  # type: ignore[arg-type]
    assert read_csv_text(write_csv_text([h])) == [h]


def test_every_problem_named_with_row_and_field_and_nothing_returned() -> None:
    text = (
        "patient_id,date,kind,regions,sex,birth_year,pain\n"
        ",2021-02-01,onset,125,female,1980,\n"  # row 2: missing id
        "P1,2021-02-30,onset,125,female,1980,\n"  # row 3: impossible date
        "P1,2021-03-01,onsett,125,female,1980,\n"  # row 4: unknown kind
        "P1,2021-03-01,assessment,hand_middle_right,female,1980,\n"  # row 5: unknown region
        "P1,1979-12-31,assessment,125,female,1980,\n"  # row 6: before birth year
        "P1,2099-01-01,assessment,125,female,1980,\n"  # row 7: future
        "P1,2021-04-01,assessment,125,male,1980,\n"  # row 8: conflicting sex
        "P1,2021-05-01,assessment,125,female,1980,11\n"  # row 9: pain out of range
        "P2,2021-05-01,onset,,female,1980,\n"  # row 10: onset without regions
        "P3,21/05/2021,onset,125,female,1980,\n"  # row 11: not ISO
        "P4,2021-05-01,onset,125,female,2999,\n"  # row 12: birth year in the future
    )
    got = problems_of(text)
    assert [(r, f) for r, f, _ in got] == [
        (2, "patient_id"),
        (3, "date"),
        (4, "kind"),
        (5, "regions"),
        (6, "date"),
        (7, "date"),
        (8, "sex"),
        (9, "pain"),
        (10, "regions"),
        (11, "date"),
        (12, "birth_year"),
    ]
    assert "hand_middle_right" in got[3][2]
    assert "onset record must name" in got[8][2]


def test_problems_are_bounded() -> None:
    text = HEADER + "".join(f"P{i},2021-01-01,nope,125,female,1980\n" for i in range(200))
    with pytest.raises(HistoryImportError) as exc:
        read_csv_text(text)
    assert len(exc.value.problems) == MAX_PROBLEMS and exc.value.truncated
    assert "stopped after" in str(exc.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not a text CSV file: it looks like a PNG image"),
        (b"\xff\xfe\xfa garbage", "not valid UTF-16 text"),
        (b"PK\x03\x04\x14\x00\x06\x00", "looks like an Excel workbook"),
        (b"caf\xc3\xa9,\xe9\n", "not valid UTF-8 text: byte 0xe9 on line 1"),
        (b"name;age\nx;1\n", "missing column"),
        (b"patient_id,date,kind,regions\nP1,2020-01-01,onset\n", "has 3 fields"),
        (b'patient_id,date,kind,regions\nP1,2020-01-01,onset,"125\n', "malformed CSV"),
        (b"patient_id,date,kind,regions\nP1,2020-01-01,trauma,125\n", "no onset or assessment"),
    ],
)
def test_files_that_are_not_usable(tmp_path: Path, content: bytes, message: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    with pytest.raises(HistoryImportError, match=message) as exc:
        read_csv(p)
    assert str(p) in str(exc.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HistoryImportError, match="cannot read file"):
        read_csv(tmp_path / "nope.csv")


def test_extra_columns_and_aliases_are_kept() -> None:
    (h,) = read_csv_text(
        "patient_id,date,kind,regions,sex,site,hrv_rmssd\nP1,2020-01-01,onset,F25,F,Leiden,31.5\nP1,2020-02-01,assessment,b30,f,,\n"
    )
    assert h.sex == "female"
    assert h.records[0].extra == {"site": "Leiden"} and h.records[0].hrv_rmssd == 31.5
    assert h.records[1].regions == ("hand_top_right",)


def test_dates_before_1900_and_late_nul_bytes_are_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest as _pytest

    from crpsmap.io import HistoryImportError
    from crpsmap.io.csv_long import read_csv_bytes

    old = b"patient_id,date,kind,regions\nP1,1899-12-31,onset,hand_right\n"
    with _pytest.raises(HistoryImportError) as exc:
        read_csv_bytes(old, name="old.csv")
    assert [(p.row, p.field) for p in exc.value.problems] == [(2, "date")]
    late_nul = b"patient_id,date,kind,regions,note\n" + b"P1,2020-01-01,onset,hand_right,x\n" * 5000
    late_nul += b"P1,2020-02-01,assessment,hand_right,\x00\n"
    assert len(late_nul) > 65536
    with _pytest.raises(HistoryImportError, match="binary"):
        read_csv_bytes(late_nul, name="nul.csv")
