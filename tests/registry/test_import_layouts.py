"""The registry imports every layout `crpsmap convert` reads, through the same code (io.formats.read_any)
and with the same page of problems: a CHOIR table, a REDCap export of our project, another REDCap project
with its mapping and dictionary; and exports to REDCap."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crpsmap.io.formats import ReadOptions, read_any
from crpsmap.io.redcap import write_redcap
from crpsmap.registry.histories import load_histories
from crpsmap.registry.models import AuditEvent, Patient, Visit
from registry_support import sample_history

FIXTURES = Path(__file__).parent.parent / "fixtures"
CHOIR = FIXTURES / "choir" / "alter2021-sample300.csv"
RI = FIXTURES / "redcap" / "repeating-instruments"
RI_MAPPING = FIXTURES / "redcap" / "mappings" / "repeating-instruments.toml"


def upload(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), "text/csv")


@pytest.mark.django_db
def test_choir_table_imports_as_convert_reads_it(client_for: Any) -> None:
    c = client_for("clinician")
    r = c.post("/import/", {"file": upload(CHOIR), "layout": "choir", "visit_date": "2021-01-01"})
    body = r.content.decode()
    assert r.status_code == 200 and "Imported 300 patients" in body, body[-3000:]
    expected = read_any(CHOIR, "choir", ReadOptions(visit_date=dt.date(2021, 1, 1))).histories
    got = {h.patient_id: h for h in load_histories()}
    assert len(got) == 300
    for h in expected:
        assert got[h.patient_id].records[0].regions == h.records[0].regions
    assert AuditEvent.objects.filter(action="import", detail__format="choir").count() == 1


@pytest.mark.django_db
def test_choir_without_a_date_is_a_form_error_and_nothing_imported(client_for: Any) -> None:
    r = client_for("clinician").post("/import/", {"file": upload(CHOIR), "layout": "choir"})
    assert "give a visit date" in r.content.decode() and not Patient.objects.exists()


@pytest.mark.django_db
def test_redcap_export_of_our_project_and_back(client_for: Any) -> None:
    buf = io.StringIO()
    write_redcap([sample_history()], buf)
    data = buf.getvalue().encode()
    c = client_for("clinician")
    r = c.post("/import/", {"file": SimpleUploadedFile("redcap.csv", data), "layout": "redcap"})
    assert "Imported 1 patients" in r.content.decode(), r.content.decode()[-2000:]
    assert Visit.objects.count() == sum(
        1 for x in sample_history().records if x.kind.value in ("onset", "assessment")
    )
    # and out again: the registry's REDCap export is the same export
    r = c.get("/export/redcap.csv")
    rows = list(csv.reader(io.StringIO(r.content.decode())))
    assert rows[0] == list(csv.reader(io.StringIO(buf.getvalue())))[0]
    assert AuditEvent.objects.filter(action="export", detail__format="redcap").exists()
    # and as FHIR: one Bundle whose Patient is the imported one, audited
    r = c.get("/export/bundle.fhir.json")
    bundle = json.loads(b"".join(r.streaming_content))
    patients = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert [p["identifier"][0]["value"] for p in patients] == [sample_history().patient_id]
    assert AuditEvent.objects.filter(action="export", detail__format="fhir").exists()


@pytest.mark.django_db
def test_other_project_with_mapping_and_dictionary_uploads(client_for: Any) -> None:
    c = client_for("clinician")
    form = {"file": upload(RI / "data.csv"), "layout": "redcap", "mapping": upload(RI_MAPPING)}
    r = c.post("/import/", form)
    body = html.unescape(r.content.decode())
    # without the dictionary the coded sex is a problem, shown with row, field and record; nothing imported
    assert "Nothing was imported" in body and "row 2, field 'sex': record '1': unknown sex '0'" in body, body
    assert not Patient.objects.exists()
    form = {
        "file": upload(RI / "data.csv"),
        "layout": "redcap",
        "mapping": upload(RI_MAPPING),
        "dictionary": upload(RI / "dictionary.csv"),
    }
    r = c.post("/import/", form)
    assert "Imported 2 patients" in r.content.decode()
    assert sorted(Patient.objects.values_list("sex", flat=True)) == ["female", "male"]


@pytest.mark.django_db
def test_mapping_for_a_csv_file_is_refused(client_for: Any) -> None:
    r = client_for("clinician").post(
        "/import/", {"file": upload(RI / "data.csv"), "layout": "csv", "mapping": upload(RI_MAPPING)}
    )
    assert "are for REDCap exports" in r.content.decode() and not Patient.objects.exists()
