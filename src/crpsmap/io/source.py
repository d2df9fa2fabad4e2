"""Getting a CSV file's text: only regular files, only within the size limit, only text.

Spreadsheets save CSV files in several encodings and with several delimiters; this module finds out which
(and says which it assumed) before any row is read: UTF-8 with or without a byte-order mark, UTF-16 and
UTF-32 with a byte-order mark (or UTF-16 without one, recognised by its zero bytes), and otherwise
Windows-1252 (cp1252), falling back to Latin-1 for the five bytes cp1252 leaves undefined. A file that is
not text (an Excel workbook, an image, an archive) is refused with one line that says what it looks like.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from crpsmap.io.columns import header_score
from crpsmap.io.problems import HistoryImportError, ImportProblem

MAX_FILE_BYTES = 2 * 1024**3
#: the header row must end within this many characters (a file of one endless line is not a CSV file)
MAX_HEADER_CHARS = 65536
DELIMITERS = (",", ";", "\t")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}

#: what a file that starts with these bytes is
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another zip archive"),
    (b"PK\x05\x06", "an (empty) zip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel workbook (.xls) or another Office document"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh91AY&SY", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"MZ\x90\x00", "a Windows program"),
    (b"{\\rtf", "a rich-text (RTF) document"),
)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CHUNK = 1 << 20
# a valid multi-byte UTF-8 sequence: its presence beside an invalid byte means broken UTF-8, not cp1252
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class SourceError(ValueError):
    """The input is not a CSV text file that can be read; the message is one line, safe to print."""


@dataclass(frozen=True)
class Text:
    """A file's content as UTF-8 bytes without a byte-order mark, and what was assumed to get them."""

    data: bytes
    encoding: str
    delimiter: str


def read_path(path: Path) -> bytes:
    """The bytes of a regular file within the size limit; anything else raises SourceError without
    reading it (a folder, a named pipe, a device such as /dev/zero, a socket)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise SourceError(f"cannot read file: {exc.strerror or exc}") from None
    _check_regular(st)
    try:
        # O_NONBLOCK: should the path have been replaced by a named pipe since, opening must not wait
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise SourceError(f"cannot read file: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        _check_regular(os.fstat(fh.fileno()))
        try:
            data = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise SourceError(f"cannot read file: {exc.strerror or exc}") from None
    check_size(len(data))
    return data


def _check_regular(st: os.stat_result) -> None:
    mode = st.st_mode
    if stat.S_ISREG(mode):
        check_size(st.st_size)
        return
    what = (
        "a folder"
        if stat.S_ISDIR(mode)
        else "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a file"
    )
    raise SourceError(f"not a regular file ({what}); give a CSV file")


def check_size(size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise SourceError(f"file is {size:,} bytes or more; the limit is {MAX_FILE_BYTES:,}")


def decode(raw: bytes) -> Text:
    """Find the encoding and the delimiter of a CSV file's bytes; raise SourceError for what is not text."""
    if not raw or raw.isspace():
        raise SourceError("empty file: a header row is required")
    encoding = _encoding(raw)
    if encoding in ("utf-8", "utf-8-sig"):
        data = raw[3:] if encoding == "utf-8-sig" else raw
        nul = data.find(b"\x00")
        if nul >= 0:
            raise SourceError(
                f"not a text CSV file (binary content: a NUL byte on {_line_of_bytes(data, nul)})"
            )
        head = data[: MAX_HEADER_CHARS * 4].decode("utf-8", errors="ignore")
    else:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise SourceError(
                f"not valid {encoding.upper()} text: {exc.reason} at byte {exc.start:,}"
            ) from None
        text = text.removeprefix("\ufeff")
        if "\x00" in text:
            where = _line_of(text, text.index("\x00"))
            raise SourceError(f"not a text CSV file (binary content: a NUL character on {where})")
        data = text.encode("utf-8")
        head = text[: MAX_HEADER_CHARS * 4]
    _check_text_head(head)
    return Text(data, encoding, _delimiter(head))


