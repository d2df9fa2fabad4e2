"""The columnar reader gives exactly what a plain row-by-row reader gives, and what the reader before it
gave: the same histories (field for field, fields-set included), the same problems in the same order, the
same warnings. Both of its tokenizers (the csv module; pandas for large quote-free files) are compared."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import test_io_legacy as io_legacy
from crpsmap.data import example_cohort_path
from crpsmap.data.synthetic import random_histories
from crpsmap.history import PatientHistory, Provenance
from crpsmap.io import HistoryImportError, read_csv_result, write_csv_text
from crpsmap.io import reader as fast
from hard_cases import HARD
from test_io_reference import reference_read


@pytest.fixture(params=["csv", "pandas"])
def tokenizer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with each tokenizer: pandas is used from 0 bytes on where the layout allows."""
    monkeypatch.setattr(fast, "PANDAS_MIN_BYTES", 0 if request.param == "pandas" else 1 << 62)
    return str(request.param)


def outcome(read: Any, raw: bytes) -> tuple[str, Any]:
    try:
        got = read(raw)
    except HistoryImportError as exc:
        return "refused", ([(p.file, p.row, p.field, p.message) for p in exc.problems], exc.truncated)
    return "read", got


def fields_sets(histories: list[PatientHistory]) -> list[Any]:
    return [
        (h.__pydantic_fields_set__, [r.__pydantic_fields_set__ for r in h.records], h.__pydantic_private__)
        for h in histories
    ]


def assert_same_as_reference(raw: bytes) -> None:
    new = outcome(lambda b: read_csv_result(b, name="in.csv"), raw)
    ref = outcome(lambda b: reference_read(b, name="in.csv"), raw)
    assert new[0] == ref[0], (new, ref)
    if new[0] == "refused":
        assert new[1] == ref[1]
        return
    result, (histories, warnings) = new[1], ref[1]
    assert result.histories == histories
    assert [h.patient_id for h in result.histories] == [h.patient_id for h in histories]
    assert fields_sets(result.histories) == fields_sets(histories)
    assert [tuple(r.__dict__) for h in result.histories for r in h.records] == [
        tuple(r.__dict__) for h in histories for r in h.records
    ]
    assert result.warnings == warnings


def simulated() -> list[PatientHistory]:
    from crpsmap.model import Sim

    return Sim(years=1.0, seed=11).clinic(40).histories


def clinic(histories: list[PatientHistory]) -> list[PatientHistory]:
    return [h.model_copy(update={"provenance": Provenance.clinic}) for h in histories]


@pytest.mark.parametrize("which", ["example", "hard", "synthetic", "synthetic-as-clinic", "simulated"])
def test_cohorts_read_the_same_as_the_reference_and_the_reader_before(tokenizer: str, which: str) -> None:
    if which == "example":
        raw = example_cohort_path().read_bytes()
    elif which == "hard":
        raw = HARD.encode()
    elif which == "simulated":
        raw = write_csv_text(simulated()).encode()
    else:
        hs = random_histories(150, seed=3, validate=True)
        raw = write_csv_text(clinic(hs) if which == "synthetic-as-clinic" else hs).encode()
    assert_same_as_reference(raw)
    result = read_csv_result(raw, name="in.csv")
    assert write_csv_text(result.histories).encode() == raw or which == "hard"
    if b"provenance" not in raw.split(b"\n")[0]:  # (the reader before knew no provenance column)
        legacy = io_legacy.read_csv_bytes(raw, name="in.csv")
        assert result.histories == legacy
        assert fields_sets(result.histories) == fields_sets(legacy)


def test_the_simulated_and_synthetic_cohorts_keep_their_provenance() -> None:
    for hs in (simulated(), random_histories(20, seed=1)):
        back = read_csv_result(write_csv_text(hs).encode(), name="x.csv").histories
        assert back == hs and {h.provenance for h in back} == {hs[0].provenance} != {Provenance.clinic}


# ---- random files: every tokenizer agrees with the reference, problem for problem ---------------------

