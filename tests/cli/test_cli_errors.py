"""Every user mistake, in every command: exit status 2, one line "error: ..." on stderr, no traceback,
nothing written. The battery runs in process (`crpsmap.cli.run`, what the installed command calls);
a few cases run as a real subprocess to check that the entry point goes the same way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crpsmap import cli
from crpsmap.data import example_cohort_path

GOOD_CSV = (
    "patient_id,date,kind,regions\nP1,2020-01-01,onset,hand_right\n"
    "P1,2020-06-01,assessment,hand_right;wrist_right\n"
)
COMPARISON = {"mechanisms": {"candidates": [{"label": "x", "free": ["w_lr"], "aic": "high"}]}}
T = ["trial", "--intervention", "glial_inhibitor", "-n", "5"]
S = ["simulate", "-n", "5"]
C = ["calibrate", "--target", "vanrijn2011", "--trials", "1", "--patients", "10"]

BATTERY: list[tuple[list[str], str]] = [
    # (arguments, a fragment the one error line must contain)
    (["nosuchcommand"], "No such command"),
    (["simulate", "--patinets", "3"], "--patinets"),
    (["region", "nowhere"], "unknown region 'nowhere'"),
    (["region", "rihgt hnad"], "did you mean hand_right"),
    (["region"], "give a region"),
    (["region", "hand_right", "--list"], "not both"),
    (["region", "[red]x\x1b[31m"], "\\x1b[31m"),
    (["classify", "missing.csv"], "missing.csv: no such file"),
    (["classify", "."], "is a folder"),
    (["classify", "keep.csv", "--trauma-window", "-1"], "--trauma-window"),
    (["classify", "keep.csv", "--trauma-window", "99999999"], "--trauma-window"),
    (["classify", "keep.csv", "--trauma-window", "1e3"], "--trauma-window"),
    (["report", "keep.csv", "-o", "keep.csv"], "is this command's input"),
    (["report", "keep.csv", "--json", "keep.csv"], "is this command's input"),
    (["report", "keep.csv", "-o", "a.html", "--json", "a.html"], "same file"),
    (["report", "keep.csv", "-o", "nodir/a.html"], "No such file or directory"),
    (["report", "keep.csv", "-o", "keep.csv/a.html"], "Not a directory"),
    (["report", "keep.csv", "-o", "."], "not a regular file"),
    (["report", "keep.csv", "--calibration", "missing.json"], "missing.json: no such file"),
    (["report", "keep.csv", "--calibration", "notjson.json"], "not JSON"),
    (["report", "keep.csv", "--calibration", "list.json"], "not a JSON object"),
    (["report", "keep.csv", "--calibration", "comparison.json"], "'heldout_deviance' is not a number"),
    (["report", "keep.csv", "--calibration", "stats.json"], "no 'mechanisms' object"),
    (["report", "keep.csv", "--calibration", "keep.csv", "-o", "r.html"], "not JSON"),
    (["report", "keep.csv", "--mechanisms", "--calibration", "comparison.json"], "not both"),
    (["report", "keep.csv", "--data-note", "a\x1b[2Jb"], "--data-note"),
    (["report", "header.csv", "-o", "r.html"], "no patient records"),
    (["classify", "header.csv"], "no patient records"),
    (["report", "missing.csv"], "no such file"),
    (["demo", "-o", "nodir/r.html"], "No such file or directory"),
    (["demo", "-o", "r.json"], "same file"),
    (["trial", "--intervention", "homeopathy", "-n", "5"], "unknown intervention 'homeopathy'"),
    (["trial", "--intervention", "glial_inhbitor", "-n", "5"], "did you mean glial_inhibitor"),
    (["trial", "-n", "5"], "--intervention"),
    ([*T, "--start", "-1"], "--start"),
    ([*T, "--start", "5000", "--years", "1"], "after the end of follow-up"),
    ([*T, "--start", "30", "--stop", "10"], "must be after --start"),
    ([*T, "--start", "30", "--stop", "30"], "must be after --start"),
    ([*T, "--stop", "0"], "--stop"),
    ([*T, "--stop", str(10**12)], "--stop"),
    ([*T, "--off", "telepathy"], "unknown mechanism 'telepathy'"),
    ([*T, "--off", "supraspinl"], "did you mean supraspinal"),
    ([*T, "--years", "0"], "--years"),
    ([*T, "--years", "-1"], "--years"),
    ([*T, "--years", "nan"], "--years"),
    ([*T, "--years", "inf"], "--years"),
    ([*T, "--years", "-inf"], "--years"),
    ([*T, "--years", "1e9"], "--years"),
    ([*T, "--years", "80"], "--years"),
    ([*T, "--seed", "-1"], "--seed"),
    ([*T, "--seed", str(2**32)], "--seed"),
    ([*T, "--seed", str(10**30)], "--seed"),
    ([*T, "--seed", "1.5"], "--seed"),
    (["trial", "--intervention", "glial_inhibitor", "-n", "0"], "--patients"),
    (["trial", "--intervention", "glial_inhibitor", "-n", str(10**9)], "--patients"),
    ([*T, "--block", "0"], "--block"),
    ([*T, "--workers", "0"], "--workers"),
    ([*T, "--workers", "100000"], "--workers"),
    ([*T, "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "not both"),
    ([*T, "--scheduler", "no address"], "--scheduler"),
    ([*T, "-o", "nodir/t.html"], "No such file or directory"),
    ([*T, "-o", "t.html", "--json", "t.html"], "same file"),
    ([*S[:1], "-n", "0"], "--patients"),
    ([*S[:1], "-n", str(10**9)], "--patients"),
    ([*S, "--years", "0"], "--years"),
    ([*S, "--years", "nan"], "--years"),
    ([*S, "--years", "200"], "--years"),
    ([*S, "--seed", str(2**32)], "--seed"),
    ([*S, "--seed", "-5"], "--seed"),
    ([*S, "--intervention", "no_such_thing"], "unknown intervention"),
    ([*S, "--intervention", "vagal@5"], "unknown intervention 'vagal'"),
    ([*S, "--intervention", "glial_inhibitor@-5"], "start_day must be 0 or later"),
    ([*S, "--intervention", "glial_inhibitor@abc"], "cannot read intervention"),
    ([*S, "--intervention", "glial_inhibitor@10:5"], "stop_day must be after start_day"),
    ([*S, "--intervention", "glial_inhibitor@999999999999999999999"], "after the follow-up"),
    ([*S, "--intervention", "glial_inhibitor@injury+10:99999999999999"], "STOP must be at most"),
    ([*S, "--intervention", "glial_inhibitor", "--intervention", "glial_inhibitor@30"], "given twice"),
    ([*S, "--off", "no_such_mechanism"], "unknown mechanism"),
    ([*S, *[x for m in cli.mechanism_names() for x in ("--off", m)]], "every mechanism off"),
    ([*S, "-o", "nodir/x.csv"], "No such file or directory"),
    ([*S, "-o", "."], "not a regular file"),
    ([*S, "--chunk-size", "0"], "--chunk-size"),
    ([*S, "--workers", "-2"], "--workers"),
    (["calibrate"], "give either FILE or --target"),
    (["calibrate", "keep.csv", "--target", "vanrijn2011"], "give either FILE or --target"),
    (["calibrate", "--target", "vanrijn"], "did you mean vanrijn2011"),
    (["calibrate", "missing.json"], "no such file"),
    (["calibrate", "notjson.json"], "not JSON"),
    (["calibrate", "list.json"], "not a JSON object"),
    (["calibrate", "comparison.json"], "no multi_limb.count entry"),
    (["calibrate", "impossible.json"], "is impossible"),
    (["calibrate", "strings.json"], "multi_limb.count must be a count"),
    (["calibrate", "stats.json", "-o", "stats.json"], "is this command's input"),
    (["calibrate", "keep.csv", "-o", "keep.csv"], "is this command's input"),
    ([*C, "--free", "w_l"], "did you mean w_ml or w_lr"),
    ([*C, "--free", "w_lr", "--free", "w_lr"], "named twice"),
    ([*C[:3], "--trials", "0"], "--trials"),
    ([*C[:3], "--patients", "5"], "--patients"),
    ([*C[:3], "--patients", str(10**9)], "--patients"),
    ([*C, "--seed", "-3"], "--seed"),
    ([*C, "--population", "1"], "--population"),
    ([*C, "--generations", "0"], "--generations"),
    ([*C, "--years", "inf"], "--years"),
    ([*C, "-o", "nodir/c.json"], "No such file or directory"),
    (["registry", "export", "nodir/x.csv"], "No such file or directory"),
    (["registry", "export", "."], "not a regular file"),
    (["registry", "import", "missing.csv"], "no such file"),
    (["registry", "export", "db.sqlite3", "--database", "db.sqlite3"], "is this command's input"),
    (["registry", "export", "x.csv", "--database", "missing/none.sqlite3"], "no registry database at"),
    (["registry", "createuser", "bob", "--role", "[/nurse]"], "choose one of"),
    (["serve", "--port", "0"], "--port"),
    (["serve", "--port", "70000"], "--port"),
]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the input files of the battery; the registry (never reached) points into it."""
    (tmp_path / "keep.csv").write_text(GOOD_CSV)
    (tmp_path / "header.csv").write_text(GOOD_CSV.splitlines()[0] + "\n")
    (tmp_path / "db.sqlite3").write_bytes(b"SQLite format 3\x00")
    (tmp_path / "notjson.json").write_text("this is not JSON {")
    (tmp_path / "list.json").write_text("[1, 2, 3]")
    (tmp_path / "comparison.json").write_text(json.dumps(COMPARISON))
    stats = {
        "multi_limb": {"count": 3, "denominator": 10},
        "limb_patterns": {p: {"count": 1} for p in ("contralateral", "ipsilateral", "diagonal")},
    }
    (tmp_path / "stats.json").write_text(json.dumps(stats))
    stats["multi_limb"] = {"count": 30, "denominator": 10}
    (tmp_path / "impossible.json").write_text(json.dumps(stats))
    stats["multi_limb"] = {"count": "some", "denominator": [10]}
    (tmp_path / "strings.json").write_text(json.dumps(stats))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRPSMAP_DATABASE", str(tmp_path / "never.sqlite3"))
    monkeypatch.setenv("COLUMNS", "80")  # a narrow console must not wrap the one line
    return tmp_path


