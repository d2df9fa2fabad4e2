"""Readable output: --version, region --list and everyday names, the model's catalogue in --help, the
calibration table; and everything from a file or a user printed literally."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from crpsmap import cli
from crpsmap.atlas import load_atlas
from crpsmap.summary import literal, printable


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = cli.run(args)
    out, err = capsys.readouterr()
    return status, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"], capsys) == (0, f"crpsmap {version('crpsmap')}\n", "")


def test_region_list_is_a_table_of_everything_in_the_atlas(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["region", "--list"], capsys)
    assert status == 0
    atlas = load_atlas()
    for a in atlas.areas:
        assert a.slug in out
    for s in atlas.segments:
        assert f"{s.slug}  {s.choir}  {s.redcap}" in out
    for v in atlas.visceral:
        assert v.slug in out and v.name in out
    for words in ("right hand", "left knee", "right back of head", "left arm", "right leg"):
        assert words in out


@pytest.mark.parametrize(
    ("name", "first_line"),
    [
        ("right hand", "area hand_right (Hand (right); everyday name: right hand)"),
        ("hand right", "area hand_right"),
        ("R hand", "area hand_right"),
        ("Hand (right)", "area hand_right"),
        ("left knee", "area knee_left"),
        ("left bicep", "area upper_arm_left"),
        ("palm of the right hand", "segment hand_palm_right (right hand (palm)): CHOIR 125, REDCap f25"),
        ("bladder", "visceral system visceral_bladder: Urinary bladder"),
        ("f25", "segment hand_palm_right"),
    ],
)
def test_region_by_everyday_name(name: str, first_line: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["region", name], capsys)
    assert status == 0
    assert out.splitlines()[0].startswith(first_line), out


@pytest.mark.parametrize(
    ("name", "limb"),
    [("left leg", "lower_left"), ("right arm", "upper_right"), ("left upper limb", "upper_left")],
)
def test_a_limb_name_prints_the_limbs_areas(name: str, limb: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["region", name], capsys)
    assert status == 0
    areas = [a.slug for a in load_atlas().areas if a.limb == limb]
    assert f"{limb}" in out.splitlines()[0] and f"{len(areas)} areas" in out.splitlines()[0]
    for a in areas:
        assert a in out


@pytest.mark.parametrize("command", ["trial", "simulate"])
def test_help_lists_the_models_interventions_and_mechanisms(command: str) -> None:
    from crpsmap.model import CATALOGUE, Mechanisms

    res = subprocess.run(
        [sys.executable, "-m", "crpsmap", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert res.returncode == 0, res.stderr
    for name, (_, what) in CATALOGUE.items():
        assert f"{name}: {what}" in res.stdout
    for f in dataclasses.fields(Mechanisms):
        assert f.name in res.stdout


def test_printable_shows_controls_and_keeps_text() -> None:
    assert printable("P1 [red]x[/red] :smile: é 名") == "P1 [red]x[/red] :smile: é 名"
    assert printable("a\x1b[31mb\x07\n\t\x7f") == "a\\x1b[31mb\\x07\\x0a\\x09\\x7f"
    assert printable("x\u202ey\u200bz\u2028") == "x\\u202ey\\u200bz\\u2028"
    assert printable("bad\udcff") == "bad\\udcff"  # an undecodable byte of a file name
    console = Console(width=100, markup=True, emoji=True, highlight=True, force_terminal=True)
    with console.capture() as cap:
        console.print(literal("[bold]P1[/bold] :smile: \x1b[2J"))
    text = cap.get()
    assert "[bold]P1[/bold] :smile: \\x1b[2J" in text and "\x1b[2J" not in text and "😄" not in text


def test_classify_table_prints_ids_literally(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "m.csv"
    p.write_text(
        "patient_id,date,kind,regions\n[red]P1[/red],2020-01-01,onset,hand_right\n"
        "[red]P1[/red],2020-06-01,assessment,hand_right;wrist_right\n:smile:,2020-01-01,onset,foot_left\n"
    )
    status, out, _ = run(["classify", str(p)], capsys)
    assert status == 0
    assert "[red]P1[/red]" in out and ":smile:" in out and "😄" not in out


def _fit_and_posterior() -> tuple[object, object]:
    from crpsmap.calibrate import van_rijn_2011
    from crpsmap.calibrate.fit import FitResult, free_params
    from crpsmap.calibrate.posterior import Posterior

    free = free_params(["w_lr", "gain_mu"])
    fitted = FitResult(
        best={"w_lr": 0.1523456, "gain_mu": -0.8123},
        deviance=3.21,
        parts={},
        best_summary={"multi_limb": 90, "patients": 185},
        targets=van_rijn_2011(),
        free=free,
        n_patients=200,
        years=5.0,
        seed=0,
        mechanisms_off=(),
        trials=[{}, {}],
    )
    samples = np.array([[0.10, -1.0], [0.15, -0.8], [0.20, -0.6], [0.12, -0.9]])
    post = Posterior(("w_lr", "gain_mu"), samples, np.full(4, 0.25), 4.2, 3, 400)
    return fitted, post


def test_calibration_table(capsys: pytest.CaptureFixture[str]) -> None:
    fitted, post = _fit_and_posterior()
    cli.print_calibration(fitted, post, None, Path("c.json"))  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert "parameter" in out and "search range (prior)" in out and "posterior median" in out
    assert "90% interval" in out
    row = next(x for x in out.splitlines() if "w_lr" in x)
    assert "0.152" in row and "0.05 - 0.4" in row and "0.1 - 0.2" in row
    assert "0.1523456" not in out  # rounded to three significant digits
    assert "van Rijn MA, Marinus J" in out and "doi:10.1007/s00702-011-0601-1" in " ".join(out.split())
    assert "MODEL OUTPUT" in out


def _comparison(means: tuple[float, float], sd: float) -> object:
    """A two-explanation comparison with given held-out AIC means and SD (values mean +- sd)."""
    from crpsmap.calibrate import van_rijn_2011
    from crpsmap.calibrate.mechanisms import (
        CANDIDATES,
        CRITERIA,
        Budget,
        HeldOut,
        MechanismComparison,
        MechanismFit,
        Spread,
    )
    from crpsmap.model import Sim

    fits = []
    for i, (cand, m) in enumerate(zip(CANDIDATES[:2], means, strict=True)):
        crit = {c: Spread((m - sd, m + sd)) for c in CRITERIA}
        share = {CRITERIA[0]: 1.0 - i, CRITERIA[1]: 0.5}
        held = {c: HeldOut({}, []) for c in CRITERIA}
        fits.append(MechanismFit(cand, [], held, crit, crit, {}, weight=0.5, share_best=share))
    budget = Budget(heldout_seeds=2, heldout_patients=185)
    return MechanismComparison(fits, van_rijn_2011(), budget, 5.0, 0, (1, 2), Sim(), {})


@pytest.mark.parametrize("apart", [False, True])
def test_mechanism_table_shows_the_spread_not_akaike_weights(
    apart: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """The held-out AIC mean ± SD and the share won, with and without the constraint; the verdict by the
    comparison's rule, with the report's sentence when the explanations cannot be told apart."""
    from crpsmap.calibrate.mechanisms import CANDIDATES, CANNOT_TELL_APART, DATA_FAVOUR

    sd = 2.0
    means = (50.0, 80.0) if apart else (50.0, 53.0)  # intervals mean +- 2 SD: apart, overlapping
    fitted, _ = _fit_and_posterior()
    cli.print_calibration(fitted, None, _comparison(means, sd), Path("c.json"))  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert "Akaike" not in out and "weight" not in out
    # Spread((m - sd, m + sd)) has SD sd * sqrt(2) (n - 1 in the denominator)
    first = next(x for x in out.splitlines() if CANDIDATES[0].label[:20] in x)
    second = next(x for x in out.splitlines() if CANDIDATES[1].label[:20] in x)
    shown_sd = f"{sd * 2**0.5:.1f}"
    assert f"{means[0]:.1f} ± {shown_sd}" in first and "100%" in first and "50%" in first
    assert f"{means[1]:.1f} ± {shown_sd}" in second and "0%" in second
    assert out.index(first) < out.index(second)  # lowest mean AIC first
    flat = " ".join(out.split())
    assert "2 held-out clinics of 185" in flat
    if apart:
        assert CANNOT_TELL_APART not in flat and DATA_FAVOUR in flat
    else:
        assert flat.count(CANNOT_TELL_APART) == 2  # with and without the constraint
        assert DATA_FAVOUR not in flat


def test_posterior_summary_is_weighted() -> None:
    _, post = _fit_and_posterior()
    s = post.summary()  # type: ignore[attr-defined]
    assert (
        s["w_lr"]["median"] in (0.12, 0.15)
        and s["w_lr"]["ci90_low"] == 0.10
        and s["w_lr"]["ci90_high"] == 0.20
    )


@pytest.mark.parametrize(
    ("x", "text"), [(0.05, "0.05"), (0.1523456, "0.152"), (-1.6, "-1.6"), (1.0, "1"), (0, "0")]
)
def test_significant_digits(x: float, text: str) -> None:
    assert cli.sig(x) == text


def test_calibrate_end_to_end_prints_the_table_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "crpsmap",
            "calibrate",
            "--target",
            "vanrijn2011",
            "--trials",
            "2",
            "--patients",
            "20",
            "--years",
            "1",
            "--workers",
            "1",
            "--free",
            "w_lr",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert res.returncode == 0, res.stderr
    assert "w_lr" in res.stdout and "search range (prior)" in res.stdout and "van Rijn MA" in res.stdout
    data = json.loads(out.read_text())
    assert data["fit"]["model_output"] is True and set(data["fit"]["best"]) == {"w_lr"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]


def test_reading_warnings_are_shown_at_most_ten_then_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What crpsmap.io.read_csv_result reports besides the histories: warnings, the encoding assumed."""
    from crpsmap.io import ImportProblem, read_csv

    p = tmp_path / "latin.csv"
    p.write_text("patient_id,date,kind,regions\nP1,2020-01-01,onset,hand_right\n")

    @dataclasses.dataclass
    class Read:
        histories: list[object]
        warnings: list[ImportProblem]
        encoding: str
        delimiter: str = ","

    def fake(path: Path) -> Read:
        warnings = [ImportProblem(p.name, i + 2, "regions", f"warning {i} \x1b[31m") for i in range(13)]
        return Read(list(read_csv(path)), warnings, "cp1252")

    monkeypatch.setattr("crpsmap.cli.checks.read_csv_result", fake)
    status, out, err = run(["classify", str(p), "--json"], capsys)
    assert status == 0 and json.loads(out)["patient_id"] == "P1"
    lines = err.splitlines()
    assert [x for x in lines if "warning 1" in x][0].startswith("warning: latin.csv, row 3, field 'regions'")
    assert sum("row" in x for x in lines) == 10 and "3 more warnings" in err
    assert "not UTF-8; read as cp1252" in err and "\x1b" not in err
