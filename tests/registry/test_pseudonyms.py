"""Pseudonymised research exports of the registry (docs/pseudonymisation.md): a researcher gets only the
research export, in every format; clinicians get the clinic export and the research one on request; the
research export holds no registry code, identity, note or free text, links across exports made with one
key, classifies like the registry, and is refused (503, audited, no data) without a usable key. Real
database (SQLite, or PostgreSQL with CRPSMAP_TEST_POSTGRES), real command line in a subprocess."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from crpsmap.data import example_cohort_path
from crpsmap.history import PatientHistory
from crpsmap.io.csv_long import read_csv_bytes, write_csv_text
from crpsmap.registry import transfer
from crpsmap.registry.histories import import_histories, load_histories
from crpsmap.registry.models import AuditEvent, Patient, PatientIdentity, Visit
from crpsmap.registry.pseudonyms import (
    KEY_ENV,
    KEY_FILE_ENV,
    PseudonymKey,
    PseudonymKeyError,
    date_offset,
    pseudonym,
    pseudonymise,
)
from crpsmap.spread import classify_all
from registry_support import IDENTITY_NAME, IDENTITY_RECORD, sample_history

KEY_HEX = "5f" * 16 + "a7" * 16
OTHER_HEX = "11" * 32
CODE = "CLINIC-0042"
FREE_TEXT = "lives at 12 Baker Street with her daughter Mary"
NOTE = "Told us her neighbour Mrs Q. drove her in"
DATE_OF_BIRTH = dt.date(1970, 3, 4)
URLS = {"csv": "/export/cohort.csv", "redcap": "/export/redcap.csv", "fhir": "/export/bundle.fhir.json"}
RESEARCH_FILES = {
    "csv": "crpsmap-research.csv",
    "redcap": "crpsmap-research-redcap.csv",
    "fhir": "crpsmap-research.fhir.json",
}


def key() -> PseudonymKey:
    return PseudonymKey(bytes.fromhex(KEY_HEX))


def our_patient() -> PatientHistory:
    h = sample_history(CODE)
    first = h.records[0].model_copy(update={"extra": {"comment": FREE_TEXT}})
    return h.model_copy(update={"records": (first, *h.records[1:])})


def example() -> list[PatientHistory]:
    return read_csv_bytes(example_cohort_path().read_bytes(), name="example.csv")


@pytest.fixture
def with_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY_HEX)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)


@pytest.fixture
def without_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)


@pytest.fixture
def clinic(users: dict[str, User]) -> Patient:
    """Our patient (identity, a free-text note, a free-text extra value) and the example cohort."""
    import_histories([our_patient(), *example()], user=users["clinician"], site="North")
    p = Patient.objects.get(code=CODE)
    PatientIdentity.objects.create(
        patient=p, name=IDENTITY_NAME, record_number=IDENTITY_RECORD, date_of_birth=DATE_OF_BIRTH
    )
    v = Visit.objects.filter(patient=p).first()
    assert v is not None
    v.note = NOTE
    v.save()
    return p


def body(r: Any) -> bytes:
    return b"".join(r.streaming_content) if r.streaming else r.content


def secrets_in(data: bytes) -> list[str]:
    """Whatever of the clinic's own identifiers and free text appears in `data`."""
    text = data.decode("utf-8")
    codes = [CODE, *(h.patient_id for h in example())]
    words = [IDENTITY_NAME, IDENTITY_RECORD, NOTE, FREE_TEXT, DATE_OF_BIRTH.isoformat(), "Baker Street"]
    return [s for s in codes + words if s in text]


def csv_ids(data: bytes) -> set[str]:
    return {row[0] for row in list(csv.reader(io.StringIO(data.decode())))[1:]}