# valid cells first, then (after None) cells with something wrong
CELLS: dict[str, list[Any]] = {
    "patient_id": ["P1", "P1", "P2", " P1", "Q-3", "NaN", None, "", "  ", "x" * 65, "P\x1b1"],
    "date": [
        "2020-01-01",
        "2020-01-01",
        "2021-06-15",
        "1985-01-01",
        "2019-03-01 00:00:00",
        None,
        "2020-02-30",
        "2021-W05-2",
        "1899-12-31",
        "2099-01-01",
        "21/05/2021",
        "",
    ],
    "kind": [
        "onset",
        "assessment",
        "assessment",
        "Assessment",
        "trauma",
        "treatment start",
        None,
        "onsett",
        "",
    ],
    "regions": [
        "hand_right",
        "125;f25",
        "hand_palm_right;hand_top_right",
        "",
        "foot_left;",
        "visceral_bladder",
        "wrist_right;wrist_right",
        None,
        "hand_rigth",
    ],
    "sex": ["female", "female", "F", None, "m", "unknown", "femal"],
    "birth_year": ["1980", "1980", "", None, "1990", "2021", "19x0", "1899", "2999"],
    "crps_type": ["I", "ii", "", "unknown", None, "III"],
    "provenance": ["", "clinic", "synthetic", "Model", None, "real"],
    "pain": ["", "", "3", "4.5", "1_0", "-0", " 7 ", None, "11", "abc"],
    "css": ["", "5", "5.0", None, "18"],
    "hrv_rmssd": ["", "31.5", "500", None, "0"],
    "treatment": ["", "PT", "NA", None, "x" * 201],
    "note": ["", "", "a", " spaced ", "null", "#N/A", "multi\nline", 'quo"te', None, "y" * 25],
    "": ["", "", " ", None, "lost"],
}
LEGACY_DIFFERENT = {"2019-03-01 00:00:00", "2021-W05-2", "treatment start", "P\x1b1"}
SPELLINGS = {"patient_id": ["Patient ID", "PID"], "sex": ["Gender"], "birth_year": ["YOB"], "kind": ["Type"]}
OPTIONAL = [c for c in CELLS if c not in ("patient_id", "date", "kind", "regions")]


@st.composite
def csv_files(draw: st.DrawFn, legacy: bool = False) -> bytes:
    optional = [c for c in OPTIONAL if not (legacy and c in ("provenance", ""))]
    columns = ["patient_id", "date", "kind", "regions"] + draw(
        st.lists(st.sampled_from(optional), unique=True)
    )
    columns = draw(st.permutations(columns))
    names = [
        draw(st.sampled_from([c, c.upper(), *SPELLINGS.get(c, [])])) if not legacy else c for c in columns
    ]
    good = {
        c: [v for v in vs[: vs.index(None)] if not (legacy and v in LEGACY_DIFFERENT)]
        for c, vs in CELLS.items()
    }
    bad = {
        c: [v for v in vs[vs.index(None) + 1 :] if not (legacy and v in LEGACY_DIFFERENT)]
        for c, vs in CELLS.items()
    }
    error_rate = draw(st.sampled_from([0.0, 0.0, 0.05, 0.3]))
    patient = {c: draw(st.sampled_from(good[c])) for c in ("sex", "birth_year", "crps_type", "provenance")}
    rows: list[list[str]] = [names]
    odd_shapes = ["blank", "short", "long", "empty-cells"] if draw(st.booleans()) else []
    same = draw(st.sampled_from([1.0, 0.8]))  # how often a patient column repeats the patient's value
    for _ in range(draw(st.integers(0, 14))):
        shape = draw(st.sampled_from(["row"] * 10 + ["again", *odd_shapes]))
        if shape == "blank":
            rows.append([])
        elif shape == "empty-cells":
            rows.append([""] * len(columns))
        elif shape == "again" and len(rows) > 1:
            rows.append(list(rows[-1]))
        else:
            row = []
            for c in columns:
                wrong = draw(st.floats(0, 1)) < error_rate
                if wrong:
                    row.append(draw(st.sampled_from(bad[c])))
                elif c in patient and draw(st.floats(0, 1)) < same:
                    row.append(patient[c])  # (mostly the same patient values on every row)
                else:
                    row.append(draw(st.sampled_from(good[c])))
            rows.append(row[:-1] if shape == "short" else row + ["x"] if shape == "long" else row)
    delimiter = "," if legacy else draw(st.sampled_from([",", ";", "\t"]))
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows(rows)
    text = out.getvalue()
    if not legacy and draw(st.booleans()):
        text = text.rstrip("\r\n")  # no line end after the last row
    encoding = "utf-8" if legacy else draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        return text.encode("utf-8")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(csv_files())
