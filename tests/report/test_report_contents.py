"""What the report says: escaped input, provenance from the data, the model comparison only when asked
for, constants from the code, one time unit, plain Cox sentences, tables that line up and scroll."""

from __future__ import annotations

import dataclasses
import json
import re
from html import escape as html_escape
from pathlib import Path
from typing import Any

import pytest

import crpsmap.report.html as report_html_module
from crpsmap.data.synthetic import random_histories
from crpsmap.history import PatientHistory, Provenance
from crpsmap.io import write_csv
from crpsmap.report import provenance_summary, report_html, write_report
from crpsmap.report.html import CONFIDENCE, cox_sentence, headline, render_html
from crpsmap.report.mechanisms import bundled_comparison
from crpsmap.report.provenance import VIRTUAL_CLINIC
from crpsmap.spread import DEFAULT_TRAUMA_WINDOW_DAYS
from crpsmap.stats import cohort_statistics
from crpsmap.stats.cox import HRV_MIN_SHARE, MIN_EVENTS

PAYLOAD = "<script>alert(\"x\")</script> & 'q'"
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;q&#39;"


def _hs(
    n: int = 60, seed: int = 5, prefix: str = "SYN", provenance: Provenance | None = None
) -> list[PatientHistory]:
    hs = random_histories(n, seed=seed, prefix=prefix)
    if provenance is not None:
        hs = [h.model_copy(update={"provenance": provenance}) for h in hs]
    return hs


@pytest.fixture(scope="module")
def stats() -> Any:
    return cohort_statistics(_hs(120, seed=7))


def _no_raw_payload(html: str) -> None:
    assert "<script" not in html.lower()
    assert PAYLOAD not in html


# ---- escaping ------------------------------------------------------------------------------------------


def test_values_from_files_are_escaped(tmp_path: Path) -> None:
    hs = _hs(40)
    hs[0] = hs[0].model_copy(update={"patient_id": PAYLOAD[:60]})
    mech = bundled_comparison() or {}
    mech = json.loads(json.dumps(mech))
    mech["targets"]["source"] = PAYLOAD + " 2011"
    mech["candidates"][0]["label"] = PAYLOAD
    mech["candidates"][0]["free"] = [PAYLOAD]
    mech["sentence"] = PAYLOAD
    html, _ = report_html(hs, title=PAYLOAD, source=PAYLOAD, data_note=PAYLOAD, mechanisms=mech)
    _no_raw_payload(html)
    # title (twice: <title> and <h1>), source, note, mechanism source, label and parameter
    assert html.count(ESCAPED) >= 6


def test_literature_sources_and_notes_from_the_reference_file_are_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib import resources

    targets = json.loads(
        resources.files("crpsmap.stats").joinpath("literature-targets.json").read_text(encoding="utf-8")
    )
    for t in targets:
        t["source"] = PAYLOAD + " " + str(t.get("source", ""))
        if "note" in t:
            t["note"] = PAYLOAD
    ref = tmp_path / "targets.json"
    ref.write_text(json.dumps(targets), encoding="utf-8")
    monkeypatch.setenv("CRPSMAP_REFERENCE", str(ref))
    html, stats = report_html(_hs(60))
    assert stats.literature and all(PAYLOAD in c.source for c in stats.literature)
    _no_raw_payload(html)
    assert ESCAPED in html


def test_a_patient_id_never_reaches_the_page_unescaped(tmp_path: Path) -> None:
    hs = [h.model_copy(update={"patient_id": f"{PAYLOAD[:50]}{i}"}) for i, h in enumerate(_hs(30))]
    out = tmp_path / "r.html"
    write_report(hs, out)
    _no_raw_payload(out.read_text())


# ---- provenance -----------------------------------------------------------------------------------------


