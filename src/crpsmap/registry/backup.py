"""Backups and restores of the registry's database, online and consistent (no Django here).

SQLite: sqlite3's online backup API copies the whole database in one step, inside one read transaction,
so the copy is the database as it was at one instant while writers go on (WAL mode: readers do not block
them). PostgreSQL: `pg_dump --format=custom` (one snapshot) and `pg_restore --single-transaction` (all or
nothing). Every file is written beside its destination under a temporary name, synced, then renamed, so
a failed or interrupted run leaves what was there before; backups are created readable by their owner
only (mode 0600: they hold patient data).

A restore replaces the whole database: the server must be stopped (a running SQLite server is detected by
its open connections, a PostgreSQL one by its sessions, and the restore is refused).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import stat
import subprocess  # nosec B404 # used with fixed argument lists only, never a shell (_run)
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    import psycopg

# a backup must hold these to be the registry's (and restoring anything else is refused)
REGISTRY_TABLES = (
    "django_migrations",
    "auth_user",
    "registry_patient",
    "registry_visit",
    "registry_historicalvisit",
    "registry_auditevent",
)
# a database with rows in any of these holds someone's data: a restore over it needs --yes
DATA_TABLES = ("registry_patient", "registry_auditevent", "auth_user")
# B608: the table names are the constants just above, never input
_ANY_ROW = {t: f'SELECT 1 FROM "{t}" LIMIT 1' for t in DATA_TABLES}  # nosec B608 # reason above
SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
TOOL_TIMEOUT_S = 6 * 3600


class BackupError(Exception):
    """A backup or restore that cannot be done; the message is one line for the user."""


@dataclass(frozen=True)
class Database:
    """A registry database: a SQLite file (`path`) or a PostgreSQL URL."""

    url: str
    path: Path | None

    @property
    def vendor(self) -> str:
        return "sqlite" if self.path is not None else "postgresql"


def database(url: str) -> Database:
    """The database of a normalised URL (`sqlite:///PATH` or `postgresql://...`)."""
    if url.startswith("sqlite:///"):
        return Database(url, Path(url.removeprefix("sqlite:///")))
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("postgres", "postgresql", "pgsql"):
        return Database(url, None)
    raise BackupError(f"unsupported database {scheme!r}: use sqlite or postgresql")


# ------------------------------------------------------------------------------------- written whole


@contextlib.contextmanager
def _temporary_beside(dest: Path, suffix: str = ".part") -> Iterator[Path]:
    """A new empty file (mode 0600) in `dest`'s folder, removed on any error; the caller renames it."""
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix, dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    except BaseException:
        for p in (tmp, *(tmp.with_name(tmp.name + x) for x in ("-wal", "-shm", "-journal"))):
            with contextlib.suppress(OSError):
                p.unlink()
        raise


def _sync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _replace(tmp: Path, dest: Path) -> None:
    _sync_file(tmp)
    os.replace(tmp, dest)
    _sync_folder(dest.parent)