def test_random_files_read_as_the_reference_reads_them(tokenizer: str, raw: bytes) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fast, "MAX_FIELD_CHARS", 20)
        assert_same_as_reference(raw)


@settings(max_examples=200, deadline=None)
@given(csv_files(legacy=True))
def test_random_files_accepted_and_refused_as_the_reader_before_did(raw: bytes) -> None:
    new = outcome(lambda b: read_csv_result(b, name="in.csv").histories, raw)
    old = outcome(lambda b: io_legacy.read_csv_bytes(b, name="in.csv"), raw)
    assert new[0] == old[0], (new, old)
    if new[0] == "read":
        assert new[1] == old[1]
        assert fields_sets(new[1]) == fields_sets(old[1])


@pytest.mark.parametrize("limit", [1, 3, 50])
def test_problem_limit_and_stop_as_the_reference(tokenizer: str, limit: int) -> None:
    rows = "".join(
        f"P{i},2021-01-0{1 + i % 9},{'nope' if i % 3 else 'onset'},125,female,1980\n" for i in range(120)
    )
    raw = ("patient_id,date,kind,regions,sex,birth_year\n" + rows).encode()
    new = outcome(lambda b: read_csv_result(b, name="in.csv", max_problems=limit), raw)
    ref = outcome(lambda b: reference_read(b, name="in.csv", max_problems=limit), raw)
    assert new == ref and new[1][1]  # truncated


def test_too_many_rows_as_the_reference(tokenizer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast, "MAX_ROWS", 5)
    monkeypatch.setattr(fast, "CHUNK_ROWS", 2)
    ok = b"patient_id,date,kind,regions\n" + b"P1,2020-01-01,onset,125\n" * 5
    assert len(read_csv_result(ok, name="in.csv").histories) == 1
    raw = ok + b"P1,2020-01-01,onset,125\n" * 3
    new = outcome(lambda b: read_csv_result(b, name="in.csv"), raw)
    assert new == outcome(lambda b: reference_read(b, name="in.csv"), raw)
    assert new[1][0] == [("in.csv", 7, None, "too many rows (limit 5)")]


def test_chunk_boundaries_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = write_csv_text(random_histories(60, seed=9, validate=True)).encode()
    whole = read_csv_result(raw, name="in.csv")
    monkeypatch.setattr(fast, "CHUNK_ROWS", 7)
    small = read_csv_result(raw, name="in.csv")
    assert small.histories == whole.histories and small.first_rows == whole.first_rows
    bad = raw.replace(b",2015-", b",2015-13-", 1).replace(b"SYN000030,", b"SYN000030,x", 1)
    assert outcome(lambda b: read_csv_result(b, name="in.csv"), bad) == outcome(
        lambda b: reference_read(b, name="in.csv"), bad
    )


