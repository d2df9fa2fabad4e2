"""Durability: every save the server acknowledged survives a crash, and a backup taken while clinicians
save visits is one consistent instant of the registry.

The real server (`crpsmap serve`, gunicorn) runs in a subprocess on a database of the test's own (a
temporary SQLite file; a temporary PostgreSQL database when CRPSMAP_TEST_POSTGRES is set). Clinicians,
real HTTP clients with sessions and CSRF tokens, save visits back to back, each from its own thread, as
the browser's form does; the server's redirect after a save is its acknowledgement.

What the crash test proves: the server acknowledges a save only after it is committed, a commit is whole
or absent (the visit and its row history together), and the database reopens consistent after its
processes are killed (SIGKILL) in the middle of writes. What it cannot prove: survival of a power loss or
an operating-system crash; a killed process leaves its writes in the operating system's cache, so even
`synchronous=OFF` passes it. The setting that covers power loss (`synchronous=FULL`) is pinned by
`test_every_sqlite_connection_is_wal_with_full_sync`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from crpsmap.registry import backup
from crpsmap.registry.config import SQLITE_BUSY_TIMEOUT_S, database_settings
from postgres_support import TestDatabases

HOST = "127.0.0.1"
PASSWORD = "durable clinician passphrase"
CLINICIAN = "durability"
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
WRITERS = 3  # clinicians saving at once, one patient each
SEGMENTS = ("hand_palm_right", "hand_top_right", "face_right")
# the tests of SQLite alone (and of no database) run once: not again in the PostgreSQL pass of `make test`
sqlite_pass_only = pytest.mark.skipif(
    "postgres" in os.environ.get("CRPSMAP_TEST_DATABASE", ""), reason="ran in the SQLite pass"
)


# ------------------------------------------------------------------------------------------ databases


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """A factory of empty databases of one kind, each named; PostgreSQL ones are dropped afterwards."""
    if request.param == "sqlite":
        if "postgres" in os.environ.get("CRPSMAP_TEST_DATABASE", ""):
            pytest.skip("ran in the SQLite pass")
        yield lambda name: f"sqlite:///{tmp_path / (name + '.sqlite3')}"
        return
    databases = TestDatabases("crpsmap_durable")
    try:
        yield databases.make
    finally:
        databases.drop_all()


def crpsmap(
    env: dict[str, str], *args: str, stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crpsmap", *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def refused(proc: subprocess.CompletedProcess[str], fragment: str) -> None:
    """Exit status 2, one `error:` line naming the problem, no traceback."""
    err = " ".join(proc.stderr.split())
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert err.startswith("error: ") and err.count("error: ") == 1, proc.stderr
    assert fragment in err and "Traceback" not in proc.stderr, (fragment, proc.stderr)


def make_registry(env: dict[str, str], url: str, tmp_path: Path) -> None:
    """A clinician and one patient per writer (onset 2020), as the command line makes them."""
    ok(
        crpsmap(
            env,
            "registry",
            "createuser",
            CLINICIAN,
            "--role",
            "clinician",
            "--password-stdin",
            "--database",
            url,
            stdin=PASSWORD + "\n",
        )
    )
    rows = "".join(f"W{w},2020-01-01,onset,hand_right\n" for w in range(WRITERS))
    (tmp_path / "patients.csv").write_text("patient_id,date,kind,regions\n" + rows)
    ok(crpsmap(env, "registry", "import", str(tmp_path / "patients.csv"), "--database", url))


# ---------------------------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    """`crpsmap serve` in a session (process group) of its own: master and workers die together."""

    def __init__(self, env: dict[str, str], url: str, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log = log
        with log.open("a") as fh:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "crpsmap",
                    "serve",
                    "--database",
                    url,
                    "--host",
                    HOST,
                    "--port",
                    str(self.port),
                    "--workers",
                    "2",
                    "--threads",
                    "4",
                ],
                env=env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"server exited: {log.read_text()[-2000:]}"
            try:
                if httpx.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise AssertionError(f"server not healthy: {log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL to every process of the server: no handler runs, nothing is flushed or closed."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        _wait_group_gone(self.proc.pid)

    def stop(self) -> None:
        """gunicorn's graceful stop (SIGTERM)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        _wait_group_gone(self.proc.pid)