def fhir_ids(data: bytes) -> set[str]:
    bundle = json.loads(data)
    return {
        e["resource"]["identifier"][0]["value"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Patient"
    }


def ids_of(layout: str, data: bytes) -> set[str]:
    return fhir_ids(data) if layout == "fhir" else csv_ids(data)


# --- who gets what -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_researcher_gets_only_the_research_export_in_every_format(
    with_key: None, clinic: Patient, client_for: Callable[[str | None], Client]
) -> None:
    researcher = client_for("researcher")
    expected_ids = {pseudonym(h.patient_id, key()) for h in load_histories()}
    for layout, url in URLS.items():
        for query in ("", "?research=0", "?research=1"):
            r = researcher.get(url + query)
            assert r.status_code == 200, (url, r.status_code)
            assert RESEARCH_FILES[layout] in r["Content-Disposition"]
            data = body(r)
            assert secrets_in(data) == [], (url, query)
            assert ids_of(layout, data) == expected_ids
    # the CSV is exactly the core's pseudonymisation of the registry, written as the clinic export is
    got = body(researcher.get(URLS["csv"])).decode()
    assert got == write_csv_text(pseudonymise(load_histories(), key()))
    fhir = json.loads(body(researcher.get(URLS["fhir"])))
    systems = {
        e["resource"]["identifier"][0]["system"]
        for e in fhir["entry"]
        if e["resource"]["resourceType"] == "Patient"
    }
    assert systems == {"urn:crpsmap:research-pseudonym"}
    lines = AuditEvent.objects.filter(username="u-researcher", action="export")
    assert lines.count() == 3 * 3 + 2
    assert {e.detail["kind"] for e in lines} == {"research export"}
    assert {e.detail["key_id"] for e in lines} == {key().key_id}
    assert {e.role for e in lines} == {"researcher"}


@pytest.mark.django_db
def test_clinician_gets_the_clinic_export_and_the_research_one_on_request(
    with_key: None, clinic: Patient, client_for: Callable[[str | None], Client]
) -> None:
    clinician, researcher = client_for("clinician"), client_for("researcher")
    for layout, url in URLS.items():
        plain = body(clinician.get(url))
        assert CODE in secrets_in(plain) and CODE in ids_of(layout, plain)  # the check below can fail
        research = body(clinician.get(url + "?research=1"))
        assert secrets_in(research) == []
        assert body(clinician.get(url + "?research=true")) == research
        assert research == body(researcher.get(url))  # one key: the same export, whoever asks
    assert FREE_TEXT in body(clinician.get(URLS["csv"])).decode()  # extra values stay in the clinic export
    kinds = sorted(
        e.detail["kind"] for e in AuditEvent.objects.filter(username="u-clinician", action="export")
    )
    assert kinds == ["clinic export"] * 4 + ["research export"] * 6


@pytest.mark.django_db
def test_auditor_gets_no_export(
    with_key: None, clinic: Patient, client_for: Callable[[str | None], Client]
) -> None:
    auditor = client_for("auditor")
    for url in URLS.values():
        assert auditor.get(url).status_code == 403
        assert auditor.get(url + "?research=1").status_code == 403


# --- what the research export keeps --------------------------------------------------------------------


@pytest.mark.django_db
def test_research_export_keeps_intervals_and_classification(
    with_key: None, clinic: Patient, client_for: Callable[[str | None], Client]
) -> None:
    data = body(client_for("researcher").get(URLS["csv"]))
    research = {h.patient_id: h for h in read_csv_bytes(data, name="research.csv")}  # valid histories
    original = load_histories()
    assert len(research) == len(original) == 1 + len(example())
    for h in original:
        p = research[pseudonym(h.patient_id, key())]
        shift = date_offset(h.patient_id, key())
        assert [(r.date - h.records[0].date).days for r in h.records] == [
            (r.date - p.records[0].date).days for r in p.records
        ]
        assert [(b.date - a.date).days for a, b in zip(h.records, p.records, strict=True)] == [shift] * len(
            h.records
        )
        assert [(r.kind, r.regions, r.pain, r.css, r.hrv_rmssd) for r in h.records] == [
            (r.kind, r.regions, r.pain, r.css, r.hrv_rmssd) for r in p.records
        ]
    ours = research[pseudonym(CODE, key())]
    assert not {r.date for r in ours.records} & {r.date for r in our_patient().records}  # no real date

    def summary(c: Any) -> tuple[Any, ...]:
        days = [(e.date - c.onset_date).days for e in c.events]
        events = [(e.area, e.pattern, e.limb_pattern, e.direction, e.trigger) for e in c.events]
        return c.onset_areas, c.spread, c.limbs, c.first_limb, events, days

    before = {pseudonym(c.patient_id, key()): summary(c) for c in classify_all(original)}
    after = {c.patient_id: summary(c) for c in classify_all(research.values())}
    assert sum(len(s[4]) for s in before.values()) > 10
    assert after == before