def _magic(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(16)
    except OSError as exc:
        raise BackupError(f"{path}: cannot read: {exc.strerror or exc}") from None


# -------------------------------------------------------------------------------------------- SQLite


def _tables(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _check_sqlite_copy(con: sqlite3.Connection, what: str) -> None:
    """Refuse a database that fails SQLite's integrity check or lacks the registry's tables."""
    try:
        problems = [r[0] for r in con.execute("PRAGMA integrity_check(5)")]
        missing = [t for t in REGISTRY_TABLES if t not in _tables(con)]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{what}: not a usable SQLite database: {exc}") from None
    if problems != ["ok"]:
        raise BackupError(f"{what}: damaged: SQLite's integrity check says {'; '.join(problems)}")
    if missing:
        raise BackupError(f"{what}: not a crpsmap registry (no table {', '.join(missing)})")


def sqlite_backup(db: Path, dest: Path) -> int:
    """Copy the live database `db` to `dest` while writers go on; return its size in bytes.

    The copy is made in one step of the online backup API (one read transaction: one instant of the
    database), switched out of WAL mode so that it is a single self-contained file, checked, then renamed
    into place."""
    if not db.is_file():
        raise BackupError(f"no registry database at {db}")
    with _temporary_beside(dest) as tmp:
        src = sqlite3.connect(db, timeout=30)
        try:
            out = sqlite3.connect(tmp)
            try:
                src.backup(out)  # pages=-1: everything in one step, one snapshot
                out.execute("PRAGMA journal_mode=DELETE")
                _check_sqlite_copy(out, f"the backup of {db}")
            finally:
                out.close()
        except sqlite3.Error as exc:
            raise BackupError(f"{db}: backup failed: {exc}") from None
        finally:
            src.close()
        _replace(tmp, dest)
    return dest.stat().st_size


def _check_kind(backup: Path, *, sqlite: bool) -> None:
    """Refuse a backup of the other database kind (said as such), or a file that is neither."""
    magic = _magic(backup)
    if sqlite and magic.startswith(PGDUMP_MAGIC):
        raise BackupError(f"{backup}: a PostgreSQL backup (pg_dump): restore it into a PostgreSQL database")
    if not sqlite and magic.startswith(SQLITE_MAGIC):
        raise BackupError(f"{backup}: a SQLite backup: restore it into a SQLite database")
    if not magic.startswith(SQLITE_MAGIC if sqlite else PGDUMP_MAGIC):
        raise BackupError(f"{backup}: not a registry backup (neither SQLite nor pg_dump's custom format)")


def sqlite_has_data(db: Path) -> bool:
    """Whether a restore over `db` would destroy data: users, patients or audit lines, or tables that are
    not the registry's (a file that is not even a database counts as data)."""
    if not db.exists() or db.stat().st_size == 0:
        return False
    try:
        con = sqlite3.connect(db, timeout=10)  # (read-only opening fails on a WAL file without its -shm)
        try:
            tables = _tables(con)
            if not tables:
                return False
            known = [t for t in DATA_TABLES if t in tables]
            if not known:
                return True
            return any(con.execute(_ANY_ROW[t]).fetchone() for t in known)
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return True


@contextlib.contextmanager
def sqlite_restore_file(backup: Path, db: Path) -> Iterator[Path]:
    """A checked copy of `backup` beside `db`, for the caller to bring up to date (migrations, the audit
    line); on leaving without error it replaces `db` (see `sqlite_swap`), on an error it is removed."""
    _check_kind(backup, sqlite=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    with _temporary_beside(db, suffix=".restore") as tmp:
        try:
            shutil.copyfile(backup, tmp)
        except OSError as exc:
            raise BackupError(f"{backup}: cannot read: {exc.strerror or exc}") from None
        con = sqlite3.connect(tmp)
        try:
            _check_sqlite_copy(con, str(backup))
            con.execute("PRAGMA journal_mode=DELETE")  # one file (a raw copy of a live file may say WAL)
        finally:
            con.close()
        yield tmp
        _settle(tmp)
        sqlite_swap(tmp, db)


def _settle(path: Path) -> None:
    """Fold any -wal file of `path` into it and delete it, so that the file alone is the database."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        if con.execute("PRAGMA journal_mode=DELETE").fetchone()[0] != "delete":
            raise BackupError(f"{path}: could not leave WAL mode")
        _check_sqlite_copy(con, "the restored database")
    finally:
        con.close()


@contextlib.contextmanager
def _sqlite_exclusive(db: Path) -> Iterator[None]:
    """Hold `db`'s exclusive lock, after switching it out of WAL mode (which folds the -wal file in and
    deletes it and the -shm file). The switch is impossible while another connection has `db` open, as a
    running server's have: then the restore is refused."""
    lock = sqlite3.connect(db, timeout=2, isolation_level=None)
    try:
        try:
            mode = lock.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
            lock.execute("PRAGMA locking_mode=EXCLUSIVE")
            lock.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise BackupError(f"{db} is in use: stop the registry's server, then restore") from None
            raise BackupError(f"{db}: {exc}") from None
        except sqlite3.DatabaseError:
            mode = "delete"  # not a database at all: nothing can be using it as one
        if mode != "delete":
            raise BackupError(
                f"{db} is in use (journal mode {mode}): stop the registry's server, then restore"
            )
        yield
    finally:
        lock.close()


def sqlite_check_free(db: Path) -> None:
    """Refuse, before any work, to restore over a database that a running server has open."""
    if db.exists():
        with _sqlite_exclusive(db):
            pass


def sqlite_swap(new: Path, db: Path) -> None:
    """Rename `new` over `db` while holding `db`'s exclusive lock (see `_sqlite_exclusive`)."""
    if not db.exists():
        _replace(new, db)
        return
    with _sqlite_exclusive(db):
        os.chmod(new, stat.S_IMODE(db.stat().st_mode))  # the server's user must still be able to use it
        for stale in ("-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                db.with_name(db.name + stale).unlink()
        _replace(new, db)


# ---------------------------------------------------------------------------------------- PostgreSQL


def pg_tool(name: str) -> str:
    """The path of a PostgreSQL client program: in PATH, else the newest under /usr/lib/postgresql."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/").glob(PG_BIN_GLOB.lstrip("/") + f"/{name}"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
        reverse=True,
    )
    for c in candidates:
        if os.access(c, os.X_OK):
            return str(c)
    raise BackupError(
        f"{name} not found: install PostgreSQL's client programs (Debian: postgresql-client) "
        "or put them in PATH"
    )


def pg_connection(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password (for a command line, which others can read) and an environment that
    carries the password (PGPASSWORD) instead. Without a password in the URL, libpq's own ways apply
    ($PGPASSWORD, ~/.pgpass, peer or certificate authentication)."""
    parts = urlsplit(url)
    env = dict(os.environ)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
    return urlunsplit(("postgresql", netloc, parts.path, parts.query, "")), env


def _run(args: Sequence[str], env: dict[str, str], what: str) -> str:
    try:
        proc = subprocess.run(  # nosec B603 # args are pg_dump/pg_restore/psql and our own options, no shell
            list(args), env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False
        )
    except OSError as exc:
        raise BackupError(f"{what}: cannot run {args[0]}: {exc.strerror or exc}") from None
    if proc.returncode != 0:
        tool = f"{Path(args[0]).name}: "
        lines = [ln.strip().removeprefix(tool).removeprefix("error: ") for ln in proc.stderr.splitlines()]
        lines = [ln for ln in lines if ln]
        reason = "; ".join(lines[:3]) or f"exit status {proc.returncode}"
        raise BackupError(f"{what}: {Path(args[0]).name} failed: {reason}")
    return proc.stdout


def _pg_listed_tables(listing: str) -> set[str]:
    """The tables of a `pg_restore --list` table of contents ("id; oid oid TABLE schema name owner")."""
    found = set()
    for line in listing.splitlines():
        m = re.match(r"^\d+;\s+\d+\s+\d+\s+TABLE\s+(\S+)\s+(\S+)", line)
        if m:
            found.add(m.group(2))
    return found


def check_pg_backup(backup: Path) -> None:
    """Refuse a file that pg_restore cannot read or that does not hold the registry's tables."""
    _check_kind(backup, sqlite=False)
    listing = _run([pg_tool("pg_restore"), "--list", str(backup)], dict(os.environ), str(backup))
    missing = [t for t in REGISTRY_TABLES if t not in _pg_listed_tables(listing)]
    if missing:
        raise BackupError(f"{backup}: not a crpsmap registry (no table {', '.join(missing)})")


def pg_backup(url: str, dest: Path) -> int:
    """`pg_dump --format=custom` of the database (one consistent snapshot while writers go on) to `dest`,
    checked with `pg_restore --list`; returns its size in bytes."""
    target, env = pg_connection(url)
    dump = pg_tool("pg_dump")
    with _temporary_beside(dest) as tmp:
        args = [dump, "--format=custom", "--no-password", f"--file={tmp}", f"--dbname={target}"]
        _run(args, env, "backup")
        check_pg_backup(tmp)
        _replace(tmp, dest)
    return dest.stat().st_size


def _pg(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    import psycopg

    target, env = pg_connection(url)
    try:  # (a password of None is left out of the connection string)
        return psycopg.connect(target, autocommit=True, connect_timeout=10, password=env.get("PGPASSWORD"))
    except psycopg.Error as exc:
        raise BackupError(f"database: {(str(exc).strip().splitlines() or ['cannot connect'])[0]}") from None


def pg_has_data(url: str) -> bool:
    """Whether a restore over the database would destroy data (as `sqlite_has_data`)."""
    with _pg(url) as con:
        tables = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            )
        }
        if not tables:
            return False
        known = [t for t in DATA_TABLES if t in tables]
        if not known:
            return True
        return any(con.execute(_ANY_ROW[t]).fetchone() for t in known)


def pg_other_sessions(url: str) -> int:
    """How many other client sessions are connected to the database (a running server has some)."""
    with _pg(url) as con:
        row = con.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        ).fetchone()
        return int(row[0]) if row else 0


def pg_restore(backup: Path, url: str) -> None:
    """Replace the registry's tables by the backup's, in one transaction (all or nothing). Objects are
    owned by the role that restores (--no-owner): restore as the database owner."""
    target, env = pg_connection(url)
    args = [
        pg_tool("pg_restore"),
        "--clean",
        "--if-exists",
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-password",
        f"--dbname={target}",
        str(backup),
    ]
    _run(args, env, "restore (nothing changed)")
