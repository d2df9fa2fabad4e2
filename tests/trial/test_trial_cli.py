"""`crpsmap trial` end to end in a subprocess: page, JSON, the model-result words, what the intervals
include (over draws by default, --point for the old single run), errors; browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ARGS = ["--patients", "40", "--years", "1.5", "--seed", "3", "--draws", "2"]


def crpsmap(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "crpsmap", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    d = tmp_path_factory.mktemp("trial")
    res = crpsmap(
        "trial",
        "--intervention",
        "glial_inhibitor",
        "--start",
        "30",
        *ARGS,
        "-o",
        "t.html",
        "--json",
        "t.json",
        cwd=d,
    )
    return res, d


def test_cli_writes_page_and_json(run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    from crpsmap.calibrate.draws import default_draws

    res, d = run
    assert res.returncode == 0, res.stderr
    lines = [x for x in res.stdout.splitlines() if x.strip()]
    assert lines[0].startswith(
        "MODEL RESULT (not clinical evidence): glial_inhibitor from day 30, 40 virtual patients x 2 draws"
    )
    assert "over draws" in lines[0] and "within-draw noise only" in lines[0]
    assert "not clinical evidence" in lines[1]
    html = (d / "t.html").read_text(encoding="utf-8")
    assert "<title>Virtual trial (model result)</title>" in html
    assert "it is not clinical evidence and not a treatment recommendation" in html
    assert "<script" not in html.lower()
    assert not re.search(r"(src|href)=\"?https?:", html), "no network resources"
    for text in ("intervals over draws combine", "Within-draw", "Newcombe", "Common random numbers", "HRV"):
        assert text in html
    for text in ("glial_inhibitor", "<svg", "ASSUMED", "Wolf V"):
        assert text in html
    data = json.loads((d / "t.json").read_text(encoding="utf-8"))
    assert data["title"] == "Virtual trial (model result)" and data["model_result"] is True
    assert "not clinical evidence" in data["disclaimer"]
    assert data["settings"]["start_day_after_enrolment"] == 30 and data["patients_per_draw"] == 40
    assert set(data["outcomes"]) == {"spread", "new_limb", "generalized", "visceral"}
    u = data["uncertainty"]
    assert u["mode"] == "draws" and u["draws"] == 2 and len(data["draws"]) == 2
    assert u["effect_prior"]["parameter"] == "e_glia" and u["effect_prior"]["basis"] == "ASSUMED"
    has_posterior = default_draws() is not None
    assert u["parameter_uncertainty_included"] is has_posterior
    if not has_posterior:  # said on the console, the page and the JSON
        assert "no posterior draws were available" in res.stderr
        assert "NOT varied" in u["sentence"] and "NOT varied" in html


def test_cli_point_run_is_labelled_as_ignoring_uncertainty(tmp_path: Path) -> None:
    res = crpsmap("trial", "--intervention", "vagal_stimulation", "--point", "-n", "20", "--years", "1",
                  "-o", "p.html", "--json", "p.json", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "point run (ignores parameter and effect-size uncertainty)" in res.stdout
    data = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    assert data["uncertainty"]["mode"] == "point"
    assert data["uncertainty"]["parameter_uncertainty_included"] is False
    assert set(data["hrv_rmssd_change_ms"]) == {"control", "intervention", "difference", "paired_t_p"}
    assert len(data["patient_outcomes"]) == 20
    html = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert "ignores parameter uncertainty" in html and "McNemar" in html


def test_cli_with_local_dask_workers_gives_the_same_json(
    run: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path
) -> None:
    _, d = run
    res = crpsmap(
        "trial",
        "--intervention",
        "glial_inhibitor",
        "--start",
        "30",
        *ARGS,
        "--workers",
        "2",
        "--block",
        "9",
        "-o",
        "w.html",
        "--json",
        "w.json",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert json.loads((tmp_path / "w.json").read_text()) == json.loads((d / "t.json").read_text())


@pytest.mark.parametrize(
    "args",
    [
        ["--intervention", "homeopathy"],
        ["--intervention", "glial_inhibitor", "--start", "30", "--stop", "10"],
        ["--intervention", "glial_inhibitor", "--off", "telepathy"],
        ["--intervention", "glial_inhibitor", "--years", "80"],
    ],
)
def test_cli_refuses_bad_settings(args: list[str], tmp_path: Path) -> None:
    res = crpsmap("trial", *args, "-n", "5", cwd=tmp_path)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "error" in res.stderr.lower()
    assert not (tmp_path / "trial.html").exists()


def _chromium() -> str:
    path = os.environ.get("CRPSMAP_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright not installed")
    if not path:
        pytest.skip("chromium not installed")
    return path


def test_page_opens_in_a_browser_without_errors_or_requests(
    run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    path = _chromium()
    from playwright.sync_api import sync_playwright

    _, d = run
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1600})
            page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto((d / "t.html").resolve().as_uri(), wait_until="load")
            box = page.locator("div.model").inner_text()
            width = page.evaluate("document.documentElement.scrollWidth")
        finally:
            browser.close()
    assert errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:", "about:"))] == []
    assert "not clinical evidence" in box
    assert int(width) <= 1100


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--draws", "0"], "--draws"),
        (["--draws", "201"], "--draws"),
        (["--point", "--draws", "3"], "takes no --draws"),
    ],
)
def test_cli_refuses_bad_draws_in_process(
    args: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from crpsmap import cli

    monkeypatch.chdir(tmp_path)
    assert cli.run(["trial", "--intervention", "glial_inhibitor", "-n", "5", *args]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
