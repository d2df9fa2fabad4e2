"""The trial page from hand-made results: escaped names, the sentence beside the headline figure saying
what its interval includes (point run: simulation noise only; over draws: parameters, effect size and
noise), every effect prior with its source or ASSUMED, tables in scrollers, atomic writes. (The
end-to-end page is in test_trial_cli.py.)"""

from __future__ import annotations

import datetime as dt
import html as htmllib
import json
import re
from pathlib import Path

import pytest

from crpsmap.model import CATALOGUE
from crpsmap.trial import TrialResult, TrialSpec
from crpsmap.trial.outcomes import BINARY_OUTCOMES, PatientOutcome
from crpsmap.trial.page import NOISE_SENTENCE, render_trial_html, write_trial_page
from crpsmap.trial.paired import PairedBinary, PairedMean
from crpsmap.trial.priors import ANCHORED, ASSUMED, PRIORS, prior_for
from crpsmap.trial.uncertainty import Draw, DrawsTrialResult, ParameterSource, summarise_draws

PAYLOAD = "<script>alert(\"x\")</script> & 'q'"
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;q&#39;"


def _outcome(i: int, arm: int, shift: int = 0) -> PatientOutcome:
    day = dt.date(2020, 1, 1)
    flags = {k: (i + arm * (1 + shift) + j) % 3 == 0 for j, k in enumerate(BINARY_OUTCOMES)}
    return PatientOutcome(
        patient_id=f"V{i}", enrolment=day, start=day, observed_after_start=True,
        hrv_start=30.0, hrv_last=30.0 + i + 5 * arm, **flags,
    )  # fmt: skip


def _result(name: str = "glial_inhibitor", n: int = 12, shift: int = 0) -> TrialResult:
    control = [_outcome(i, 0) for i in range(n)]
    treated = [_outcome(i, 1, shift) for i in range(n)]
    binary = {
        k: PairedBinary.of([o.flag(k) for o in control], [o.flag(k) for o in treated])
        for k in BINARY_OUTCOMES
    }
    hrv = PairedMean.of([o.hrv_change or 0.0 for o in control], [o.hrv_change or 0.0 for o in treated])
    return TrialResult(TrialSpec(name, patients=n), 40, control, treated, binary, hrv)


def _draws_result(name: str, posterior: bool) -> DrawsTrialResult:
    prior = prior_for(name)
    source = (
        ParameterSource(True, "hand-made posterior", ("w_lr",)) if posterior else ParameterSource.of(None)
    )
    draws = [
        Draw(k, k if posterior else None, {"w_lr": 0.1 + k / 100} if posterior else {}, (k + 0.5) / 3,
             prior.quantile((k + 0.5) / 3), _result(name, shift=k))
        for k in range(3)
    ]  # fmt: skip
    return summarise_draws(draws[0].result.spec, prior, source, draws)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", htmllib.unescape(html))


def _prior_row(html: str, name: str) -> str:
    """The text of the effect-prior table row of intervention `name`."""
    table = html[html.index("Effect priors of every intervention") :]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
    mine = [r for r in rows if re.search(rf"<td>(<b>)?{name}(</b>)?</td>", r)]
    assert len(mine) == 1, name
    return _text(re.sub(r"<[^>]+>", " ", mine[0]))


def test_noise_sentence_stands_beside_the_headline_figure() -> None:
    html = render_trial_html(_result())
    text = _text(html)
    assert NOISE_SENTENCE in text
    assert "simulation noise" in NOISE_SENTENCE and "common random numbers" in NOISE_SENTENCE
    assert "not uncertainty about patients" in NOISE_SENTENCE
    assert "ignores parameter uncertainty" in NOISE_SENTENCE  # a point run says what it leaves out
    head, noise, first_h2 = html.index('class="headline"'), html.index('class="noise"'), html.index("<h2")
    assert head < noise < first_h2  # right after the headline, before any table


@pytest.mark.parametrize("posterior", [True, False])
def test_draws_page_says_what_the_interval_includes(posterior: bool) -> None:
    r = _draws_result("glial_inhibitor", posterior)
    html = render_trial_html(r)
    head, noise, first_h2 = html.index('class="headline"'), html.index('class="noise"'), html.index("<h2")
    assert head < noise < first_h2
    sentence = _text(html[noise : html.index("</p>", noise)])
    assert "90% and 95% intervals over draws combine" in sentence
    assert "simulation noise" in sentence and "within-draw interval is simulation noise alone" in sentence
    assert "effect prior" in sentence and "structure" in sentence
    if posterior:
        assert "three sources" in sentence and "model's parameters (3 posterior draws" in sentence
    else:
        assert "NOT varied" in sentence and "absent" in sentence
    headline = _text(html[head : html.index("</p>", head)])
    spread = r.binary["spread"]
    assert "median" in headline and "over draws" in headline and "within one draw" in headline
    assert spread.median is not None and f"{100 * spread.median:+.1f}" in headline
    # the page's outcome table shows over-draws and within-draw intervals under distinct headings
    text = _text(html)
    for heading in ("90% over draws", "95% over draws", "Within-draw 95% (noise only)"):
        assert heading in text
    assert "MODEL RESULT" not in NOISE_SENTENCE and NOISE_SENTENCE not in text


def test_every_prior_on_the_page_shows_its_source_or_assumed() -> None:
    for result in (_draws_result("intrathecal_anticytokine", False), _result("intrathecal_anticytokine")):
        html = render_trial_html(result)
        for name, p in PRIORS.items():
            row = _prior_row(html, name)
            if p.anchored:
                assert ANCHORED in row and all(s.split(",")[0].split()[0] in row for s in p.sources)
            else:
                assert ASSUMED in row, name
                assert ("no source: assumed" in row) == (not p.sources)
    row = _prior_row(
        render_trial_html(_draws_result("intrathecal_anticytokine", False)), "intrathecal_anticytokine"
    )
    assert "ASSUMED" in row and "no source: assumed" in row and "Uniform(0 to 1)" in row
    assert "Wolf" in _prior_row(html, "vagal_stimulation") and "Nunan" in _prior_row(
        html, "vagal_stimulation"
    )


def test_point_page_names_the_default_strength_it_used() -> None:
    text = _text(render_trial_html(_result("vagal_stimulation")))
    assert "did not use the priors below" in text and "vns_dV = 0.3" in text


def test_draws_json_names_the_interval_kinds(tmp_path: Path) -> None:
    r = _draws_result("vagal_stimulation", True)
    write_trial_page(r, tmp_path / "t.html", tmp_path / "t.json")
    d = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    assert d["model_result"] is True and d["uncertainty"]["mode"] == "draws"
    assert d["uncertainty"]["effect_prior"]["basis"] == ANCHORED
    one = d["outcomes"]["spread"]
    for key in ("median_over_draws", "interval_90_over_draws", "interval_95_over_draws", "within_draw_95"):
        assert key in one
    assert len(one["per_draw"]) == 3 and len(d["draws"]) == 3
    assert d["draws"][1]["parameters"] == {"w_lr": 0.11}


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
    assert html.count("<table") == html.count('<div class="scroll"') == 4  # outcomes, HRV, priors, settings
    draws = render_trial_html(_draws_result("glial_inhibitor", True))
    assert draws.count("<table") == draws.count('<div class="scroll"') == 5  # and the draws
    assert not re.search(r'\b(?:src|href)\s*=\s*"(?!#)', draws) and "<script" not in draws
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
