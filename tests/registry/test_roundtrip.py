"""A file that crpsmap wrote comes back byte-identical after a registry import then export.

Three files (the bundled example cohort, a virtual clinic of the simulator, a hand-built file of the hard
cases) and random histories (hypothesis); the import is all or nothing and names the importing user.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, models
from hypothesis import given, settings
from hypothesis import strategies as st

from crpsmap.data import example_cohort_path
from crpsmap.history import PatientHistory, Record, RecordKind
from crpsmap.io import HistoryImportError, read_csv_result
from crpsmap.io.csv_long import read_csv_bytes, write_csv_text
from crpsmap.model import Sim
from crpsmap.registry.histories import import_histories, load_histories
from crpsmap.registry.models import AuditEvent, ClinicalEvent, Patient, Treatment, Visit
from crpsmap.registry.transfer import export_file, import_file

pytestmark = pytest.mark.django_db

#: the hard cases, as write_csv writes them (checked below): see the test names for what each row is for
HAND_BUILT = """\
patient_id,date,kind,regions,sex,birth_year,crps_type,pain,css,budapest_symptoms,budapest_signs,hrv_rmssd,hrv_hf,crp,treatment,zeta,source,alpha
Z-9,2018-03-01,trauma,hand_right,female,1980,I,6.5,,,,,,,,z,"clinic, north","say ""hi"" twice"
Z-9,2018-03-01,onset,hand_palm_right;hand_top_right;visceral_bladder,female,1980,I,,3,,,,,,,,,
Z-9,2018-03-01,treatment_start,hand_right,female,1980,I,,,,,,,,Mirror therapy,,,
Z-9,2018-03-01,treatment_start,hand_right,female,1980,I,,,,,,,,Mirror therapy,,,
Z-9,2018-03-01,assessment,hand_right;forearm_front_right,female,1980,I,0.1,9,3,2,31.5,100000,0.30000000000000004,,,,
Z-9,2018-06-01,treatment_end,hand_right,female,1980,I,,,,,,,,Mirror therapy,,end-1,
Z-9,2018-06-01,surgery,wrist_right,female,1980,I,,,,,,,,,,,
Z-9,2018-06-01,assessment,,female,1980,I,2,,,,,,,,,,
Z-9,2018-06-01,infection,visceral_respiratory,female,1980,I,,,,,,,12.5,,,,
Z-9,2019-01-15,treatment_end,foot_left,female,1980,I,4,,,,,,,Ketamine,,,
Z-9,2019-01-15,treatment_end,hand_right,female,1980,I,,,,,,,,Mirror therapy,e2,,
Z-9,2019-01-15,treatment_start,,female,1980,I,,,,,,,,,,,
Z-9,2019-02-01,assessment,hand_right;foot_left,female,1980,I,,,,,,,,Bisphosphonat (Zoledronsäure),,,
Z-9,2019-02-01,treatment_end,,female,1980,I,,,,,,,,,,,x
Z-9,2019-03-01,treatment_start,hand_left,female,1980,I,7,,,,,,,"Graded motor imagery, phase 1",,,"two
lines"
Z-9,2019-03-01,treatment_end,hand_right,female,1980,I,,,,,,,,"Graded motor imagery, phase 1",,,
A.2,2010-05-05,assessment,chest_left;visceral_gastrointestinal,other,,unknown,,,,,,,1e-05,,,,
A.2,2010-05-05,onset,shoulder_right,other,,unknown,,,,,,,,,,,
A.2,2011-01-01,trauma,face_left,other,,unknown,,4,,1,,,,,,,
A.2,2011-01-01,treatment_start,face_left,other,,unknown,,,,,,,,Ketamine,,,
m_5,1990-07-07,assessment,forearm_front_right;upper_arm_left,male,1901,II,10,17,4,4,500,0,1000,,,,
"""


def canonical(raw: bytes) -> bytes:
    """What write_csv writes for the histories of `raw`."""
    return write_csv_text(read_csv_bytes(raw, name="in.csv")).encode("utf-8")


def example_file() -> bytes:
    """The bundled example cohort: it is write_csv's own output (test_csv_long checks that); should it
    ever not be, write_csv's output of it (only a file that crpsmap wrote comes back byte-identical)."""
    raw = example_cohort_path().read_bytes()
    out = canonical(raw)
    return raw if out == raw else out


def simulated_file() -> bytes:
    text = write_csv_text(Sim(years=5, seed=3).clinic(60).histories)
    header = text.split("\n", 1)[0].split(",")
    kinds = {line.split(",")[2] for line in text.splitlines()[1:]}
    assert {"trauma", "surgery", "infection"} <= kinds and {"source", "dated"} <= set(header)
    return text.encode("utf-8")


