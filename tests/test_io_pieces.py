"""A big file read in pieces gives exactly what reading it whole gives: histories, warnings, rows and
problems (the report reads million-patient files this way)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crpsmap.data.synthetic import random_histories
from crpsmap.io import HistoryImportError, read_csv_result, write_csv_text
from crpsmap.io.pieces import read_csv_pieces


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cohort.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _cohort_text() -> str:
    return write_csv_text(random_histories(120, seed=5))


def _pieces(path: Path, rows: int = 37) -> list:  # type: ignore[type-arg]
    return list(read_csv_pieces(path, rows_per_piece=rows, min_bytes=0))


def test_pieces_give_the_whole_file_s_histories_warnings_and_rows(tmp_path: Path) -> None:
    lines = _cohort_text().splitlines(keepends=True)
    # a duplicate row (a warning whose text names another row) deep in the file
    lines.insert(500, lines[499])
    path = _file(tmp_path, "".join(lines))
    whole = read_csv_result(path)
    pieces = _pieces(path)
    assert len(pieces) > 5
    assert [h for p in pieces for h in p.histories] == whole.histories
    assert [w for p in pieces for w in p.warnings] == whole.warnings
    assert any("the same record as row" in w.message for w in whole.warnings)
    assert {k: v for p in pieces for k, v in p.first_rows.items()} == whole.first_rows


def test_problems_in_several_pieces_are_named_with_the_whole_file_s_rows(tmp_path: Path) -> None:
    lines = _cohort_text().splitlines(keepends=True)
    for at, (old, new) in {40: (",assessment,", ",assesment,"), 700: (",assessment,", ",asessment,")}.items():
        assert old in lines[at]
        lines[at] = lines[at].replace(old, new)
    path = _file(tmp_path, "".join(lines))
    with pytest.raises(HistoryImportError) as whole:
        read_csv_result(path)
    with pytest.raises(HistoryImportError) as pieced:
        _pieces(path)
    assert pieced.value.problems == whole.value.problems
    assert [p.row for p in pieced.value.problems] == [41, 701]


def test_files_that_cannot_be_cut_safely_are_read_whole(tmp_path: Path) -> None:
    text = _cohort_text()
    header, *rows = text.splitlines(keepends=True)
    # a patient in two runs: cutting could split the patient
    shuffled = _file(tmp_path, header + "".join(rows[1::2] + rows[0::2]))
    assert len(_pieces(shuffled)) == 1
    assert _pieces(shuffled)[0].histories == read_csv_result(shuffled).histories
    # a quoted field may hold a line break: a line is not a row
    quoted = tmp_path / "quoted.csv"
    quoted.write_text(header + rows[0].replace(",onset,", ',"onset",') + "".join(rows[1:]), encoding="utf-8")
    assert len(_pieces(quoted)) == 1
    # small files are read whole by default
    assert len(list(read_csv_pieces(_file(tmp_path, text)))) == 1


def test_a_report_read_in_pieces_has_the_numbers_of_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crpsmap.io.pieces as pieces
    from crpsmap.io import read_csv
    from crpsmap.report.api import file_statistics
    from crpsmap.stats import cohort_statistics

    path = _file(tmp_path, write_csv_text(random_histories(400, seed=11)))
    whole = cohort_statistics(read_csv(path)).to_dict()
    monkeypatch.setattr(pieces, "PIECE_MIN_BYTES", 0)
    monkeypatch.setattr(pieces, "PIECE_ROWS", 300)
    assert len(list(pieces.read_csv_pieces(path))) > 5
    read = file_statistics(path)
    assert read.stats.to_dict() == whole
    assert read.provenance.synthetic == 400


def test_a_report_read_in_pieces_on_worker_processes_names_every_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crpsmap.io.pieces as pieces
    from crpsmap.report.api import file_statistics

    lines = write_csv_text(random_histories(400, seed=11)).splitlines(keepends=True)
    for at in (30, 1500, 3000):
        lines[at] = lines[at].replace(",20", ",18", 1)  # a date before 1900
    path = _file(tmp_path, "".join(lines))
    with pytest.raises(HistoryImportError) as whole:
        read_csv_result(path)
    monkeypatch.setattr(pieces, "PIECE_MIN_BYTES", 0)
    monkeypatch.setattr(pieces, "PIECE_ROWS", 300)
    seen: list[tuple[int, int]] = []
    with pytest.raises(HistoryImportError) as pieced:
        file_statistics(path, workers=2, progress=lambda done, total: seen.append((done, total)))
    assert pieced.value.problems == whole.value.problems
    assert [p.row for p in pieced.value.problems] == [31, 1501, 3001]
    assert seen and seen[-1][0] == seen[-1][1] > 5
