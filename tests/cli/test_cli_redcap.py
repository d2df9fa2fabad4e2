"""`crpsmap redcap dictionary`, `crpsmap convert --to redcap` and `--from redcap`: the files written, the
round trip, and every mistake as exit status 2 with one "error:" line and nothing written."""

from __future__ import annotations

import csv
import shutil
from importlib import resources
from pathlib import Path

import pytest

from crpsmap import cli
from crpsmap.io import read_csv
from crpsmap.io.redcap import read_dictionary, read_mapping, read_redcap
from crpsmap.spread import classify_all

FIXTURES = Path(__file__).parent.parent / "fixtures" / "redcap"
EXAMPLE = Path(str(resources.files("crpsmap.data") / "example_cohort.csv"))


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copyfile(EXAMPLE, tmp_path / "cohort.csv")
    shutil.copytree(FIXTURES / "repeating-instruments", tmp_path / "ri")
    shutil.copyfile(FIXTURES / "mappings" / "repeating-instruments.toml", tmp_path / "ri.toml")
    (tmp_path / "bad.toml").write_text(
        "[[records]]\nkind = 'assessment'\ndate = 'date_bp'\ninstrumnet = 'bp'\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    return tmp_path


def test_dictionary_command_writes_the_18_column_dictionary(workdir: Path) -> None:
    assert cli.run(["redcap", "dictionary", "-o", "dict.csv", "--body-map", "male"]) == 0
    with open(workdir / "dict.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows[0]) == 18 and rows[1][0] == "record_id"
    assert any(r[0] == "body_map" and r[17] == "@IMAGEMAP=CHOIRBODYMAP_MALE" for r in rows)


def test_to_redcap_and_back_gives_the_same_classification(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        cli.run(["convert", "cohort.csv", "--to", "redcap", "-o", "export.csv", "--dictionary-out", "d.csv"])
        == 0
    )
    out, err = capsys.readouterr()
    assert "60 patients written as a REDCap export" in out and "d.csv" in out
    assert (
        "extra values (dataset) not written" in err
    )  # the example's one extra column is said, not lost silently
    assert cli.run(["convert", "export.csv", "--from", "redcap", "-o", "back.csv"]) == 0
    a = list(classify_all(read_csv(workdir / "cohort.csv")))
    b = list(classify_all(read_csv(workdir / "back.csv")))
    key = [
        (c.patient_id, c.onset_date, c.limbs, sorted((e.date, e.area, e.pattern) for e in c.events))
        for c in a
    ]
    assert key == [
        (c.patient_id, c.onset_date, c.limbs, sorted((e.date, e.area, e.pattern) for e in c.events))
        for c in b
    ]
    header = (workdir / "export.csv").read_text().splitlines()[0].split(",")
    with open(workdir / "d.csv", newline="") as fh:
        dictionary_fields = [r[0] for r in csv.reader(fh)][1:]
    assert header[0] == dictionary_fields[0] == "record_id"


def test_from_redcap_with_mapping_and_dictionary(workdir: Path) -> None:
    args = [
        "convert",
        "ri/data.csv",
        "--from",
        "redcap",
        "--mapping",
        "ri.toml",
        "--dictionary",
        "ri/dictionary.csv",
    ]
    assert cli.run([*args, "-o", "out.csv"]) == 0
    hs = read_csv(workdir / "out.csv")
    assert [(h.patient_id, h.sex.value, len(h.records)) for h in hs] == [("1", "female", 3), ("2", "male", 1)]
    expected = read_redcap(
        workdir / "ri" / "data.csv",
        mapping=read_mapping(workdir / "ri.toml"),
        dictionary=read_dictionary(workdir / "ri" / "dictionary.csv"),
    ).histories
    assert hs == expected


BATTERY: list[tuple[list[str], str]] = [
    (["convert", "cohort.csv", "-o", "o.csv"], "give one of --from"),
    (["convert", "cohort.csv", "--from", "redcap", "--to", "redcap", "-o", "o.csv"], "give one of --from"),
    (["convert", "cohort.csv", "--to", "fhir", "-o", "o.csv"], "unknown output layout 'fhir'"),
    (
        ["convert", "cohort.csv", "--to", "redcap", "--mapping", "ri.toml", "-o", "o.csv"],
        "--mapping is for reading",
    ),
    (
        ["convert", "cohort.csv", "--to", "redcap", "--body-map", "child", "-o", "o.csv"],
        "unknown body map 'child'",
    ),
    (["convert", "cohort.csv", "--to", "redcap", "-o", "o.csv", "--dictionary-out", "o.csv"], "o.csv"),
    (["convert", "cohort.csv", "--to", "redcap", "-o", "cohort.csv"], "is this command's input"),
    (
        ["convert", "ri/data.csv", "--from", "redcap", "-o", "o.csv"],
        "not an export of crpsmap's REDCap project",
    ),
    (
        ["convert", "ri/data.csv", "--from", "redcap", "--mapping", "bad.toml", "-o", "o.csv"],
        "did you mean instrument",
    ),
    (
        ["convert", "ri/data.csv", "--from", "redcap", "--mapping", "no.toml", "-o", "o.csv"],
        "no.toml: no such file",
    ),
    (
        ["convert", "ri/data.csv", "--from", "redcap", "--mapping", "ri.toml", "-o", "o.csv"],
        "unknown sex '0'",
    ),
    (
        ["convert", "ri/data.csv", "--from", "redcap", "--date-column", "x", "-o", "o.csv"],
        "--date-column is not for",
    ),
    (
        ["convert", "ri/data.csv", "--from", "redcap", "--mapping", "ri.toml", "-o", "ri.toml"],
        "is this command's input",
    ),
    (["redcap", "dictionary", "-o", "nodir/d.csv"], "No such file or directory"),
    (["redcap", "dictionary", "-o", "d.csv", "--body-map", "x"], "unknown body map 'x'"),
]


@pytest.mark.parametrize(("args", "fragment"), BATTERY, ids=[" ".join(a)[:70] for a, _ in BATTERY])
def test_a_mistake_is_exit_2_and_nothing_written(
    args: list[str], fragment: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _files(workdir)
    status = cli.run(args)
    out, err = capsys.readouterr()
    lines = [x for x in err.splitlines() if x.strip()]
    assert status == 2, (out, err)
    assert "Traceback" not in out + err and out == ""
    assert lines[0].startswith("error: ") and fragment in err, err
    assert _files(workdir) == before