def hand_built_file() -> bytes:
    raw = HAND_BUILT.encode("utf-8")
    assert canonical(raw) == raw, "the hand-built file must be what write_csv writes"
    return raw


FILES = {"example": example_file, "simulated": simulated_file, "hand_built": hand_built_file}


def registry_models() -> list[type[models.Model]]:
    base: list[type[models.Model]] = [Patient, Visit, ClinicalEvent, Treatment]
    return [*base, *(m.history.model for m in base), AuditEvent]  # type: ignore[attr-defined]


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in registry_models()}


@pytest.mark.parametrize("which", list(FILES))
def test_import_then_export_is_byte_identical(which: str, tmp_path: Path) -> None:
    data = FILES[which]()
    src = tmp_path / "in.csv"
    src.write_bytes(data)
    n_patients = len(read_csv_bytes(data, name="in.csv"))
    assert import_file(src).patients == n_patients == Patient.objects.count()
    out = tmp_path / "out.csv"
    assert export_file(out) == n_patients
    assert out.read_bytes() == data
    assert write_csv_text(load_histories()).encode("utf-8") == data  # what the web export sends
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]  # no temporary file left


def test_hand_built_rows_land_where_they_belong(tmp_path: Path) -> None:
    src = tmp_path / "hard.csv"
    src.write_bytes(hand_built_file())
    result = import_file(src)
    assert (result.patients, result.visits, result.events, result.treatments) == (3, 7, 4, 7)
    assert list(Patient.objects.values_list("code", flat=True)) == ["Z-9", "A.2", "m_5"]  # file order
    z9 = Patient.objects.get(code="Z-9")
    d = dt.date.fromisoformat
    # two open treatments of one name: each end closes the earliest one still open
    mirror = Treatment.objects.filter(patient=z9, name="Mirror therapy").order_by("start_seq")
    assert [(t.start, t.end) for t in mirror] == [
        (d("2018-03-01"), d("2018-06-01")),
        (d("2018-03-01"), d("2019-01-15")),
    ]
    assert mirror[0].end_extra == [["source", "end-1"]] and mirror[1].end_extra == [["zeta", "e2"]]
    # an end without a start, and an end whose regions differ from the open start, are end-only rows
    ketamine = Treatment.objects.get(patient=z9, name="Ketamine")
    assert (ketamine.start, ketamine.end, ketamine.end_other_values) == (None, d("2019-01-15"), {"pain": 4})
    gmi = Treatment.objects.filter(patient=z9, name="Graded motor imagery, phase 1").order_by("id")
    assert [(t.start, t.end, t.regions) for t in gmi] == [
        (d("2019-03-01"), None, ["hand_left"]),
        (None, d("2019-03-01"), ["hand_right"]),
    ]
    assert gmi[0].other_values == {"pain": 7} and gmi[0].extra == [["alpha", "two\nlines"]]
    unnamed = Treatment.objects.get(patient=z9, name="")
    assert (unnamed.start, unnamed.end, unnamed.regions) == (d("2019-01-15"), d("2019-02-01"), [])
    # record values without a column of their own are kept (pain on a trauma, treatment on a visit)
    trauma = ClinicalEvent.objects.get(patient=z9, kind="trauma")
    assert trauma.other_values == {"pain": 6.5}
    assert trauma.extra == [["zeta", "z"], ["source", "clinic, north"], ["alpha", 'say "hi" twice']]
    visit = Visit.objects.get(patient=z9, date=d("2019-02-01"))
    assert visit.other_values == {"treatment": "Bisphosphonat (Zoledronsäure)"}
    full = Visit.objects.get(patient=z9, kind="assessment", date=d("2018-03-01"))
    assert (full.pain, full.css, full.hrv_hf, full.crp) == (0.1, 9, 100000, 0.30000000000000004)
    empty = Visit.objects.get(patient=z9, date=d("2018-06-01"))
    assert empty.regions == [] and empty.pain == 2
    # same-day records keep their file order (trauma, onset, starts, assessment)
    first_day = [
        (r.kind, r.treatment) for r in load_histories(Patient.objects.filter(code="Z-9"))[0].records[:5]
    ]
    assert first_day == [
        (RecordKind.trauma, None),
        (RecordKind.onset, None),
        (RecordKind.treatment_start, "Mirror therapy"),
        (RecordKind.treatment_start, "Mirror therapy"),
        (RecordKind.assessment, None),
    ]


# ---- random histories ---------------------------------------------------------------------------------

