"""The HTML report and its JSON: self-contained, and it says so in words when there is nothing to show."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crpsmap.cli import app
from crpsmap.data.synthetic import random_histories
from crpsmap.history import PatientHistory
from crpsmap.io import write_csv
from crpsmap.report import write_report
from crpsmap.stats import SPREAD_NOT_JUDGED


def _check_self_contained(html: str) -> None:
    assert "<script" not in html.lower()
    # no resource is fetched: no src/href/url() to anything but in-page anchors
    assert not re.search(r'\b(?:src|href)\s*=\s*"(?!#)', html)
    assert not re.search(r"url\((?!#)", html)
    assert "@import" not in html


def _report(tmp_path: Path, histories: list[PatientHistory]) -> tuple[str, dict]:  # type: ignore[type-arg]
    out, js = tmp_path / "r.html", tmp_path / "r.json"
    write_report(histories, out, js)
    html = out.read_text()
    _check_self_contained(html)
    return html, json.loads(js.read_text())


def test_full_report(tmp_path: Path) -> None:
    html, data = _report(tmp_path, random_histories(250, seed=5))
    assert "In this synthetic cohort (made-up data)," in html and "95% CI" in html
    assert html.count('data-region="hand_palm_right"') == 2  # onset and last follow-up maps
    for section in ("Where:", "How fast:", "How:", "Compared with published cohorts", "Cox model", "Methods"):
        assert section in html
    assert "Synthetic data: all 250 patients are made up; no real patient" in html  # from provenance
    assert "van Rijn" in html and "Maleki" in html and "Scherrer" in html and "lifelines" in html
    assert data["n_patients"] == 250 and data["cox"]


def test_empty_cohort(tmp_path: Path) -> None:
    html, data = _report(tmp_path, [])
    assert "no patients" in html
    assert data["n_patients"] == 0 and data["any_spread"]["proportion"] is None
    assert data["second_limb_km"]["median_days"] is None and data["cox"] == {}


def test_no_spread(tmp_path: Path) -> None:
    hs = [h.model_copy(update={"records": h.records[:1]}) for h in random_histories(30, seed=4)]
    html, data = _report(tmp_path, hs)
    # one record each: no follow-up, so the cross-sectional report, which says spread cannot be judged
    assert SPREAD_NOT_JUDGED in html and "How fast:" not in html and data["spread_judgeable"] is False
    assert data["any_spread"]["count"] == 0 and data["maleki"]["mirror"]["proportion"] is None


def test_data_note_is_added_to_the_report(tmp_path: Path) -> None:
    out = tmp_path / "n.html"
    write_report(random_histories(20, seed=1, prefix="P"), out, data_note="Test data")
    assert "Test data" in out.read_text()


def test_cli_report(tmp_path: Path) -> None:
    csv = tmp_path / "c.csv"
    write_csv(random_histories(60, seed=9, validate=True), csv)
    out, js = tmp_path / "c.html", tmp_path / "c.json"
    res = CliRunner().invoke(app, ["report", str(csv), "-o", str(out), "--json", str(js)])
    assert res.exit_code == 0, res.output
    assert "showed spread beyond the onset area" in res.output and out.exists()
    assert json.loads(js.read_text())["n_patients"] == 60


def test_cli_report_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("not,a,crpsmap,file\n1,2,3,4\n")
    res = CliRunner().invoke(app, ["report", str(bad), "-o", str(tmp_path / "x.html")])
    assert res.exit_code == 2
    assert not (tmp_path / "x.html").exists()


@pytest.mark.parametrize("n", [1, 3])
def test_tiny_cohorts(tmp_path: Path, n: int) -> None:
    _report(tmp_path, random_histories(n, seed=n))


def test_write_report_from_csv_path(tmp_path: Path) -> None:
    csv = tmp_path / "cohort.csv"
    write_csv(random_histories(40, seed=12, validate=True), csv)
    stats = write_report(csv, tmp_path / "p.html")
    assert stats.figures.n_patients == 40
    assert "cohort.csv" in (tmp_path / "p.html").read_text()


def test_mechanism_section_shows_the_comparison_with_its_spread(tmp_path: Path) -> None:
    from crpsmap.calibrate import van_rijn_2011
    from crpsmap.calibrate.mechanisms import CANDIDATES, CANNOT_TELL_APART, Budget, compare_mechanisms
    from crpsmap.model import Sim

    cands = [c for c in CANDIDATES if c.name in ("spinal+supraspinal", "all")]
    budget = Budget(starts=1, trials=1, startup=1, patients=30, heldout_seeds=2, heldout_patients=30)
    # a susceptibility where many injuries become CRPS, so that tiny clinics screen few injuries
    cheap = {"gain_mu": (-0.7, -0.5)}
    cmp = compare_mechanisms(
        van_rijn_2011(), base=Sim(years=1, seed=3), candidates=cands, budget=budget, seed=3, ranges=cheap
    )
    csv = tmp_path / "clinic.csv"
    write_csv(random_histories(30, seed=3, validate=True), csv)
    out = tmp_path / "r.html"
    write_report(csv, out, mechanisms=cmp.to_dict())
    html = out.read_text()
    assert "Why does it spread?" in html and "Model output." in html
    # the first sentence of the section names the data of the fit, from the comparison's own metadata
    section = html[html.index('id="why"') :]
    first = re.search(r'<p class="fitted">([^<]*)</p>', section)
    assert first is not None and section.index("<p") == section.index('<p class="fitted">')
    assert first.group(1).startswith("This comparison was fitted to van Rijn et al. 2011 (185 patients)")
    assert "clinic.csv" not in first.group(1)  # never attributed to the file being reported
    # every candidate with its held-out mean and SD; the verdict follows the separation rule
    for f in cmp.fits:
        s = f.criterion["with_conversion"]
        assert f.candidate.label in section and f"{s.mean:.1f} ± {s.sd:.1f}" in section
    told_apart = cmp.verdicts()["with_conversion"].separated
    assert (CANNOT_TELL_APART in section) is (not told_apart)
    assert "Does a mechanism beat a description?" in section  # the baseline is shown
