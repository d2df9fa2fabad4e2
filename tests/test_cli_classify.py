"""The `crpsmap` command as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from crpsmap.data import example_cohort_path
from crpsmap.io import read_csv
from crpsmap.spread import classify


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crpsmap", *args], capture_output=True, text=True, timeout=120
    )


def test_classify_json_lines_match_the_library() -> None:
    path = example_cohort_path()
    out = run("classify", str(path), "--json")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    expected = [classify(h).to_dict() for h in read_csv(path)]
    assert lines == expected
    assert any(e["limb_pattern"] for d in lines for e in d["events"])


def test_classify_table_is_readable() -> None:
    out = run("classify", str(example_cohort_path()))
    assert out.returncode == 0, out.stderr
    assert "Spread events" in out.stdout and "SYN000001" in out.stdout and "contiguous" in out.stdout


def test_bad_file_exits_non_zero_naming_file_row_and_field(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("patient_id,date,kind,regions\nP1,2020-01-01,onset,125\nP1,2020-13-01,assessment,999\n")
    out = run("classify", str(p), "--json")
    assert out.returncode == 2
    assert out.stdout == ""
    err = " ".join(out.stderr.split())
    assert "bad.csv, row 3, field 'date'" in err and "field 'regions'" in err and "'999'" in err


def test_demo_prints_a_summary_and_writes_the_report(tmp_path: Path) -> None:
    html = tmp_path / "r.html"
    out = run("demo", "-o", str(html))
    assert out.returncode == 0, out.stderr
    assert "SYNTHETIC" in out.stdout and "more than one limb" in out.stdout
    assert "report written to" in out.stdout
    stats = json.loads(html.with_suffix(".json").read_text())
    assert stats["n_patients"] == len(read_csv(example_cohort_path()))
    assert "Does CRPS spread?" in html.read_text()


def test_region_lookup_by_code_key_or_slug() -> None:
    for name in ("125", "f25", "hand_palm_right"):
        out = run("region", name)
        assert out.returncode == 0, out.stderr
        assert "hand_palm_right" in out.stdout and "hand_right" in out.stdout and "C6, C7, C8" in out.stdout
    out = run("region", "999")
    assert out.returncode == 2 and "unknown region '999'" in out.stderr