@pytest.mark.parametrize(("args", "fragment"), BATTERY, ids=[" ".join(a)[:60] for a, _ in BATTERY])
def test_a_mistake_is_one_error_line_exit_2_and_nothing_written(
    args: list[str], fragment: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _files(workdir)
    status = cli.run(args)
    out, err = capsys.readouterr()
    lines = [x for x in err.splitlines() if x.strip()]
    assert status == 2, (out, err)
    assert "Traceback" not in out + err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment in lines[0], (fragment, lines[0])
    assert "\x1b" not in err, "no terminal escape reaches the terminal"
    assert out == ""
    assert _files(workdir) == before, "nothing written or changed"


def test_unreadable_input_is_a_clean_error(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locked = workdir / "locked.csv"
    locked.write_text(GOOD_CSV)
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as root: every file is readable")
        assert cli.run(["classify", "locked.csv"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: locked.csv: cannot read") and err.count("\n") == 1
    finally:
        locked.chmod(0o600)


def test_a_file_with_content_problems_lists_them_one_per_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "bad.csv").write_text(
        "patient_id,date,kind,regions\nP1,2020-01-01,onset,125\nP1,2020-13-01,assessment,[red]999\x1b[0m\n"
    )
    assert cli.run(["report", "bad.csv", "-o", "r.html"]) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert lines[0].startswith("error: bad.csv") and "problem" in lines[0]
    assert any("row 3, field 'date'" in x for x in lines[1:])
    assert "[red]999" in err and "\x1b" not in err  # the file's text, literally, escapes made visible
    assert not (workdir / "r.html").exists()


def test_an_unexpected_failure_is_one_line_exit_1_or_a_traceback_when_debugging(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr("crpsmap.cli.cohort.classify_all", broken)
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    assert cli.run(["classify", "keep.csv"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected RuntimeError: boom second line" in err and "bug" in err
    monkeypatch.setenv(cli.DEBUG_ENV, "1")
    with pytest.raises(RuntimeError, match="boom"):
        cli.run(["classify", "keep.csv"])


def crpsmap(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crpsmap", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "args",
    [
        ["simulate", "-n", "0"],
        ["trial", "--intervention", "homeopathy"],
        ["calibrate", "--target", "vanrijn2011", "--seed", str(2**40)],
        ["report", str(example_cohort_path()), "-o", str(example_cohort_path())],
    ],
)
def test_the_installed_command_says_one_line_too(args: list[str], tmp_path: Path) -> None:
    res = crpsmap(*args, cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1, res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""
    assert list(tmp_path.iterdir()) == []
