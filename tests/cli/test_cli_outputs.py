"""Output safety: a failed run leaves the previous file byte-identical and no partial file; a command
never overwrites its own input; default names do not take a user's file names."""

from __future__ import annotations

import contextlib
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crpsmap import cli
from crpsmap.scale.virtual_clinic import ClinicRun

CSV = (
    "patient_id,date,kind,regions\nP1,2020-01-01,onset,hand_right\n"
    "P1,2020-06-01,assessment,hand_right;wrist_right\n"
)


@contextlib.contextmanager
def no_cluster(scheduler: object, workers: object, *, local_default: bool = True) -> Iterator[object]:
    yield object()  # the simulation is replaced too: no Dask cluster is started


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("crpsmap.cli.cluster.dask", no_cluster)
    return tmp_path


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_simulate_that_fails_midway_leaves_the_previous_files_and_no_partial_file(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "v.csv").write_text("the previous cohort\n")
    (folder / "v.model.json").write_text('{"previous": true}\n')

    def half_then_fail(sim: object, n: int, dest: str | Path, client: object, **kw: object) -> ClinicRun:
        Path(dest).write_text("patient_id,date,kind,regions\nV000001,2015-")  # half a file
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("crpsmap.scale.simulate_clinic_csv", half_then_fail)
    assert cli.run(["simulate", "-n", "5", "-o", "v.csv"]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert (folder / "v.csv").read_text() == "the previous cohort\n"
    assert (folder / "v.model.json").read_text() == '{"previous": true}\n'
    assert _listing(folder) == ["v.csv", "v.model.json"]


def test_simulate_interrupted_leaves_the_previous_file(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (folder / "v.csv").write_text("the previous cohort\n")

    def interrupted(sim: object, n: int, dest: str | Path, client: object, **kw: object) -> ClinicRun:
        Path(dest).write_text("patient_id,date,kind,regions\n")
        raise KeyboardInterrupt

    monkeypatch.setattr("crpsmap.scale.simulate_clinic_csv", interrupted)
    assert cli.run(["simulate", "-n", "5", "-o", "v.csv"]) == 130
    assert (folder / "v.csv").read_text() == "the previous cohort\n"
    assert _listing(folder) == ["v.csv"]


def test_simulate_default_name_is_the_seed_not_a_common_file_name(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder / "cohort.csv").write_text(CSV)

    def small(sim: object, n: int, dest: str | Path, client: object, **kw: object) -> ClinicRun:
        Path(dest).write_text(CSV)
        return ClinicRun(patients=1, cases=1, injuries=7, chunks=1)

    monkeypatch.setattr("crpsmap.scale.simulate_clinic_csv", small)
    assert cli.run(["simulate", "-n", "1", "--seed", "7"]) == 0
    assert _listing(folder) == ["cohort.csv", "virtual-clinic-7.csv", "virtual-clinic-7.model.json"]
    assert (folder / "cohort.csv").read_text() == CSV
    meta = json.loads((folder / "virtual-clinic-7.model.json").read_text())
    assert meta["model_output"] is True and meta["seed"] == 7 and meta["csv"] == "virtual-clinic-7.csv"


def test_calibrate_that_fails_leaves_the_previous_json(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (folder / "calibration.json").write_text('{"previous": true}\n')

    def broken(*args: object, **kwargs: object) -> None:
        raise MemoryError("out of memory")

    monkeypatch.setattr(importlib.import_module("crpsmap.calibrate.fit"), "fit", broken)
    assert cli.run(["calibrate", "--target", "vanrijn2011", "--trials", "1", "--patients", "10"]) == 1
    assert (folder / "calibration.json").read_text() == '{"previous": true}\n'
    assert _listing(folder) == ["calibration.json"]


def test_trial_that_fails_leaves_the_previous_page(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (folder / "trial.html").write_text("previous page")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the kernel failed")

    monkeypatch.setattr("crpsmap.trial.run_trial", broken)
    assert cli.run(["trial", "--intervention", "glial_inhibitor", "-n", "5", "--years", "1"]) == 1
    assert (folder / "trial.html").read_text() == "previous page"
    assert _listing(folder) == ["trial.html"]


def test_report_on_a_bad_file_leaves_the_previous_report(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "bad.csv").write_text("not,a,crpsmap,file\n1,2,3,4\n")
    (folder / "report.html").write_bytes(b"previous report")
    (folder / "stats.json").write_bytes(b"{}")
    assert cli.run(["report", "bad.csv", "--json", "stats.json"]) == 2
    assert (folder / "report.html").read_bytes() == b"previous report"
    assert (folder / "stats.json").read_bytes() == b"{}"
    assert _listing(folder) == ["bad.csv", "report.html", "stats.json"]


@pytest.mark.parametrize(
    "args",
    [
        ["report", "c.csv", "-o", "c.csv"],
        ["report", "c.csv", "--json", "c.csv"],
        ["report", "c.csv", "-o", "./sub/../c.csv"],
        ["report", "c.csv", "-o", "link.csv"],
        ["calibrate", "c.csv", "-o", "c.csv"],
        ["report", "c.csv", "--calibration", "cmp.json", "-o", "cmp.json"],
    ],
)
def test_no_command_overwrites_its_own_input(folder: Path, args: list[str]) -> None:
    (folder / "c.csv").write_text(CSV)
    (folder / "sub").mkdir()
    (folder / "link.csv").symlink_to(folder / "c.csv")
    (folder / "cmp.json").write_text("{}")
    assert cli.run(args) == 2
    assert (folder / "c.csv").read_text() == CSV
    assert (folder / "cmp.json").read_text() == "{}"


def test_simulate_really_replaces_its_output_whole(tmp_path: Path) -> None:
    """A real (tiny) run: the old file is replaced, nothing else is left in the folder."""
    out = tmp_path / "v.csv"
    out.write_text("old\n")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "crpsmap",
            "simulate",
            "-n",
            "8",
            "--years",
            "1",
            "--workers",
            "1",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert out.read_text().startswith("patient_id,")
    assert _listing(tmp_path) == ["v.csv", "v.model.json"]
    assert (out.stat().st_mode & 0o777) == (out.with_suffix(".model.json").stat().st_mode & 0o777)