def test_virtual_clinic_is_named_in_title_and_headline() -> None:
    hs = _hs(60, prefix="V", provenance=Provenance.model)
    html, stats = report_html(hs)
    title = re.search(r"<title>([^<]*)</title>", html)
    assert title is not None and VIRTUAL_CLINIC in title.group(1)
    h1 = re.search(r"<h1>([^<]*)</h1>", html)
    assert h1 is not None and VIRTUAL_CLINIC in h1.group(1)
    line = re.search(r'<p class="headline">([^<]*)</p>', html)
    assert line is not None and VIRTUAL_CLINIC in line.group(1)
    assert VIRTUAL_CLINIC in headline(stats, provenance_summary(hs))
    assert "model output (virtual patient)" in html and "no real patient" in html
    assert "synthetic" not in title.group(1).lower()


def test_a_real_clinic_with_v_ids_is_not_called_synthetic() -> None:
    hs = _hs(60, prefix="V", provenance=Provenance.clinic)
    assert all(h.patient_id.startswith("V") for h in hs)
    html, stats = report_html(hs)
    low = html.lower()
    assert "synthetic" not in low and "simulated data" not in low and "no real patient" not in low
    assert VIRTUAL_CLINIC not in html
    assert headline(stats, provenance_summary(hs)).startswith("In this cohort,")


def test_synthetic_data_say_so() -> None:
    html, _ = report_html(_hs(40, provenance=Provenance.synthetic))
    assert "Cohort report (synthetic data)" in html
    assert "In this synthetic cohort" in html and "no real patient is in this report" in html


def test_mixed_data_give_their_shares() -> None:
    hs = _hs(40, prefix="P", provenance=Provenance.clinic)
    hs = hs[:30] + [h.model_copy(update={"provenance": Provenance.model}) for h in hs[30:]]
    html, _ = report_html(hs)
    assert "30 of 40 patients (75%) are clinic data, 10 (25%) model output (virtual patient)" in html
    assert "mixed data: clinic and model output" in html
    assert "75% clinic, 25% model output" in html  # the headline
    assert "no real patient" not in html  # some are real


# ---- the model comparison only when asked for ------------------------------------------------------------


