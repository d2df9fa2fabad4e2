"""One cell of the CSV long format read into a value, or a message saying what is wrong and what is allowed.

Each parser takes the cell as written (it strips surrounding spaces itself) and returns the value or a
`Bad`. The readers call each parser once per distinct cell text, so the rules live here once. Value
columns (pain, css, ...) are checked by pydantic against `Record`'s own field types, so they accept and
refuse exactly what `Record` does; only the messages are ours.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable
from functools import cache
from typing import Any, get_args

import annotated_types as at
from pydantic import TypeAdapter, ValidationError

from crpsmap.atlas import Atlas, UnknownRegionError
from crpsmap.history import MIN_BIRTH_YEAR, CRPSType, Provenance, Record, RecordKind, Sex
from crpsmap.io.problems import show

MAX_PATIENT_ID_CHARS = 64
MAX_REGIONS_PER_RECORD = 200
SEX_ALIASES = {"f": "female", "m": "male", "w": "female", "": "unknown"}


class Bad:
    """A cell that cannot be read: one message per thing wrong with it (a regions cell may name several
    unknown regions)."""

    __slots__ = ("messages",)

    def __init__(self, *messages: str) -> None:
        self.messages = messages

    def __repr__(self) -> str:
        return f"Bad{self.messages!r}"


def did_you_mean(value: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


# ---- patient_id -------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def parse_patient_id(raw: str) -> str | Bad:
    pid = raw.strip()
    if not pid:
        return Bad("missing patient_id (every row names its patient)")
    if len(pid) > MAX_PATIENT_ID_CHARS:
        return Bad(f"{show(pid)} is longer than {MAX_PATIENT_ID_CHARS} characters")
    if _CONTROL.search(pid):
        return Bad(f"{show(pid)} contains a control character; a patient_id is printable text")
    return pid


# ---- date -------------------------------------------------------------------------------------------

# YYYY-MM-DD, optionally with a time of midnight (spreadsheets add one to dates they store as date-times)
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]00:00(?::00(?:\.0{1,6})?)?)?")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{1,2}:[0-9]{2}.*")
_WEEK = re.compile(r"[0-9]{4}-?W[0-9]{2}(?:-?[0-9])?", re.IGNORECASE)
_ORDINAL = re.compile(r"[0-9]{4}-?[0-9]{3}")
_DAY_FIRST = re.compile(r"[0-9]{1,2}[./-][0-9]{1,2}[./-][0-9]{4}")
DATE_FORM = "a calendar date written YYYY-MM-DD (e.g. 2021-03-02)"


def parse_date(raw: str, today: dt.date) -> dt.date | Bad:
    s = raw.strip()
    m = _DATE.fullmatch(s)
    if m is None:
        if not s:
            return Bad(f"missing date; expected {DATE_FORM}")
        if _TIME.fullmatch(s):
            return Bad(f"{show(s)} has a time of day; expected {DATE_FORM}, with no time or 00:00")
        if _WEEK.fullmatch(s):
            return Bad(f"{show(s)} is an ISO week date; expected {DATE_FORM}")
        if _ORDINAL.fullmatch(s):
            return Bad(f"{show(s)} is an ordinal (day-of-year) date; expected {DATE_FORM}")
        if _DAY_FIRST.fullmatch(s):
            return Bad(f"{show(s)} is not in year-month-day order; expected {DATE_FORM}")
        return Bad(f"{show(s)} is not a date; expected {DATE_FORM}")
    try:
        date = dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return Bad(f"{show(s)} is not a real calendar date (there is no such day)")
    if date.year < MIN_BIRTH_YEAR:
        return Bad(f"{date} is before {MIN_BIRTH_YEAR}; dates from {MIN_BIRTH_YEAR}-01-01 on are allowed")
    if date > today:
        return Bad(f"{date} is in the future (today is {today})")
    return date


# ---- kind, sex, crps_type, provenance -------------------------------------------------------------

_KINDS = [k.value for k in RecordKind]
_WORD_SEPARATORS = re.compile(r"[\s\-]+")


def parse_kind(raw: str) -> RecordKind | Bad:
    s = raw.strip()
    key = _WORD_SEPARATORS.sub("_", s.lower())
    try:
        return RecordKind(key)
    except ValueError:
        pass
    what = f"unknown kind {show(s)}" if s else "missing kind"
    return Bad(f"{what}{did_you_mean(key, _KINDS)}; expected one of {', '.join(_KINDS)}")


def parse_sex(raw: str) -> Sex | Bad:
    s = raw.strip()
    key = s.lower()
    try:
        return Sex(SEX_ALIASES.get(key, key))
    except ValueError:
        pass
    allowed = [v.value for v in Sex]
    return Bad(
        f"unknown sex {show(s)}{did_you_mean(key, allowed)}; expected {', '.join(allowed)} "
        "(or f, m, w; empty for unknown)"
    )


def parse_crps_type(raw: str) -> CRPSType | Bad:
    s = raw.strip()
    if not s or s.lower() == "unknown":
        return CRPSType.unknown
    try:
        return CRPSType(s.upper())
    except ValueError:
        pass
    return Bad(
        f"unknown CRPS type {show(s)}{did_you_mean(s.upper(), ['I', 'II'])}; expected I, II or unknown"
    )


def parse_provenance(raw: str) -> Provenance | Bad:
    s = raw.strip()
    key = s.lower()
    if not key:
        return Provenance.clinic
    try:
        return Provenance(key)
    except ValueError:
        pass
    allowed = [v.value for v in Provenance]
    return Bad(
        f"unknown provenance {show(s)}{did_you_mean(key, allowed)}; expected {', '.join(allowed)} "
        "(empty for clinic)"
    )


_DIGITS = re.compile(r"[0-9]+")


def parse_birth_year(raw: str, today: dt.date) -> int | None | Bad:
    s = raw.strip()
    if not s:
        return None
    if not _DIGITS.fullmatch(s):
        return Bad(f"{show(s)} is not a year; expected a year from {MIN_BIRTH_YEAR} to {today.year}")
    year = int(s)
    if not MIN_BIRTH_YEAR <= year <= today.year:
        return Bad(f"{year} is outside {MIN_BIRTH_YEAR}-{today.year}")
    return year


# ---- regions ----------------------------------------------------------------------------------------


#: "did you mean" is worked out for this many distinct unknown region names of a file, then no more (a
#: hostile file of a million made-up names would otherwise take minutes; 50 problems are shown anyway)
MAX_SUGGESTED_NAMES = 200


class RegionNames(dict[str, "str | Bad"]):
    """What each region name of a file resolves to, and how many unknown names were given suggestions."""

    suggested = 0


def parse_regions(raw: str, atlas: Atlas, names: dict[str, str | Bad] | None = None) -> tuple[str, ...] | Bad:
    """Canonical slugs, in order, without repeats; a message per unknown name (with the atlas's "did
    you mean" for the first MAX_SUGGESTED_NAMES of a `RegionNames`). `names` caches what each region
    name resolves to, across calls."""
    parts = [r for r in raw.split(";") if r.strip()]
    messages: list[str] = []
    if len(parts) > MAX_REGIONS_PER_RECORD:
        messages.append(f"{len(parts)} regions; the limit is {MAX_REGIONS_PER_RECORD} per record")
    out: list[str] = []
    for name in parts[:MAX_REGIONS_PER_RECORD]:
        slug = names.get(name) if names is not None else None
        if slug is None:
            suggest = not isinstance(names, RegionNames) or names.suggested < MAX_SUGGESTED_NAMES
            try:
                slug = atlas.resolve(name, suggest=suggest)
            except UnknownRegionError as exc:
                slug = Bad(str(exc))
                if isinstance(names, RegionNames):
                    names.suggested += 1
            if names is not None:
                names[name] = slug
        if isinstance(slug, Bad):
            messages.extend(slug.messages)
        elif slug not in out:
            out.append(slug)
    return Bad(*messages) if messages else tuple(out)


# ---- value columns (checked by Record's own field types) --------------------------------------------


def _describe(annotation: Any) -> str:
    """What a Record value field allows, read from its type: "a number from 0 to 10"."""
    inner = [a for a in get_args(annotation) if a is not type(None)]
    base, metadata = inner[0], []
    if get_args(base):  # Annotated[float, FieldInfo(metadata=[Ge, Le])]
        base, *extras = get_args(base)
        for e in extras:
            metadata += list(getattr(e, "metadata", [e]))
    if base is str:
        longest = next((m.max_length for m in metadata if isinstance(m, at.MaxLen)), None)
        return f"text of at most {longest} characters" if longest else "text"
    noun = "a whole number" if base is int else "a number"
    low = next(((m.ge, "from") for m in metadata if isinstance(m, at.Ge)), None) or next(
        ((m.gt, "above") for m in metadata if isinstance(m, at.Gt)), None
    )
    high = next((m.le for m in metadata if isinstance(m, at.Le)), None)
    if low and low[1] == "from" and high is not None:
        return f"{noun} from {low[0]} to {high}"
    parts = [noun]
    if low:
        parts.append(f"{low[1]} {low[0]}" if low[1] == "above" else f"of at least {low[0]}")
    if high is not None:
        parts.append(f"{'and ' if low else ''}at most {high}")
    return " ".join(parts)


class ValueParser:
    """A Record value column: empty is absent (None), anything else is validated by pydantic with the
    field's own type."""

    def __init__(self, column: str) -> None:
        info = Record.model_fields[column]
        assert info.annotation is not None
        self.column = column
        self.adapter: TypeAdapter[Any] = TypeAdapter(info.annotation)
        self.allowed = _describe(info.annotation)
        unit = (
            (info.description or "").rpartition(", ")[2]
            if info.description and ", " in info.description
            else ""
        )
        self.unit = f" ({unit})" if unit and len(unit) <= 6 else ""

    def __call__(self, raw: str) -> Any:
        s = raw.strip()
        if not s:
            return None
        try:
            return self.adapter.validate_python(s)
        except ValidationError as exc:
            kind = exc.errors()[0]["type"]
        if kind.endswith("_parsing"):
            what = "is not a whole number" if kind.startswith("int") else "is not a number"
        elif kind.startswith("string"):
            what = f"is {len(s)} characters long"
        else:
            what = "is out of range"
        return Bad(f"{show(s)} {what}; {self.column} must be {self.allowed}{self.unit}")


@cache
def value_parsers() -> dict[str, Callable[[str], Any]]:
    """A parser per value column (made once: building pydantic's validators takes a while)."""
    from crpsmap.io.columns import VALUE_COLUMNS

    return {c: ValueParser(c) for c in VALUE_COLUMNS}