def _encoding(raw: bytes) -> str:
    start = raw[:16]
    for signature, what in _SIGNATURES:
        if start.startswith(signature):
            advice = "; save it from the spreadsheet as CSV (UTF-8) first" if "Excel" in what else ""
            raise SourceError(f"not a text CSV file: it looks like {what}{advice}")
    for bom, name in _BOMS:
        if start.startswith(bom):
            return name
    nul = raw.find(b"\x00")
    if nul >= 0:
        guess = _utf16_without_bom(raw)
        if guess:
            return guess
        raise SourceError(f"not a text CSV file (binary content: a NUL byte on {_line_of_bytes(raw, nul)})")
    if raw.isascii():
        return "utf-8"
    bad = _first_invalid_utf8(raw)
    if bad is None:
        return "utf-8"
    if _UTF8_MULTIBYTE.search(raw):
        raise SourceError(
            f"not valid UTF-8 text: byte 0x{raw[bad]:02x} on {_line_of_bytes(raw, bad)} is not UTF-8 while "
            "other characters are; save the file as CSV (UTF-8) again"
        )
    try:
        raw.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def _utf16_without_bom(raw: bytes) -> str | None:
    """UTF-16 without a byte-order mark: in its first kilobytes every other byte is zero (ASCII text)."""
    if len(raw) % 2:
        return None
    sample = raw[:4096]
    even, odd = sample[0::2], sample[1::2]
    for zeros, others, name in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) >= 0.7 * len(zeros) and others.count(0) <= 0.02 * len(others):
            return name
    return None


def _first_invalid_utf8(raw: bytes) -> int | None:
    """Offset of the first byte that is not UTF-8 (decoding 1 MiB at a time: no copy of the file)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(raw)
    for offset in range(0, len(raw), _CHUNK):
        held = len(decoder.getstate()[0])  # bytes of a sequence left unfinished by the last chunk
        try:
            decoder.decode(view[offset : offset + _CHUNK], final=offset + _CHUNK >= len(raw))
        except UnicodeDecodeError as exc:
            return offset - held + exc.start
    return None


def _check_text_head(head: str) -> None:
    sample = head[:8192]
    controls = len(_CONTROL.findall(sample))
    if controls > max(8, len(sample) // 10):
        raise SourceError("not a text CSV file (binary content: many control characters)")


def _delimiter(head: str) -> str:
    """The delimiter of the header line: the one of , ; and tab that splits it into the most known
    column names (then into the most cells); a comma when none does."""
    end = len(head)
    for stop in ("\n", "\r"):
        i = head.find(stop)
        if i >= 0:
            end = min(end, i)
    if end > MAX_HEADER_CHARS:
        raise SourceError(f"the header row is longer than {MAX_HEADER_CHARS:,} characters: not a crpsmap CSV")
    line = head[:end]
    best, best_score = ",", (0, 0)
    for d in DELIMITERS:
        try:
            cells = next(csv.reader([line], delimiter=d), [])
        except csv.Error:
            continue
        score = (header_score(cells), len(cells))
        if score > best_score:
            best, best_score = d, score
    return best


def delimiter_name(d: str) -> str:
    return _DELIMITER_NAMES.get(d, repr(d))


def _line_of_bytes(raw: bytes, pos: int) -> str:
    line = raw.count(b"\n", 0, pos) + 1
    return f"line {line:,}"


def _line_of(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    return f"line {line:,}"


def source_label(source: str | Path | bytes | bytearray | memoryview, name: str | None) -> str:
    """How problems name a source: `name` if given, else the path, else "<bytes>"."""
    if name is not None:
        return name
    return "<bytes>" if isinstance(source, (bytes, bytearray, memoryview)) else str(source)


def read_source(source: str | Path | bytes | bytearray | memoryview, label: str) -> Text:
    """The text of a path or of a file's bytes, for every reader; what cannot be read as a CSV text file
    raises HistoryImportError naming `label`."""
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            check_size(len(source))
            return decode(bytes(source))
        return decode(read_path(Path(source)))
    except SourceError as exc:
        raise HistoryImportError([ImportProblem(label, None, None, str(exc))]) from None