def test_pandas_tokenizer_is_used_only_where_it_gives_the_csv_modules_rows() -> None:
    from crpsmap.io.source import decode

    def tokenizer_for(raw: bytes) -> str:
        r = fast.Reader("in.csv")
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(fast, "PANDAS_MIN_BYTES", 0)
            with contextlib.suppress(HistoryImportError):
                r.read(decode(raw))
        return r.tokenizer

    good = b"patient_id,date,kind,regions\nP1,2020-01-01,onset,125\r\nP1,2020-02-01,assessment,125"
    assert tokenizer_for(good) == "pandas"
    assert tokenizer_for(good + b"\r\n\r\n\r\n") == "pandas"  # (empty lines at the end)
    for quoted in (
        good.replace(b"125\r\n", b'"125"\r\n'),
        good.replace(b"P1,2020-01-01", b'"P""1",2020-01-01').replace(b"P1,2020-02", b'"P""1",2020-02'),
        good.replace(b"patient_id,", b'"patient_id",'),
        good + b'\nP1,2020-03-01,trauma,""',
        good.replace(b",regions\n", b",regions,note\n").replace(b"125\r\n", b'125,"a\nb, ""c"""\r\n') + b",",
    ):
        assert tokenizer_for(quoted) == "pandas", quoted
    for layout in (
        good.replace(b"onset", b'on"set'),  # a quote inside a field not quoted
        good.replace(b"onset", b'"on"set'),  # text after a closing quote
        good.replace(b"onset", b'"onset" '),
        good.replace(b"onset", b'"onset'),  # a quoted field never closed
        good.replace(b"patient_id,", b'"patient\nid",'),  # a header over two lines
        good.replace(b"\r\n", b"\r"),  # old Mac line ends
        good + b"\n\nP1,2020-03-01,trauma,125",  # an empty line
        good.replace(b",125\r\n", b",125,\r\n"),  # a row with one field too many
        good.replace(b",125\r\n", b"\r\n"),  # a row with one field too few
        good.replace(b"P1,2020-01-01", b"P1" + b"x" * 140_000 + b",2020-01-01"),  # over the csv field limit
    ):
        assert tokenizer_for(layout) == "csv", layout[:80]


def test_today_decides_the_future() -> None:
    raw = b"patient_id,date,kind,regions\nP1,2020-06-01,onset,125\n"
    assert read_csv_result(raw, name="a", today=dt.date(2020, 6, 1)).histories
    with pytest.raises(HistoryImportError, match="in the future"):
        read_csv_result(raw, name="a", today=dt.date(2020, 5, 31))


# ---- each value cell: accepted and read exactly as Record itself reads it --------------------------

NUMBERISH = st.one_of(
    st.text(max_size=8),
    st.from_regex(r"\s?[+-]?[0-9_]{0,5}(\.[0-9]{0,4})?([eE][+-]?[0-9]{1,3})?\s?", fullmatch=True),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-5, 2000).map(str),
    st.sampled_from(["nan", "inf", "-inf", "Infinity", "1_0", "٣", "0x10", "5.", ".5", "-0"]),
)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(
        ["pain", "css", "budapest_symptoms", "budapest_signs", "hrv_rmssd", "hrv_hf", "crp", "treatment"]
    ),
    NUMBERISH,
)
def test_value_cells_are_read_as_record_reads_them(column: str, cell: str) -> None:
    from pydantic import ValidationError

    from crpsmap.history import Record, RecordKind
    from crpsmap.io.fields import Bad, value_parsers

    got = value_parsers()[column](cell)
    if not cell.strip():
        assert got is None
        return
    try:
        want = getattr(
            Record.model_validate(
                {"date": dt.date(2020, 1, 1), "kind": RecordKind.trauma, column: cell.strip()}
            ),
            column,
        )
    except ValidationError:
        assert isinstance(got, Bad) and column in got.messages[0]
    else:
        assert not isinstance(got, Bad) and got == want and type(got) is type(want)


def test_the_garbage_collector_is_paused_only_while_reading() -> None:
    import gc

    good = b"patient_id,date,kind,regions\nP1,2020-01-01,onset,125\n"
    seen: list[bool] = []
    real = fast.Reader._read

    def spy(self: fast.Reader, text: Any) -> Any:
        seen.append(gc.isenabled())
        return real(self, text)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fast.Reader, "_read", spy)
        assert gc.isenabled()
        read_csv_result(good, name="a")
        assert gc.isenabled() and seen == [False]
        with pytest.raises(HistoryImportError):
            read_csv_result(good.replace(b"onset", b"x"), name="a")
        assert gc.isenabled()
        gc.disable()
        try:
            read_csv_result(good, name="a")
            assert not gc.isenabled()  # (a collector paused by the caller stays paused)
        finally:
            gc.enable()
