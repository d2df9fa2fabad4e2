"""Output safety: atomic writes leave the old file on failure; output paths are checked before work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crpsmap.outputs import OutputPathError, atomic_open, atomic_write_bytes, atomic_write_text, check_outputs


def test_atomic_write_replaces_the_file_whole(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    out.write_text("old", encoding="utf-8")
    atomic_write_text(out, "new ü")
    assert out.read_text(encoding="utf-8") == "new ü"
    atomic_write_bytes(out, b"\x00\x01")
    assert out.read_bytes() == b"\x00\x01"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary file left


def test_a_failure_while_writing_leaves_the_previous_file_and_no_partial_file(tmp_path: Path) -> None:
    out = tmp_path / "cohort.csv"
    out.write_text("previous\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_open(out) as f:
        f.write("half a file")
        raise RuntimeError("interrupted")
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["cohort.csv"]
    # a new file that fails is never created
    with pytest.raises(KeyboardInterrupt), atomic_open(tmp_path / "new.csv") as f:
        f.write("x")
        raise KeyboardInterrupt
    assert not (tmp_path / "new.csv").exists()


def test_written_files_get_ordinary_permissions(tmp_path: Path) -> None:
    out = tmp_path / "a.txt"
    atomic_write_text(out, "x")
    mode = out.stat().st_mode & 0o777
    assert mode & 0o600 == 0o600 and not mode & 0o111


def test_check_outputs_refuses_bad_paths_before_any_work(tmp_path: Path) -> None:
    inp = tmp_path / "in.csv"
    inp.write_text("x", encoding="utf-8")
    check_outputs([tmp_path / "a.html", tmp_path / "a.json", None], [inp])  # fine
    with pytest.raises(OutputPathError, match="does not exist"):
        check_outputs([tmp_path / "missing" / "a.html"])
    with pytest.raises(OutputPathError, match="same file"):
        check_outputs([tmp_path / "a.html", tmp_path / "." / "a.html"])
    with pytest.raises(OutputPathError, match="input"):
        check_outputs([tmp_path / "in.csv"], [inp])
    link = tmp_path / "link.csv"
    link.symlink_to(inp)
    with pytest.raises(OutputPathError, match="input"):
        check_outputs([link], [inp])
    with pytest.raises(OutputPathError, match="folder"):
        check_outputs([tmp_path])
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputPathError, match="regular"):
        check_outputs([fifo])


def test_atomic_path_replaces_on_success_and_keeps_the_old_file_on_failure(tmp_path: Path) -> None:
    from crpsmap.outputs import atomic_path

    out = tmp_path / "clinic.csv"
    out.write_text("old", encoding="utf-8")
    with pytest.raises(OSError), atomic_path(out) as tmp:
        tmp.write_text("partial", encoding="utf-8")
        raise OSError("disk full")
    assert out.read_text(encoding="utf-8") == "old"
    with atomic_path(out) as tmp:
        tmp.write_text("new", encoding="utf-8")
    assert out.read_text(encoding="utf-8") == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["clinic.csv"]