REGIONS = [
    "hand_right",
    "hand_palm_right",
    "foot_left",
    "ankle_front_left",
    "chest_left",
    "face_right",
    "knee_left",
    "visceral_bladder",
    "visceral_cardiovascular",
]
text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), include_characters='\n,"; '),
    min_size=1,
    max_size=12,
)
values = st.fixed_dictionaries(
    {},
    optional={
        "pain": st.floats(0, 10, allow_nan=False),
        "css": st.integers(0, 17),
        "budapest_symptoms": st.integers(0, 4),
        "budapest_signs": st.integers(0, 4),
        "hrv_rmssd": st.floats(0, 500, allow_nan=False, exclude_min=True),
        "hrv_hf": st.floats(0, 100000, allow_nan=False),
        "crp": st.floats(0, 1000, allow_nan=False),
        "treatment": st.sampled_from(["PT", "Ketamine", "Mirror, graded", "Zoledronsäure"]),
    },
)
record_rows = st.tuples(
    st.integers(0, 8).map(lambda k: 97 * k),  # days after the first: few dates, many same-day records
    st.sampled_from(list(RecordKind)),
    st.lists(st.sampled_from(REGIONS), max_size=3, unique=True),
    values,
    st.dictionaries(st.sampled_from(["site", "zz", "note", "a"]), text, max_size=3),
)
CODES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,8}", fullmatch=True)
RUN = itertools.count()


@st.composite
def patient_history(draw: st.DrawFn, code: str) -> PatientHistory:
    start = dt.date(1995, 1, 1) + dt.timedelta(days=draw(st.integers(0, 9000)))
    rows = draw(st.lists(record_rows, min_size=1, max_size=12))
    first_visit = draw(st.sampled_from([RecordKind.onset, RecordKind.assessment]))
    rows[0] = (rows[0][0], first_visit, *rows[0][2:])  # every patient has a visit
    records = []
    for day, kind, regs, vals, extra in rows:
        if kind is RecordKind.onset and not regs:
            regs = ["hand_right"]
        records.append(
            Record(date=start + dt.timedelta(days=day), kind=kind, regions=tuple(regs), extra=extra, **vals)
        )
    birth = draw(st.one_of(st.none(), st.integers(1900, start.year)))
    return PatientHistory(
        patient_id=code,
        sex=draw(st.sampled_from(["female", "male", "other", "unknown"])),
        birth_year=birth,
        crps_type=draw(st.sampled_from(["I", "II", "unknown"])),
        records=tuple(records),
    )


@st.composite
def cohorts(draw: st.DrawFn) -> list[PatientHistory]:
    codes = draw(st.lists(CODES, min_size=1, max_size=3, unique=True))
    return [draw(patient_history(c)) for c in codes]


@settings(max_examples=25, deadline=None)
@given(cohorts())
def test_random_histories_round_trip_through_the_registry(hs: list[PatientHistory]) -> None:
    # rows cannot be deleted (append-only row history), so every example imports under codes of its own
    run = next(RUN)
    hs = [h.model_copy(update={"patient_id": f"{h.patient_id}.r{run}"}) for h in hs]
    data = write_csv_text(hs)
    read = read_csv_bytes(data.encode("utf-8"), name="random.csv")
    assert write_csv_text(read) == data
    import_histories(read)
    codes = [h.patient_id for h in hs]
    back = load_histories(Patient.objects.filter(code__in=codes))
    assert [h.patient_id for h in back] == codes
    assert write_csv_text(back) == data


# ---- all or nothing, and who imported ----------------------------------------------------------------


