"""The columnar reader of the CSV long format: all-or-nothing, every problem named, and fast.

Rows are read in chunks of `CHUNK_ROWS` and turned into columns. Each column is read through a cache:
every distinct cell text (a date, a regions list, a kind) is parsed and checked once
(`crpsmap.io.fields`), whatever the number of rows that repeat it; patient columns are read once per
distinct patient and cell. The checks that involve several cells (a date before the birth year, an onset
without regions, patient columns that differ between a patient's rows) are made on whole columns too.
Only rows with a problem are looked at one by one, to write their messages in row order.

Two tokenizers give the same columns. The `csv` module (strict quoting; a quoted line break stays in its
row, so rows are numbered as a spreadsheet numbers them, header = 1) reads every file. A large file
without any quote character, whose every line has exactly the header's number of fields (checked on the
bytes first), is instead split by pandas' C parser, which is faster and shares repeated strings.

Records of a clean file are built without validating them again: `Record`'s checks are the ones made
here (value columns are checked by pydantic against `Record`'s own field types, regions are resolved once
per distinct text), with the cyclic garbage collector paused while millions of objects are made. The
histories equal, field for field and in their fields-set, what `Record.model_validate` and
`PatientHistory.model_construct` give (tests/test_io_equivalence.py compares them with a row-by-row
reference reader).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import operator
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import compress, islice, repeat
from typing import Any

from pydantic import BaseModel

from crpsmap import collector
from crpsmap.atlas import load_atlas
from crpsmap.history import (
    INVOLVEMENT_KINDS,
    CRPSType,
    PatientHistory,
    Provenance,
    Record,
    RecordKind,
    Sex,
)
from crpsmap.io import fields as F
from crpsmap.io.columns import PATIENT_COLUMNS, PROVENANCE_COLUMN, VALUE_COLUMNS, Header, read_header
from crpsmap.io.problems import MAX_PROBLEMS, HistoryImportError, ImportProblem, column_letter, show
from crpsmap.io.source import Text

MAX_ROWS = 20_000_000
MAX_FIELD_CHARS = 10_000
CHUNK_ROWS = 50_000
MAX_WARNINGS = MAX_PROBLEMS
#: files at least this large are split by pandas when their layout allows (smaller ones gain nothing)
PANDAS_MIN_BYTES = 4 * 1024**2

HISTORY_FIELDS = ("patient_id", "sex", "birth_year", "crps_type", "provenance", "records")
_FAST_HISTORY = tuple(PatientHistory.model_fields) == HISTORY_FIELDS

# the order of a row's messages: by column, then the checks across columns
_O_STRUCT, _O_PID, _O_DATE, _O_KIND, _O_REGIONS = 0, 1, 2, 3, 4
_O_PATIENT = {"sex": 5, "birth_year": 6, "crps_type": 8, PROVENANCE_COLUMN: 9}
_O_BIRTH = 7
_O_VALUE = {c: 10 + i for i, c in enumerate(VALUE_COLUMNS)}
_O_FREE = 30
_O_ONSET = 40
_O_SAME = {c: 50 + i for i, c in enumerate((*PATIENT_COLUMNS, PROVENANCE_COLUMN))}

_new = object.__new__
# pydantic models keep their state in four slots; setting them through the slots' own descriptors is the
# fastest way to do what BaseModel.model_construct does
_SLOTS = BaseModel.__dict__
_set_dict = _SLOTS["__dict__"].__set__
_set_fields_set = _SLOTS["__pydantic_fields_set__"].__set__
_set_extra = _SLOTS["__pydantic_extra__"].__set__
_set_private = _SLOTS["__pydantic_private__"].__set__
_Bad = F.Bad
Problems = dict[int, list[tuple[int, str | None, str]]]


@dataclass(frozen=True)
class CsvRead:
    """What reading a CSV long-format file gave: the histories, warnings (the file was used; a person
    should look at these rows), and what the reader assumed about the file."""

    histories: list[PatientHistory]
    warnings: list[ImportProblem]
    encoding: str  # e.g. "utf-8", "utf-8-sig" (with a byte-order mark), "utf-16", "cp1252"
    delimiter: str  # "," ";" or "\t"
    #: spreadsheet row (header = 1) of each patient's first row
    first_rows: dict[str, int] = field(default_factory=dict)
    #: header names read as another column (an alias or another spelling): name -> column
    renamed: dict[str, str] = field(default_factory=dict)


class _Collector:
    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        self.problems: list[ImportProblem] = []
        self.truncated = False

    def add(self, row: int | None, field: str | None, message: str) -> None:
        if len(self.problems) < self.limit:
            self.problems.append(ImportProblem(self.name, row, field, message))
        else:
            self.truncated = True

    def full(self) -> bool:
        return self.truncated

    def raise_if_any(self) -> None:
        if self.problems or self.truncated:
            raise HistoryImportError(self.problems, self.truncated)


class _Cache(dict[str, Any]):
    """The parsed value of each distinct cell text of a column; `bad` holds the texts that are not valid."""

    def __init__(self, parse: Callable[[str], Any]) -> None:
        super().__init__()
        self.parse = parse
        self.bad: set[str] = set()

    def learn(self, cells: Iterable[str]) -> None:
        parse, bad = self.parse, self.bad
        for s in cells:
            v = self[s] = parse(s)
            if type(v) is _Bad:
                bad.add(s)

    def column(self, cells: Sequence[str]) -> list[Any]:
        try:
            return list(map(self.__getitem__, cells))
        except KeyError:
            pass
        # in order of first appearance, so that work bounded per file ("did you mean") goes to the rows
        # that are reported first
        self.learn([s for s in dict.fromkeys(cells) if s not in self])
        return list(map(self.__getitem__, cells))

    def distinct(self, cells: Sequence[str]) -> dict[str, None]:
        """The distinct cell texts of `cells`, each parsed."""
        seen = dict.fromkeys(cells)
        new = [s for s in seen if s not in self]
        if new:
            self.learn(new)
        return seen

    def bad_rows(self, cells: Sequence[str]) -> list[int]:
        bad = self.bad
        if not bad or bad.isdisjoint(cells):
            return []
        return list(compress(range(len(cells)), map(bad.__contains__, cells)))


class _FieldsSets(dict[Any, set[str]]):
    """One shared `__pydantic_fields_set__` per combination of value columns given (records are frozen;
    pydantic copies the set before any change, as in model_copy)."""

    def __init__(self, columns: list[str]) -> None:
        super().__init__()
        self.columns = columns

    def __missing__(self, key: Any) -> set[str]:
        given = key if isinstance(key, tuple) else (key,)
        s = {"date", "kind", "regions", "extra"} | {c for c, g in zip(self.columns, given, strict=True) if g}
        self[key] = s
        return s


@cache
def _record_builder(
    value_cols: tuple[str, ...], with_extra: bool
) -> Callable[..., list[dict[str, Any]]] | None:
    """A function that makes the `__dict__` of each record from columns, written for these columns: one
    dict display per row (much faster than dict(zip(...)) or model_construct). None should Record have a
    field that is neither read here nor None by default."""
    variables = {"date": "d", "kind": "k", "regions": "r"}
    variables.update({c: f"v{i}" for i, c in enumerate(value_cols)})
    if with_extra:
        variables["extra"] = "e"
    items = []
    for name, info in Record.model_fields.items():
        if name in variables:
            items.append(f"{name!r}: {variables[name]}")
        elif name == "extra":
            items.append("'extra': {}")
        elif info.default is None and info.default_factory is None:
            items.append(f"{name!r}: None")
        else:
            return None
    if not {"date", "kind", "regions"} <= set(Record.model_fields):
        return None
    args = ["D", "K", "R"] + [f"V{i}" for i in range(len(value_cols))] + (["E"] if with_extra else [])
    row = ["d", "k", "r"] + [f"v{i}" for i in range(len(value_cols))] + (["e"] if with_extra else [])
    source = (
        f"def build({', '.join(args)}):\n"
        f"    return [{{{', '.join(items)}}} for {', '.join(row)} in zip({', '.join(args)}, strict=True)]\n"
    )
    namespace: dict[str, Any] = {}
    # B102: the source is made of Record's field names only, never of file content
    exec(source, namespace)  # nosec B102 # reason above
    build: Callable[..., list[dict[str, Any]]] = namespace["build"]
    return build


def _second(pair: tuple[str, str]) -> str:
    return pair[1]


class Reader:
    def __init__(
        self,
        name: str,
        *,
        today: dt.date | None = None,
        max_problems: int = MAX_PROBLEMS,
        row_offset: int = 0,
    ) -> None:
        """`row_offset`: data rows of the whole file before this text's first row (a piece of a file),
        so that every row number and message names the row of the whole file."""
        self.name = name
        self.row_offset = row_offset
        self.today = today or dt.date.today()
        self.problems = _Collector(name, max_problems)
        self.warnings: list[tuple[int, int, str | None, str]] = []
        atlas = load_atlas()
        today_ = self.today
        self.c_pid = _Cache(F.parse_patient_id)
        self.c_date = _Cache(lambda s: F.parse_date(s, today_))
        self.c_kind = _Cache(F.parse_kind)
        region_names = F.RegionNames()
        self.c_regions = _Cache(lambda s: F.parse_regions(s, atlas, region_names))
        self.c_patient = {
            "sex": _Cache(F.parse_sex),
            "birth_year": _Cache(lambda s: F.parse_birth_year(s, today_)),
            "crps_type": _Cache(F.parse_crps_type),
            PROVENANCE_COLUMN: _Cache(F.parse_provenance),
        }
        parsers = F.value_parsers()
        self.c_value = {c: _Cache(parsers[c]) for c in VALUE_COLUMNS}
        # the rows that passed the row checks, in order: their row numbers, dates and kinds
        self.rownos = array("q")
        self.dates: list[Any] = []
        self.kinds: list[Any] = []
        self.records: list[Record] | None = []
        self.groups: dict[Any, list[int]] = {}  # patient_id -> indexes into the lists above
        self.first_raw: dict[Any, tuple[str, ...]] = {}  # patient_id -> its first row's patient cells
        self.involved: set[Any] = set()  # patients with an onset or assessment record
        self.failed = False
        self.tokenizer = "csv"

    # ---- the whole file ---------------------------------------------------------------------------

    def read(self, text: Text) -> CsvRead:
        with collector.paused():
            return self._read(text)

    def _read(self, text: Text) -> CsvRead:
        stream = io.TextIOWrapper(io.BytesIO(text.data), encoding="utf-8", newline="")
        reader = csv.reader(stream, delimiter=text.delimiter, strict=True)
        cells: list[str] = []
        try:
            cells = next(reader)
        except StopIteration:
            pass
        except csv.Error as exc:
            self.problems.add(1, None, f"not a valid CSV header: {_csv_message(exc)}")
            self.problems.raise_if_any()
        if not any(c.strip() for c in cells):
            self.problems.add(None, None, "empty file: a header row is required")
            self.problems.raise_if_any()
        header = read_header(cells)
        for message in header.problems:
            self.problems.add(1, None, message)
        self.problems.raise_if_any()
        for message in header.warnings:
            self.warnings.append((1, 0, None, message))
        self._plan(header)
        chunks = _pandas_chunks(text, len(header.names)) if len(text.data) >= PANDAS_MIN_BYTES else None
        if chunks is not None:
            self.tokenizer = "pandas"
            self._read_columns(chunks)
        else:
            self._read_rows(reader)
        self.problems.raise_if_any()
        histories, first_rows = self._histories()
        self.problems.raise_if_any()
        warnings = [ImportProblem(self.name, r, f, m) for r, _, f, m in sorted(self.warnings, key=_by_row)]
        if len(warnings) > MAX_WARNINGS:
            more = len(warnings) - MAX_WARNINGS
            warnings = warnings[:MAX_WARNINGS] + [
                ImportProblem(self.name, None, None, f"... and {more:,} more warning(s) not listed")
            ]
        return CsvRead(histories, warnings, text.encoding, text.delimiter, first_rows, dict(header.renamed))

    def _plan(self, h: Header) -> None:
        self.header = h
        self.ncols = len(h.names)
        self.i_pid, self.i_date = h.index["patient_id"], h.index["date"]
        self.i_kind, self.i_regions = h.index["kind"], h.index["regions"]
        self.patient_cols = [c for c in (*PATIENT_COLUMNS, PROVENANCE_COLUMN) if c in h.index]
        self.value_cols = [c for c in VALUE_COLUMNS if c in h.index]
        self.fields_sets = _FieldsSets(self.value_cols)
        self.plain_fields_set = {"date", "kind", "regions", "extra"}
        self.build = _record_builder(tuple(self.value_cols), len(h.extra) > 0)

    def _read_rows(self, reader: Iterator[list[str]]) -> None:
        """Rows from the csv module, a chunk at a time; rows of the wrong length are problems."""
        rows_read = 0
        ncols = self.ncols
        while not self.problems.full():
            chunk: list[list[str]] = []
            error: csv.Error | None = None
            want = min(CHUNK_ROWS, MAX_ROWS + 1 - rows_read)
            try:
                chunk.extend(islice(reader, want))
            except csv.Error as exc:
                error = exc
            got = len(chunk)
            base = rows_read + 2 + self.row_offset
            rows_read += got
            too_many = rows_read > MAX_ROWS
            if too_many:
                chunk.pop()
            problems: Problems = {}
            rownos: range | list[int] = range(base, base + len(chunk))
            if set(map(len, chunk)) - {ncols}:
                keep, kept = [], []
                for i, r in enumerate(chunk):
                    if len(r) == ncols:
                        keep.append(r)
                        kept.append(base + i)
                    elif any(f.strip() for f in r):  # (an empty line is a row without fields)
                        problems[base + i] = [
                            (_O_STRUCT, None, f"has {len(r)} fields, the header has {ncols}")
                        ]
                chunk, rownos = keep, kept
            self._columns(list(zip(*chunk, strict=True)) if chunk else [], rownos, problems)
            if error is not None:
                self._flush({base + got: [(_O_STRUCT, None, f"malformed CSV: {_csv_message(error)}")]})
                return
            if too_many:
                self._flush({MAX_ROWS + 2: [(_O_STRUCT, None, f"too many rows (limit {MAX_ROWS:,})")]})
                return
            if got < want:
                return

    def _read_columns(self, chunks: Iterator[list[list[str]]]) -> None:
        base = 2 + self.row_offset
        for cols in chunks:
            n = len(cols[0])
            self._columns(cols, range(base, base + n), {})
            base += n
            if self.problems.full():
                return

    # ---- one chunk of rows, as columns ------------------------------------------------------------

    def _columns(self, cols: Sequence[Sequence[str]], rownos: range | list[int], problems: Problems) -> None:
        def add(row: int, order: int, field: str | None, message: str) -> None:
            problems.setdefault(row, []).append((order, field, message))

        if not cols or not rownos:
            self._flush(problems)
            return
        n = len(rownos)
        c_pid = self.c_pid
        index = self.header.index
        i_pid = self.i_pid
        i_patient = [index[c] for c in self.patient_cols]
        # each distinct combination of a patient's cells, in order of first appearance: patient_id and
        # the patient columns are read per combination, not per row
        combos = _combinations(cols, i_pid, i_patient)
        pid_keys = [k[0] for k in combos] if i_patient else list(combos)
        c_pid.learn([k for k in dict.fromkeys(pid_keys) if k not in c_pid])
        bad_pid = [k for k in pid_keys if k in c_pid.bad]
        if bad_pid:
            # a row whose patient_id is empty may be empty altogether: such rows are skipped
            blank_ids = {k for k in bad_pid if not k.strip()}
            if blank_ids:
                pid_cells = cols[i_pid]
                blank = [
                    i
                    for i in compress(range(n), map(blank_ids.__contains__, pid_cells))
                    if not any(c[i].strip() for c in cols)
                ]
                if blank:
                    keep = [True] * n
                    for i in blank:
                        keep[i] = False
                    cols = [list(compress(c, keep)) for c in cols]
                    rownos = list(compress(rownos, keep))
                    n = len(rownos)
                    if not n:
                        self._flush(problems)
                        return
                    combos = _combinations(cols, i_pid, i_patient)
            pid_cells = cols[i_pid]
            for i in c_pid.bad_rows(pid_cells):
                for message in c_pid[pid_cells[i]].messages:
                    add(rownos[i], _O_PID, "patient_id", message)
        pid_cells = cols[i_pid]
        P: Sequence[Any] = pid_cells
        if any(c_pid[k] is not k for k in pid_keys if k not in c_pid.bad):  # surrounding spaces
            P = list(map(c_pid.__getitem__, pid_cells))
            combos = dict.fromkeys(zip(P, *(cols[i] for i in i_patient), strict=True)) if i_patient else {}
        g0 = len(self.rownos)
        self.rownos.extend(rownos)

        def bad_cells(cells: Sequence[str], cache: _Cache, order: int, field: str) -> None:
            for i in cache.bad_rows(cells):
                for message in cache[cells[i]].messages:
                    add(rownos[i], order, field, message)

        date_cells, kind_cells, region_cells = cols[self.i_date], cols[self.i_kind], cols[self.i_regions]
        D = self.c_date.column(date_cells)
        K = self.c_kind.column(kind_cells)
        R = self.c_regions.column(region_cells)
        bad_cells(date_cells, self.c_date, _O_DATE, "date")
        bad_cells(kind_cells, self.c_kind, _O_KIND, "kind")
        bad_cells(region_cells, self.c_regions, _O_REGIONS, "regions")
        pcells = [cols[i] for i in i_patient]
        for j, (c, cells) in enumerate(zip(self.patient_cols, pcells, strict=True)):
            cache = self.c_patient[c]
            distinct = dict.fromkeys(k[j + 1] for k in combos)
            cache.learn([s for s in distinct if s not in cache])
            if not cache.bad.isdisjoint(distinct):
                bad_cells(cells, cache, _O_PATIENT[c], c)
        V: list[list[Any]] = []
        for c in self.value_cols:
            cells = cols[index[c]]
            V.append(self.c_value[c].column(cells))
            bad_cells(cells, self.c_value[c], _O_VALUE[c], c)
        # free-text columns: extra columns are kept verbatim, but not without bound
        for name, i_col in self.header.extra:
            cells = cols[i_col]
            if max(map(len, cells)) > MAX_FIELD_CHARS:
                for i in compress(range(n), map(MAX_FIELD_CHARS.__lt__, map(len, cells))):
                    add(
                        rownos[i],
                        _O_FREE,
                        name,
                        f"{len(cells[i]):,} characters; the limit is {MAX_FIELD_CHARS:,}",
                    )
        for i_col in self.header.unnamed:
            cells = cols[i_col]
            if any(map(str.strip, cells)):
                for i in compress(range(n), map(str.strip, cells)):
                    add(
                        rownos[i],
                        _O_FREE,
                        None,
                        f"column {column_letter(i_col)} has no name in the header, but this row has "
                        f"{show(cells[i].strip())} in it; name the column or leave it empty",
                    )
        if "birth_year" in index:
            self._before_birth(D, date_cells, cols[index["birth_year"]], rownos, add)
        # an onset must name a region
        if () in R:
            onset = RecordKind.onset
            for i in compress(range(n), map(operator.eq, R, repeat(()))):
                if K[i] is onset:
                    add(rownos[i], _O_ONSET, "regions", "an onset record must name at least one region")
        self._group(P, g0, n)
        # (enum members hash in Python: test the kind's cell text instead)
        c_kind = self.c_kind
        involving = {s for s in c_kind if c_kind[s] in INVOLVEMENT_KINDS}
        self.involved.update(compress(P, map(involving.__contains__, kind_cells)))
        if pcells:
            self._same_patient_values(P, pcells, combos, rownos, add)
        self.dates.extend(D)
        self.kinds.extend(K)
        if not problems and not self.failed:
            extra = [cols[i] for _, i in self.header.extra]
            self._build(n, D, K, R, V, extra)
        self._flush(problems)

    def _group(self, P: Sequence[Any], g0: int, n: int) -> None:
        """Add the rows to their patients; a patient's rows are mostly one run, added at once."""
        groups = self.groups
        starts = [0, *compress(range(1, n), map(operator.ne, P[1:], P[:-1])), n]
        for s, e in zip(starts, starts[1:], strict=False):
            pid = P[s]
            g = groups.get(pid)
            if g is None:
                groups[pid] = list(range(g0 + s, g0 + e))
            else:
                g.extend(range(g0 + s, g0 + e))

    def _before_birth(
        self,
        D: list[Any],
        date_cells: Sequence[str],
        by_cells: Sequence[str],
        rownos: range | list[int],
        add: Callable[[int, int, str | None, str], None],
    ) -> None:
        c_date, c_by = self.c_date, self.c_patient["birth_year"]
        date_keys, by_keys = dict.fromkeys(date_cells), c_by.distinct(by_cells)
        years = {s: v.year for s in date_keys if type(v := c_date[s]) is dt.date}
        births = {s: v for s in by_keys if type(v := c_by[s]) is int}
        if not years or not births or min(years.values()) >= max(births.values()):
            return  # (no date of these rows is before any birth year of these rows)
        year_of = {s: years.get(s, 9999) for s in date_keys}
        birth_of = {s: births.get(s, 0) for s in by_keys}
        lt = operator.lt
        for i in compress(
            range(len(D)), map(lt, map(year_of.__getitem__, date_cells), map(birth_of.__getitem__, by_cells))
        ):
            add(rownos[i], _O_BIRTH, "date", f"{D[i]} is before the birth year {birth_of[by_cells[i]]}")

    def _same_patient_values(
        self,
        P: Sequence[Any],
        pcells: list[Sequence[str]],
        combos: dict[Any, None],
        rownos: range | list[int],
        add: Callable[[int, int, str | None, str], None],
    ) -> None:
        first_raw = self.first_raw
        conflicted: set[Any] = set()
        setdefault = first_raw.setdefault
        for key in combos:
            raw = key[1:]
            if setdefault(key[0], raw) != raw:
                conflicted.add(key[0])
        bad = self.c_pid.bad
        conflicted = {p for p in conflicted if type(p) is not _Bad and p not in bad}
        if not conflicted:
            return
        for i in compress(range(len(P)), map(conflicted.__contains__, P)):
            pid = P[i]
            first_row = self.rownos[self.groups[pid][0]] if pid in self.groups else rownos[i]
            for j, c in enumerate(self.patient_cols):
                cache = self.c_patient[c]
                value, given = cache[pcells[j][i]], cache[first_raw[pid][j]]
                if type(value) is _Bad or type(given) is _Bad or value == given:
                    continue
                add(
                    rownos[i],
                    _O_SAME[c],
                    c,
                    f"{_plain(value)} differs from {_plain(given)} given for patient {show(pid)} on row "
                    f"{first_row}; {c} must be the same on every row of a patient",
                )

    def _flush(self, problems: Problems) -> None:
        if not problems:
            return
        self.failed = True
        self.records = None  # the file is refused: no record will be needed
        for row in sorted(problems):
            for _, field_, message in sorted(problems[row], key=_by_order):
                self.problems.add(row, field_, message)
            if self.problems.full():
                return

    # ---- records and histories of a clean file ---------------------------------------------------

    def _build(
        self, n: int, D: list[Any], K: list[Any], R: list[Any], V: list[list[Any]], extra: list[Sequence[str]]
    ) -> None:
        assert self.records is not None
        E: list[dict[str, str]] = []
        if len(extra) == 1:
            name = self.header.extra[0][0]
            E = [{name: v} if v else {} for v in extra[0]]
        elif extra:
            names = [name for name, _ in self.header.extra]
            E = [dict(filter(_second, zip(names, vals, strict=True))) for vals in zip(*extra, strict=True)]
        sets: Iterable[set[str]]
        if len(V) == 1:
            sets = map(self.fields_sets.__getitem__, map(operator.is_not, V[0], repeat(None)))
        elif V:
            sets = map(
                self.fields_sets.__getitem__,
                zip(*(map(operator.is_not, v, repeat(None)) for v in V), strict=True),
            )
        else:
            sets = repeat(self.plain_fields_set, n)
        none = repeat(None)
        if self.build is not None:
            dicts = self.build(D, K, R, *V, *([E] if extra else []))
            objs = list(map(_new, repeat(Record, n)))
            deque(map(_set_dict, objs, dicts), maxlen=0)
            deque(map(_set_fields_set, objs, sets), maxlen=0)
            deque(map(_set_extra, objs, none), maxlen=0)
            deque(map(_set_private, objs, none), maxlen=0)
        else:  # pragma: no cover - only should Record gain a field this module cannot fill
            objs = []
            for i, (d, k, r) in enumerate(zip(D, K, R, strict=True)):
                given = {c: v[i] for c, v in zip(self.value_cols, V, strict=True) if v[i] is not None}
                objs.append(
                    Record.model_construct(date=d, kind=k, regions=r, extra=E[i] if E else {}, **given)
                )
        self.records.extend(objs)

    def _histories(self) -> tuple[list[PatientHistory], dict[str, int]]:
        records, dates, kinds, rownos = self.records, self.dates, self.kinds, self.rownos
        first_rows: dict[str, int] = {}
        for pid, idx in self.groups.items():
            first_rows[pid] = rownos[idx[0]]
            if pid not in self.involved:
                self.problems.add(
                    rownos[idx[0]], "kind", f"patient {show(pid)} has no onset or assessment record"
                )
                if self.problems.full():
                    break
        if self.problems.problems or records is None:
            return [], first_rows
        with_provenance = PROVENANCE_COLUMN in self.header.index
        fields_set = {"patient_id", "sex", "birth_year", "crps_type", "records"}
        if with_provenance:
            fields_set.add("provenance")
        defaults: dict[str, Any] = {
            "sex": Sex.unknown,
            "birth_year": None,
            "crps_type": CRPSType.unknown,
            PROVENANCE_COLUMN: Provenance.clinic,
        }
        caches = [self.c_patient[c] for c in self.patient_cols]
        patient_values: dict[tuple[str, ...], tuple[Any, ...]] = {}
        for raw in set(self.first_raw.values()) if self.patient_cols else [()]:
            values = dict(defaults)
            values.update({c: cache[s] for c, cache, s in zip(self.patient_cols, caches, raw, strict=True)})
            patient_values[raw] = (
                values["sex"],
                values["birth_year"],
                values["crps_type"],
                values[PROVENANCE_COLUMN],
            )
        onset = RecordKind.onset
        record_tuples: list[tuple[Record, ...]] = []
        append = record_tuples.append
        for pid, idx in self.groups.items():
            if len(idx) > 1:
                idx.sort(key=dates.__getitem__)  # stable: records of one date stay in file order
                ds = list(map(dates.__getitem__, idx))
                if len(set(ds)) < len(ds):
                    self._duplicates(pid, idx)
                if kinds[idx[0]] is not onset:
                    self._before_onset(pid, idx)
            append(tuple(map(records.__getitem__, idx)))
        pids = list(self.groups)
        patient_of = list(map(patient_values.__getitem__, map(self.first_raw.get, pids, repeat(()))))
        if not _FAST_HISTORY:  # pragma: no cover - only should PatientHistory gain a field
            out = []
            for pid, (sex, birth_year, crps_type, provenance), recs in zip(
                pids, patient_of, record_tuples, strict=True
            ):
                kw: dict[str, Any] = {"sex": sex, "birth_year": birth_year, "crps_type": crps_type}
                if with_provenance:
                    kw["provenance"] = provenance
                out.append(PatientHistory.model_construct(patient_id=pid, records=recs, **kw))
            return out, first_rows
        dicts = [
            {
                "patient_id": pid,
                "sex": v[0],
                "birth_year": v[1],
                "crps_type": v[2],
                "provenance": v[3],
                "records": recs,
            }
            for pid, v, recs in zip(pids, patient_of, record_tuples, strict=True)
        ]
        out = list(map(_new, repeat(PatientHistory, len(pids))))
        deque(map(_set_dict, out, dicts), maxlen=0)
        deque(map(_set_fields_set, out, repeat(fields_set)), maxlen=0)
        deque(map(_set_extra, out, repeat(None)), maxlen=0)
        deque(map(_set_private, out, repeat(None)), maxlen=0)
        return out, first_rows

    def _duplicates(self, pid: str, idx: list[int]) -> None:
        """Warn of a record that repeats an earlier one of the same patient exactly."""
        records, rownos = self.records, self.rownos
        assert records is not None
        seen: dict[Any, int] = {}
        for i in idx:
            key = _record_key(records[i])
            row = rownos[i]
            if key in seen:
                message = (
                    f"the same record as row {seen[key]} (patient {show(pid)}: same date, kind, regions and "
                    "values); both are kept"
                )
                self.warnings.append((row, 0, None, message))
            else:
                seen[key] = row

    def _before_onset(self, pid: str, idx: list[int]) -> None:
        """Warn of assessments dated before the patient's (first) onset."""
        kinds, dates, rownos = self.kinds, self.dates, self.rownos
        onset_at = next((j for j, i in enumerate(idx) if kinds[i] is RecordKind.onset), None)
        if onset_at is None:
            return
        onset_date, onset_row = dates[idx[onset_at]], rownos[idx[onset_at]]
        for i in idx[:onset_at]:
            if kinds[i] is RecordKind.assessment and dates[i] < onset_date:
                message = (
                    f"an assessment dated {dates[i]}, before the onset on {onset_date} (row {onset_row}) of "
                    f"patient {show(pid)}"
                )
                self.warnings.append((rownos[i], 1, "date", message))


