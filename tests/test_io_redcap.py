"""REDCap: crpsmap's data dictionary checked against REDCap's rules and the Image Map module's own
dictionary; exports that read back to the same histories and classification; real REDCapR test projects
read through mapping files; every problem named with record, event, instrument, instance and field."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
from importlib import resources
from pathlib import Path

import pytest

from crpsmap.atlas import load_atlas
from crpsmap.data.synthetic import random_histories
from crpsmap.history import PatientHistory, Provenance, Record, RecordKind, Sex
from crpsmap.io import HistoryImportError, read_csv
from crpsmap.io.redcap import read_dictionary, read_mapping, read_redcap, write_dictionary, write_redcap
from crpsmap.spread import classify_all

FIXTURES = Path(__file__).parent / "fixtures" / "redcap"
MAPPINGS = FIXTURES / "mappings"
HEADERS_18 = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]
# REDCap's rules for a data dictionary upload (REDCap's data dictionary help page)
FIELD_NAME = re.compile(r"[a-z][a-z0-9_]*")
CHOICE_CODE = re.compile(r"[A-Za-z0-9_]+")
FIELD_TYPES = {"text", "notes", "radio", "dropdown", "checkbox", "yesno", "truefalse", "calc", "descriptive"}
VALIDATIONS = {"", "date_ymd", "integer", "number"}


def dictionary_rows(figure: str = "female") -> list[dict[str, str]]:
    buf = io.StringIO()
    write_dictionary(buf, figure)
    reader = csv.reader(io.StringIO(buf.getvalue(), newline=""))
    header = next(reader)
    assert header == HEADERS_18
    return [dict(zip(header, row, strict=True)) for row in reader]


def choices(cell: str) -> list[tuple[str, str]]:
    out = []
    for part in cell.split("|"):
        code, _, label = part.partition(",")
        out.append((code.strip(), label.strip()))
    return out


def export_text(histories: list[PatientHistory]) -> str:
    buf = io.StringIO()
    write_redcap(histories, buf)
    return buf.getvalue()


def classified(histories: list[PatientHistory]) -> list[object]:
    """The classification, with the events of one date in area order: a REDCap checkbox field has its
    choices in a fixed order, so the order in which one visit's areas were listed is not kept (it means
    nothing: each is classified with its same-day patch)."""
    return [
        dataclasses.replace(c, events=tuple(sorted(c.events, key=lambda e: (e.date, e.area))))
        for c in classify_all(histories)
    ]


def example() -> list[PatientHistory]:
    return read_csv(str(resources.files("crpsmap.data") / "example_cohort.csv"))


# ---- the dictionary ---------------------------------------------------------------------------------


def test_dictionary_follows_redcaps_rules() -> None:
    rows = dictionary_rows()
    names = [r["Variable / Field Name"] for r in rows]
    assert names[0] == "record_id" and len(set(names)) == len(names)
    forms_seen: list[str] = []
    for r in rows:
        name, form, ftype = r["Variable / Field Name"], r["Form Name"], r["Field Type"]
        assert FIELD_NAME.fullmatch(name) and len(name) <= 100, name
        assert FIELD_NAME.fullmatch(form), form
        assert ftype in FIELD_TYPES, (name, ftype)
        assert r["Text Validation Type OR Show Slider Number"] in VALIDATIONS, name
        assert r["Required Field?"] in ("", "y")
        if form not in forms_seen:
            forms_seen.append(form)
        else:
            assert forms_seen[-1] == form, f"{name}: the fields of a form must be contiguous"
        if ftype in ("radio", "checkbox", "dropdown"):
            codes = [c for c, _ in choices(r["Choices, Calculations, OR Slider Labels"])]
            assert codes and all(CHOICE_CODE.fullmatch(c) for c in codes), name
            assert len(set(codes)) == len(codes), name
        else:
            assert r["Choices, Calculations, OR Slider Labels"] == "", name
    assert forms_seen == ["patient", "visit", "clinical_event", "treatment"]


def test_body_map_choices_are_the_image_map_modules_own() -> None:
    """The 74 keys and labels, compared with the CHOIR checkbox field of the Image Map module's example
    dictionary (an independent source); the annotation draws the map."""
    reference = read_dictionary(FIXTURES / "ctsit-imagemap-data-dictionary.csv")
    theirs = reference.fields["imagemap_ex1_m"]
    assert len(theirs.choices) == 74
    for figure, annotation in (
        ("female", "@IMAGEMAP=CHOIRBODYMAP_FEMALE"),
        ("male", "@IMAGEMAP=CHOIRBODYMAP_MALE"),
    ):
        rows = {r["Variable / Field Name"]: r for r in dictionary_rows(figure)}
        for field in ("body_map", "event_body_map"):
            ours = choices(rows[field]["Choices, Calculations, OR Slider Labels"])
            assert ours == list(theirs.choices.items())
            assert rows[field]["Field Type"] == "checkbox" and rows[field]["Field Annotation"] == annotation


def test_dictionary_carries_css_budapest_and_hrv() -> None:
    rows = {r["Variable / Field Name"]: r for r in dictionary_rows()}
    assert len(choices(rows["css_items"]["Choices, Calculations, OR Slider Labels"])) == 17
    for f in ("budapest_symptom_categories", "budapest_sign_categories"):
        assert [c for c, _ in choices(rows[f]["Choices, Calculations, OR Slider Labels"])] == [
            "sensory",
            "vasomotor",
            "sudomotor",
            "motor",
        ]
    assert (rows["css"]["Text Validation Min"], rows["css"]["Text Validation Max"]) == ("0", "17")
    assert rows["visit_date"]["Text Validation Type OR Show Slider Number"] == "date_ymd"
    assert {"hrv_rmssd", "hrv_hf", "pain", "visceral"} <= set(rows)


# ---- the export -------------------------------------------------------------------------------------


def test_export_columns_match_the_dictionary() -> None:
    """Record id first, the repeat columns, then each form's fields in dictionary order (a checkbox one
    column per choice, `field___code`), then `<form>_complete`: worked out here from the dictionary."""
    expected = ["record_id", "redcap_repeat_instrument", "redcap_repeat_instance"]
    rows = dictionary_rows()
    forms = list(dict.fromkeys(r["Form Name"] for r in rows))
    for form in forms:
        for r in rows:
            if r["Form Name"] != form or r["Variable / Field Name"] == "record_id":
                continue
            if r["Field Type"] == "checkbox":
                codes = [c for c, _ in choices(r["Choices, Calculations, OR Slider Labels"])]
                expected += [f"{r['Variable / Field Name']}___{c}" for c in codes]
            else:
                expected.append(r["Variable / Field Name"])
        expected.append(f"{form}_complete")
    header = export_text(example()).splitlines()[0].split(",")
    assert header == expected


def test_export_reads_back_to_the_same_classification() -> None:
    for histories in (example(), random_histories(150, seed=3, validate=True)):
        back = read_redcap(export_text(histories).encode(), name="export.csv").histories
        assert classified(back) == classified(histories)
        assert [h.patient_id for h in back] == [h.patient_id for h in histories]
        for a, b in zip(histories, back, strict=True):
            assert (a.sex, a.birth_year, a.crps_type, a.provenance) == (
                b.sex,
                b.birth_year,
                b.crps_type,
                b.provenance,
            )
            assert [(r.date, r.kind) for r in a.records] == [(r.date, r.kind) for r in b.records]


def _hand_made() -> PatientHistory:
    d = dt.date
    return PatientHistory(
        patient_id="P 1",
        sex=Sex.male,
        birth_year=1970,
        crps_type="II",
        records=(
            Record(date=d(2020, 1, 5), kind=RecordKind.trauma, regions=("hand_right",)),
            Record(date=d(2020, 2, 1), kind=RecordKind.onset, regions=("hand_palm_right",), pain=7.5, css=11),
            Record(date=d(2020, 3, 1), kind=RecordKind.treatment_start, treatment="physiotherapy"),
            Record(
                date=d(2020, 6, 1),
                kind=RecordKind.assessment,
                regions=("hand_palm_right", "hand_left", "visceral_bladder"),
                budapest_symptoms=3,
                budapest_signs=2,
                hrv_rmssd=21.5,
                hrv_hf=310.0,
                crp=4.0,
            ),
            Record(date=d(2020, 7, 1), kind=RecordKind.treatment_end, treatment="physiotherapy"),
            Record(date=d(2020, 8, 1), kind=RecordKind.treatment_end, treatment="never started"),
            Record(date=d(2020, 9, 1), kind=RecordKind.infection, regions=("visceral_respiratory",)),
        ),
    )


def test_every_record_kind_and_value_round_trips() -> None:
    h = _hand_made()
    text = export_text([h])
    rows = list(csv.DictReader(io.StringIO(text)))
    # one patient row; visits, events and treatments as instances (a start and its end share one)
    assert [(r["redcap_repeat_instrument"], r["redcap_repeat_instance"]) for r in rows] == [
        ("", ""),
        ("clinical_event", "1"),
        ("visit", "1"),
        ("treatment", "1"),
        ("visit", "2"),
        ("treatment", "2"),
        ("clinical_event", "2"),
    ]
    assert rows[3]["treatment_start"] == "2020-03-01" and rows[3]["treatment_end"] == "2020-07-01"
    # an area is written as its segments: hand_left is the left palm (f..) and the back of the left hand
    atlas = load_atlas()
    keys = {atlas.segment_by_slug[s].redcap for s in atlas.area_by_slug["hand_left"].segments}
    assert {k for k in keys if rows[4][f"body_map___{k}"] == "1"} == keys
    assert rows[4]["visceral___visceral_bladder"] == "1" and rows[2]["visceral___visceral_bladder"] == "0"
    back = read_redcap(text.encode()).histories[0]
    assert (back.sex, back.birth_year, back.crps_type) == (h.sex, h.birth_year, h.crps_type)
    by_date = {r.date: r for r in back.records}
    for r in h.records:
        got = by_date[r.date]
        assert got.kind == r.kind
        for v in (
            "pain",
            "css",
            "budapest_symptoms",
            "budapest_signs",
            "hrv_rmssd",
            "hrv_hf",
            "crp",
            "treatment",
        ):
            assert getattr(got, v) == getattr(r, v), (r.date, v)
        assert {atlas.unit_of(s) for s in got.regions} == {atlas.unit_of(s) for s in r.regions}
    assert classified([back]) == classified([h])


def test_what_the_project_cannot_hold_is_said() -> None:
    h = PatientHistory(
        patient_id="A",
        records=(
            Record(
                date=dt.date(2020, 1, 1), kind=RecordKind.onset, regions=("foot_left",), extra={"ward": "3"}
            ),
            Record(date=dt.date(2020, 2, 1), kind=RecordKind.trauma, regions=("foot_left",), pain=8),
        ),
    )
    notes = write_redcap([h], io.StringIO())
    text = " ".join(notes.lines())
    assert "extra values (ward)" in text and "pain on a trauma record" in text


def test_items_count_when_the_total_is_empty() -> None:
    text = export_text([_hand_made()])
    rows = list(csv.DictReader(io.StringIO(text)))
    visit = rows[2]
    visit["css"] = ""
    for item in ("sym_allodynia", "sym_edema", "sign_motor"):
        visit[f"css_items___{item}"] = "1"
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    back = read_redcap(buf.getvalue().encode()).histories[0]
    assert [r.css for r in back.records if r.kind is RecordKind.onset] == [3]
    # items that disagree with a total given beside them are a problem
    visit["css"] = "5"
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    with pytest.raises(HistoryImportError, match="3 item"):
        read_redcap(buf.getvalue().encode(), name="x.csv")


# ---- other projects, through a mapping ------------------------------------------------------------


def test_repeating_instruments_project_with_mapping_and_dictionary() -> None:
    folder = FIXTURES / "repeating-instruments"
    read = read_redcap(
        folder / "data.csv",
        mapping=read_mapping(MAPPINGS / "repeating-instruments.toml"),
        dictionary=read_dictionary(folder / "dictionary.csv"),
    )
    h1, h2 = read.histories
    # sex is a radio coded 0 = Female, 1 = Male in the project's dictionary
    assert (h1.patient_id, h1.sex, h2.patient_id, h2.sex) == ("1", Sex.female, "2", Sex.male)
    assert [(r.date, r.kind, r.extra) for r in h1.records] == [
        (dt.date(2019, 10, 14), RecordKind.assessment, {"bp_systolic": str(s), "bp_diastolic": str(s - 10)})
        for s in (110, 111, 112)
    ]
    assert [r.date for r in h2.records] == [dt.date(2004, 4, 4)]
    assert h1.provenance is Provenance.clinic


def test_without_the_dictionary_a_coded_sex_is_a_problem_named_with_its_record() -> None:
    folder = FIXTURES / "repeating-instruments"
    with pytest.raises(HistoryImportError) as exc:
        read_redcap(folder / "data.csv", mapping=read_mapping(MAPPINGS / "repeating-instruments.toml"))
    text = str(exc.value)
    assert "row 2, field 'sex': record '1': unknown sex '0'" in text


def test_a_reading_before_birth_is_refused() -> None:
    """Record 2 of REDCapR's project has a reading dated before the date of birth."""
    from crpsmap.io.redcap import parse_mapping

    folder = FIXTURES / "repeating-instruments"
    mapping = parse_mapping(
        {
            "patient": {"birth_date": "dob"},
            "records": [{"instrument": "bp", "kind": "assessment", "date": "date_bp"}],
        },
        "m.toml",
    )
    with pytest.raises(
        HistoryImportError, match="record '2': record dated 2004-04-04 is before birth year 2010"
    ):
        read_redcap(folder / "data.csv", mapping=mapping)


