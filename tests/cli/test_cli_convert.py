"""`crpsmap convert FILE --from choir`: a CHOIR wide table to the CSV long format. Every user mistake is
exit status 2 with one "error:" line (a file's problems: that line, then one per problem) and nothing
written; a success writes the whole file, atomically."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crpsmap import cli
from crpsmap.io import read_choir_wide, read_csv

FIXTURE = Path(__file__).parent.parent / "fixtures" / "choir" / "alter2021-sample300.csv"
X = [f"X{c}" for c in [*range(101, 137), *range(201, 239)]]
OLD = b"the previous output\n"


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def wide(rows: list[list[str]], extra: tuple[str, ...] = ()) -> str:
    lines = [",".join(["PATIENT_NUM", *X, *extra])] + [",".join(r) for r in rows]
    return "\n".join(lines) + "\n"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copyfile(FIXTURE, tmp_path / "choir.csv")
    marks = ["0"] * 74
    bad = ["0"] * 74
    bad[24] = "2"  # X125
    (tmp_path / "bad.csv").write_text(wide([["A", *marks], ["B", *bad], ["", *marks]]))
    (tmp_path / "dated.csv").write_text(
        wide([["A", *marks, "2021-02-01"], ["A", *marks, "2021-99-01"]], extra=("VISIT",))
    )
    (tmp_path / "header.csv").write_text(wide([]))
    (tmp_path / "old.csv").write_bytes(OLD)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")  # a narrow console must not wrap the one line
    return tmp_path


def test_convert_writes_the_long_format(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        cli.run(["convert", "choir.csv", "--from", "choir", "--visit-date", "2021-01-01", "-o", "out.csv"])
        == 0
    )
    out, err = capsys.readouterr()
    assert err == "" and "300 patients, 300 records written to" in out
    expected = read_choir_wide(FIXTURE, visit_date=dt.date(2021, 1, 1)).histories
    assert read_csv(workdir / "out.csv") == expected
    assert sorted(p.name for p in workdir.iterdir() if p.name.startswith(".")) == []  # no temporary left


def test_convert_replaces_an_existing_output(workdir: Path) -> None:
    args = ["convert", "choir.csv", "--from", "choir", "--visit-date", "2021-01-01", "-o", "old.csv"]
    assert cli.run(args) == 0
    assert (workdir / "old.csv").read_bytes().startswith(b"patient_id,date,kind,regions")


def test_a_date_column_and_an_id_column(workdir: Path) -> None:
    (workdir / "study.csv").write_text(
        wide([["x", *(["0"] * 24), "1", *(["0"] * 49), "S1", "2021-03-01"]], extra=("SID", "WHEN"))
    )
    args = [
        "convert",
        "study.csv",
        "--from",
        "choir",
        "--date-column",
        "WHEN",
        "--id-column",
        "SID",
        "-o",
        "o.csv",
    ]
    assert cli.run(args) == 0
    (h,) = read_csv(workdir / "o.csv")
    assert h.patient_id == "S1" and h.records[0].date == dt.date(2021, 3, 1)
    assert h.records[0].regions == ("hand_palm_right",) and h.records[0].extra == {"PATIENT_NUM": "x"}


def test_rows_without_marks_are_warnings_and_converted(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "empty.csv").write_text(wide([["A", *(["0"] * 74)]]))
    assert (
        cli.run(["convert", "empty.csv", "--from", "choir", "--visit-date", "2021-01-01", "-o", "o.csv"]) == 0
    )
    err = capsys.readouterr().err
    assert err.startswith("warning: empty.csv, row 2: no segment marked")
    (h,) = read_csv(workdir / "o.csv")
    assert h.records[0].regions == ()


V = ["--visit-date", "2021-01-01"]
BATTERY: list[tuple[list[str], str]] = [
    (["choir.csv", "--from", "xml", *V, "-o", "o.csv"], "unknown input layout 'xml'"),
    (["choir.csv", "--from", "chior", *V, "-o", "o.csv"], "did you mean choir"),
    (["choir.csv", "--from", "xml", *V, "-o", "o.csv"], "(known: choir, redcap)"),
    (["choir.csv", *V, "-o", "o.csv"], "--from"),
    (["choir.csv", "--from", "choir", *V], "--output"),
    (["choir.csv", "--from", "choir", "-o", "o.csv"], "give --visit-date YYYY-MM-DD"),
    (["choir.csv", "--from", "choir", *V, "--date-column", "D", "-o", "o.csv"], "not both"),
    (
        ["choir.csv", "--from", "choir", "--visit-date", "01/02/2021", "-o", "o.csv"],
        "--visit-date: '01/02/2021'",
    ),
    (["choir.csv", "--from", "choir", "--visit-date", "2999-01-01", "-o", "o.csv"], "in the future"),
    (["choir.csv", "--from", "choir", "--visit-date", "2021-02-30", "-o", "o.csv"], "no such day"),
    (["choir.csv", "--from", "choir", "--date-column", " ", "-o", "o.csv"], "--date-column"),
    (["choir.csv", "--from", "choir", *V, "--id-column", "a\x1bb", "-o", "o.csv"], "--id-column"),
    (["missing.csv", "--from", "choir", *V, "-o", "o.csv"], "missing.csv: no such file"),
    ([".", "--from", "choir", *V, "-o", "o.csv"], "is a folder"),
    (["choir.csv", "--from", "choir", *V, "-o", "choir.csv"], "is this command's input"),
    (["choir.csv", "--from", "choir", *V, "-o", "nodir/o.csv"], "No such file or directory"),
    (["choir.csv", "--from", "choir", *V, "-o", "."], "not a regular file"),
    (["header.csv", "--from", "choir", *V, "-o", "o.csv"], "no patient rows"),
    (["choir.csv", "--from", "choir", "--date-column", "VISIT", "-o", "o.csv"], "no date column 'VISIT'"),
    (["choir.csv", "--from", "choir", *V, "--id-column", "SID", "-o", "o.csv"], "no patient id column 'SID'"),
]


@pytest.mark.parametrize(("args", "fragment"), BATTERY, ids=[" ".join(a)[:60] for a, _ in BATTERY])
def test_a_mistake_is_one_error_line_exit_2_and_nothing_written(
    args: list[str], fragment: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _files(workdir)
    status = cli.run(["convert", *args])
    out, err = capsys.readouterr()
    lines = [x for x in err.splitlines() if x.strip()]
    assert status == 2, (out, err)
    assert "Traceback" not in out + err and out == ""
    assert lines[0].startswith("error: ") and fragment in lines[-1], err
    # a file's problems: the first line, then one line per problem; any other mistake: one line
    assert len(lines) == 1 or (lines[0].endswith("1 problem(s) in input:") and len(lines) == 2), err
    assert "\x1b" not in err
    assert _files(workdir) == before, "nothing written or changed"


def test_a_file_with_problems_lists_them_and_writes_nothing(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _files(workdir)
    assert cli.run(["convert", "bad.csv", "--from", "choir", *V, "-o", "old.csv"]) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert out == "" and lines[0] == "error: bad.csv: 2 problem(s) in input:"
    assert lines[1].strip() == (
        "bad.csv, row 3, field 'X125': '2' is not a body-map mark; "
        "expected 1 (marked), 0 (not marked) or empty"
    )
    assert (
        lines[2].strip()
        == "bad.csv, row 4, field 'PATIENT_NUM': missing PATIENT_NUM (every row names its patient)"
    )
    assert len(lines) == 3
    assert _files(workdir) == before and (workdir / "old.csv").read_bytes() == OLD


def test_a_bad_date_in_the_date_column_is_named(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(["convert", "dated.csv", "--from", "choir", "--date-column", "VISIT", "-o", "o.csv"]) == 2
    err = capsys.readouterr().err
    assert "dated.csv, row 3, field 'VISIT': '2021-99-01'" in err
    assert not (workdir / "o.csv").exists()


def test_a_failure_while_writing_leaves_the_previous_output(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        Path(str(args[1])).write_text("half a file")
        raise RuntimeError("disk gone")

    # crpsmap.cli.convert is also the name of the command function: patch the module itself
    monkeypatch.setattr(sys.modules["crpsmap.cli.convert"], "write_csv", broken)
    assert cli.run(["convert", "choir.csv", "--from", "choir", *V, "-o", "old.csv"]) == 1
    assert (workdir / "old.csv").read_bytes() == OLD
    assert not [p for p in workdir.iterdir() if p.name.startswith(".")]
    capsys.readouterr()


def test_the_installed_command(workdir: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "crpsmap", "convert", "bad.csv", "--from", "choir", *V, "-o", "x.csv"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2 and res.stderr.startswith("error: bad.csv: 2 problem(s)"), res.stderr
    assert "Traceback" not in res.stderr and not (workdir / "x.csv").exists()
