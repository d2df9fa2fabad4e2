"""The dashboard is `crpsmap report` on the registry's data: the same numbers as the CLI on an export,
with site and onset-period filters, and it follows every write at once."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crpsmap.data import example_cohort_path
from crpsmap.io import read_csv, write_csv
from crpsmap.registry.histories import import_histories
from crpsmap.registry.reports import dashboard_report
from registry_support import sample_history


def _filters(site: str = "", start: dt.date | None = None, end: dt.date | None = None) -> dict[str, Any]:
    return {"site": site, "onset_from": start, "onset_to": end}


@pytest.mark.django_db
def test_dashboard_equals_cli_report_on_export(tmp_path: Path, client_for: Any) -> None:
    example = read_csv(example_cohort_path())
    import_histories(example, site="Example")
    import_histories([sample_history("Q1"), sample_history("Q2")], site="Other")
    _, stats = dashboard_report(_filters("Example"))
    # the CLI on a file of the same patients
    path = tmp_path / "example.csv"
    write_csv(example, path)
    out = tmp_path / "r.json"
    html = str(tmp_path / "r.html")
    cmd = [sys.executable, "-m", "crpsmap", "report", str(path), "-o", html, "--json", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    assert stats.to_dict() == json.loads(out.read_text())
    assert stats.figures.n_patients == len(example)
    # the page itself: filter form, the report inside, and the data note from provenance
    page = client_for("researcher").get("/dashboard/?site=Example").content.decode()
    assert f"({len(example)} patients)" in page and "/dashboard/report/?site=Example" in page
    report = client_for("researcher").get("/dashboard/report/?site=Example")
    assert report["Content-Security-Policy"].count("'unsafe-inline'") == 1  # style only, for the report
    assert "script-src 'self'" in report["Content-Security-Policy"]


@pytest.mark.django_db
def test_onset_filter_and_live_update() -> None:
    import_histories([sample_history("Q1")], site="North")
    assert dashboard_report(_filters())[1].figures.n_patients == 1
    # onset of the sample is 2020-01-10
    assert dashboard_report(_filters(start=dt.date(2020, 1, 11)))[1].figures.n_patients == 0
    assert dashboard_report(_filters(end=dt.date(2020, 1, 10)))[1].figures.n_patients == 1
    import_histories([sample_history("Q2")], site="North")  # a write: no stale cache
    assert dashboard_report(_filters())[1].figures.n_patients == 2


@pytest.mark.django_db
def test_made_up_data_is_labelled() -> None:
    import_histories([sample_history("R1")], provenance="model")
    html, _ = dashboard_report(_filters())
    assert "virtual clinic - model output" in html  # provenance from the registry's rows
    import_histories([sample_history("V2")], site="Real")  # a real patient whose code starts with V
    html, _ = dashboard_report(_filters("Real"))
    assert "model output" not in html and "synthetic" not in html.lower()
    import_histories([sample_history("R3")], site="Mixed", provenance="synthetic")
    import_histories([sample_history("R4")], site="Mixed")
    html, _ = dashboard_report(_filters("Mixed"))
    assert "1 of 2 patients (50%) are clinic data" in html


@pytest.fixture
def fresh_reports() -> Any:
    from crpsmap.registry import reports

    reports.forget()
    yield reports
    reports.forget()


@pytest.mark.django_db
def test_page_shows_recent_report_while_the_current_one_is_computed_off_the_request(
    fresh_reports: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    reports = fresh_reports
    import_histories([sample_history("Q1")], site="North")
    first = reports.served_report(_filters())
    assert first.stats.figures.n_patients == 1
    assert f"Registry data as of {first.data_as_of:%Y-%m-%d %H:%M:%S} UTC" in first.html
    import_histories([sample_history("Q2")], site="North")
    # a write just after the report was made: the page shows it (labelled with its moment), no refresh yet
    monkeypatch.setattr(reports, "REFRESH_AFTER_SECONDS", 3600.0)
    assert reports.served_report(_filters()) is first
    # once it is old enough to refresh: still served at once, the current one computed in the background
    monkeypatch.setattr(reports, "REFRESH_AFTER_SECONDS", 0.0)
    assert reports.served_report(_filters()) is first
    # the refresh starts a child process (a fresh Python importing the report): allow for a loaded
    # machine (two pytest workers on two cores took more than the default 30 s once)
    reports.wait_for_refreshes(timeout=600.0)
    second = reports.served_report(_filters())
    assert second is not first and second.stats.figures.n_patients == 2
    # computed by the worker's child process, not in a thread of the worker (no fallback)
    assert "child process failed" not in caplog.text
    assert second.data_as_of >= first.data_as_of
    # programs always get the current data
    assert reports.dashboard_report(_filters())[1].figures.n_patients == 2


@pytest.mark.django_db
def test_page_never_shows_a_report_older_than_the_limit_for_changed_data(
    fresh_reports: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = fresh_reports
    import_histories([sample_history("Q1")], site="North")
    first = reports.served_report(_filters())
    import_histories([sample_history("Q2")], site="North")
    monkeypatch.setattr(reports, "SHOW_AT_MOST_SECONDS", 0.0)
    assert reports.served_report(_filters()).stats.figures.n_patients == 2
    # unchanged data: the kept report, however old
    again = reports.served_report(_filters())
    assert reports.served_report(_filters()) is again and again is not first


@pytest.mark.django_db
def test_report_page_says_its_data_moment(client_for: Any) -> None:
    import_histories([sample_history("Q1")], site="North")
    response = client_for("researcher").get("/dashboard/report/")
    assert response.status_code == 200 and "Registry data as of" in response.content.decode()
    assert response["Last-Modified"].endswith(" GMT")
