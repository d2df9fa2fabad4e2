"""REDCap flat exports (CSV, raw values) read into patient histories, through a mapping.

One row of an export is one record's non-repeating data in one event, or one instance of a repeating
instrument (`redcap_repeat_instrument`, `redcap_repeat_instance`). Each [[records]] table of the mapping
says which rows give records (their instrument and events), where their date, kind, regions and values
are; patient fields (sex, birth year, ...) are read from whichever row of the record holds them.

Checkbox fields are exported one column per choice (`body_map___f01` = 1 when ticked); the Image Map
module's text fields hold keys separated by commas (`f01,b17`). A code is read as a region by the
mapping's [region_codes], else by the atlas (REDCap keys, CHOIR codes, slugs, everyday names), else by
its label in the data dictionary. Reading is all-or-nothing like the CSV long format: every problem is
named with the row (as a spreadsheet numbers it), the field, and record, event, instrument and instance.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from crpsmap.atlas import UnknownRegionError, load_atlas
from crpsmap.history import PatientHistory, Record, RecordKind
from crpsmap.io import fields as F
from crpsmap.io.columns import column_for
from crpsmap.io.problems import MAX_PROBLEMS, HistoryImportError, ImportProblem, show
from crpsmap.io.reader import MAX_ROWS, MAX_WARNINGS, CsvRead
from crpsmap.io.redcap.dictionary import Dictionary
from crpsmap.io.redcap.mapping import OWN_PROJECT, Mapping, RecordSource, default_mapping
from crpsmap.io.source import read_source, source_label
from crpsmap.io.table import read_table

EVENT = "redcap_event_name"
INSTRUMENT = "redcap_repeat_instrument"
INSTANCE = "redcap_repeat_instance"
#: what a checkbox column holds (raw export, or a label export), in lower case
_CHECKED = {"1": True, "checked": True, "0": False, "unchecked": False, "": False}
_SPLIT_CODES = re.compile(r"[,;\s]+")
#: a REDCap datetime field's value (only the date is kept)
_DATETIME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?")


class _NoDate:
    """What a row gives an optional source (one of a start/end pair) when it holds data but no date."""


NO_DATE = _NoDate()


@dataclass(frozen=True)
class _Regions:
    """Where one regions field of a source is: a checkbox (columns per code) or a text column."""

    field: str
    checkbox: tuple[tuple[int, str, str], ...]  # (column index, column name, code)
    text: int | None


def read_redcap(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    mapping: Mapping | None = None,
    dictionary: Dictionary | None = None,
    visit_date: dt.date | None = None,
    today: dt.date | None = None,
    max_problems: int = MAX_PROBLEMS,
) -> CsvRead:
    """Read a REDCap flat export (a path or the file's bytes) into patient histories in order of first
    appearance. Without `mapping`, the export must come from a project built from crpsmap's dictionary.
    `visit_date` dates the records of [[records]] tables that name no date field. Raises
    HistoryImportError naming `name` (default: the path), row, field, record, event, instrument and
    instance of every problem; nothing is returned unless the whole file is clean."""
    label = source_label(source, name)
    text = read_source(source, label)
    reader = _ExportReader(
        label, mapping or default_mapping(), dictionary, visit_date, today or dt.date.today()
    )
    return reader.read(text.data, text.encoding, text.delimiter, max_problems)


class _ExportReader:
    def __init__(
        self,
        name: str,
        mapping: Mapping,
        dictionary: Dictionary | None,
        visit_date: dt.date | None,
        today: dt.date,
    ) -> None:
        self.name = name
        self.mapping = mapping
        self.dictionary = dictionary
        self.visit_date = visit_date
        self.today = today
        self.atlas = load_atlas()
        self.problems: list[ImportProblem] = []
        self.warnings: list[ImportProblem] = []
        self.parsers = F.value_parsers()
        self._dates: dict[str, dt.date | F.Bad] = {}
        self._region_cache: dict[tuple[str, str], str | F.Bad] = {}

    # ---- problems -------------------------------------------------------------------------------------

    def problem(self, row: int | None, field: str | None, message: str) -> None:
        self.problems.append(ImportProblem(self.name, row, field, message))

    def stop_if_any(self, limit: int) -> None:
        if self.problems:
            items = sorted(self.problems, key=lambda p: -1 if p.row is None else p.row)
            raise HistoryImportError(items[:limit], len(items) > limit)

    # ---- the file -------------------------------------------------------------------------------------

    def read(self, data: bytes, encoding: str, delimiter: str, limit: int) -> CsvRead:
        table = read_table(data, delimiter, self.problem, MAX_ROWS)
        header, rows, rownos = table.header, table.rows, table.rownos
        self.stop_if_any(limit)
        if not header[0]:
            self.problem(1, None, "the first column has no name (a REDCap export starts with the record id)")
            self.stop_if_any(limit)
        index = {h: i for i, h in enumerate(header)}
        for h, n in Counter(header).items():
            if n > 1:
                self.problem(1, h, f"column {show(h)} appears {n} times")
        plan = self._plan(header, index)
        self.stop_if_any(limit)
        histories, first_rows = self._histories(header, index, plan, rows, rownos)
        self.stop_if_any(limit)
        warnings = sorted(self.warnings, key=lambda p: -1 if p.row is None else p.row)[:MAX_WARNINGS]
        return CsvRead(histories, warnings, encoding, delimiter, first_rows, {})

    # ---- the plan: where each mapped field is -------------------------------------------------------

    def _plan(self, header: list[str], index: dict[str, int]) -> dict[str, Any]:
        m = self.mapping
        default = m.name == OWN_PROJECT
        missing: list[tuple[str, str]] = []

        def column(fname: str | None, key: str) -> int | None:
            if fname is None:
                return None
            if fname in index:
                return index[fname]
            missing.append((fname, key))
            return None

        def regions(fname: str, key: str) -> _Regions:
            prefix = f"{fname}___"
            boxes = tuple((i, h, h[len(prefix) :]) for i, h in enumerate(header) if h.startswith(prefix))
            if boxes:
                return _Regions(fname, boxes, None)
            return _Regions(fname, (), column(fname, key))

        id_field = m.patient.id or header[0]
        plan: dict[str, Any] = {
            "id": column(id_field, "patient.id"),
            "event": index.get(EVENT),
            "instrument": index.get(INSTRUMENT),
            "instance": index.get(INSTANCE),
            "patient": {
                k: column(getattr(m.patient, k), f"patient.{k}")
                for k in ("sex", "birth_year", "birth_date", "crps_type", "provenance")
            },
            "sources": [],
        }
        for s in m.records:
            if s.date is None and self.visit_date is None:
                self.problem(
                    None,
                    f"{s.where}.date",
                    f"{m.name}: {s.where} names no date field; give one or a visit date",
                )
            counted = {}
            for value, fname in s.counted.items():
                r = regions(fname, f"{s.where}.{value}")
                if r.checkbox:
                    counted[value] = r.checkbox
                elif r.text is not None:
                    self.problem(
                        1, fname, f"{s.where}: {fname} is counted as a checkbox field but is a single column"
                    )
            for fname in s.extra:
                clash = column_for(fname)
                if clash is not None:
                    self.problem(
                        1,
                        fname,
                        f"{s.where}.extra: {show(fname)} would be read back as the long format's {clash!r} "
                        "column; map it to that value instead, or leave it out",
                    )
            plan["sources"].append(
                {
                    "source": s,
                    "kind": column(s.kind_field, f"{s.where}.kind_field"),
                    "date": column(s.date, f"{s.where}.date"),
                    "regions": [regions(f, f"{s.where}.regions") for f in s.regions],
                    "values": {v: column(f, f"{s.where}.{v}") for v, f in s.values.items()},
                    "counted": counted,
                    "extra": {f: column(f, f"{s.where}.extra") for f in s.extra},
                }
            )
        if missing and default:
            absent = sorted({f for f, _ in missing})
            names = ", ".join(absent[:4]) + (f" and {len(absent) - 4} more" if len(absent) > 4 else "")
            self.problem(
                1,
                None,
                f"not an export of crpsmap's REDCap project (no field {names}); give a mapping file that "
                "says which fields hold what (--mapping M.toml; docs/import.md)",
            )
        else:
            for fname, key in missing:
                self.problem(1, fname, f"field {show(fname)} ({m.name}: {key}) is not a column of the export")
        return plan

    # ---- cells ----------------------------------------------------------------------------------------

    def meaning(self, fname: str, code: str) -> str:
        """What a coded value means: the mapping's [choices], else the dictionary's label, else itself."""
        table = self.mapping.choices.get(fname)
        if table is not None and code in table:
            return table[code]
        if self.dictionary is not None:
            label = self.dictionary.label(fname, code)
            if label is not None:
                return label
        return code

    def date(self, raw: str) -> dt.date | F.Bad:
        got = self._dates.get(raw)
        if got is None:
            s = raw.strip()
            m = _DATETIME.fullmatch(s)
            got = F.parse_date(m[1] if m else s, self.today)
            self._dates[raw] = got
        return got

    def region(self, fname: str, code: str) -> str | F.Bad:
        key = (fname, code)
        got = self._region_cache.get(key)
        if got is not None:
            return got
        codes = self.mapping.region_codes.get(fname, {})
        tries = [codes[code]] if code in codes else [code]
        if self.dictionary is not None and code not in codes:
            label = self.dictionary.label(fname, code)
            if label:
                tries.append(label)
        result: str | F.Bad = F.Bad(f"code {show(code)} of {fname} is not a body region")
        for i, t in enumerate(tries):
            try:
                result = self.atlas.resolve(t, suggest=False)
                break
            except UnknownRegionError as exc:
                if i == 0:
                    result = F.Bad(
                        f"code {show(code)} of {fname} is not a body region ({exc}); say what it is in the "
                        f"mapping's [region_codes.{fname}]"
                    )
        self._region_cache[key] = result
        return result

    # ---- the rows -------------------------------------------------------------------------------------

    def _histories(
        self,
        header: list[str],
        index: dict[str, int],
        plan: dict[str, Any],
        rows: list[list[str]],
        rownos: list[int],
    ) -> tuple[list[PatientHistory], dict[str, int]]:
        i_id, i_event, i_instr, i_inst = plan["id"], plan["event"], plan["instrument"], plan["instance"]
        ids: dict[str, str | F.Bad] = {}
        # the non-repeating row of each record and event (a repeating row's date may be its event's)
        event_rows: dict[tuple[str, str], list[str]] = {}
        for cells in rows:
            if i_instr is None or not cells[i_instr].strip():
                event_rows.setdefault(
                    (cells[i_id].strip(), cells[i_event].strip() if i_event is not None else ""), cells
                )
        records: dict[str, list[Record]] = {}
        first_rows: dict[str, int] = {}
        patient_values: dict[str, dict[str, tuple[Any, int]]] = {}
        unmapped: Counter[str] = Counter()
        sourced = {s["source"].instrument for s in plan["sources"]}
        for cells, rowno in zip(rows, rownos, strict=True):
            raw_id = cells[i_id]
            pid = ids.get(raw_id)
            if pid is None:
                pid = ids[raw_id] = F.parse_patient_id(raw_id)
            event = cells[i_event].strip() if i_event is not None else ""
            instrument = cells[i_instr].strip() if i_instr is not None else ""
            instance = cells[i_inst].strip() if i_inst is not None else ""
            where = f"record {show(raw_id.strip())}"
            if event:
                where += f", event {show(event)}"
            if instrument:
                where += f", {show(instrument)} #{instance or '?'}"
            if isinstance(pid, F.Bad):
                self.problem(rowno, header[i_id], f"{where}: {pid.messages[0]}")
                continue
            if pid not in records:
                records[pid] = []
                first_rows[pid] = rowno
                patient_values[pid] = {}
            self._patient(cells, rowno, where, plan["patient"], header, patient_values[pid])
            produced = 0
            had_data = False
            for src in plan["sources"]:
                s: RecordSource = src["source"]
                if s.instrument != instrument or (s.events and event not in s.events):
                    continue
                got = self._record(cells, rowno, where, src, header, event_rows.get((raw_id.strip(), event)))
                if got is None:
                    continue
                if isinstance(got, _NoDate):
                    had_data = True
                    continue
                records[pid].append(got)
                produced += 1
            if had_data and not produced:
                dates = [s["source"].date for s in plan["sources"] if s["source"].instrument == instrument]
                self.problem(
                    rowno,
                    None,
                    f"{where}: no date (in {', '.join(str(d) for d in dates)}); every record needs one",
                )
            if instrument and instrument not in sourced:
                unmapped[instrument] += 1
        for instrument, n in unmapped.items():
            self.warnings.append(
                ImportProblem(
                    self.name,
                    None,
                    INSTRUMENT,
                    f"{n:,} row(s) of instrument {show(instrument)} are not read "
                    "(no [[records]] table maps it)",
                )
            )
        histories = []
        empty = [pid for pid, recs in records.items() if not recs]
        if empty:
            shown = ", ".join(show(p) for p in empty[:5]) + (
                f" and {len(empty) - 5:,} more" if len(empty) > 5 else ""
            )
            self.warnings.append(
                ImportProblem(
                    self.name,
                    None,
                    None,
                    f"{len(empty):,} record(s) without any dated record are left out (nothing that the "
                    f"mapping reads is filled in): {shown}",
                )
            )
        for pid, recs in records.items():
            if not recs:
                continue
            values = {k: v for k, (v, _) in patient_values[pid].items()}
            try:
                histories.append(PatientHistory(patient_id=pid, records=tuple(recs), **values))
            except ValidationError as exc:
                message = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
                self.problem(first_rows[pid], None, f"record {show(pid)}: {message}")
        return histories, first_rows

    def _patient(
        self,
        cells: list[str],
        rowno: int,
        where: str,
        columns: dict[str, int | None],
        header: list[str],
        seen: dict[str, tuple[Any, int]],
    ) -> None:
        parsers: dict[str, Callable[[str], Any]] = {
            "sex": F.parse_sex,
            "crps_type": F.parse_crps_type,
            "provenance": F.parse_provenance,
            "birth_year": lambda s: F.parse_birth_year(s, self.today),
            "birth_date": self._birth_year_of_date,
        }
        for key, i in columns.items():
            if i is None:
                continue
            raw = cells[i].strip()
            if not raw:
                continue
            fname = header[i]
            text = self.meaning(fname, raw) if key in ("sex", "crps_type", "provenance") else raw
            value = parsers[key](text)
            if isinstance(value, F.Bad):
                self.problem(rowno, fname, f"{where}: {value.messages[0]}")
                continue
            target = "birth_year" if key == "birth_date" else key
            if target in seen and seen[target][0] != value:
                self.problem(
                    rowno,
                    fname,
                    f"{where}: {target} {value} differs from {seen[target][0]} on row {seen[target][1]}",
                )
                continue
            seen[target] = (value, rowno)

    def _ticked(
        self, cells: list[str], boxes: tuple[tuple[int, str, str], ...], rowno: int, where: str
    ) -> list[tuple[str, str]] | None:
        """(column, code) of the ticked boxes of one checkbox field in a row; None (and a problem per
        cell) when a cell is not a checkbox value."""
        out = []
        fast = True
        for i, column, code in boxes:
            cell = cells[i]
            if cell == "1":
                out.append((column, code))
            elif cell != "0" and cell != "":
                fast = False
                break
        if fast:
            return out
        out = []
        ok = True
        for i, column, code in boxes:
            state = _CHECKED.get(cells[i].strip().lower())
            if state is None:
                self.problem(rowno, column, f"{where}: {show(cells[i])} is not 1 (ticked), 0 or empty")
                ok = False
            elif state:
                out.append((column, code))
        return out if ok else None

    def _birth_year_of_date(self, raw: str) -> int | F.Bad:
        d = self.date(raw)
        return d if isinstance(d, F.Bad) else d.year

    def _record(
        self,
        cells: list[str],
        rowno: int,
        where: str,
        src: dict[str, Any],
        header: list[str],
        event_row: list[str] | None,
    ) -> Record | _NoDate | None:
        """The record of one row for one source; None when the row holds nothing for it (or a problem
        was noted), NO_DATE when it holds data but (an optional source) no date."""
        s: RecordSource = src["source"]
        regions: list[str] = []
        bad = False
        any_data = False
        for r in src["regions"]:
            if r.checkbox:
                marked = self._ticked(cells, r.checkbox, rowno, where)
                if marked is None:
                    bad = True
                    continue
                for column, code in marked:
                    any_data = True
                    slug = self.region(r.field, code)
                    if isinstance(slug, F.Bad):
                        self.problem(rowno, column, f"{where}: {slug.messages[0]}")
                        bad = True
                    elif slug not in regions:
                        regions.append(slug)
            elif r.text is not None:
                for code in _SPLIT_CODES.split(cells[r.text].strip()):
                    if not code:
                        continue
                    any_data = True
                    slug = self.region(r.field, code)
                    if isinstance(slug, F.Bad):
                        self.problem(rowno, r.field, f"{where}: {slug.messages[0]}")
                        bad = True
                    elif slug not in regions:
                        regions.append(slug)
        values: dict[str, Any] = {}
        for value, i in src["values"].items():
            if i is None or not cells[i].strip():
                continue
            any_data = True
            got = self.parsers[value](cells[i])
            if isinstance(got, F.Bad):
                self.problem(rowno, header[i], f"{where}: {got.messages[0]}")
                bad = True
            else:
                values[value] = got
        for value, boxes in src["counted"].items():
            items = self._ticked(cells, boxes, rowno, where)
            if items is None:
                bad = True
                continue
            ticked = len(items)
            if not ticked:
                continue
            any_data = True
            if value not in values:
                values[value] = ticked
            elif values[value] != ticked:
                self.problem(
                    rowno,
                    s.counted[value],
                    f"{where}: {ticked} item(s) ticked but {value} says {values[value]}",
                )
                bad = True
        extra = {}
        for fname, i in src["extra"].items():
            if i is not None and cells[i].strip():
                extra[fname] = cells[i]
                any_data = True
        kind: RecordKind | None = s.kind
        i_kind = src["kind"]
        if i_kind is not None and cells[i_kind].strip():
            any_data = True
            parsed = F.parse_kind(self.meaning(header[i_kind], cells[i_kind].strip()))
            if isinstance(parsed, F.Bad):
                self.problem(rowno, header[i_kind], f"{where}: {parsed.messages[0]}")
                bad = True
            else:
                kind = parsed
        i_date = src["date"]
        raw_date = cells[i_date].strip() if i_date is not None else ""
        if raw_date:
            any_data = True
        elif i_date is not None and event_row is not None:
            raw_date = event_row[i_date].strip()
        if not any_data:
            return None
        date: dt.date | F.Bad | None
        if s.date is None:
            date = self.visit_date
        elif raw_date:
            date = self.date(raw_date)
        elif s.optional:
            return NO_DATE
        else:
            date = F.Bad(f"missing date in {s.date}; every record needs one")
        if isinstance(date, F.Bad) or date is None:
            self.problem(rowno, s.date, f"{where}: {date.messages[0] if date else 'no date'}")
            return None
        if kind is None:
            self.problem(rowno, s.kind_field, f"{where}: missing kind (in {s.kind_field})")
            return None
        if kind is RecordKind.onset and not regions:
            self.problem(rowno, None, f"{where}: an onset names at least one body region; none is marked")
            return None
        if bad:
            return None
        return Record.trusted(date, kind, tuple(regions), extra=extra, **values)
