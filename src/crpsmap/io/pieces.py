"""A big CSV long-format file read a piece at a time, so that a million-patient cohort never has to be
held as patient histories all at once (about 1 KiB of Python objects per row).

A file without quoted fields (so that a line is a row) is cut between rows of two different patients.
Each piece is read by the same `Reader` as a whole file, with every row number, warning and problem given
as the spreadsheet numbers the row in the whole file. Reading in pieces gives what reading whole gives
only when no patient has rows in two pieces (a patient's rows are one run, as exports write them): the
caller checks that the pieces' patients are disjoint and otherwise reads the file whole
(`crpsmap.report.api.file_statistics` does). Any other file is one piece: the whole file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np

from crpsmap.io.columns import read_header
from crpsmap.io.problems import HistoryImportError, ImportProblem
from crpsmap.io.reader import MAX_ROWS, CsvRead, Reader
from crpsmap.io.source import SourceError, Text, decode, read_path

#: files smaller than this are read whole (a piece costs a little; small files gain nothing)
PIECE_MIN_BYTES = 64 * 1024**2
#: about this many rows per piece (cut at the next change of patient)
PIECE_ROWS = 400_000


@dataclass(frozen=True)
class Piece:
    """Rows of whole patients of one file, with the file's header: read by `read_piece`."""

    label: str
    text: Text
    row_offset: int  # data rows of the file before this piece's first row


def cut_pieces(
    path: str | Path,
    *,
    name: str | None = None,
    rows_per_piece: int | None = None,
    min_bytes: int | None = None,
) -> Sequence[Piece]:
    """The file cut between patients where that changes nothing (else one piece: the whole file).
    Raises HistoryImportError for a file that cannot be read at all (folder, too big, binary...)."""
    label = name if name is not None else str(path)
    rows_per_piece = PIECE_ROWS if rows_per_piece is None else rows_per_piece
    min_bytes = PIECE_MIN_BYTES if min_bytes is None else min_bytes
    try:
        text = decode(read_path(Path(path)))
    except SourceError as exc:
        raise HistoryImportError([ImportProblem(label, None, None, str(exc))]) from None
    bounds = _cuts(text, rows_per_piece) if len(text.data) >= min_bytes else None
    if bounds is None:
        return [Piece(label, text, 0)]
    return _Pieces(label, text, *bounds)


class _Pieces(Sequence[Piece]):
    """The pieces of one file, each made (a copy of its bytes) only when asked for, so that the file is
    held once, not twice."""

    def __init__(self, label: str, text: Text, header: bytes, starts: np.ndarray, cuts: list[int]) -> None:
        self.label, self.text, self.header, self.starts, self.cuts = label, text, header, starts, cuts

    def __len__(self) -> int:
        return len(self.cuts) - 1

    @overload
    def __getitem__(self, i: int) -> Piece: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Piece]: ...
    def __getitem__(self, i: int | slice) -> Piece | Sequence[Piece]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        a, b = self.cuts[i], self.cuts[i + 1]
        data = self.text.data
        end = int(self.starts[b]) if b < len(self.starts) else len(data)
        body = self.header + data[int(self.starts[a]) : end]
        return Piece(self.label, Text(body, self.text.encoding, self.text.delimiter), a)


def read_piece(piece: Piece, *, today: dt.date | None = None) -> CsvRead:
    """One piece read as the whole file would read those rows (rows numbered as in the file)."""
    return Reader(piece.label, today=today, row_offset=piece.row_offset).read(piece.text)


def _cuts(text: Text, rows_per_piece: int) -> tuple[bytes, np.ndarray, list[int]] | None:
    """The header line, the byte offset of each data row, and the row indexes where pieces start (each
    between two rows of different patients); None when the file must be read whole (quoted fields, a
    header the whole read will refuse, too many rows)."""
    data = text.data
    if b'"' in data:
        return None
    newline = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    if not len(newline):
        return None
    header = data[: newline[0] + 1]
    cells = header.decode("utf-8").rstrip("\r\n").split(text.delimiter)
    head = read_header(cells)
    if head.problems or "patient_id" not in head.index:
        return None  # the whole read says what is wrong
    starts = newline + 1  # byte offset of each line after the header
    if starts[-1] == len(data):
        starts = starts[:-1]  # (the file ends with a newline)
    n = len(starts)
    if n > MAX_ROWS:
        return None
    column, delimiter = head.index["patient_id"], text.delimiter.encode()

    def patient(k: int) -> bytes:
        end = int(starts[k + 1]) if k + 1 < n else len(data)
        fields = data[int(starts[k]) : end].rstrip(b"\r\n").split(delimiter)
        return fields[column].strip() if len(fields) > column else b""

    cuts = [0]
    k = rows_per_piece
    while k < n:
        while k < n and patient(k) == patient(k - 1):
            k += 1
        if k >= n:
            break
        cuts.append(k)
        k += rows_per_piece
    cuts.append(n)
    return header, starts, cuts