def bad_copy(row: int, field: str, value: str) -> str:
    """HAND_BUILT, each record on one line, with one field of one spreadsheet row (header = 1) replaced."""
    rows = list(csv.reader(io.StringIO(HAND_BUILT.replace("two\nlines", "two-lines"), newline="")))
    rows[row - 1][rows[0].index(field)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@pytest.mark.parametrize(
    ("row", "field", "value"),
    [
        (2, "date", "2018-02-30"),  # the first row
        (12, "pain", "11"),  # a row in the middle
        (22, "kind", "visit"),  # the last row
        (20, "regions", "tail"),
    ],
)
def test_one_bad_row_anywhere_imports_nothing(tmp_path: Path, row: int, field: str, value: str) -> None:
    src = tmp_path / "bad.csv"
    src.write_text(bad_copy(row, field, value), encoding="utf-8")
    before = counts()
    with pytest.raises(HistoryImportError) as exc:
        import_file(src)
    assert [(p.file, p.row, p.field) for p in exc.value.problems] == [(str(src), row, field)]
    assert counts() == before


def test_a_database_refusal_part_way_rolls_back_every_row() -> None:
    good = read_csv_bytes(HAND_BUILT.encode("utf-8"), name="hard.csv")
    # a record that skipped validation and breaks a database check (pain 0-10) in the last patient
    broken = Record.trusted(dt.date(2020, 1, 1), RecordKind.assessment, ("hand_right",), pain=11.0)
    last = good[-1].model_copy(update={"records": (*good[-1].records, broken)})
    before = counts()
    with pytest.raises(IntegrityError):
        import_histories([*good[:-1], last])
    assert counts() == before


def test_spreadsheet_files_import_and_name_rows_as_the_spreadsheet_does(tmp_path: Path) -> None:
    """UTF-16 with semicolons and cp1252 with tabs and other header names (as spreadsheets save them)
    import like the UTF-8 file; a code already present is named with the row the spreadsheet shows."""
    text = (
        "Patient ID;Visit date;Kind;Regions;Gender\r\n"
        "SP-1;2020-01-01;onset;hand_right;f\r\n"
        "SP-1;2020-03-01;assessment;hand_right;wrist_right;f\r\n"
    )
    utf16 = tmp_path / "sheet.csv"
    utf16.write_bytes(text.replace(";wrist_right", "").encode("utf-16"))
    import_file(utf16)
    assert [h.patient_id for h in load_histories()] == ["SP-1"]
    latin = tmp_path / "sheet-latin.csv"
    latin.write_bytes(
        "patient_id\tdate\tkind\tregions\tnote\r\n"
        "ZZ-1\t2020-01-01\tonset\thand_right\tGr\xfc\xdfe\r\n"
        "SP-1\t2020-01-01\tonset\tfoot_left\t\r\n".encode("cp1252")
    )
    before = counts()
    with pytest.raises(HistoryImportError) as exc:
        import_file(latin)
    assert [(p.row, p.field) for p in exc.value.problems] == [(3, "patient_id")]
    assert counts() == before


def test_a_code_already_in_the_registry_is_refused_with_row_and_field(tmp_path: Path) -> None:
    first = tmp_path / "first.csv"
    first.write_text(HAND_BUILT, encoding="utf-8")
    import_file(first)
    second = tmp_path / "second.csv"
    second.write_text(
        "patient_id,date,kind,regions\n"
        "NEW-1,2020-01-01,onset,hand_right\n"
        "NEW-1,2020-02-01,assessment,hand_right\n"
        "m_5,2020-01-01,assessment,foot_left\n",
        encoding="utf-8",
    )
    before = counts()
    with pytest.raises(HistoryImportError) as exc:
        import_file(second)
    assert [(p.file, p.row, p.field) for p in exc.value.problems] == [(str(second), 4, "patient_id")]
    assert "m_5" in str(exc.value) and "already in the registry" in str(exc.value)
    assert counts() == before
    assert not Patient.objects.filter(code="NEW-1").exists()


@pytest.mark.parametrize("code", ["a/b", "X,1", "-lead", "with space", "x" * 65])
def test_a_code_the_registry_cannot_hold_is_refused(code: str) -> None:
    raw = (
        "patient_id,date,kind,regions\n"
        "OK-1,2020-01-01,onset,hand_right\n"
        f'"{code}",2020-01-01,onset,foot_left\n'
    ).encode()
    before = counts()
    with pytest.raises(HistoryImportError) as exc:
        read = read_csv_result(raw, name="codes.csv")  # (a code over 64 characters stops here already)
        import_histories(read.histories, source_name="codes.csv", first_row=read.first_rows)
    assert [(p.file, p.row, p.field) for p in exc.value.problems] == [("codes.csv", 3, "patient_id")]
    assert counts() == before


def test_rows_after_a_field_with_a_line_break_are_numbered_as_a_spreadsheet_numbers_them() -> None:
    raw = HAND_BUILT.encode("utf-8").replace(b"m_5,1990-07-07", b"m_5,1990-07-77")
    good = raw.replace(b"m_5,1990-07-77", b"m_5,1990-07-07")
    assert read_csv_result(good, name="hard.csv").first_rows["m_5"] == 22  # the 21st record after the header
    with pytest.raises(HistoryImportError) as exc:
        read_csv_bytes(raw, name="hard.csv")
    assert [(p.row, p.field) for p in exc.value.problems] == [(22, "date")]


def test_every_imported_row_names_the_importing_user(users: dict[str, User]) -> None:
    hs = read_csv_bytes(HAND_BUILT.encode("utf-8"), name="hard.csv")
    clinician = users["clinician"]
    import_histories(hs, user=clinician)
    seen: dict[str, int] = {}
    for model in (Patient, Visit, ClinicalEvent, Treatment):
        rows: Any = model.history.all()  # type: ignore[attr-defined]
        seen[model.__name__] = rows.count()
        assert {(h.history_user_id, h.history_type) for h in rows} == {(clinician.pk, "+")}
    assert seen == {"Patient": 3, "Visit": 7, "ClinicalEvent": 4, "Treatment": 7}