def _wait_group_gone(pgid: int) -> None:
    """Until no process of the group is left (the workers outlive the master for a moment)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"processes of group {pgid} still running")


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m is not None, "no CSRF token in the form"
    return m.group(1)


def clinician(base: str) -> httpx.Client:
    """A logged-in browser: the login form with its CSRF token, then the session cookie."""
    c = httpx.Client(base_url=base, timeout=30, limits=httpx.Limits(max_connections=1, keepalive_expiry=1.0))
    r = c.get("/login/")
    r = c.post(
        "/login/", data={"username": CLINICIAN, "password": PASSWORD, "csrfmiddlewaretoken": csrf_of(r.text)}
    )
    assert r.status_code == 302 and "sessionid" in c.cookies, r.status_code
    return c


@dataclass
class Writer:
    """One clinician saving visits of one patient back to back; each note names its save."""

    base: str
    patient: str
    acked: list[tuple[str, int]] = field(default_factory=list)  # (note, visit id), in order
    attempted: list[str] = field(default_factory=list)  # notes sent, in order
    error: str = ""
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        client = clinician(self.base)
        url = f"/patients/{self.patient}/visits/new/"
        token = csrf_of(client.get(url).text)
        today = dt.date.today().isoformat()
        try:
            while not self.stop.is_set():
                note = f"{self.patient}-save-{len(self.attempted)}"
                self.attempted.append(note)
                data = {
                    "csrfmiddlewaretoken": token,
                    "kind": "assessment",
                    "date": today,
                    "segments": list(SEGMENTS),
                    "pain": "5",
                    "note": note,
                }
                try:
                    r = client.post(url, data=data)
                except httpx.HTTPError as exc:  # the server died under this save: it is in flight
                    self.error = type(exc).__name__
                    return
                m = re.search(r"#visit-(\d+)$", r.headers.get("location", ""))
                assert r.status_code == 302 and m, (r.status_code, re.findall(r"<li>(.*?)</li>", r.text))
                self.acked.append((note, int(m.group(1))))
        finally:
            client.close()

    @property
    def in_flight(self) -> str | None:
        """The save sent but never acknowledged (the server died under it), if any."""
        return self.attempted[-1] if self.attempted and len(self.attempted) > len(self.acked) else None


class Stream:
    """WRITERS clinicians saving visits at once, each from a thread of its own."""

    def __init__(self, base: str) -> None:
        self.writers = [Writer(base, f"W{w}") for w in range(WRITERS)]
        self.failures: list[BaseException] = []
        self.threads = [threading.Thread(target=self._guard(w.run), daemon=True) for w in self.writers]
        for t in self.threads:
            t.start()

    def _guard(self, run: Callable[[], None]) -> Callable[[], None]:
        def guarded() -> None:
            try:
                run()
            except BaseException as exc:  # an unexpected answer: the test fails with it
                self.failures.append(exc)

        return guarded

    def acked(self) -> int:
        return sum(len(w.acked) for w in self.writers)

    def wait_for(self, n: int, timeout: float = 20) -> None:
        """Until `n` saves in all were acknowledged, and 3 of each clinician (every one is saving)."""
        deadline = time.monotonic() + timeout
        while self.acked() < n or min(len(w.acked) for w in self.writers) < 3:
            assert not self.failures, self.failures
            assert time.monotonic() < deadline, f"only {self.acked()} saves acknowledged"
            time.sleep(0.02)

    def join(self) -> None:
        for w in self.writers:
            w.stop.set()
        for t in self.threads:
            t.join(timeout=30)
        assert not self.failures, self.failures


# ---------------------------------------------------------------------------------------- inspection


@dataclass
class Contents:
    visits: dict[int, str]  # visit id -> note
    created: dict[int, list[str]]  # visit id -> notes of its "+" (created) history rows
    other_history: int  # history rows that are not creations (none are made here)
    audit: list[str]  # actions, in order
    integrity: list[str]  # SQLite's integrity and foreign-key checks ("ok" alone when sound)


def contents(url: str) -> Contents:
    """What a database holds, read with the database's own client (no Django)."""
    visits_sql = (
        "SELECT v.id, v.note FROM registry_visit v JOIN registry_patient p ON p.id = v.patient_id "
        "WHERE p.code LIKE 'W%' AND v.kind = 'assessment'"
    )
    history_sql = (
        "SELECT h.id, h.note, h.history_type FROM registry_historicalvisit h "
        "JOIN registry_patient p ON p.id = h.patient_id WHERE p.code LIKE 'W%' AND h.kind = 'assessment'"
    )
    audit_sql = "SELECT action FROM registry_auditevent ORDER BY id"
    if url.startswith("sqlite:///"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            integrity = [r[0] for r in con.execute("PRAGMA integrity_check")]
            integrity += [repr(r) for r in con.execute("PRAGMA foreign_key_check")]
            visits = con.execute(visits_sql).fetchall()
            history = con.execute(history_sql).fetchall()
            audit = [r[0] for r in con.execute(audit_sql)]
        finally:
            con.close()
    else:
        import psycopg

        with psycopg.connect(url) as pg:
            visits = pg.execute(visits_sql).fetchall()
            history = pg.execute(history_sql).fetchall()
            audit = [r[0] for r in pg.execute(audit_sql)]
        integrity = ["ok"]
    created: dict[int, list[str]] = {}
    for pk, note, kind in history:
        if kind == "+":
            created.setdefault(pk, []).append(note)
    return Contents(
        visits=dict(visits),
        created=created,
        other_history=sum(1 for *_, kind in history if kind != "+"),
        audit=audit,
        integrity=integrity,
    )


def assert_consistent(c: Contents) -> None:
    """Sound, and no write half-done: every visit has its creation in the row history and every
    creation its visit, with the same note; no save is there twice."""
    assert c.integrity == ["ok"], c.integrity
    assert c.other_history == 0
    assert {pk: [note] for pk, note in c.visits.items()} == c.created
    assert len(set(c.visits.values())) == len(c.visits)


def assert_prefixes(c: Contents, writers: list[Writer], extra: frozenset[str] = frozenset()) -> None:
    """Each clinician's saves that are there are the first ones they sent: a save began only after the
    previous one was acknowledged, so one present implies all before it."""
    present = set(c.visits.values()) - extra
    mine = {n for w in writers for n in w.attempted}
    assert present <= mine, sorted(present - mine)[:5]
    for w in writers:
        k = sum(1 for n in w.attempted if n in present)
        assert set(w.attempted[:k]) <= present, (w.patient, k)


# --------------------------------------------------------------------------------------------- tests


@sqlite_pass_only
def test_every_sqlite_connection_is_wal_with_full_sync(tmp_path: Path, django_db_blocker: Any) -> None:
    """The pragmas on a live connection as Django opens it for the server: WAL, synchronous=FULL (2;
    NORMAL, 1, may lose acknowledged commits on power loss), foreign keys, the busy timeout."""
    from django.db.utils import ConnectionHandler

    handler = ConnectionHandler({"default": database_settings(f"sqlite:///{tmp_path / 'probe.sqlite3'}")})
    conn = handler["default"]  # (a handler of its own: not the test run's database)
    try:
        with django_db_blocker.unblock(), conn.cursor() as cur:
            found = {}
            for pragma in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout"):
                cur.execute(f"PRAGMA {pragma}")
                found[pragma] = cur.fetchone()[0]
        assert found == {
            "journal_mode": "wal",
            "synchronous": 2,
            "foreign_keys": 1,
            "busy_timeout": SQLITE_BUSY_TIMEOUT_S * 1000,
        }
    finally:
        conn.close()


def test_acknowledged_saves_survive_a_killed_server(
    tmp_path: Path, env: dict[str, str], new_database: Callable[[str], str]
) -> None:
    url = new_database("crash")
    make_registry(env, url, tmp_path)
    server = Server(env, url, tmp_path / "server.log")
    try:
        stream = Stream(server.base)
        stream.wait_for(45)
        server.kill()  # in the middle of the stream: every writer has a save under way
    finally:
        server.kill()
    stream.join()
    writers = stream.writers
    assert all(w.error for w in writers), [w.error for w in writers]  # each was cut off mid-save
    acked = {pk: note for w in writers for note, pk in w.acked}

    server = Server(env, url, tmp_path / "server.log")  # the same database, reopened after the crash
    try:
        c = clinician(server.base)  # it works: pages, and a save after the crash
        try:
            assert c.get("/patients/W0/").status_code == 200
            token = csrf_of(c.get("/patients/W0/visits/new/").text)
            data = {
                "csrfmiddlewaretoken": token,
                "kind": "assessment",
                "date": "2021-01-01",
                "segments": list(SEGMENTS),
                "note": "after the crash",
            }
            assert c.post("/patients/W0/visits/new/", data=data).status_code == 302
        finally:
            c.close()
    finally:
        server.stop()

    found = contents(url)
    assert_consistent(found)
    notes = dict(found.visits)
    assert sorted(notes.values()).count("after the crash") == 1
    assert {pk: notes.get(pk) for pk in acked} == acked  # every acknowledged save, where it was
    assert_prefixes(found, writers, frozenset({"after the crash"}))
    in_flight = [w.in_flight for w in writers if w.in_flight]
    assert in_flight  # (there were saves under way when the server died: whole or absent, checked above)
    assert len(notes) - 1 - len(acked) <= len(in_flight)  # beyond the acknowledged: only those


def test_backup_while_saving_then_restore(
    tmp_path: Path, env: dict[str, str], new_database: Callable[[str], str]
) -> None:
    url = new_database("live")
    make_registry(env, url, tmp_path)
    file = tmp_path / ("registry.backup" if url.startswith("sqlite") else "registry.dump")
    server = Server(env, url, tmp_path / "server.log")
    try:
        stream = Stream(server.base)
        stream.wait_for(15)
        before = {note for w in stream.writers for note, _ in w.acked}
        ok(crpsmap(env, "registry", "backup", str(file), "--database", url))
        during = stream.acked() - len(before)
        # a restore over the running server's database is refused, and changes nothing
        refused(
            crpsmap(env, "registry", "restore", str(file), "--database", url, "--yes"),
            "in use" if url.startswith("sqlite") else "other session(s) connected",
        )
        stream.wait_for(len(before) + during + 5)  # the saves went on all along
    finally:
        server.stop()
    stream.join()
    assert during > 0, "no save was acknowledged while the backup ran"
    assert file.stat().st_mode & 0o077 == 0  # patient data: readable by its owner only
    live = contents(url)
    assert_consistent(live)
    assert "restore" not in live.audit

    fresh = new_database("restored")
    ok(crpsmap(env, "registry", "restore", str(file), "--database", fresh))
    got = contents(fresh)
    assert_consistent(got)
    assert before <= set(got.visits.values())  # everything acknowledged before the backup began
    assert_prefixes(got, stream.writers)  # and one instant: a prefix of each clinician's saves
    assert len(got.visits) < len(live.visits)  # (the saves after the backup are not in it)
    assert "backup" in got.audit and got.audit[-1] == "restore"  # the backup's own line, the restore's
    assert got.audit.count("restore") == 1
    assert live.audit.count("backup") == 1

    # the restored database holds data now: a second restore needs --yes
    refused(crpsmap(env, "registry", "restore", str(file), "--database", fresh), "give --yes")
    assert contents(fresh) == got
    ok(crpsmap(env, "registry", "restore", str(file), "--database", fresh, "--yes"))
    again = contents(fresh)
    assert again.visits == got.visits

    # a backup cut short is refused, or fails inside its transaction (pg_restore reads the table of
    # contents of 99% of a dump, then fails on the data): nothing changes
    cut = tmp_path / "cut.backup"
    for fraction in (0.5, 0.99):
        cut.write_bytes(file.read_bytes()[: int(file.stat().st_size * fraction)])
        refused(crpsmap(env, "registry", "restore", str(cut), "--database", fresh, "--yes"), "")
        assert contents(fresh) == again  # (no audit line either)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@sqlite_pass_only
def test_restore_checks_the_backup_and_changes_nothing_on_bad_input(
    tmp_path: Path, env: dict[str, str]
) -> None:
    db = tmp_path / "registry.sqlite3"
    make_registry(env, f"sqlite:///{db}", tmp_path)
    good = tmp_path / "good.backup"
    ok(crpsmap(env, "registry", "backup", str(good), "--database", str(db)))
    target = tmp_path / "target.sqlite3"
    ok(crpsmap(env, "registry", "restore", str(good), "--database", str(target)))
    before = _sha(target)

    (tmp_path / "text.backup").write_text("patient_id,date\n")
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE notes (x)")
    con.close()
    damaged = tmp_path / "damaged.backup"
    data = bytearray(good.read_bytes())
    page = 4096
    for p in range(2, len(data) // page):  # every page but the first: tables and indexes garbled
        data[p * page + 8 : p * page + 64] = b"\xa5" * 56
    damaged.write_bytes(bytes(data))
    (tmp_path / "pg.dump").write_bytes(b"PGDMP\x01\x0e\x00" + b"\x00" * 64)
    cases = [
        ("text.backup", "not a registry backup"),
        ("other.sqlite3", "not a crpsmap registry (no table django_migrations"),
        ("damaged.backup", "damaged"),
        ("pg.dump", "a PostgreSQL backup (pg_dump): restore it into a PostgreSQL database"),
        ("missing.backup", "no such file"),
    ]
    for name, fragment in cases:
        proc = crpsmap(env, "registry", "restore", str(tmp_path / name), "--database", str(target), "--yes")
        if name == "damaged.backup" and "damaged" not in proc.stderr:
            fragment = "not a usable SQLite database"  # (SQLite may stop before its check can list)
        refused(proc, fragment)
        assert _sha(target) == before, name
    refused(crpsmap(env, "registry", "restore", str(good), "--database", str(target)), "give --yes")
    assert _sha(target) == before
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
    assert leftovers == []


@sqlite_pass_only
def test_backup_refuses_bad_targets_and_writes_nothing(tmp_path: Path, env: dict[str, str]) -> None:
    db = tmp_path / "registry.sqlite3"
    refused(
        crpsmap(env, "registry", "backup", str(tmp_path / "b"), "--database", str(db)), "no registry database"
    )
    assert not db.exists() and not (tmp_path / "b").exists()
    ok(
        crpsmap(
            env,
            "registry",
            "createuser",
            CLINICIAN,
            "--role",
            "clinician",
            "--password-stdin",
            "--database",
            str(db),
            stdin=PASSWORD + "\n",
        )
    )
    before = _sha(db)
    refused(crpsmap(env, "registry", "backup", str(db), "--database", str(db)), "is this command's input")
    refused(
        crpsmap(env, "registry", "backup", str(tmp_path / "no" / "b"), "--database", str(db)), "no folder"
    )
    refused(crpsmap(env, "registry", "backup", str(tmp_path), "--database", str(db)), "not a regular file")
    assert _sha(db) == before
    assert not (tmp_path / "b").exists() and not (tmp_path / "no").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@sqlite_pass_only
def test_an_interrupted_sqlite_restore_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "registry.sqlite3"
    src = tmp_path / "backup.sqlite3"
    for path, rows in ((db, 1), (src, 2)):
        with sqlite3.connect(path) as con:
            for table in backup.REGISTRY_TABLES:
                con.execute(f"CREATE TABLE {table} (x)")
            con.executemany("INSERT INTO registry_patient VALUES (?)", [(i,) for i in range(rows)])
        con.close()
    before = _sha(db)
    with pytest.raises(RuntimeError, match="interrupted"), backup.sqlite_restore_file(src, db) as tmp:
        assert tmp.is_file() and tmp.parent == db.parent
        raise RuntimeError("interrupted")  # a failed migration, a full disk, Ctrl-C
    assert _sha(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.sqlite3", "registry.sqlite3"]
    with backup.sqlite_restore_file(src, db):
        pass
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM registry_patient").fetchone() == (2,)
    con.close()


@sqlite_pass_only
def test_postgresql_tools_and_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """The password goes through the environment, never the command line; a missing pg_dump is named."""
    target, env = backup.pg_connection(
        "postgresql://reg:p%40ss%3Aword@db.example:5433/registry?sslmode=require"
    )
    assert target == "postgresql://reg@db.example:5433/registry?sslmode=require"
    assert env["PGPASSWORD"] == "p@ss:word"
    monkeypatch.delenv("PGPASSWORD", raising=False)
    target, env = backup.pg_connection("postgres://reg@[::1]/registry")
    assert target == "postgresql://reg@[::1]/registry" and "PGPASSWORD" not in env

    monkeypatch.setattr(backup.shutil, "which", lambda name: None)
    monkeypatch.setattr(backup, "PG_BIN_GLOB", "/nonexistent-crpsmap/*/bin")
    with pytest.raises(backup.BackupError, match=r"pg_dump not found: install PostgreSQL's client programs"):
        backup.pg_tool("pg_dump")