@pytest.mark.django_db
def test_two_exports_link_and_another_key_does_not(
    with_key: None,
    clinic: Patient,
    client_for: Callable[[str | None], Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    researcher = client_for("researcher")
    first, second = (body(researcher.get(URLS["csv"])) for _ in range(2))
    assert first == second and csv_ids(first)
    monkeypatch.setenv(KEY_ENV, OTHER_HEX)
    other = body(researcher.get(URLS["csv"]))
    assert csv_ids(other).isdisjoint(csv_ids(first)) and len(csv_ids(other)) == len(csv_ids(first))
    key_ids = {e.detail["key_id"] for e in AuditEvent.objects.filter(action="export")}
    assert key_ids == {key().key_id, PseudonymKey(bytes.fromhex(OTHER_HEX)).key_id}


# --- no key, no research export ------------------------------------------------------------------------


@pytest.mark.django_db
def test_without_a_key_research_exports_are_refused_with_an_explanation(
    without_key: None, clinic: Patient, client_for: Callable[[str | None], Client]
) -> None:
    researcher, clinician = client_for("researcher"), client_for("clinician")
    for url in URLS.values():
        for client, query in ((researcher, ""), (researcher, "?research=0"), (clinician, "?research=1")):
            r = client.get(url + query)
            assert r.status_code == 503, (url, query, r.status_code)
            page = r.content.decode()
            assert "The research export was not made" in page and KEY_ENV in page and KEY_FILE_ENV in page
            assert "attachment" not in r.get("Content-Disposition", "")
            assert secrets_in(r.content) == []
    assert clinician.get(URLS["csv"]).status_code == 200  # the clinic export needs no key
    refused = AuditEvent.objects.filter(action="export_refused")
    assert refused.count() == 9
    assert {e.detail["kind"] for e in refused} == {"research export"}
    assert all("no pseudonym key" in e.detail["reason"] for e in refused)
    assert not AuditEvent.objects.filter(action="export", username="u-researcher").exists()


@pytest.mark.django_db
def test_a_patient_that_cannot_be_shifted_stops_the_research_export(
    with_key: None, users: dict[str, User], client_for: Callable[[str | None], Client]
) -> None:
    typo = PatientHistory.model_validate(
        {
            "patient_id": "TYPO-1",
            "records": [{"date": "1900-01-01", "kind": "onset", "regions": ["hand_right"]}],
        }
    )
    import_histories([our_patient(), typo], user=users["clinician"])
    r = client_for("researcher").get(URLS["redcap"])
    page = html.unescape(r.content.decode())
    assert r.status_code == 503 and "'TYPO-1'" in page and "before 1900" in page
    assert pseudonym(CODE, key()) not in page
    line = AuditEvent.objects.get(action="export_refused")
    assert line.detail["kind"] == "research export" and "TYPO-1" in line.detail["reason"]
    assert client_for("clinician").get(URLS["redcap"]).status_code == 200  # the clinic export is not affected


@pytest.mark.django_db
def test_short_or_open_keys_are_refused_and_never_shown(
    clinic: Patient,
    client_for: Callable[[str | None], Client],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    researcher = client_for("researcher")
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.setenv(KEY_ENV, "ab" * 20)
    r = researcher.get(URLS["csv"])
    assert r.status_code == 503 and "20 bytes" in r.content.decode() and "ab" * 20 not in r.content.decode()
    monkeypatch.delenv(KEY_ENV)
    f = tmp_path / "research.key"
    f.write_text(KEY_HEX + "\n")
    f.chmod(0o644)
    monkeypatch.setenv(KEY_FILE_ENV, str(f))
    r = researcher.get(URLS["fhir"])
    page = r.content.decode()
    assert r.status_code == 503 and "too open" in page and "0644" in page and KEY_HEX not in page
    f.chmod(0o600)
    r = researcher.get(URLS["fhir"])
    assert r.status_code == 200 and fhir_ids(body(r)) == {
        pseudonym(h.patient_id, key()) for h in load_histories()
    }


@pytest.mark.django_db
def test_export_page_explains_what_each_role_gets(
    with_key: None,
    clinic: Patient,
    client_for: Callable[[str | None], Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = client_for("researcher").get("/export/").content.decode()
    assert "you always receive the research export" in page and key().key_id in page
    assert "Clinic export" not in page and "/export/identity.csv" not in page and "research=1" not in page
    page = client_for("clinician").get("/export/").content.decode()
    assert (
        "Clinic export" in page and "/export/cohort.csv?research=1" in page and "/export/identity.csv" in page
    )
    assert "pseudonymisation, not anonymisation" in page
    monkeypatch.delenv(KEY_ENV)
    page = client_for("researcher").get("/export/").content.decode()
    assert "Research exports are not available now" in page and KEY_ENV in page


# --- the file export (command line's function) ---------------------------------------------------------


@pytest.mark.django_db
def test_export_file_research_in_every_layout(with_key: None, clinic: Patient, tmp_path: Path) -> None:
    for layout in ("csv", "redcap", "fhir"):
        out = tmp_path / f"research.{layout}"
        assert transfer.export_file(out, layout=layout, research=True) == Patient.objects.count()
        data = out.read_bytes()
        assert secrets_in(data) == [] and CODE not in ids_of(layout, data)
        assert pseudonym(CODE, key()) in ids_of(layout, data)
        clinic_file = tmp_path / f"clinic.{layout}"
        transfer.export_file(clinic_file, layout=layout)
        assert CODE in secrets_in(clinic_file.read_bytes())
    lines = AuditEvent.objects.filter(action="export").order_by("id")
    assert [e.detail["kind"] for e in lines] == ["research export", "clinic export"] * 3
    assert all(e.detail["by"] == "command line" for e in lines)


@pytest.mark.django_db
def test_export_file_without_a_key_writes_nothing(without_key: None, clinic: Patient, tmp_path: Path) -> None:
    out = tmp_path / "research.csv"
    with pytest.raises(PseudonymKeyError, match=KEY_ENV):
        transfer.export_file(out, research=True)
    assert list(tmp_path.iterdir()) == []
    assert AuditEvent.objects.filter(action="export_refused").count() == 1
    assert not AuditEvent.objects.filter(action="export").exists()


# --- the command line, in a subprocess -----------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    e = {
        k: v
        for k, v in os.environ.items()
        if k
        not in ("DJANGO_SETTINGS_MODULE", "CRPSMAP_DATABASE", "CRPSMAP_TEST_DATABASE", KEY_ENV, KEY_FILE_ENV)
    }
    e.update(CRPSMAP_DATA_DIR=str(tmp_path / "data"), CRPSMAP_SECRET_KEY="x", PYTHONUNBUFFERED="1")
    return e


def run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
    )


# `research_export` as its own command: exactly the function `crpsmap registry export --research` calls
RESEARCH_COMMAND = (
    sys.executable,
    "-c",
    "import typer; from crpsmap.cli.registry_research import research_export; typer.run(research_export)",
)


def _cli_registry(tmp_path: Path, env: dict[str, str]) -> str:
    db = str(tmp_path / "registry.sqlite3")
    (tmp_path / "in.csv").write_text(write_csv_text([our_patient(), *example()]))
    proc = run(
        tmp_path, env, sys.executable, "-m", "crpsmap", "registry", "import", "in.csv", "--database", db
    )
    assert proc.returncode == 0, proc.stderr
    return db


def _check_cli_research(
    tmp_path: Path, env: dict[str, str], db: str, command: tuple[str, ...], key_option: str
) -> None:
    keyfile = tmp_path / "research.key"
    keyfile.write_text(KEY_HEX + "\n")
    keyfile.chmod(0o600)
    for layout in ("csv", "redcap", "fhir"):
        out = tmp_path / f"out-{layout}"
        proc = run(
            tmp_path, env, *command, str(out), "--to", layout, "--database", db, key_option, str(keyfile)
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "research export" in proc.stdout and key().key_id in proc.stdout and KEY_HEX not in proc.stdout
        data = out.read_bytes()
        assert secrets_in(data) == [] and pseudonym(CODE, key()) in ids_of(layout, data)
    # the same file from the environment's key; none: refused in one line, exit 2, no file, audited
    proc = run(tmp_path, {**env, KEY_ENV: KEY_HEX}, *command, "env.csv", "--database", db)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "env.csv").read_bytes() == (tmp_path / "out-csv").read_bytes()
    proc = run(tmp_path, env, *command, "none.csv", "--database", db)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "research export refused" in proc.stderr and KEY_ENV in " ".join(proc.stderr.split())
    assert not (tmp_path / "none.csv").exists()
    keyfile.chmod(0o644)
    proc = run(tmp_path, env, *command, "open.csv", "--database", db, key_option, str(keyfile))
    assert proc.returncode == 2 and "too open" in proc.stderr and KEY_HEX not in proc.stderr
    keyfile.chmod(0o600)
    # the export never overwrites the key file
    proc = run(tmp_path, env, *command, str(keyfile), "--database", db, key_option, str(keyfile))
    assert proc.returncode == 2 and keyfile.read_text() == KEY_HEX + "\n", proc.stderr
    with sqlite3.connect(db) as con:
        rows = con.execute("select action, detail from registry_auditevent order by id").fetchall()
    actions = [a for a, _ in rows]
    assert actions == ["import", "export", "export", "export", "export", "export_refused", "export_refused"]
    assert all(json.loads(d)["kind"] == "research export" for _, d in rows[1:])


def test_research_export_function_from_the_command_line(tmp_path: Path, cli_env: dict[str, str]) -> None:
    db = _cli_registry(tmp_path, cli_env)
    _check_cli_research(tmp_path, cli_env, db, RESEARCH_COMMAND, "--key-file")


def test_crpsmap_registry_export_research(tmp_path: Path, cli_env: dict[str, str]) -> None:
    """`crpsmap registry export FILE --research`, once cli/registry.py has the option."""
    helptext = run(tmp_path, cli_env, sys.executable, "-m", "crpsmap", "registry", "export", "--help").stdout
    if "--research" not in helptext:
        pytest.skip("`crpsmap registry export --research` is not wired in cli/registry.py yet")
    db = _cli_registry(tmp_path, cli_env)
    command = (sys.executable, "-m", "crpsmap", "registry", "export", "--research")
    _check_cli_research(tmp_path, cli_env, db, command, "--key-file")
    proc = run(
        tmp_path,
        cli_env,
        sys.executable,
        "-m",
        "crpsmap",
        "registry",
        "export",
        "clinic.csv",
        "--database",
        db,
    )
    assert (
        proc.returncode == 0 and CODE in (tmp_path / "clinic.csv").read_text()
    )  # the clinic export as before