# ---- the pandas tokenizer -------------------------------------------------------------------------------


def _pandas_chunks(text: Text, ncols: int) -> Iterator[list[list[str]]] | None:
    """Columns of the rows after the header, split by pandas, when that gives exactly what the csv module
    gives: line ends \n or \r\n, quotes only as the csv module writes them (a quoted field starts at the
    start of a field and ends at its end, a quote inside it doubled), every record with exactly `ncols`
    fields and at most the csv module's field size limit, a header without a quoted line break. None
    otherwise (then the csv module reads the file, and reports what is wrong with it)."""
    data, delimiter = text.data, text.delimiter
    if len(delimiter) != 1 or delimiter == '"':
        return None
    if data.endswith((b"\n\n", b"\r\n\r\n")):  # empty lines at the end are empty rows: nothing to read
        data = data.rstrip(b"\r\n") + b"\n"
    cr = data.count(b"\r")
    if cr and cr != data.count(b"\r\n"):
        return None
    try:
        import numpy as np
        import pandas as pd
    except ImportError:  # pragma: no cover - both are dependencies
        return None
    records = _check_layout(np, data, ord(delimiter), ncols)
    if records is None or records - 1 > MAX_ROWS:
        return None
    reader = pd.read_csv(
        io.BytesIO(data),
        sep=delimiter,
        header=None,
        skiprows=1,
        names=list(range(ncols)),
        dtype=object,
        na_filter=False,
        keep_default_na=False,
        quoting=csv.QUOTE_MINIMAL,
        quotechar='"',
        doublequote=True,
        skip_blank_lines=False,
        engine="c",
        encoding="utf-8",
        chunksize=CHUNK_ROWS,
    )

    def chunks() -> Iterator[list[list[str]]]:
        rows = 0
        with reader:
            for frame in reader:
                rows += len(frame)
                yield [frame[j].tolist() for j in range(ncols)]
        if rows != records - 1:  # pragma: no cover - _check_layout makes sure of it
            raise RuntimeError(f"pandas read {rows} rows where the csv module reads {records - 1}")

    return chunks()


