"""Pseudonymised research exports: keyed pseudonyms and per-patient date shifting (no Django here).

GDPR Art. 4(5) pseudonymisation: the export cannot be attributed to a person without additional
information (the key, and the clinic's identity table) kept apart. What it protects and what it does not:
docs/pseudonymisation.md.

Construction (v1; the labels are part of it, a change would unlink every earlier export):

- pseudonym  = "rp-" + first 20 hex characters (80 bits) of HMAC-SHA256(key, b"crpsmap pseudonym v1"
  + b"\\x00" + UTF-8 patient code). For n patients the chance of any collision is about n^2 / 2^81:
  4e-13 for 10^6 patients. A collision within one export is refused anyway (`PseudonymCollisionError`).
- date offset = -(1 + N mod 730) days, N the first 8 bytes (big-endian) of HMAC-SHA256(key,
  b"crpsmap date offset v1" + b"\\x00" + code): uniform in -730..-1 (the bias of the modulo is below
  1e-16). Only backwards, never 0: no shifted date is in the future, and no exported date is a real one.
- birth year = the year of 1 July of the real birth year shifted by the same offset (never later than the
  patient's earliest shifted record, never before 1900): the age at onset computed from the export is off
  by at most one year and unbiased over patients, where keeping the real birth year would make every
  patient about a year younger at onset, and leak the birth year as is.
- key id = first 16 hex characters of HMAC-SHA256(key, b"crpsmap key id v1" + b"\\x00"): says whether two
  exports were made with the same key (and so link) without saying anything about the key.

The labels differ before their NUL byte, so the three HMAC inputs can never coincide.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from crpsmap.history import MIN_BIRTH_YEAR, PatientHistory

KEY_ENV = "CRPSMAP_PSEUDONYM_KEY"
KEY_FILE_ENV = "CRPSMAP_PSEUDONYM_KEY_FILE"
MIN_KEY_BYTES = 32
PSEUDONYM_PREFIX = "rp-"
PSEUDONYM_HEX_CHARS = 20  # 80 bits
MAX_SHIFT_DAYS = 730
KEY_ID_HEX_CHARS = 16
PSEUDONYM_LABEL = b"crpsmap pseudonym v1"
OFFSET_LABEL = b"crpsmap date offset v1"
KEY_ID_LABEL = b"crpsmap key id v1"
#: FHIR Patient.identifier.system of research exports (not the registry's codes)
RESEARCH_IDENTIFIER_SYSTEM = "urn:crpsmap:research-pseudonym"
MAKE_KEY = 'python -c "import secrets; print(secrets.token_hex(32))"'
_HEX = re.compile(r"[0-9A-Fa-f]+")
_EARLIEST = dt.date(MIN_BIRTH_YEAR, 1, 1)


class PseudonymisationError(ValueError):
    """A research export that cannot be made; the message is one line and never holds the key."""


class PseudonymKeyError(PseudonymisationError):
    """No usable pseudonym key (absent, too short, unreadable, not private)."""


class PseudonymCollisionError(PseudonymisationError):
    """Two patients of one export would get the same pseudonym."""


@dataclass(frozen=True)
class PseudonymKey:
    """The secret of the research exports: at least 32 bytes, never printed (its repr shows the key id)."""

    secret: bytes = field(repr=False)
    source: str = "?"  # where it came from, for messages: the variable's name

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_KEY_BYTES:
            raise PseudonymKeyError(
                f"{self.source}: the pseudonym key is {len(self.secret)} bytes; at least {MIN_KEY_BYTES} are "
                f"needed (make one with: {MAKE_KEY})"
            )

    def mac(self, label: bytes, text: str = "") -> bytes:
        """HMAC-SHA256 of `label`, a NUL and `text` (UTF-8): one domain per label."""
        return hmac.new(self.secret, label + b"\x00" + text.encode("utf-8"), hashlib.sha256).digest()

    @property
    def key_id(self) -> str:
        return self.mac(KEY_ID_LABEL).hex()[:KEY_ID_HEX_CHARS]

    def __repr__(self) -> str:
        return f"PseudonymKey(key_id={self.key_id!r}, source={self.source!r})"


def parse_key(text: str, source: str) -> PseudonymKey:
    """A key written as hex (tried first) or base64 (standard or URL-safe alphabet, padding optional)."""
    text = text.strip()
    if not text:
        raise PseudonymKeyError(f"{source} is empty: give a key of at least {MIN_KEY_BYTES} bytes in hex")
    if _HEX.fullmatch(text) and len(text) % 2 == 0:
        return PseudonymKey(bytes.fromhex(text), source)
    try:
        raw = base64.b64decode(
            text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True
        )
    except (binascii.Error, ValueError):
        raise PseudonymKeyError(
            f"{source}: the pseudonym key is neither hex nor base64 (make one with: {MAKE_KEY})"
        ) from None
    return PseudonymKey(raw, source)


def read_key_file(path: Path, source: str = KEY_FILE_ENV) -> PseudonymKey:
    """The key in a file of its owner's alone (like ssh, a file that group or others may read or write is
    refused: anyone else who can read it can re-link every export)."""
    where = f"{source} ({path})"
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # (a named pipe must not hang)
    except OSError as exc:
        raise PseudonymKeyError(f"{where}: cannot read the key file: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)  # the file opened, not the name: no swap between check and read
        if not stat.S_ISREG(st.st_mode):
            raise PseudonymKeyError(f"{where}: not a regular file")
        mode = stat.S_IMODE(st.st_mode)
        if os.name == "posix" and mode & 0o077:
            raise PseudonymKeyError(
                f"{where}: permissions {mode:04o} are too open: group or others may use the key file "
                f"(chmod 600 {path})"
            )
        raw = os.read(fd, 64 * 1024)
    except OSError as exc:
        raise PseudonymKeyError(f"{where}: cannot read the key file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise PseudonymKeyError(f"{where}: the key file must hold the key as hex or base64 text") from None
    return parse_key(text, where)


def load_key(environ: Mapping[str, str] | None = None, *, key_file: Path | None = None) -> PseudonymKey:
    """The pseudonym key: `key_file` if given, else $CRPSMAP_PSEUDONYM_KEY or the file named by
    $CRPSMAP_PSEUDONYM_KEY_FILE (not both: two places could hold two keys, and exports would silently stop
    linking). Raises PseudonymKeyError with one line naming the variable; the key is never in it."""
    if key_file is not None:
        return read_key_file(Path(key_file), "--key-file")
    env = os.environ if environ is None else environ
    text, path = env.get(KEY_ENV, ""), env.get(KEY_FILE_ENV, "")
    if text and path:
        raise PseudonymKeyError(f"both {KEY_ENV} and {KEY_FILE_ENV} are set: set one of them")
    if path:
        return read_key_file(Path(path).expanduser())
    if text:
        return parse_key(text, KEY_ENV)
    raise PseudonymKeyError(
        f"no pseudonym key: set {KEY_ENV} (hex or base64, at least {MIN_KEY_BYTES} bytes) or {KEY_FILE_ENV} "
        "(a file only its owner can read); see docs/pseudonymisation.md"
    )


def pseudonym(code: str, key: PseudonymKey, *, hex_chars: int = PSEUDONYM_HEX_CHARS) -> str:
    """The research pseudonym of a patient code (`hex_chars` is shortened only by tests of collisions)."""
    if not 1 <= hex_chars <= 64:
        raise ValueError("hex_chars: 1 to 64")
    return PSEUDONYM_PREFIX + key.mac(PSEUDONYM_LABEL, code).hex()[:hex_chars]


def date_offset(code: str, key: PseudonymKey) -> int:
    """The patient's date shift in days, in -730..-1, the same for every date of that patient."""
    n = int.from_bytes(key.mac(OFFSET_LABEL, code)[:8], "big")
    return -(1 + n % MAX_SHIFT_DAYS)