def test_longitudinal_project_dates_a_repeating_instrument_by_its_event() -> None:
    read = read_redcap(
        FIXTURES / "longitudinal-with-repeating-instrument" / "data_first3records.csv",
        mapping=read_mapping(MAPPINGS / "longitudinal-with-repeating-instrument.toml"),
    )
    with open(FIXTURES / "longitudinal-with-repeating-instrument" / "data_first3records.csv") as fh:
        rows = list(csv.DictReader(fh))
    visit_date = {(r["record_id"], r["redcap_event_name"]): r["visit_date"] for r in rows if r["visit_date"]}
    expected: dict[str, list[tuple[str, str, str | None]]] = {}
    for r in rows:
        if not r["redcap_repeat_instrument"]:
            expected.setdefault(r["record_id"], []).append((r["visit_date"], "assessment", None))
        elif r["redcap_repeat_instrument"] == "medication":
            day = visit_date[(r["record_id"], r["redcap_event_name"])]
            expected.setdefault(r["record_id"], []).append((day, "treatment_start", r["med"]))
    got = {
        h.patient_id: [(r.date.isoformat(), r.kind.value, r.treatment) for r in h.records]
        for h in read.histories
    }
    assert got == {k: sorted(v, key=lambda t: t[0]) for k, v in expected.items()}
    assert {h.patient_id: h.birth_year for h in read.histories} == {"1": 2001, "2": 2001}
    assert any("'laboratory' are not read" in str(w) for w in read.warnings)


