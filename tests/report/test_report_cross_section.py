"""The report of a cohort without follow-up (one body map per patient, the real Alter 2021 CHOIR sample):
the cross-section instead of spread over time, said plainly; a cohort with follow-up keeps its report."""

from __future__ import annotations

import datetime as dt
import json
import re
from html import escape
from pathlib import Path

import pytest
from typer.testing import CliRunner

from choir_reference import count_choir
from crpsmap.atlas import load_atlas
from crpsmap.cli import app
from crpsmap.data import example_cohort_path
from crpsmap.history import PatientHistory
from crpsmap.io import read_choir_wide, read_csv, write_csv
from crpsmap.report import report_html, write_report
from crpsmap.report.bodymap import EMPTY_FILL
from crpsmap.report.html import CROSS_SECTION_TITLE, DEFAULT_TITLE, SPREAD_SECTIONS_LEFT_OUT, headline
from crpsmap.stats import SPREAD_NOT_JUDGED

ALTER = Path(__file__).resolve().parents[1] / "fixtures" / "choir" / "alter2021-sample300.csv"
SPREAD_HEADINGS = (
    "How fast:",
    "How: patterns of spread",
    "Compared with published cohorts",
    "What goes with spread to a new limb (Cox model)",
    "Where: body areas involved",
)


@pytest.fixture(scope="module")
def alter() -> list[PatientHistory]:
    return read_choir_wide(ALTER, visit_date=dt.date(2021, 1, 1)).histories


@pytest.fixture(scope="module")
def alter_html(alter: list[PatientHistory]) -> str:
    html, _ = report_html(alter, source="alter2021-sample300.csv")
    return html


def _section(html: str, heading: str) -> str:
    start = html.index(f"<h2>{heading}</h2>")
    end = html.find("<h2", start + 4)
    return html[start : end if end > 0 else len(html)]


def test_the_report_says_plainly_that_spread_cannot_be_judged(alter_html: str) -> None:
    line = re.search(r'<p class="headline">([^<]*)</p>', alter_html)
    assert line is not None and line.group(1).endswith(SPREAD_NOT_JUDGED)
    assert line.group(1).startswith("In this cohort, 300 patients have one body map each (one time point)")
    spread = _section(alter_html, "Spread over time")
    assert SPREAD_NOT_JUDGED in spread and SPREAD_SECTIONS_LEFT_OUT in spread
    assert "single record" not in alter_html  # the longitudinal note would say "not (yet) spread"
    assert f"<h1>{CROSS_SECTION_TITLE}</h1>" in alter_html


def test_no_spread_over_time_figures(alter_html: str) -> None:
    for heading in SPREAD_HEADINGS:
        assert heading not in alter_html
    assert 'class="plot"' not in alter_html  # no Kaplan-Meier curve, no pattern bars
    assert "median time to a second limb" not in alter_html.lower()
    assert "Spread beyond onset area" not in alter_html  # no spread card
    assert "van Rijn" not in alter_html and "lifelines" not in alter_html  # methods of the cross-section


def test_the_cross_section_numbers_are_the_independent_count(alter_html: str) -> None:
    ref = count_choir(ALTER)
    atlas = load_atlas()
    section = _section(alter_html, "Where: the body map at one time point")
    # one body map, shaded by segment; each segment's title gives its count from the raw file
    assert section.count("<svg") >= 2 and section.count("data-region=") == 74
    for s in atlas.segments:
        k = ref.segments[f"X{s.choir}"]
        path = re.search(rf'<path data-region="{s.slug}" data-choir="{s.choir}" fill="([^"]+)"', section)
        assert path is not None
        assert (path.group(1) == EMPTY_FILL) == (k == 0), s.slug
        title = section[path.end() : section.index("</path>", path.end())]
        assert f"({k}/300)</title>" in title, s.slug
    fills = set(re.findall(r'data-region="[^"]+" data-choir="\d+" fill="([^"]+)"', section))
    assert len(fills) > 10  # segments of one area can differ
    # the tables: the top areas and every area, right and left
    top = max(atlas.areas, key=lambda a: ref.areas[a.slug])
    assert re.search(
        rf"<td>{top.name.lower().replace('(', '[(]').replace(')', '[)]')}</td><td class=\"n\">"
        rf"{ref.areas[top.slug]}</td>",
        section,
    )
    for a in atlas.areas:
        k = ref.areas[a.slug]
        assert f'<td class="n">{round(100 * k / 300)}%<br><span class="src">{k} · ' in section
    assert f"{ref.any_bilateral} of 300) of all patients with a body map marked both sides" in section
    limbs = ("right arm", "left arm", "right leg", "left leg")
    for name, limb in zip(limbs, ("upper_right", "upper_left", "lower_right", "lower_left"), strict=True):
        assert f'<td>{name}</td><td class="n">{ref.limbs[limb]}</td>' in section
    for k in range(5):
        n = sum(v == k for v in ref.n_limbs)
        assert f'<th scope="row">{k} limb{"" if k == 1 else "s"}</th><td class="n">{n}</td>' in section
    assert "Internal organs" not in section  # none marked: not shown


