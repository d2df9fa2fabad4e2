"""`crpsmap fhir FILE -o BUNDLE.json` (and `--per-patient -o FOLDER`): valid Bundles written atomically;
every user mistake is exit status 2 with one "error:" line and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir_checks import (
    HAND_CSV,
    identification_problems,
    model_round_trip,
    schema_errors,
    unresolved_references,
)
from typer.testing import CliRunner

from crpsmap import cli
from crpsmap.cli import app
from crpsmap.fhir import bundle_text, patient_file_name
from crpsmap.io import read_csv_text

OLD = b"the previous output\n"


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "in.csv").write_text(HAND_CSV, encoding="utf-8")
    (tmp_path / "bad.csv").write_text(HAND_CSV.replace("2020-06-01", "2020-13-01"), encoding="utf-8")
    (tmp_path / "old.json").write_bytes(OLD)
    (tmp_path / "existing").mkdir()
    (tmp_path / "existing" / "keep.txt").write_bytes(OLD)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    return tmp_path


def test_one_bundle_for_the_file(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(["fhir", "in.csv", "-o", "out.json"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "4 patients written as one FHIR Bundle to" in out
    text = (workdir / "out.json").read_text(encoding="utf-8")
    assert text == bundle_text(read_csv_text(HAND_CSV))
    bundle = json.loads(text)
    assert model_round_trip(text) == bundle
    assert schema_errors(bundle) == [] and unresolved_references(bundle) == []
    assert [p.name for p in workdir.iterdir() if p.name.startswith(".")] == []  # no temporary left
    assert cli.run(["fhir", "in.csv", "-o", "again.json", "--validate"]) == 0
    assert (workdir / "again.json").read_bytes() == (workdir / "out.json").read_bytes()


def test_an_existing_output_is_replaced(workdir: Path) -> None:
    assert cli.run(["fhir", "in.csv", "-o", "old.json"]) == 0
    assert json.loads((workdir / "old.json").read_text())["resourceType"] == "Bundle"


def test_the_identifier_system_option(workdir: Path) -> None:
    system = "https://clinic.example.org/fhir/pseudonyms"
    assert cli.run(["fhir", "in.csv", "-o", "out.json", "--identifier-system", system]) == 0
    bundle = json.loads((workdir / "out.json").read_text())
    assert identification_problems(bundle, system) == []


@pytest.mark.parametrize("folder", ["new", "existing"])
def test_one_bundle_per_patient(workdir: Path, folder: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = set(_files(workdir))
    assert cli.run(["fhir", "in.csv", "--per-patient", "-o", folder]) == 0
    assert "4 patients written as one FHIR Bundle each to" in capsys.readouterr().out
    histories = read_csv_text(HAND_CSV)
    written = _files(workdir / folder)
    expected = {patient_file_name(h.patient_id): h for h in histories}
    assert set(written) - {"keep.txt"} == set(expected)
    for name, h in expected.items():
        text = written[name].decode("utf-8")
        assert text == bundle_text([h])
        bundle = model_round_trip(text)
        assert schema_errors(bundle) == [] and unresolved_references(bundle) == []
    if folder == "existing":
        assert written["keep.txt"] == OLD
    # the hostile id "../../etc/passwd" wrote inside the folder and nowhere else
    assert set(_files(workdir)) - before == {f"{folder}/{n}" for n in expected}
    assert [p.name for p in workdir.iterdir() if p.name.startswith(".")] == []


def test_cli_runner_on_the_app(workdir: Path) -> None:
    result = CliRunner().invoke(app, ["fhir", "in.csv", "-o", "runner.json"])
    assert result.exit_code == 0, result.output
    assert json.loads((workdir / "runner.json").read_text())["type"] == "collection"


BATTERY: list[tuple[list[str], str]] = [
    (["missing.csv", "-o", "o.json"], "missing.csv: no such file"),
    ([".", "-o", "o.json"], "is a folder"),
    (["bad.csv", "-o", "o.json"], "bad.csv"),
    (["in.csv", "-o", "nodir/o.json"], "No such file or directory"),
    (["in.csv", "-o", "in.csv"], "is this command's input"),
    (["in.csv", "-o", "."], "not a regular file"),
    (["in.csv", "-o", "existing"], "not a regular file"),
    (["in.csv"], "--output"),
    (["in.csv", "--per-patient", "-o", "in.csv"], "not a folder"),
    (["in.csv", "--per-patient", "-o", "old.json"], "not a folder"),
    (["in.csv", "--per-patient", "-o", "nodir/sub"], "No such file or directory"),
    (["in.csv", "--per-patient", "-o", "old.json/sub"], "Not a directory"),
    (["bad.csv", "--per-patient", "-o", "new"], "bad.csv"),
    (["in.csv", "-o", "o.json", "--identifier-system", "not a uri"], "--identifier-system"),
    (["in.csv", "-o", "o.json", "--identifier-system", "urn:x:\x1b[31m"], "\\x1b[31m"),
    (["in.csv", "-o", "o.json", "--identifier-system", ""], "--identifier-system"),
]


@pytest.mark.parametrize(("args", "fragment"), BATTERY, ids=[" ".join(a)[:50] for a, _ in BATTERY])
def test_user_mistakes(
    workdir: Path, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    before = _files(workdir)
    assert cli.run(["fhir", *args]) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert out == "" and lines and lines[0].startswith("error: ") and fragment in lines[0], err
    assert sum(line.startswith("error:") for line in lines) == 1
    if not args[0].startswith("bad"):
        assert len(lines) == 1, err  # (a file's content problems follow on their own lines)
    assert _files(workdir) == before  # nothing written, nothing changed
    assert sorted(p.name for p in workdir.iterdir()) == sorted(
        {*(k.split("/")[0] for k in before), "existing"}
    )
