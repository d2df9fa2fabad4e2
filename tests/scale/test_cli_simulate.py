"""`crpsmap simulate` end to end: Dask chunks, same seed -> same bytes, readable by classify and report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crpsmap", *args], capture_output=True, text=True, timeout=300
    )


def test_simulate_is_reproducible_across_chunks_and_workers_and_readable(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    ra = run("simulate", "--patients", "40", "--years", "1", "--seed", "3", "--workers", "1", "-o", str(a))
    assert ra.returncode == 0, ra.stderr
    rb = run(
        "simulate",
        "--patients",
        "40",
        "--years",
        "1",
        "--seed",
        "3",
        "--workers",
        "2",
        "--chunk-size",
        "77",
        "-o",
        str(b),
    )
    assert rb.returncode == 0, rb.stderr
    assert a.read_bytes() == b.read_bytes()
    assert "MODEL OUTPUT" in ra.stdout
    meta = json.loads(a.with_suffix(".model.json").read_text())
    assert meta["model_output"] is True and 0 < meta["conversion_injury_to_crps"] < 1
    assert meta["patients"] <= 40
    cls = run("classify", str(a), "--json")
    assert cls.returncode == 0, cls.stderr
    assert len(cls.stdout.splitlines()) == meta["patients"]
    rep = run("report", str(a), "-o", str(tmp_path / "r.html"))
    assert rep.returncode == 0, rep.stderr
    assert "virtual clinic - model output" in (tmp_path / "r.html").read_text()


def test_simulate_refuses_bad_settings(tmp_path: Path) -> None:
    out = str(tmp_path / "x.csv")
    for args in (("--intervention", "no_such_thing"), ("--off", "no_such_mechanism"), ("--years", "200")):
        r = run("simulate", "--patients", "5", *args, "-o", out)
        assert r.returncode == 2, (args, r.stderr)
        assert "error" in r.stderr