def test_checkbox_codes_mapped_to_regions() -> None:
    read = read_redcap(
        FIXTURES / "checkboxes-1" / "data.csv",
        mapping=read_mapping(MAPPINGS / "checkboxes-1.toml"),
        visit_date=dt.date(2020, 1, 1),
    )
    got = {h.patient_id: h.records[0].regions for h in read.histories}
    assert got == {"1": ("hand_right", "wrist_right"), "2": ("hand_left", "foot_left")}
    assert any("'3', '4'" in str(w) for w in read.warnings)  # nothing ticked: left out, and said


# ---- problems ---------------------------------------------------------------------------------------


def _export_with(change: dict[str, str], row: int = 2) -> bytes:
    text = export_text([_hand_made()])
    rows = list(csv.DictReader(io.StringIO(text)))
    rows[row].update(change)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (
            {"visit_date": "2020-13-01"},
            "row 4, field 'visit_date': record 'P 1', 'visit' #1: '2020-13-01' is not a real",
        ),
        ({"visit_date": ""}, "field 'visit_date': record 'P 1', 'visit' #1: missing date"),
        ({"body_map___f25": "2"}, "field 'body_map___f25': record 'P 1', 'visit' #1: '2' is not 1 (ticked)"),
        ({"pain": "11"}, "field 'pain': record 'P 1', 'visit' #1: '11' is out of range"),
        ({"visit_kind": "relapse"}, "field 'visit_kind': record 'P 1', 'visit' #1: unknown kind 'relapse'"),
    ],
)
def test_problems_name_row_field_record_instrument_and_instance(
    change: dict[str, str], fragment: str
) -> None:
    with pytest.raises(HistoryImportError) as exc:
        read_redcap(_export_with(change, row=2), name="export.csv")
    assert fragment in str(exc.value)