def test_tables_scroll_and_numbers_are_right_aligned(alter_html: str) -> None:
    assert alter_html.count("<table") == alter_html.count('<div class="scroll"') >= 5
    for table in re.findall(r"<table.*?</table>", alter_html, flags=re.S):
        heads = re.findall(r'<th scope="col"( class="n")?>([^<]*)</th>', table)
        assert heads and not heads[0][0]  # first column: names, left-aligned
        assert all(h[0] for h in heads[1:])  # the rest: numbers, right-aligned


def test_json_holds_the_cross_section(tmp_path: Path, alter: list[PatientHistory]) -> None:
    out, js = tmp_path / "r.html", tmp_path / "r.json"
    stats = write_report(alter, out, js)
    data = json.loads(js.read_text())
    assert data["spread_judgeable"] is False
    cs = data["cross_section"]
    assert cs["no_follow_up"] is True and cs["note"] == SPREAD_NOT_JUDGED
    assert cs["n_with_body_map"] == 300 and cs["n_no_region_marked"] == 0
    ref = count_choir(ALTER)
    assert {k: v["count"] for k, v in cs["areas"].items()} == {k: ref.areas[k] for k in cs["areas"]}
    assert len(cs["segments"]) == 74 and len(cs["mirror_pairs"]) == 23
    assert cs == stats.cross_section.to_dict()  # type: ignore[union-attr]


def test_cli_convert_then_report(tmp_path: Path) -> None:
    cohort, out, js = tmp_path / "cohort.csv", tmp_path / "r.html", tmp_path / "r.json"
    runner = CliRunner()
    res = runner.invoke(
        app, ["convert", str(ALTER), "--from", "choir", "--visit-date", "2021-01-01", "-o", str(cohort)]
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["report", str(cohort), "-o", str(out), "--json", str(js)])
    assert res.exit_code == 0, res.output
    assert " ".join(SPREAD_NOT_JUDGED.split()) in " ".join(res.output.split())
    html = out.read_text()
    assert escape(SPREAD_NOT_JUDGED) in html and "How fast:" not in html
    assert json.loads(js.read_text())["cross_section"]["n_with_body_map"] == 300


def test_a_cohort_with_follow_up_keeps_its_report(tmp_path: Path) -> None:
    histories = read_csv(example_cohort_path())
    html, stats = report_html(histories)
    assert not stats.no_follow_up and stats.cross_section is not None
    for heading in SPREAD_HEADINGS:
        assert heading in html
    assert SPREAD_NOT_JUDGED not in html and "Where: the body map at one time point" not in html
    assert f"<h1>{DEFAULT_TITLE}" in html
    assert "showed spread beyond the onset area" in headline(stats)
    assert stats.to_dict()["spread_judgeable"] is True


def test_a_mixed_cohort_keeps_the_spread_report(alter: list[PatientHistory]) -> None:
    """Some patients with follow-up: today's report (single-record patients are counted in a note)."""
    mixed = list(read_csv(example_cohort_path())) + alter[:50]
    html, stats = report_html(mixed)
    assert not stats.no_follow_up
    assert "How fast:" in html and SPREAD_NOT_JUDGED not in html
    assert "have a single record, so no spread could be seen for them" in html


def test_patients_who_marked_nothing_are_in_the_denominator(
    tmp_path: Path, alter: list[PatientHistory]
) -> None:
    blank = alter[0].model_copy(
        update={"patient_id": "BLANK", "records": (alter[0].records[0].model_copy(update={"regions": ()}),)}
    )
    html, stats = report_html([*alter, blank])
    cs = stats.cross_section
    assert cs is not None and cs.n_with_body_map == 301 and cs.n_no_region == 1
    assert "1 patient marked no pain location" in html
    assert cs.areas["lower_back_right"].denominator == 301


def test_a_csv_long_file_of_one_time_point_per_patient(tmp_path: Path, alter: list[PatientHistory]) -> None:
    path = tmp_path / "alter.csv"
    write_csv(alter, path)
    out = tmp_path / "r.html"
    write_report(path, out)
    assert escape(SPREAD_NOT_JUDGED) in out.read_text()


def test_cross_sectional_report_at_phone_width(tmp_path: Path, alter_html: str) -> None:
    """At 390 px the page never scrolls sideways; every table fits or scrolls in its own box."""
    from browser_support import CHROMIUM_ARGS, chromium

    path = chromium()
    from playwright.sync_api import sync_playwright

    out = tmp_path / "r.html"
    out.write_text(alter_html, encoding="utf-8")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
            page.goto(out.resolve().as_uri(), wait_until="load")
            width = page.evaluate("document.documentElement.scrollWidth")
            rights = page.evaluate(
                "[...document.querySelectorAll('div.scroll')].map(d => d.getBoundingClientRect().right)"
            )
            areas_fit = page.evaluate(
                "(() => { const d = document.querySelector('table.areas').parentElement;"
                " return d.scrollWidth <= d.clientWidth + 1; })()"
            )
        finally:
            browser.close()
    assert errors == [] and int(width) <= 390
    assert rights and all(r <= 391 for r in rights)
    assert areas_fit  # the table of every area is read without scrolling on a phone
