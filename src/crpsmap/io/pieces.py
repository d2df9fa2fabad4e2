"""A big CSV long-format file read a piece at a time, so that a million-patient cohort never has to be
held as patient histories all at once (about 1 KiB of Python objects per row).

A file is cut only where that changes nothing: between two patients, in a file whose rows of a patient
are adjacent (one run each, as exports write them) and that has no quoted field (so a line is a row).
Each piece is read by the same `Reader` as a whole file, and every row number, warning and problem is
given as the spreadsheet numbers the row in the whole file. Any other file is read whole, as before.
Problems of all pieces are collected (up to the usual limit) and raised after the last piece, so a
caller that writes only at the end writes nothing for a file with a problem.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np

from crpsmap.io.columns import read_header
from crpsmap.io.problems import MAX_PROBLEMS, HistoryImportError, ImportProblem
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


def read_csv_pieces(
    path: str | Path,
    *,
    name: str | None = None,
    rows_per_piece: int | None = None,
    min_bytes: int | None = None,
    today: dt.date | None = None,
) -> Iterator[CsvRead]:
    """The file's histories as consecutive pieces (each patient whole in one piece, in file order).

    Raises HistoryImportError naming file, row and field (after the last piece, or at once for a
    problem of the file or its header); a caller must not keep results before the iterator is done."""
    problems: list[ImportProblem] = []
    truncated = False
    for piece in cut_pieces(path, name=name, rows_per_piece=rows_per_piece, min_bytes=min_bytes):
        try:
            got = read_piece(piece, today=today)
        except HistoryImportError as exc:
            problems += exc.problems
            truncated = truncated or exc.truncated
            if is_fatal(exc.problems) or len(problems) >= MAX_PROBLEMS:
                break
            continue
        if not problems:  # (else only looking for more problems)
            yield got
    if problems:
        raise HistoryImportError(problems[:MAX_PROBLEMS], truncated=truncated or len(problems) > MAX_PROBLEMS)


def is_fatal(problems: list[ImportProblem]) -> bool:
    """A problem of the file or its header: every piece would repeat it, so reading stops there."""
    return any(p.row is None or p.row == 1 for p in problems)


def _cuts(text: Text, rows_per_piece: int) -> tuple[bytes, np.ndarray, list[int]] | None:
    """The header line, the byte offset of each data row, and the row indexes where pieces start; None
    when the file must be read whole (quoted fields, a patient in more than one run, anything odd)."""
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
    try:
        import pandas as pd

        ids = pd.read_csv(
            io.BytesIO(data),
            sep=text.delimiter,
            usecols=[head.index["patient_id"]],
            dtype=str,
            header=0,
            skip_blank_lines=False,
            keep_default_na=False,
            na_filter=False,
            quoting=csv.QUOTE_NONE,
            engine="c",
        ).iloc[:, 0]
    except Exception:  # noqa: BLE001 - any row pandas cannot split: the whole read names it
        return None
    if len(ids) != len(starts) or len(starts) > MAX_ROWS:
        return None
    codes, uniques = pd.factorize(ids.str.strip())
    del ids
    new_patient = np.flatnonzero(codes[1:] != codes[:-1]) + 1  # rows that start another patient
    if len(new_patient) + 1 != len(uniques):
        return None  # a patient's rows are not one run: cutting could split them
    cuts = [0]
    while cuts[-1] + rows_per_piece < len(starts):
        k = int(np.searchsorted(new_patient, cuts[-1] + rows_per_piece))
        if k >= len(new_patient):
            break
        cuts.append(int(new_patient[k]))
    cuts.append(len(starts))
    return header, starts, cuts
