"""The trial page from a hand-made result: escaped names, the noise sentence beside the headline figure,
tables in scrollers, atomic writes. (The end-to-end page is in test_trial_cli.py.)"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from crpsmap.model import CATALOGUE
from crpsmap.trial import TrialResult, TrialSpec
from crpsmap.trial.outcomes import BINARY_OUTCOMES, PatientOutcome
from crpsmap.trial.page import NOISE_SENTENCE, render_trial_html, write_trial_page
from crpsmap.trial.paired import PairedBinary, PairedMean

PAYLOAD = "<script>alert(\"x\")</script> & 'q'"
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;q&#39;"


def _outcome(i: int, arm: int) -> PatientOutcome:
    day = dt.date(2020, 1, 1)
    flags = {k: (i + arm + j) % 3 == 0 for j, k in enumerate(BINARY_OUTCOMES)}
    return PatientOutcome(
        patient_id=f"V{i}", enrolment=day, start=day, observed_after_start=True,
        hrv_start=30.0, hrv_last=30.0 + i + 5 * arm, **flags,
    )  # fmt: skip


def _result(name: str = "glial_inhibitor", n: int = 12) -> TrialResult:
    control = [_outcome(i, 0) for i in range(n)]
    treated = [_outcome(i, 1) for i in range(n)]
    binary = {
        k: PairedBinary.of([o.flag(k) for o in control], [o.flag(k) for o in treated])
        for k in BINARY_OUTCOMES
    }
    hrv = PairedMean.of([o.hrv_change or 0.0 for o in control], [o.hrv_change or 0.0 for o in treated])
    return TrialResult(TrialSpec(name, patients=n), 40, control, treated, binary, hrv)


def test_noise_sentence_stands_beside_the_headline_figure() -> None:
    html = render_trial_html(_result())
    text = re.sub(r"\s+", " ", html)
    assert NOISE_SENTENCE in text
    assert "simulation noise" in NOISE_SENTENCE and "common random numbers" in NOISE_SENTENCE
    assert "not uncertainty about patients" in NOISE_SENTENCE
    head, noise, first_h2 = html.index('class="headline"'), html.index('class="noise"'), html.index("<h2")
    assert head < noise < first_h2  # right after the headline, before any table


def test_names_are_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CATALOGUE, PAYLOAD, (0, PAYLOAD))
    html = render_trial_html(_result(PAYLOAD))
    assert "<script" not in html.lower() and PAYLOAD not in html
    assert html.count(ESCAPED) >= 3  # meta line, settings (name and description)


def test_page_is_self_contained_on_the_shared_layout(tmp_path: Path) -> None:
    html = render_trial_html(_result())
    assert html.startswith("<!DOCTYPE html>") and '<main id="main">' in html
    assert "<title>Virtual trial (model result)</title>" in html
    assert not re.search(r'\b(?:src|href)\s*=\s*"(?!#)', html) and "<script" not in html
    assert html.count("<table") == html.count('<div class="scroll"') == 3
    assert "@media print" in html


def test_write_trial_page_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import crpsmap.trial.page as page

    calls: list[str] = []
    real = page.atomic_write_text

    def spy(path: object, text: str, **kw: object) -> None:
        calls.append(Path(str(path)).name)
        real(path, text)  # type: ignore[arg-type]

    monkeypatch.setattr(page, "atomic_write_text", spy)
    write_trial_page(_result(), tmp_path / "t.html", tmp_path / "t.json")
    assert calls == ["t.html", "t.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.html", "t.json"]
