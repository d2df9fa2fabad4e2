"""Patient histories written as a REDCap flat export of crpsmap's project (for REDCap's data import).

The columns are those REDCap itself exports for the project (`project.export_columns`): the record id
first, the repeat columns, each instrument's fields (a checkbox one column per choice) and its
`<form>_complete`. A patient is one record: a row of the `patient` instrument, then one instance of
`visit` per onset or assessment, of `clinical_event` per trauma, surgery or infection, and of
`treatment` per treatment (a start and the next end of the same treatment share one instance).

What the project has no field for is not written, and said: extra values, and values or regions on
records whose instrument has no such field (a pain score on a trauma record). Regions given as areas are
written as all of the area's segments (the classification, made per area, is the same).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from crpsmap.atlas import load_atlas
from crpsmap.history import INVOLVEMENT_KINDS, PatientHistory, Record, RecordKind
from crpsmap.io.csv_long import format_cell
from crpsmap.io.redcap import project

_EVENT_KINDS = frozenset({RecordKind.trauma, RecordKind.surgery, RecordKind.infection})
_VISIT_VALUES = ("pain", "css", "budapest_symptoms", "budapest_signs", "hrv_rmssd", "hrv_hf", "crp")
_ALL_VALUES = (*_VISIT_VALUES, "treatment")


@dataclass
class ExportNotes:
    """What the export could not carry, counted, for the command line to say."""

    dropped: Counter[str] = field(default_factory=Counter)  # what -> how many records

    def lines(self) -> list[str]:
        return [
            f"{n:,} record(s): {what} not written (crpsmap's REDCap project has no field for it)"
            for what, n in sorted(self.dropped.items())
        ]


class _Keys:
    """Region slug -> body-map keys (Image Map keys) or visceral codes, once per slug."""

    def __init__(self) -> None:
        self.atlas = load_atlas()
        self.cache: dict[str, tuple[list[str], list[str]]] = {}

    def __call__(self, slug: str) -> tuple[list[str], list[str]]:
        got = self.cache.get(slug)
        if got is None:
            a = self.atlas
            if slug in a.segment_by_slug:
                got = ([a.segment_by_slug[slug].redcap], [])
            elif slug in a.area_by_slug:
                got = ([a.segment_by_slug[s].redcap for s in a.area_by_slug[slug].segments], [])
            else:
                got = ([], [slug])
            self.cache[slug] = got
        return got


def export_rows(
    histories: Iterable[PatientHistory],
    figure: str = project.DEFAULT_FIGURE,
    notes: ExportNotes | None = None,
) -> Iterator[list[str]]:
    """The header, then every row of the export."""
    notes = notes if notes is not None else ExportNotes()
    columns = project.export_columns(figure)
    yield columns
    position = {c: i for i, c in enumerate(columns)}
    by_form: dict[str, list[str]] = {}
    for f in project.fields(figure):
        by_form.setdefault(f.form, []).extend(f.columns())
    keys = _Keys()

    def blank(form: str, instance: int | None) -> list[str]:
        row = [""] * len(columns)
        if instance is not None:
            row[position["redcap_repeat_instrument"]] = form
            row[position["redcap_repeat_instance"]] = str(instance)
        for c in by_form[form]:
            if "___" in c:
                row[position[c]] = "0"
        row[position[f"{form}_complete"]] = project.FORM_COMPLETE
        return row

    def tick(row: list[str], regions: tuple[str, ...], body_map: str, visceral: str) -> None:
        for slug in regions:
            segs, organs = keys(slug)
            for k in segs:
                row[position[f"{body_map}___{k}"]] = "1"
            for k in organs:
                row[position[f"{visceral}___{k}"]] = "1"

    def dropped(r: Record, kept: tuple[str, ...], regions: bool) -> None:
        for v in _ALL_VALUES:
            if v not in kept and getattr(r, v) is not None:
                notes.dropped[f"{v} on a {r.kind.value} record"] += 1
        if r.regions and not regions:
            notes.dropped[f"regions on a {r.kind.value} record"] += 1
        if r.extra:
            notes.dropped["extra values (" + ", ".join(sorted(r.extra)) + ")"] += 1

    for h in histories:
        pid = h.patient_id
        row = blank(project.PATIENT_FORM, None)
        row[0] = pid
        row[position["sex"]] = h.sex.value
        row[position["birth_year"]] = format_cell(h.birth_year)
        row[position["crps_type"]] = h.crps_type.value
        row[position["provenance"]] = h.provenance.value
        rows = [row]  # a patient's rows are kept until the last: a treatment's end fills an earlier row
        counts: Counter[str] = Counter()
        open_treatments: dict[str, list[str]] = {}
        for r in h.records:
            if r.kind in INVOLVEMENT_KINDS:
                counts[project.VISIT_FORM] += 1
                row = blank(project.VISIT_FORM, counts[project.VISIT_FORM])
                row[position["visit_date"]] = r.date.isoformat()
                row[position["visit_kind"]] = r.kind.value
                tick(row, r.regions, "body_map", "visceral")
                for v in _VISIT_VALUES:
                    row[position[v]] = format_cell(getattr(r, v))
                dropped(r, _VISIT_VALUES, True)
            elif r.kind in _EVENT_KINDS:
                counts[project.EVENT_FORM] += 1
                row = blank(project.EVENT_FORM, counts[project.EVENT_FORM])
                row[position["event_date"]] = r.date.isoformat()
                row[position["event_kind"]] = r.kind.value
                tick(row, r.regions, "event_body_map", "event_visceral")
                dropped(r, (), True)
            else:
                name = r.treatment or ""
                dropped(r, ("treatment",), False)
                if r.kind is RecordKind.treatment_end and name in open_treatments:
                    row = open_treatments.pop(name)
                    row[position["treatment_end"]] = r.date.isoformat()
                    continue
                counts[project.TREATMENT_FORM] += 1
                row = blank(project.TREATMENT_FORM, counts[project.TREATMENT_FORM])
                row[position["treatment_name"]] = name
                date_column = "treatment_start" if r.kind is RecordKind.treatment_start else "treatment_end"
                row[position[date_column]] = r.date.isoformat()
                if r.kind is RecordKind.treatment_start:
                    open_treatments[name] = row
            row[0] = pid
            rows.append(row)
        yield from rows


def write_redcap(
    histories: Iterable[PatientHistory], dest: IO[str], figure: str = project.DEFAULT_FIGURE
) -> ExportNotes:
    """Write the export (UTF-8 CSV); returns what could not be carried."""
    notes = ExportNotes()
    csv.writer(dest, lineterminator="\n").writerows(export_rows(histories, figure, notes))
    return notes
