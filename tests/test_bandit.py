"""bandit on the source: no finding that is not explained. A `# nosec` names its test id and carries its
reason (on its line, or on the comment line above); each id skipped or marked is explained in
docs/security.md; the one skipped test (B101, assert) stays true to its reason."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "crpsmap"
NOSEC = re.compile(r"#\s*nosec\b(?P<rest>.*)$")


def test_bandit_finds_nothing_unexplained() -> None:
    cmd = [sys.executable, "-m", "bandit", "-r", str(SRC), "-q", "-f", "json", "-c", "pyproject.toml"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert out.stdout, out.stderr
    report = json.loads(out.stdout)
    findings = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}" for r in report["results"]
    ]
    assert not findings, "\n".join(findings)
    assert not report["errors"], report["errors"]
    assert report["metrics"]["_totals"]["loc"] > 10_000  # it did read the source


def _nosec_lines() -> list[tuple[Path, int, str, str]]:
    """(file, line number, test ids, reason) of every `# nosec` in the source."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            m = NOSEC.search(line)
            if m is None:
                continue
            rest = m.group("rest")
            ids = " ".join(sorted(set(re.findall(r"\bB\d{3}\b", rest.split("#")[0] + rest.split(":")[0]))))
            reason = re.sub(r"^[\s:]*(B\d{3}[\s,]*)+[:#\s-]*", "", rest).strip()
            if reason in ("", "reason above") and i > 0 and lines[i - 1].strip().startswith("#"):
                reason = lines[i - 1].strip().lstrip("#").strip()
            found.append((path, i + 1, ids, reason))
    return found


def test_every_nosec_names_its_test_and_gives_a_reason() -> None:
    doc = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    marks = _nosec_lines()
    assert len(marks) >= 15
    for path, line, ids, reason in marks:
        where = f"{path.relative_to(ROOT)}:{line}"
        assert ids, f"{where}: a bare # nosec silences every test; name the one meant"
        assert len(reason) >= 15, f"{where}: # nosec {ids} without a reason"
        for test_id in ids.split():
            assert test_id in doc, f"{where}: {test_id} is not explained in docs/security.md"
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for test_id in config["tool"]["bandit"].get("skips", []):
        assert test_id in doc, f"skipped {test_id} is not explained in docs/security.md"


def test_asserts_only_narrow_optional_values() -> None:
    """B101 is skipped because no assert guards anything: each is `x is not None` (and such), which
    only tells mypy what the code before it made sure of."""

    def narrowing(test: ast.expr) -> bool:
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
            return all(narrowing(v) for v in test.values)
        return (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.IsNot)
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value is None
        )

    count = 0
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assert):
                count += 1
                assert narrowing(node.test), (
                    f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node.test)}"
                )
    assert count >= 5
