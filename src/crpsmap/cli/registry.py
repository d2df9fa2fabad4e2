"""`crpsmap serve` and the `crpsmap registry` commands (demo, import, export, createuser): the clinic
registry (Django), started only by these commands."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from crpsmap.cli.checks import check_input, check_name, check_output_paths, tell_reading
from crpsmap.cli.console import err_console, error_line, fail, say
from crpsmap.io import HistoryImportError
from crpsmap.registry.config import SERVER_MAX_WORKERS, SERVER_THREADS, SERVER_WORKERS_PER_CORE
from crpsmap.summary import literal

registry_app = typer.Typer(
    help="The clinic registry: import, export, users, demo clinic (SQLite by default; --database URL).",
    no_args_is_help=True,
)
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="sqlite:///PATH, a SQLite file path, or postgresql://USER:PASS@HOST/NAME "
        "(default: $CRPSMAP_DATABASE, else registry.sqlite3 in the user data folder)",
    ),
]


def _registry(database: str | None, *, migrate: bool = True) -> str:
    """Start Django on the database; a bad URL or an unreachable database is an error (exit 2)."""
    from crpsmap.registry.config import SettingsError
    from crpsmap.registry.runtime import setup

    try:
        return setup(database, migrate=migrate)
    except typer.Exit:
        raise
    except SettingsError as exc:  # another setting of the environment
        fail(str(exc))
    except Exception as exc:  # a wrong URL, a refused connection, an unreadable file
        where = _safe(database) if database else "(default)"
        fail(f"database {where}: {exc}")


def _sqlite_files(database: str | None) -> list[Path]:
    """The files of the registry's SQLite database (none for PostgreSQL): an export must not overwrite
    them."""
    from crpsmap.registry.config import DATABASE_ENV, normalise_database

    url = normalise_database(database or os.environ.get(DATABASE_ENV))
    if not url.startswith("sqlite:///"):
        return []
    db = Path(url.removeprefix("sqlite:///"))
    return [db, *(db.with_name(db.name + x) for x in ("-wal", "-shm", "-journal"))]


def _safe(url: str) -> str:
    """A database URL without its password, for printing."""
    import re

    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def serve(
    database: DatabaseOption = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 8000,
    threads: Annotated[int, typer.Option(min=1, max=64, help="threads per worker process")] = SERVER_THREADS,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=32,
            help=f"processes (default: $CRPSMAP_WORKERS, else {SERVER_WORKERS_PER_CORE} per core, "
            f"max {SERVER_MAX_WORKERS})",
        ),
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="load the synthetic demo clinic and print one fresh login per role")
    ] = False,
) -> None:
    """Run the registry: apply migrations, then serve it with gunicorn (a production server)."""
    if not host or not host.isprintable() or any(c.isspace() for c in host):
        fail(f"--host {host!r}: not an address")
    url = _registry(database)
    if demo:
        _load_demo(virtual_patients=300)
    from crpsmap.registry.server import serve as run_server

    say(f"crpsmap registry on http://{host}:{port}/ (database {_safe(url)}); Ctrl-C stops it")
    run_server(host, port, workers=workers, threads=threads)


def _load_demo(virtual_patients: int) -> None:
    from crpsmap.registry.demo import load_demo, reset_demo_users

    loaded = load_demo(virtual_patients, progress=lambda m: say(m))
    what = "already loaded" if loaded.already_loaded else "loaded"
    say(
        f"demo clinic {what}: {loaded.example_patients} SYNTHETIC example patients and "
        f"{loaded.virtual_patients} virtual patients (MODEL OUTPUT); no real patient"
    )
    say("demo logins (fresh passwords, valid until the next demo start):")
    for role, (name, password) in reset_demo_users().items():
        say(f"  {role.value:<11} {name:<16} {password}")


@registry_app.command("demo")
def registry_demo(
    database: DatabaseOption = None,
    virtual_patients: Annotated[
        int, typer.Option(min=0, max=10_000, help="simulated patients to add (model output; 0-10000)")
    ] = 300,
) -> None:
    """Load the synthetic demo clinic (once) and print one demo login per role with a fresh password."""
    _registry(database)
    _load_demo(virtual_patients)


@registry_app.command("import")
def registry_import(
    file: Annotated[Path, typer.Argument(help="the file to import (CSV long format unless --from)")],
    database: DatabaseOption = None,
    site: Annotated[str, typer.Option(help="site of the imported patients")] = "",
    source_format: Annotated[
        str, typer.Option("--from", help="layout of FILE: csv (the long format), choir or redcap")
    ] = "csv",
    visit_date: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD: the date of rows that have none (as `crpsmap convert`)")
    ] = None,
    date_column: Annotated[str | None, typer.Option(help="CHOIR: the column that dates each row")] = None,
    mapping: Annotated[Path | None, typer.Option(help="REDCap: which fields hold what (TOML)")] = None,
    dictionary: Annotated[Path | None, typer.Option(help="REDCap: the project's data dictionary")] = None,
) -> None:
    """Import a file into the registry, whole or not at all (same reading, checks and errors as
    `crpsmap convert`)."""
    from crpsmap.cli.convert import read_options

    if len(site) > 200 or not site.isprintable():
        fail("--site: at most 200 characters, no control characters")
    options = read_options(
        source_format, ("csv", "choir", "redcap"), visit_date, date_column, None, mapping, dictionary
    )
    check_input(file)
    _registry(database)
    from django.db import DatabaseError

    from crpsmap.registry.transfer import import_file

    try:
        result = import_file(file, site=site, layout=source_format, options=options)
    except HistoryImportError as exc:  # file contents are data: printed literally
        first, *rest = str(exc).splitlines() or ["problems in input"]
        error_line(first)
        for line in rest:
            err_console.print(literal(line), soft_wrap=True)
        raise typer.Exit(2) from None
    except (DatabaseError, OSError) as exc:
        fail(f"{file}: nothing imported: {str(exc).strip()}")
    tell_reading(file, result.warnings, result.encoding)
    say(
        f"imported {result.patients} patients ({result.visits} visits, {result.events} events, "
        f"{result.treatments} treatments) from {file.name}"
    )


@registry_app.command("export")
def registry_export(
    file: Annotated[Path, typer.Argument(help="the file to write (CSV long format unless --to)")],
    database: DatabaseOption = None,
    target_format: Annotated[
        str,
        typer.Option(
            "--to",
            help="csv (the long format), redcap (an export of crpsmap's REDCap project) or fhir (R4B Bundle)",
        ),
    ] = "csv",
    research: Annotated[
        bool,
        typer.Option(
            "--research",
            help="pseudonymised research export: keyed pseudonyms, shifted dates (docs/pseudonymisation.md)",
        ),
    ] = False,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            help="with --research: the pseudonym key's file, mode 0600 (default: $CRPSMAP_PSEUDONYM_KEY or "
            "$CRPSMAP_PSEUDONYM_KEY_FILE)",
        ),
    ] = None,
) -> None:
    """Export the registry (pseudonymous: no identity, no notes) as a CSV long-format file, a REDCap
    export of crpsmap's project or a FHIR R4B Bundle; --research: the pseudonymised research export."""
    if research:
        from crpsmap.cli.registry_research import research_export

        research_export(file, database, target_format, key_file)
        return
    if key_file is not None:
        fail("--key-file goes with --research")
    check_name("output layout", target_format, ("csv", "redcap", "fhir"))
    files = _sqlite_files(database)
    check_output_paths([file], files)
    if files and not files[0].is_file():  # exporting must not create an empty registry
        fail(f"no registry database at {files[0]} (give --database, or import into it first)")
    _registry(database)
    from crpsmap.registry.transfer import export_file

    try:
        n = export_file(file, layout=target_format)
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")
    say(f"exported {n} patients to {file}")


