"""scripts/plausibility_check.py's observation option: --recall-days judges the same parameters under
another dating of new limbs (the identifiable first-to-second-limb share depends on it), and a value
outside its documented range is a clear error that writes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from script_support import SCRIPTS

SCRIPT = str(SCRIPTS / "plausibility_check.py")
TINY = ["--patients", "3", "--seeds", "1", "--years", "1", "--horizon-years"]


def _judge(out: Path, recall_days: str) -> subprocess.CompletedProcess[str]:
    """The script on a tiny clinic (3 patients, 1 seed, 1 year) with --recall-days."""
    return subprocess.run(
        [sys.executable, SCRIPT, *TINY, "--recall-days", recall_days, "--output", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_recall_days_reaches_the_judged_clinic(tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    done = _judge(out, "91")
    assert done.returncode == 0, done.stderr
    d = json.loads(out.read_text())
    assert d["settings"]["recall_days"] == 91.0, "read from the judged Sim, so an ignored option fails here"
    assert "identifiable" in d["per_seed"][0]["van_rijn"]
    assert {"mean", "min", "max", "n"} <= set(d["distributions"]["van_rijn_identifiable"])


def test_recall_days_outside_its_documented_range_is_a_clear_error(tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    done = _judge(out, "200")
    assert done.returncode == 2
    assert "--recall-days 200: outside its documented range 0-91" in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()