def test_unknown_region_code_says_how_to_map_it() -> None:
    raw = b"record_id,visit_date,spot\n1,2020-01-01,f25 zz9\n"
    from crpsmap.io.redcap import parse_mapping

    mapping = parse_mapping({"records": [{"kind": "onset", "date": "visit_date", "regions": ["spot"]}]}, "m")
    with pytest.raises(
        HistoryImportError, match=r"code 'zz9' of spot is not a body region.*region_codes\.spot"
    ):
        read_redcap(raw, mapping=mapping)


def test_events_name_the_event() -> None:
    from crpsmap.io.redcap import parse_mapping

    raw = b"record_id,redcap_event_name,d\n1,baseline_arm_1,2020-02-30\n"
    mapping = parse_mapping({"records": [{"kind": "assessment", "date": "d"}]}, "m")
    with pytest.raises(HistoryImportError, match="record '1', event 'baseline_arm_1': '2020-02-30'"):
        read_redcap(raw, mapping=mapping)


def test_a_sex_that_differs_between_rows_is_a_problem() -> None:
    from crpsmap.io.redcap import parse_mapping

    raw = b"record_id,sex,d\n1,female,2020-01-01\n1,male,2020-02-01\n"
    mapping = parse_mapping(
        {"patient": {"sex": "sex"}, "records": [{"kind": "assessment", "date": "d"}]}, "m"
    )
    with pytest.raises(
        HistoryImportError, match="row 3, field 'sex': record '1': sex male differs from female on row 2"
    ):
        read_redcap(raw, mapping=mapping)