@registry_app.command("migrate")
def registry_migrate(database: DatabaseOption = None) -> None:
    """Create or update the registry's tables (its migrations). Where the server's database role may not
    change the schema, run this with the owner role's URL (docs/deployment.md)."""
    _registry(database, migrate=True)
    say("the registry's tables are up to date")


@registry_app.command("createuser")
def registry_createuser(
    name: Annotated[str, typer.Argument(help="user name")],
    role: Annotated[str, typer.Option(help="admin, clinician, researcher or auditor")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
    site: Annotated[
        str,
        typer.Option(help="limit a clinician or researcher to this site's patients (default: every site)"),
    ] = "",
    database: DatabaseOption = None,
) -> None:
    """Create a registry user with one role (password from stdin, or a generated one printed once)."""
    from crpsmap.registry.roles import Role  # importable before Django starts

    try:
        the_role = Role(role)
    except ValueError:
        fail(f"--role {role!r}: choose one of {', '.join(r.value for r in Role)}")
    _registry(database)
    from crpsmap.registry.accounts import create_user, generate_password

    generated = not password_stdin
    password = generate_password() if generated else sys.stdin.readline().rstrip("\r\n")
    try:
        create_user(name, the_role, password, site=site)
    except ValueError as exc:
        fail(f"user {name!r}: {exc}")
    limit = f", limited to site {site.strip()!r}" if site.strip() else ""
    say(f"created user {name!r} with role {the_role.value}{limit}")
    if generated:
        say(f"password (shown once): {password}")
