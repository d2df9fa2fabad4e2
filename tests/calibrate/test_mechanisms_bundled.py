"""docs/calibration.md's numbers of the bundled mechanism comparison are the bundled file's
(scripts/compare_mechanisms.py --summary): a rerun that is bundled without rewriting the page, or a page
edited by hand, fails here."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from script_support import load_script

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "src" / "crpsmap" / "calibrate" / "fitted" / "mechanisms-vanrijn2011.json"


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script("compare_mechanisms")


@pytest.fixture(scope="module")
def bundled() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(BUNDLED.read_text(encoding="utf-8"))
    return data


def test_the_page_quotes_the_bundled_comparison(script: ModuleType, bundled: dict[str, Any]) -> None:
    page = _flat((ROOT / "docs" / "calibration.md").read_text(encoding="utf-8"))
    lines = script.doc_lines(bundled)
    assert len(lines) == len(bundled["candidates"]) * 2 + 7
    missing = [line for line in lines if _flat(line) not in page]
    assert not missing, "docs/calibration.md does not quote these lines of --summary:\n" + "\n".join(missing)


def test_the_lines_follow_the_file(script: ModuleType, bundled: dict[str, Any]) -> None:
    """A changed number in the file changes its line (so the page test can fail)."""
    before = script.doc_lines(bundled)
    changed = json.loads(json.dumps(bundled))
    changed["candidates"][0]["criterion"]["with_conversion"]["mean"] += 0.1
    changed["recovery"]["confusion"]["with_conversion"]["spinal"]["spinal"] -= 1
    after = script.doc_lines(changed)
    assert [a for a, b in zip(after, before, strict=True) if a != b] == [
        after[0],
        after[-5],
        after[-1],
    ]


def test_summary_of_a_wrong_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "other.json"
    bad.write_text('{"candidates": []}', encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "compare_mechanisms.py"), "--summary", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"error: {bad}: not a mechanism comparison" in proc.stderr and "Traceback" not in proc.stderr