def test_no_model_comparison_by_default(tmp_path: Path) -> None:
    csv = tmp_path / "clinic.csv"
    write_csv(random_histories(40, seed=12, validate=True), csv)
    write_report(csv, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert "Why does it spread?" not in html and "Akaike" not in html
    html, _ = report_html(_hs(40))
    assert "Why does it spread?" not in html


@pytest.mark.skipif(bundled_comparison() is None, reason="no bundled comparison")
def test_bundled_comparison_when_asked_for_says_what_it_was_fitted_to(tmp_path: Path) -> None:
    from crpsmap.calibrate.mechanisms import CANNOT_TELL_APART, DATA_FAVOUR

    csv = tmp_path / "clinic.csv"
    write_csv(random_histories(40, seed=12, validate=True), csv)
    write_report(csv, tmp_path / "r.html", show_bundled_mechanisms=True)
    html = (tmp_path / "r.html").read_text()
    section = html[html.index('id="why"') :]
    first = re.search(r'<p class="fitted">([^<]*)</p>', section)
    assert first is not None and section.index("<p") == section.index('<p class="fitted">')
    sentence = first.group(1)
    assert sentence.startswith("This comparison was fitted to van Rijn et al. 2011 (185 patients)")
    assert "not the patients of this report" in sentence and "clinic.csv" not in sentence
    assert "inside one hypothesis" in section  # what it compares
    # the bundled comparison carries its spread, recovery and baseline, and the report shows them
    bundled = bundled_comparison() or {}
    for c in bundled["candidates"]:
        s = c["criterion"]["with_conversion"]
        assert f"{s['mean']:.1f} ± {s['sd']:.1f}" in section
    # the verdict of each criterion, as the comparison's numbers give it: "cannot tell apart" appears when
    # either criterion does not separate the leader, "favour" when either does
    verdict = bundled["verdict"]
    separated = [verdict[k]["separated"] for k in ("with_conversion", "without_conversion")]
    assert (CANNOT_TELL_APART in section) is (not all(separated))
    assert (DATA_FAVOUR in section) is any(separated)
    assert "Model recovery" in section and "Does a mechanism beat a description?" in section


def _comparison(means: tuple[float, float], sd: float) -> dict[str, Any]:
    """A minimal comparison JSON: two explanations whose held-out AIC has these means and this SD."""
    cands = []
    for i, (name, mean) in enumerate(zip(("first", "second"), means, strict=True)):
        block = {"mean": mean, "sd": sd, "share_best": 1.0 - i, "values": [mean - sd, mean + sd]}
        cands.append(
            {
                "name": name,
                "label": f"explanation {name}",
                "free": ["w_lr"],
                "n_parameters": 1,
                "criterion": {"with_conversion": block, "without_conversion": block},
                "heldout_deviance": mean - 2,
                "aic": mean,
                "akaike_weight": 0.5,
            }
        )
    return {
        "targets": {"source": "van Rijn MA et al. J Neural Transm 2011", "multi_limb": {"denominator": 185}},
        "budget": {"starts": 3, "trials": 8, "patients": 200, "heldout_seeds": 2, "heldout_patients": 200},
        "years": 5,
        "candidates": cands,
    }


@pytest.mark.parametrize(("means", "sd", "apart"), [((10.0, 11.0), 3.0, False), ((10.0, 30.0), 1.0, True)])
def test_section_shows_the_spread_and_says_when_the_data_cannot_tell_apart(
    means: tuple[float, float], sd: float, apart: bool
) -> None:
    from crpsmap.calibrate.mechanisms import CANNOT_TELL_APART, DATA_FAVOUR, SPREAD_Z

    html, _ = report_html(_hs(20), mechanisms=_comparison(means, sd))
    section = re.sub(r"\s+", " ", html[html.index('id="why"') :])
    for m in means:
        assert f"{m:.1f} ± {sd:.1f}" in section  # mean ± SD of each explanation
    overlap = means[0] + SPREAD_Z * sd >= means[1] - SPREAD_Z * sd
    assert overlap is not apart
    assert (CANNOT_TELL_APART in section) is overlap
    assert (f"{DATA_FAVOUR} “explanation first”" in section) is apart


def test_an_old_comparison_without_spread_says_its_uncertainty_is_unknown() -> None:
    from crpsmap.calibrate.mechanisms import CANNOT_TELL_APART

    mech = _comparison((10.0, 30.0), 1.0)
    for c in mech["candidates"]:
        del c["criterion"]
    html, _ = report_html(_hs(20), mechanisms=mech)
    section = html[html.index('id="why"') :]
    assert CANNOT_TELL_APART in section and "one held-out clinic per explanation" in section


def test_a_comparison_without_metadata_is_tied_to_no_cohort() -> None:
    mech = json.loads(json.dumps(bundled_comparison() or {"candidates": []}))
    mech.pop("targets", None)
    html, _ = report_html(_hs(30), source="clinic.csv", mechanisms=mech)
    first = re.search(r'<p class="fitted">([^<]*)</p>', html)
    assert first is not None and "does not record the data it was fitted to" in first.group(1)
    assert "clinic.csv" not in first.group(1)


def test_the_old_keyword_still_works() -> None:
    with pytest.warns(DeprecationWarning):
        html, _ = report_html(_hs(20), bundled_mechanisms=False)
    assert "Why does it spread?" not in html


# ---- constants, units, Cox sentences ---------------------------------------------------------------------


def test_constants_in_the_text_are_the_codes(stats: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    html = render_html(stats)
    text = re.sub(r"\s+", " ", html)
    assert f"within {DEFAULT_TRAUMA_WINDOW_DAYS} days before" in text
    assert f"in the {DEFAULT_TRAUMA_WINDOW_DAYS} days before it became involved" in text
    assert f"fewer than {MIN_EVENTS} new-limb events" in text
    assert (
        "at least half of the patients" if HRV_MIN_SHARE == 0.5 else f"{100 * HRV_MIN_SHARE:.0f}%"
    ) in text
    assert f"Wilson {CONFIDENCE}% score intervals" in text and CONFIDENCE == 95
    # the text follows the code, not a copy of its value
    monkeypatch.setattr(report_html_module, "DEFAULT_TRAUMA_WINDOW_DAYS", 91)
    monkeypatch.setattr(report_html_module, "MIN_EVENTS", 17)
    monkeypatch.setattr(report_html_module, "HRV_MIN_SHARE", 0.6)
    text = re.sub(r"\s+", " ", render_html(stats))
    assert "within 91 days before" in text and "in the 91 days before it became involved" in text
    assert "fewer than 17 new-limb events" in text and "at least 60% of the patients" in text
    assert f"within {DEFAULT_TRAUMA_WINDOW_DAYS} days" not in text


def test_methods_state_the_new_rules(stats: Any) -> None:
    text = re.sub(r"\s+", " ", render_html(stats))
    assert "same-day patch" in text
    assert "on or before the onset date is the inciting injury" in text


def test_one_time_unit(stats: Any) -> None:
    html = render_html(stats)
    assert "years since onset" in html and "median (years)" in html and "95% CI (years)" in html
    assert "(days)" not in html and " y<" not in html and " y ·" not in html
    card = re.search(r'<div class="v">([^<]*)</div><div class="k">Median time to a second limb', html)
    assert card is not None and (card.group(1).endswith(" years") or card.group(1) in ("not reached", "–"))


def _unfitted(stats: Any, note: str, **kw: Any) -> Any:
    cox = dataclasses.replace(stats.cox, terms={}, note=note, **kw)
    return dataclasses.replace(stats, cox=cox)


def test_cox_failures_are_plain_sentences(stats: Any) -> None:
    library = (
        "the Cox model could not be fitted (ConvergenceError: Convergence halted due to matrix inversion "
        "problems. Suspicion is high collinearity. <Please see lifelines docs>)"
    )
    # a result whose note is a library's text (no known reason): never shown
    bad = _unfitted(stats, library, n_events=50, reason=None)
    html = render_html(bad)
    assert "ConvergenceError" not in html and "lifelines docs" not in html and "collinearity" not in html
    assert "The Cox model could not be fitted: the data do not allow stable estimates" in html
    # the statistics' own sentences are shown as they are (one place says why)
    few = cohort_statistics(random_histories(5, seed=3))
    assert few.cox.reason == "too_few_events"
    assert cox_sentence(few.cox) == few.cox.note
    assert f"needs at least {MIN_EVENTS}" in cox_sentence(few.cox)
    assert html_escape(few.cox.note or "") in render_html(few)


# ---- tables -----------------------------------------------------------------------------------------------


def test_every_table_scrolls_sideways_and_numbers_are_right_aligned(stats: Any) -> None:
    html = render_html(stats)
    assert html.count("<table") == html.count('<div class="scroll"') > 5
    assert "overflow-x:auto" in html and "@media print" in html


def test_limb_count_table_lines_up(stats: Any) -> None:
    html = render_html(stats)
    start = html.index("<h3>Limbs involved at last follow-up</h3>")
    table = html[start : html.index("</table>", start)]
    heads = re.findall(r"<th scope=\"col\"([^>]*)>([^<]*)</th>", table)
    assert heads == [("", "limbs involved"), (' class="n"', "patients"), (' class="n"', "share")]
    rows = re.findall(r"<tr>(.*?)</tr>", table)[1:]
    assert len(rows) == 5
    f = stats.figures
    for k, row in enumerate(rows):
        cells = re.findall(r"<t([hd])([^>]*)>([^<]*)</t[hd]>", row)
        assert cells[0][0] == "h" and cells[0][2] == f"{k} limb{'s' if k != 1 else ''}"
        assert [c[1] for c in cells[1:]] == [' class="n"', ' class="n"']
        assert cells[1][2] == str(f.limb_count.get(k, 0))


def test_write_report_writes_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import crpsmap.report.api as api

    calls: list[str] = []
    real = api.atomic_write_text

    def spy(path: Any, text: str, **kw: Any) -> None:
        calls.append(Path(path).name)
        real(path, text, **kw)

    monkeypatch.setattr(api, "atomic_write_text", spy)
    write_report(_hs(10), tmp_path / "r.html", tmp_path / "r.json")
    assert calls == ["r.html", "r.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r.json"]  # no temporary file left


def test_a_plain_mechanisms_view_renders_with_its_further_figures() -> None:
    """The template reads `extra` from every "why" view: a plain MechanismsView (not only the report's
    own subclass) renders, with and without further figures."""
    from crpsmap.report.templating import render, trusted
    from crpsmap.report.view import Figure, MechanismsView, ReportView, Table

    def page(mech: MechanismsView) -> str:
        view = ReportView(title="t", meta="m", notes=(), headline="h", css=trusted(""), mechanisms=mech)
        return render("report.html", v=view)

    plain = MechanismsView("fitted to X", "scope", "verdict", "", Table(columns=(), rows=()), "cap")
    assert plain.extra == ()
    assert "verdict" in page(plain)
    more = dataclasses.replace(plain, extra=(Figure(heading="A further figure", caption="c"),))
    html = page(more)
    assert "A further figure" in html and html.index("verdict") < html.index("A further figure")


def test_a_comparison_of_another_model_structure_says_so() -> None:
    """A comparison computed before the defaults' structure changed is never read as today's model's: the
    section's scope names both structures; one of today's structure (or one that does not say) does not."""
    from crpsmap.calibrate.fit import model_structure
    from crpsmap.model import Sim
    from crpsmap.report.mechanisms import mechanisms_view

    today = model_structure(Sim())
    earlier = {"somatotopy": not today["somatotopy"], "diagnosis": "first_visit"}
    old = mechanisms_view({"structure": earlier, "candidates": []}).scope
    assert "earlier structure of the model" in old and "not yet been recomputed" in old
    assert ("without" if today["somatotopy"] else "with") + " the somatotopic columns" in old
    for d in ({"structure": today, "candidates": []}, {"candidates": []}):
        assert "earlier structure" not in mechanisms_view(d).scope
    bundled = bundled_comparison() or {}
    if bundled.get("structure") not in (None, today):
        assert "earlier structure" in mechanisms_view(bundled, bundled=True).scope


def test_the_caption_says_how_failed_search_clinics_were_counted() -> None:
    """Search clinics under the conversion floor: a file whose budget counted scored clinics says they were
    replaced; an older file (budget of clinics asked) says they were not and the counts were unequal;
    without failed trials the caption says nothing of them."""
    from crpsmap.report.mechanisms import mechanisms_view

    mech = json.loads(json.dumps(bundled_comparison() or {}))
    for i, c in enumerate(mech["candidates"]):
        c["failed_trials"] = i + 1
    mech["failed_below_conversion"] = 0.001
    mech["budget"].pop("ask_limit_per_start", None)
    old = mechanisms_view(mech).caption
    assert "fewer than 0.1% of injuries" in old and "were not replaced" in old and "unequal" in old
    assert f"{mech['candidates'][-1]['name']} {len(mech['candidates'])}" in old
    mech["budget"]["ask_limit_per_start"] = 18
    new = mechanisms_view(mech).caption
    assert "were replaced by further trials" in new and "not replaced" not in new
    for c in mech["candidates"]:
        c["failed_trials"] = 0
    assert "failed" not in mechanisms_view(mech).caption
