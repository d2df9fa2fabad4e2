"""`crpsmap registry backup` and `crpsmap registry restore`: the whole database to one file and back.

A backup is taken while the server runs (one consistent instant); a restore needs the server stopped and
refuses to replace a database that holds data unless given --yes. Both leave a line in the audit trail
(a backup in the database it copies, before copying, so that the copy holds it too; a restore in the
restored database), so that no copy of the registry leaves it unrecorded.
"""

from __future__ import annotations

import getpass
import hashlib
import os
from pathlib import Path
from typing import Annotated

import typer

from crpsmap.cli.checks import check_input, check_output_paths
from crpsmap.cli.console import fail, say
from crpsmap.cli.registry import DatabaseOption, _registry, _safe, _sqlite_files
from crpsmap.registry.backup import BackupError, Database


def _database(database: str | None) -> Database:
    """The database named by --database, else $CRPSMAP_DATABASE, else the default SQLite file."""
    from crpsmap.registry.backup import database as parse
    from crpsmap.registry.config import DATABASE_ENV, normalise_database

    try:
        return parse(normalise_database(database or os.environ.get(DATABASE_ENV)))
    except BackupError as exc:
        fail(str(exc))


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (some containers)
        return str(os.getuid()) if hasattr(os, "getuid") else ""


def _audit(action: str, file: Path, **detail: str) -> None:
    """One audit line for the command line's backup or restore; without it there is no backup."""
    from django.db import DatabaseError, connections

    from crpsmap.registry.audit import record

    try:
        where = str(file.expanduser().resolve())
        record(None, action, detail={"file": where, "by": "command line", "os_user": _os_user(), **detail})
    except DatabaseError as exc:
        fail(f"{action}: cannot write the audit line: {str(exc).strip()}")
    finally:
        connections.close_all()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror or exc}")
    return h.hexdigest()


def registry_backup(
    file: Annotated[Path, typer.Argument(help="the backup file to write (replaced whole or not at all)")],
    database: DatabaseOption = None,
) -> None:
    """Back up the registry while it runs: one consistent copy of the whole database (SQLite's online
    backup, or pg_dump's custom format), checked, then renamed into place."""
    from crpsmap.registry.backup import pg_backup, pg_tool, sqlite_backup

    db = _database(database)
    check_output_paths([file], _sqlite_files(database))
    if db.path is not None and not db.path.is_file():  # backing up must not create an empty registry
        fail(f"no registry database at {db.path} (give --database)")
    if db.path is None:  # the programs are there before the audit says that a backup was taken
        try:
            for tool in ("pg_dump", "pg_restore"):
                pg_tool(tool)
        except BackupError as exc:
            fail(str(exc))
    _registry(database, migrate=False)  # a backup before an upgrade keeps the old schema as it was
    _audit("backup", file)  # first: an attempt is on record even if the copy then fails
    target = file.expanduser().resolve()
    try:
        size = sqlite_backup(db.path, target) if db.path is not None else pg_backup(db.url, target)
    except BackupError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{file}: cannot write: {exc.strerror or exc}")
    say(f"backup of the registry ({db.vendor}, {size:,} bytes) written to {file}")


def registry_restore(
    file: Annotated[Path, typer.Argument(help="a backup written by `crpsmap registry backup`")],
    database: DatabaseOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="replace a database that holds data (users, patients, audit lines)")
    ] = False,
) -> None:
    """Replace the registry's database by a backup, whole or not at all. The backup is checked first;
    the server must be stopped; migrations bring an older backup up to date."""
    from crpsmap.registry import backup

    check_input(file)
    db = _database(database)
    refusal = f"{_safe(db.url)} holds data (users, patients or audit lines): give --yes to replace it"
    digest = _sha256(file)
    try:
        if db.path is not None:
            with backup.sqlite_restore_file(file, db.path) as tmp:  # a checked copy beside the database
                if not yes and backup.sqlite_has_data(db.path):
                    fail(refusal)
                backup.sqlite_check_free(db.path)
                _registry(f"sqlite:///{tmp}")  # migrations, on the copy
                _audit("restore", file, sha256=digest)
            # here the copy has replaced the database
        else:
            backup.check_pg_backup(file)
            if not yes and backup.pg_has_data(db.url):
                fail(refusal)
            others = backup.pg_other_sessions(db.url)
            if others:
                fail(
                    f"{_safe(db.url)}: {others} other session(s) connected (a running server?): "
                    "stop them, then restore"
                )
            backup.pg_restore(file, db.url)
            _registry(database)
            _audit("restore", file, sha256=digest)
    except BackupError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"restore: {exc.strerror or exc} (nothing changed)")
    say(f"restored {file} into {_safe(db.url)}")