_QUOTE, _LF, _CR = 34, 10, 13


def _check_layout(np: Any, data: bytes, delimiter: int, ncols: int, block: int = 1 << 23) -> int | None:
    """The number of records (header included) when every record has ncols - 1 delimiters outside quotes
    and at most csv.field_size_limit() characters, and every quote is where the csv module's strict mode
    wants it; None when not. Works through the bytes a block of records at a time, with numpy."""
    arr = np.frombuffer(data, dtype=np.uint8)
    limit = csv.field_size_limit()
    quoted = b'"' in data
    records = 0
    quotes = 0  # quotes before `start`
    start, size = 0, len(data)
    while start < size:
        end = size if size - start <= block else data.rfind(b"\n", start, start + block) + 1
        if end <= start:
            return None  # a line longer than a block
        part = arr[start:end]
        newline = part == _LF
        delim = part == delimiter
        if quoted:
            is_quote = part == _QUOTE
            before = np.cumsum(is_quote, dtype=np.int64) - is_quote + quotes  # quotes before each byte
            outside = (before & 1) == 0
            newline &= outside
            delim &= outside
            if end < size and not newline[-1]:  # the block ends inside a quoted field: end it earlier
                structural = np.flatnonzero(newline)
                if not len(structural):
                    return None
                cut = int(structural[-1]) + 1
                end = start + cut
                part, newline, delim = part[:cut], newline[:cut], delim[:cut]
                is_quote, before = is_quote[:cut], before[:cut]
            if not _quotes_in_place(np, data, part, is_quote, before, start, end, delimiter):
                return None
            if start == 0:  # the header: one line (pandas skips one line, not one record)
                first = data.find(b"\n")
                if first >= 0 and (first >= len(part) or not newline[first]):
                    return None
            quotes += int(is_quote.sum())
        ends = np.flatnonzero(newline)
        after = ends[:-1] + 1 if len(ends) and ends[-1] == len(part) - 1 else ends + 1
        starts = np.concatenate(([0], after))
        counts = np.add.reduceat(delim, starts, dtype=np.int64)
        if (counts != ncols - 1).any():
            return None
        if int(np.diff(np.concatenate((starts, [len(part)]))).max()) > limit:
            return None
        records += len(starts)
        start = end
    if quotes % 2:
        return None  # a quoted field that is not closed
    return records