def shifted_birth_year(birth_year: int | None, offset: int, earliest: dt.date | None) -> int | None:
    """1 July of the birth year shifted by the patient's offset; not after the earliest shifted record
    (a record cannot predate the birth year), not before 1900."""
    if birth_year is None:
        return None
    year = (dt.date(birth_year, 7, 1) + dt.timedelta(days=offset)).year
    if earliest is not None:
        year = min(year, earliest.year)
    return max(year, MIN_BIRTH_YEAR)


def pseudonymise_one(
    h: PatientHistory, key: PseudonymKey, *, hex_chars: int = PSEUDONYM_HEX_CHARS
) -> PatientHistory:
    """One patient for research: pseudonym for code, every date shifted by the same offset (so every
    interval is kept), extra values dropped (free text can identify); sex, CRPS type, regions, measured
    values, treatment names and provenance kept."""
    offset = date_offset(h.patient_id, key)
    delta = dt.timedelta(days=offset)
    records = tuple(r.model_copy(update={"date": r.date + delta, "extra": {}}) for r in h.records)
    earliest = min((r.date for r in records), default=None)
    if earliest is not None and earliest < _EARLIEST:
        raise PseudonymisationError(
            f"patient {h.patient_id!r}: a record dated {min(r.date for r in h.records).isoformat()} would "
            f"be shifted to before {MIN_BIRTH_YEAR}; correct the date"
        )
    return PatientHistory.model_construct(
        patient_id=pseudonym(h.patient_id, key, hex_chars=hex_chars),
        sex=h.sex,
        birth_year=shifted_birth_year(h.birth_year, offset, earliest),
        crps_type=h.crps_type,
        provenance=h.provenance,
        records=records,
    )


def pseudonymise(
    histories: Iterable[PatientHistory], key: PseudonymKey, *, hex_chars: int = PSEUDONYM_HEX_CHARS
) -> list[PatientHistory]:
    """The research version of a cohort, in pseudonym order (the registry's order would tell the order in
    which patients were entered, hence roughly their real dates). Two patients with one pseudonym, or a
    code given twice, are refused: a silent merge would corrupt every analysis."""
    out: dict[str, tuple[str, PatientHistory]] = {}
    for h in histories:
        p = pseudonymise_one(h, key, hex_chars=hex_chars)
        if p.patient_id in out:
            other = out[p.patient_id][0]
            if other == h.patient_id:
                raise PseudonymCollisionError(f"patient code {other!r} is given twice")
            raise PseudonymCollisionError(
                f"patients {other!r} and {h.patient_id!r} would share the pseudonym {p.patient_id}; "
                "research export refused"
            )
        out[p.patient_id] = (h.patient_id, p)
    return [out[k][1] for k in sorted(out)]
