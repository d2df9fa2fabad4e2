"""A big file read in pieces gives exactly what reading it whole gives: histories, warnings, rows,
problems and the report's numbers (the report reads million-patient files this way)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crpsmap.data.synthetic import random_histories
from crpsmap.io import HistoryImportError, read_csv, read_csv_result, write_csv_text
from crpsmap.io.pieces import cut_pieces, read_piece
from crpsmap.report.api import file_statistics
from crpsmap.stats import cohort_statistics


def _file(tmp_path: Path, text: str, name: str = "cohort.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _cohort_text(n: int = 120, seed: int = 5) -> str:
    return write_csv_text(random_histories(n, seed=seed))


def _pieces(path: Path, rows: int = 37) -> list:  # type: ignore[type-arg]
    return list(cut_pieces(path, rows_per_piece=rows, min_bytes=0))


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    import crpsmap.io.pieces as pieces

    monkeypatch.setattr(pieces, "PIECE_MIN_BYTES", 0)
    monkeypatch.setattr(pieces, "PIECE_ROWS", 300)


def test_pieces_give_the_whole_file_s_histories_warnings_and_rows(tmp_path: Path) -> None:
    lines = _cohort_text().splitlines(keepends=True)
    lines.insert(500, lines[499])  # a duplicate row: a warning whose text names another row
    path = _file(tmp_path, "".join(lines))
    whole = read_csv_result(path)
    reads = [read_piece(p) for p in _pieces(path)]
    assert len(reads) > 5
    assert [h for r in reads for h in r.histories] == whole.histories
    assert [w for r in reads for w in r.warnings] == whole.warnings
    assert any("the same record as row" in w.message for w in whole.warnings)
    assert {k: v for r in reads for k, v in r.first_rows.items()} == whole.first_rows
    # every cut lies between two patients: no patient in two pieces
    ids = [h.patient_id for r in reads for h in r.histories]
    assert len(ids) == len(set(ids)) == 120


def test_a_piece_names_problems_with_the_whole_file_s_rows(tmp_path: Path) -> None:
    lines = _cohort_text().splitlines(keepends=True)
    lines[700] = lines[700].replace(",assessment,", ",asessment,")
    path = _file(tmp_path, "".join(lines))
    with pytest.raises(HistoryImportError) as whole:
        read_csv_result(path)
    pieces = _pieces(path)
    bad = [p for p in pieces if p.row_offset < 700 <= p.row_offset + p.text.data.count(b"\n") - 1]
    with pytest.raises(HistoryImportError) as pieced:
        read_piece(bad[0])
    assert pieced.value.problems == whole.value.problems
    assert [p.row for p in pieced.value.problems] == [701]


def test_files_that_cannot_be_cut_are_one_piece(tmp_path: Path) -> None:
    header, *rows = _cohort_text().splitlines(keepends=True)
    quoted = _file(tmp_path, header + rows[0].replace(",onset,", ',"onset",') + "".join(rows[1:]))
    assert len(_pieces(quoted)) == 1  # a quoted field may hold a line break: a line is not a row
    assert len(cut_pieces(_file(tmp_path, header + "".join(rows), "small.csv"))) == 1  # small: whole


@pytest.mark.usefixtures("small_pieces")
def test_a_report_read_in_pieces_has_the_numbers_of_the_whole_file(tmp_path: Path) -> None:
    path = _file(tmp_path, write_csv_text(random_histories(400, seed=11)))
    seen: list[tuple[int, int]] = []
    read = file_statistics(path, workers=2, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1][0] == seen[-1][1] > 5
    assert read.stats.to_dict() == cohort_statistics(read_csv(path)).to_dict()
    assert read.provenance.synthetic == 400


@pytest.mark.usefixtures("small_pieces")
def test_a_patient_in_two_pieces_falls_back_to_the_whole_read(tmp_path: Path) -> None:
    header, *rows = write_csv_text(random_histories(300, seed=12)).splitlines(keepends=True)
    mixed = _file(tmp_path, header + "".join(rows[1::2] + rows[0::2]))  # patients in two runs
    assert len(cut_pieces(mixed)) > 1
    read = file_statistics(mixed, workers=1)
    assert read.stats.to_dict() == cohort_statistics(read_csv(mixed)).to_dict()
    assert read.stats.figures.n_patients == 300


@pytest.mark.usefixtures("small_pieces")
def test_problems_in_a_file_read_in_pieces_are_those_of_the_whole_file(tmp_path: Path) -> None:
    lines = write_csv_text(random_histories(400, seed=11)).splitlines(keepends=True)
    for at in (30, 1500, 3000):
        lines[at] = lines[at].replace(",20", ",18", 1)  # a date before 1900
    path = _file(tmp_path, "".join(lines))
    with pytest.raises(HistoryImportError) as whole:
        read_csv_result(path)
    with pytest.raises(HistoryImportError) as pieced:
        file_statistics(path, workers=2)
    assert pieced.value.problems == whole.value.problems
    assert [p.row for p in pieced.value.problems] == [31, 1501, 3001]
