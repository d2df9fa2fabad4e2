"""scripts/plausibility_check.py's options that change one thing of the judged parameters: --recall-days
judges them under another dating of new limbs (the identifiable first-to-second-limb share depends on
it), --crosstalk-group with a cross-talk subgroup (docs/plausibility.md 4.7); a value outside its
documented range, or a subgroup without the per-limb nodes it acts on, is a clear error that writes
nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from script_support import SCRIPTS

SCRIPT = str(SCRIPTS / "plausibility_check.py")
TINY = ["--patients", "3", "--seeds", "1", "--years", "1", "--horizon-years"]


def _judge(out: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """The script on a tiny clinic (3 patients, 1 seed, 1 year) with `options`."""
    return subprocess.run(
        [sys.executable, SCRIPT, *TINY, *options, "--output", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_recall_days_reaches_the_judged_clinic(tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    done = _judge(out, "--recall-days", "91")
    assert done.returncode == 0, done.stderr
    d = json.loads(out.read_text())
    assert d["settings"]["recall_days"] == 91.0, "read from the judged Sim, so an ignored option fails here"
    assert "identifiable" in d["per_seed"][0]["van_rijn"]
    assert {"mean", "min", "max", "n"} <= set(d["distributions"]["van_rijn_identifiable"])
    by_limbs = d["distributions"]["involvement_by_limbs"]
    assert set(by_limbs) == {"0", "1", "2", "3", "4"}
    for k, groups in d["seed0"]["involvement_by_limbs"].items():  # the one seed's figures, carried over
        for g, spread in by_limbs[k].items():
            assert spread["mean"] == groups[g]["proportion"], (k, g)


def test_recall_days_outside_its_documented_range_is_a_clear_error(tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    done = _judge(out, "--recall-days", "200")
    assert done.returncode == 2
    assert "--recall-days 200: outside its documented range 0-91" in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


def test_crosstalk_group_reaches_the_judged_clinic(tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    done = _judge(out, "--limb-representations", "--crosstalk-group", "0.3", "0.8")
    assert done.returncode == 0, done.stderr
    group = json.loads(out.read_text())["settings"]["crosstalk_group"]
    assert group == {"p_crosstalk_group": 0.3, "c_desc_group": 0.8}, "read from the judged Sim"


def test_crosstalk_group_out_of_range_or_without_limb_nodes_is_a_clear_error(tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    cases = {
        ("--limb-representations", "--crosstalk-group", "0.3", "1.5"): "outside its documented range 0-1",
        ("--limb-representations", "--crosstalk-group", "0.9", "0.5"): "outside its documented range 0-0.5",
        ("--crosstalk-group", "0.3", "0.8"): "acts on the per-limb supraspinal nodes",
    }
    for options, message in cases.items():
        done = _judge(out, *options)
        assert done.returncode == 2, options
        assert message in done.stderr, (options, done.stderr)
        assert "Traceback" not in done.stderr and not out.exists()
