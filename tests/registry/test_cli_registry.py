"""The real command line, in a subprocess: `crpsmap registry import | export | createuser`.

Each test has its own SQLite file (and the PostgreSQL test a database of its own, dropped afterwards).
A bad input ends with status 2, a message naming file, row and field, no traceback, and no change.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crpsmap.data import example_cohort_path
from crpsmap.io.csv_long import read_csv_bytes, write_csv_text
from crpsmap.registry import transfer
from crpsmap.registry.histories import import_histories
from crpsmap.registry.models import Patient
from hard_cases import HARD
from postgres_support import TestDatabases

PASSWORD = "correct horse battery staple"


def good_file() -> bytes:
    """The example cohort and the hard cases, as write_csv writes them."""
    hs = read_csv_bytes(example_cohort_path().read_bytes(), name="example.csv")
    hs += read_csv_bytes(HARD.encode(), name="hard.csv")
    return write_csv_text(hs).encode()


def bad_row(data: bytes, code: str, field: str, value: str) -> tuple[bytes, int]:
    """`data` with `field` of the last record of patient `code` replaced; returns it and that row's
    number (header = 1; the rows of `data` are one line each up to there)."""
    lines = data.decode().split("\n")
    header = lines[0].split(",")
    i = max(n for n, line in enumerate(lines) if line.startswith(code + ","))
    cells = lines[i].split(",")
    assert len(cells) == len(header)
    cells[header.index(field)] = value
    lines[i] = ",".join(cells)
    return "\n".join(lines).encode(), i + 1


def nul_file() -> bytes:
    """A valid file but for a NUL character beyond the first 64 KiB (where the reader does not look)."""
    rows = ["patient_id,date,kind,regions,note"]
    rows += [f"PAD{i},2020-01-01,onset,hand_right,{'x' * 60}" for i in range(1200)]
    rows.append("PADNUL,2020-01-01,onset,hand_right,a\x00b")
    return ("\n".join(rows) + "\n").encode()


def crpsmap(
    cwd: Path, env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crpsmap", *args],
        cwd=cwd,
        env=env,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=300,
    )


def flat(text: str) -> str:
    """Output with line wrapping undone (the console wraps long lines when not on a terminal)."""
    return " ".join(text.split())


def refused(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "Traceback" not in out, out
    for f in fragments:
        assert f in flat(proc.stderr), (f, proc.stderr)


def round_trip(tmp_path: Path, env: dict[str, str], db: str) -> None:
    """Import a file, export it byte-identical, refuse bad files without changing anything."""
    good = good_file()
    (tmp_path / "good.csv").write_bytes(good)
    proc = crpsmap(tmp_path, env, "registry", "import", "good.csv", "--database", db)
    assert proc.returncode == 0, proc.stderr
    assert "imported 62 patients" in proc.stdout and "[bold]" not in proc.stdout + proc.stderr
    proc = crpsmap(tmp_path, env, "registry", "export", "out1.csv", "--database", db)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out1.csv").read_bytes() == good

    bad, row = bad_row(good, "SYN000060", "regions", "ankle_left;[/x]")
    (tmp_path / "bad.csv").write_bytes(bad)
    (tmp_path / "nul.csv").write_bytes(nul_file())
    for args, fragments in [
        (("bad.csv",), ("bad.csv", f"row {row}", "field 'regions'", "unknown region '[/x]'")),
        (("good.csv", "--site", "again"), ("good.csv, row 2, field 'patient_id'", "already in the registry")),
        (("nul.csv",), ("nul.csv", "binary content")),  # a NUL anywhere: not a text file
    ]:
        refused(crpsmap(tmp_path, env, "registry", "import", *args, "--database", db), *fragments)
    proc = crpsmap(tmp_path, env, "registry", "export", "out2.csv", "--database", db)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out2.csv").read_bytes() == good


def test_import_export_round_trip_and_bad_files_change_nothing(tmp_path: Path, env: dict[str, str]) -> None:
    db = str(tmp_path / "registry.sqlite3")
    round_trip(tmp_path, env, db)
    with sqlite3.connect(db) as con:
        audit = con.execute("select action from registry_auditevent order by id").fetchall()
    assert audit == [("import",), ("export",), ("export",)]  # a refused import leaves no trace either


def test_export_to_a_place_it_cannot_write_fails_cleanly_and_leaves_no_file(
    tmp_path: Path, env: dict[str, str]
) -> None:
    db = str(tmp_path / "registry.sqlite3")
    (tmp_path / "a-file").write_text("not a folder\n")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        cases = [
            (str(tmp_path), "not a regular file"),  # a directory
            ("missing/out.csv", "No such file or directory"),
            ("a-file/out.csv", "Not a directory"),
        ]
        if not os.access(locked, os.W_OK):  # (root writes anywhere: then this case cannot be made)
            cases.append(("locked/out.csv", "Permission denied"))
        for target, message in cases:
            refused(crpsmap(tmp_path, env, "registry", "export", target, "--database", db), message)
        assert not (tmp_path / "missing").exists()
        assert list(locked.iterdir()) == []
        assert (tmp_path / "a-file").read_text() == "not a folder\n"
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    finally:
        locked.chmod(0o700)


@pytest.mark.django_db
def test_export_replaces_the_file_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_histories(read_csv_bytes(HARD.encode(), name="hard.csv"))
    target = tmp_path / "out.csv"
    target.write_text("the previous export\n")

    def broken_write(histories: object, layout: str, *, research: bool) -> Iterator[str]:
        yield "patient_id,date,kind,regions\nQ-2,2019-"  # half a file, then a failure
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(transfer, "export_text", broken_write)
    with pytest.raises(OSError, match="No space left"):
        transfer.export_file(target)
    assert target.read_text() == "the previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no temporary file left behind
    monkeypatch.undo()
    assert transfer.export_file(target) == Patient.objects.count() == 2
    assert target.read_bytes() == HARD.encode()
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_createuser(tmp_path: Path, env: dict[str, str]) -> None:
    db = str(tmp_path / "registry.sqlite3")
    args = ("registry", "createuser")
    opts = ("--password-stdin", "--database", db)
    proc = crpsmap(tmp_path, env, *args, "alice", "--role", "clinician", *opts, stdin=PASSWORD + "\n")
    assert proc.returncode == 0, proc.stderr
    assert "created user 'alice' with role clinician" in proc.stdout
    assert PASSWORD not in proc.stdout + proc.stderr
    refused(
        crpsmap(tmp_path, env, *args, "alice", "--role", "admin", *opts, stdin=PASSWORD + "\n"),
        "user 'alice'",
        "exists",
    )
    refused(
        crpsmap(tmp_path, env, *args, "bob", "--role", "clinician", *opts, stdin="short\n"),
        "user 'bob'",
        "too short",
    )
    refused(
        crpsmap(tmp_path, env, *args, "carol", "--role", "[/nurse]", *opts, stdin=PASSWORD + "\n"),
        "--role '[/nurse]'",
        "choose one of admin, clinician, researcher, auditor",
    )
    with sqlite3.connect(db) as con:
        users = con.execute(
            "select u.username, u.password, g.name from auth_user u"
            " join auth_user_groups ug on ug.user_id = u.id join auth_group g on g.id = ug.group_id"
        ).fetchall()
    assert [(name, group) for name, _, group in users] == [("alice", "clinician")]
    encoded = users[0][1]
    assert encoded.startswith("argon2$")
    from argon2 import PasswordHasher

    assert PasswordHasher().verify(encoded.removeprefix("argon2"), PASSWORD)


def test_round_trip_on_postgresql(tmp_path: Path, env: dict[str, str]) -> None:
    databases = TestDatabases("crpsmap_cli")
    try:
        round_trip(tmp_path, env, databases.make())
    finally:
        databases.drop_all()


def test_import_other_layouts_and_export_to_redcap(tmp_path: Path, env: dict[str, str]) -> None:
    """`registry import --from choir|redcap` reads as `crpsmap convert` does; `registry export --to
    redcap` writes the export `convert --to redcap` writes."""
    fixtures = Path(__file__).parent.parent / "fixtures"
    db = str(tmp_path / "registry.sqlite3")
    choir = fixtures / "choir" / "alter2021-sample300.csv"
    proc = crpsmap(tmp_path, env, "registry", "import", str(choir), "--from", "choir", "--database", db)
    refused(proc, "give --visit-date YYYY-MM-DD")
    args = ("--from", "choir", "--visit-date", "2021-01-01", "--mapping", "m.toml", "--database", db)
    refused(
        crpsmap(tmp_path, env, "registry", "import", str(choir), *args), "--mapping is not for --from choir"
    )
    proc = crpsmap(
        tmp_path,
        env,
        "registry",
        "import",
        str(choir),
        "--from",
        "choir",
        "--visit-date",
        "2021-01-01",
        "--database",
        db,
    )
    assert proc.returncode == 0 and "imported 300 patients" in proc.stdout, proc.stderr
    ri = fixtures / "redcap" / "repeating-instruments"
    mapping = fixtures / "redcap" / "mappings" / "repeating-instruments.toml"
    proc = crpsmap(
        tmp_path,
        env,
        "registry",
        "import",
        str(ri / "data.csv"),
        "--from",
        "redcap",
        "--mapping",
        str(mapping),
        "--database",
        db,
    )
    refused(proc, "row 2, field 'sex': record '1': unknown sex '0'")
    proc = crpsmap(
        tmp_path,
        env,
        "registry",
        "import",
        str(ri / "data.csv"),
        "--from",
        "redcap",
        "--mapping",
        str(mapping),
        "--dictionary",
        str(ri / "dictionary.csv"),
        "--database",
        db,
    )
    assert proc.returncode == 0 and "imported 2 patients" in proc.stdout, proc.stderr
    proc = crpsmap(tmp_path, env, "registry", "export", "out.csv", "--to", "redcap", "--database", db)
    assert proc.returncode == 0, proc.stderr
    proc = crpsmap(tmp_path, env, "registry", "export", "all.csv", "--database", db)
    proc = crpsmap(tmp_path, env, "convert", "all.csv", "--to", "redcap", "-o", "expected.csv")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "expected.csv").read_bytes()
    proc = crpsmap(tmp_path, env, "registry", "export", "out.json", "--to", "fhir", "--database", db)
    assert proc.returncode == 0, proc.stderr
    proc = crpsmap(tmp_path, env, "fhir", "all.csv", "-o", "expected.json")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out.json").read_bytes() == (tmp_path / "expected.json").read_bytes()


def test_migrate_creates_the_tables_and_is_repeatable(tmp_path: Path, env: dict[str, str]) -> None:
    db = tmp_path / "new.sqlite3"
    for _ in range(2):
        proc = crpsmap(tmp_path, env, "registry", "migrate", "--database", str(db))
        assert proc.returncode == 0 and "up to date" in proc.stdout, proc.stderr
    with sqlite3.connect(db) as con:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type = 'table'")}
        applied = con.execute("select count(*) from django_migrations where app = 'registry'").fetchone()[0]
    assert {"registry_patient", "registry_auditevent", "registry_apitoken"} <= tables and applied >= 4
    refused(crpsmap(tmp_path, env, "registry", "migrate", "--database", "mysql://x@y/z"), "database")