def _quotes_in_place(
    np: Any, data: bytes, part: Any, is_quote: Any, before: Any, start: int, end: int, delimiter: int
) -> bool:
    """Whether every quote of `part` opens a field (at its start), closes one (at its end), or is one of
    a doubled pair inside a quoted field."""
    at = np.flatnonzero(is_quote)
    if not len(at):
        return True
    opening = (before[at] & 1) == 0
    prev = np.where(at > 0, part[np.maximum(at - 1, 0)], data[start - 1] if start else _LF)
    nxt_default = data[end] if end < len(data) else _LF
    nxt = np.where(at + 1 < len(part), part[np.minimum(at + 1, len(part) - 1)], nxt_default)
    opens_ok = (prev == delimiter) | (prev == _LF) | (prev == _QUOTE)
    closes_ok = (nxt == delimiter) | (nxt == _LF) | (nxt == _CR) | (nxt == _QUOTE)
    return bool(np.all(np.where(opening, opens_ok, closes_ok)))


def _combinations(cols: Sequence[Sequence[str]], i_pid: int, i_patient: list[int]) -> dict[Any, None]:
    """The distinct (patient_id, patient cells...) of the rows (or the distinct patient_id cells, when
    there is no patient column), in order of first appearance."""
    if not i_patient:
        return dict.fromkeys(cols[i_pid])
    return dict.fromkeys(zip(cols[i_pid], *(cols[i] for i in i_patient), strict=True))


def _record_key(r: Record) -> tuple[Any, ...]:
    return tuple(tuple(sorted(v.items())) if isinstance(v, dict) else v for v in r.__dict__.values())


def _plain(value: Any) -> str:
    return "empty" if value is None else show(str(value))


def _by_order(item: tuple[int, str | None, str]) -> int:
    return item[0]


def _by_row(item: tuple[int, int, str | None, str]) -> tuple[int, int]:
    return item[0], item[1]


def _csv_message(exc: csv.Error) -> str:
    text = str(exc)
    if text.startswith("field larger than field limit"):
        return f"a field is longer than {csv.field_size_limit():,} characters"
    if "unexpected end of data" in text:
        return 'a quoted field is not closed (a closing " is missing)'
    if "expected after" in text:
        return f'{text} (a quote inside a quoted field must be doubled: "")'
    return text