def test_an_export_of_another_project_without_a_mapping_says_what_to_do() -> None:
    with pytest.raises(HistoryImportError, match="not an export of crpsmap's REDCap project.*--mapping"):
        read_redcap(FIXTURES / "repeating-instruments" / "data.csv")


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        (
            "[[records]]\nkind = 'assessment'\ndate = 'd'\nregoins = ['x']\n",
            "records[0].regoins': unknown key (did you mean regions?)",
        ),
        ("[[records]]\nkind = 'flare'\ndate = 'd'\n", "unknown kind 'flare'"),
        ("[patient]\nsex = 'sex'\n", "give at least one [[records]] table"),
        ("[[records]]\ndate = 'd'\n", "give kind"),
        ("[[records]\n", "not valid TOML"),
        ("[[records]]\nkind = 'assessment'\ndate = 3\n", "must be a field name"),
    ],
)
def test_mapping_problems_are_named(toml: str, fragment: str, tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(toml)
    with pytest.raises(HistoryImportError) as exc:
        read_mapping(path)
    assert fragment in str(exc.value) and str(path) in str(exc.value)


def test_a_mapped_field_missing_from_the_export_is_named() -> None:
    from crpsmap.io.redcap import parse_mapping

    mapping = parse_mapping({"records": [{"kind": "assessment", "date": "visit_day"}]}, "m.toml")
    with pytest.raises(
        HistoryImportError, match=r"field 'visit_day' \(m.toml: records\[0\].date\) is not a column"
    ):
        read_redcap(FIXTURES / "repeating-instruments" / "data.csv", mapping=mapping)


def test_dictionary_reader_refuses_other_files() -> None:
    with pytest.raises(HistoryImportError, match="not a REDCap data dictionary"):
        read_dictionary(FIXTURES / "repeating-instruments" / "data.csv")
    # the API's metadata layout is read as well
    meta = "field_name,form_name,section_header,field_type,field_label,select_choices_or_calculations\n"
    meta += 'record_id,f,,text,ID,\nsex,f,,radio,Sex,"0, Female | 1, Male"\n'
    d = read_dictionary(meta.encode())
    assert d.label("sex", "1") == "Male" and d.record_id == "record_id"


def test_an_uploaded_mapping_is_read_as_a_file_is() -> None:
    """The registry's import page hands the mapping over as bytes: same checks, same messages."""
    with pytest.raises(HistoryImportError, match=r"up\.toml: not valid TOML"):
        read_mapping(b"[[records]\n", name="up.toml")
    with pytest.raises(HistoryImportError, match=r"up\.toml: not UTF-8 text"):
        read_mapping(b"\xff\xfe[[records]]", name="up.toml")
    from_file = read_mapping(MAPPINGS / "checkboxes-1.toml")
    from_bytes = read_mapping((MAPPINGS / "checkboxes-1.toml").read_bytes(), name="up.toml")
    assert from_bytes == dataclasses.replace(from_file, name="up.toml")
