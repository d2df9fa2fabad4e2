"""The columns of the CSV long format, their aliases, and how a header row is read.

Header names are matched ignoring case, spaces, underscores, hyphens and dots ("Patient ID",
"patient_id" and " PATIENT-ID " are one name). The alias table below is the one place that says which
other names a column goes by; a name that is neither a column nor an alias is an extra column, kept
verbatim in `Record.extra`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from crpsmap.io.problems import column_letter, show

REQUIRED_COLUMNS = ("patient_id", "date", "kind", "regions")
#: patient-level columns: the same value on every row of a patient
PATIENT_COLUMNS = ("sex", "birth_year", "crps_type")
#: also patient-level; written only when some history is not clinic data
PROVENANCE_COLUMN = "provenance"
VALUE_COLUMNS = (
    "pain",
    "css",
    "budapest_symptoms",
    "budapest_signs",
    "hrv_rmssd",
    "hrv_hf",
    "crp",
    "treatment",
)
KNOWN_COLUMNS = REQUIRED_COLUMNS + PATIENT_COLUMNS + (PROVENANCE_COLUMN,) + VALUE_COLUMNS
#: at most this many columns in a header
MAX_COLUMNS = 1000

#: other names of a column (compared after `name_key`, so "Year of birth" is "yearofbirth"); the columns'
#: own names in any spelling ("Birth Year", "CRPS type") need no entry. Kept short on purpose: an alias
#: turns a column that was kept as an extra column into a column that is read and checked.
ALIASES: dict[str, str] = {
    "patient": "patient_id",
    "id": "patient_id",
    "pid": "patient_id",
    "visitdate": "date",
    "type": "kind",
    "recordkind": "kind",
    "recordtype": "kind",
    "region": "regions",
    "areas": "regions",
    "bodyregion": "regions",
    "bodyregions": "regions",
    "gender": "sex",
    "yearofbirth": "birth_year",
    "yob": "birth_year",
    "crpsseverityscore": "css",
    "rmssd": "hrv_rmssd",
}

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SEPARATORS = re.compile(r"[\s_\-.\ufeff]+")


def name_key(name: str) -> str:
    """The form in which header names are compared: lower case without spaces, _ - and dots."""
    return _SEPARATORS.sub("", name.lower())


_KEYS: dict[str, str] = {name_key(c): c for c in KNOWN_COLUMNS}
_ALIAS_KEYS: dict[str, str] = {name_key(a): c for a, c in ALIASES.items()}


def column_for(name: str) -> str | None:
    """The column a header name is read as (itself in any spelling, or an alias of it), if any."""
    key = name_key(name)
    return _KEYS.get(key) or _ALIAS_KEYS.get(key)


@dataclass
class Header:
    """A header row read: where each known column is, the extra columns, and what went wrong."""

    names: list[str]  # as written, stripped
    index: dict[str, int] = field(default_factory=dict)  # known column -> position
    extra: list[tuple[str, int]] = field(default_factory=list)  # (name, position), in file order
    unnamed: list[int] = field(default_factory=list)  # positions of columns without a name
    renamed: dict[str, str] = field(default_factory=dict)  # header name -> column, where they differ
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_header(cells: list[str]) -> Header:
    names = [c.strip().lstrip("\ufeff").strip() for c in cells]
    h = Header(names)
    if len(names) > MAX_COLUMNS:
        h.problems.append(f"the header has {len(names):,} columns; the limit is {MAX_COLUMNS:,}")
        return h
    exact: dict[str, list[int]] = {}
    by_alias: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        if not name:
            h.unnamed.append(i)
            continue
        if _CONTROL.search(name):
            h.problems.append(
                f"the name of column {column_letter(i)}, {show(name)}, contains a control character"
            )
            continue
        key = name_key(name)
        if key in _KEYS:
            exact.setdefault(_KEYS[key], []).append(i)
        elif key in _ALIAS_KEYS:
            by_alias.setdefault(_ALIAS_KEYS[key], []).append(i)
    taken: set[int] = set()
    conflicted: set[str] = set()
    for col in KNOWN_COLUMNS:
        where = exact.get(col) or by_alias.get(col)
        if not where:
            continue
        if len(where) > 1:
            cells_shown = " and ".join(f"{show(names[i])} (column {column_letter(i)})" for i in where)
            h.problems.append(f"columns {cells_shown} both give {col}; keep one")
            conflicted.add(col)
            continue
        h.index[col] = where[0]
        taken.add(where[0])
        if names[where[0]] != col:
            h.renamed[names[where[0]]] = col
    # a column named exactly (in any case) wins; an alias of it is then an extra column like any other
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if not name or i in taken:
            continue
        if name in seen:
            h.problems.append(
                f"duplicate column {show(name)} (columns {column_letter(seen[name])} and {column_letter(i)})"
            )
            continue
        seen[name] = i
        h.extra.append((name, i))
        if name_key(name) not in _ALIAS_KEYS and name_key(name) not in _KEYS:
            hint = _close_column(name)
            if hint and hint not in h.index:
                h.warnings.append(f"column {show(name)} is kept as an extra column; did you mean {hint}?")
    missing = [c for c in REQUIRED_COLUMNS if c not in h.index and c not in conflicted]
    if missing:
        hints = []
        for c in missing:
            close = difflib.get_close_matches(name_key(c), [name_key(n) for n, _ in h.extra], n=1, cutoff=0.7)
            if close:
                name = next(n for n, _ in h.extra if name_key(n) == close[0])
                hints.append(f"{c} (did you mean {show(name)}?)")
            else:
                hints.append(c)
        shown = [show(n) for n in names[:8]] + (["…"] if len(names) > 8 else [])
        h.problems.append(
            f"not a crpsmap CSV: missing column(s) {', '.join(hints)} (header: {', '.join(shown)}); "
            f"required: {', '.join(REQUIRED_COLUMNS)}"
        )
    return h


def _close_column(name: str) -> str | None:
    key = name_key(name)
    if len(key) < 3:
        return None
    names = {**_KEYS, **_ALIAS_KEYS}
    close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.8)
    return names[close[0]] if close else None


def header_score(cells: list[str]) -> int:
    """How many known columns (or aliases) a candidate header names: for sniffing the delimiter."""
    keys = {name_key(c.strip()) for c in cells}
    return sum(1 for k in keys if k in _KEYS or k in _ALIAS_KEYS)
