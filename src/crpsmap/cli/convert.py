"""`convert`: bring a clinic's existing data in: another layout (a CHOIR wide table) to the CSV long
format."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from crpsmap.cli.checks import check_input, check_name, check_output_paths, read_or_exit, tell_reading
from crpsmap.cli.console import fail, say
from crpsmap.io import CsvRead, write_csv
from crpsmap.io import fields as F
from crpsmap.io.choir import read_choir_wide
from crpsmap.outputs import atomic_path

#: the layouts `--from` reads (docs/import.md)
FORMATS = ("choir",)


def convert(
    file: Annotated[Path, typer.Argument(help="the file to convert (a CHOIR wide table)")],
    source_format: Annotated[
        str, typer.Option("--from", help=f"layout of FILE: {', '.join(FORMATS)} (docs/import.md)")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV long-format file to write")],
    visit_date: Annotated[
        str | None,
        typer.Option(
            help="YYYY-MM-DD: the date of every row, for a file without dates (one row per patient)"
        ),
    ] = None,
    date_column: Annotated[str | None, typer.Option(help="the column that dates each row")] = None,
    id_column: Annotated[
        str | None, typer.Option(help="the column of patient identifiers (default PATIENT_NUM)")
    ] = None,
) -> None:
    """Convert FILE (another layout) to the CSV long format that the other commands read."""
    check_name("input format", source_format, FORMATS)
    if visit_date is None and date_column is None:
        fail("give --visit-date YYYY-MM-DD (the file has no dates) or --date-column NAME")
    if visit_date is not None and date_column is not None:
        fail("give --visit-date or --date-column, not both")
    date: dt.date | None = None
    if visit_date is not None:
        parsed = F.parse_date(visit_date, dt.date.today())
        if isinstance(parsed, F.Bad):
            fail(f"--visit-date: {parsed.messages[0]}")
        date = parsed
    for option, value in (("--date-column", date_column), ("--id-column", id_column)):
        if value is not None and (not value.strip() or not value.isprintable()):
            fail(f"{option}: give a column name (printable, not empty)")
    check_input(file)
    check_output_paths([output], [file])
    read: CsvRead = read_or_exit(
        file, lambda: read_choir_wide(file, visit_date=date, date_column=date_column, id_column=id_column)
    )
    if not read.histories:
        fail(f"{file}: no patient rows (the file has a header but no rows)")
    tell_reading(file, read.warnings, read.encoding)
    with atomic_path(output) as tmp:
        write_csv(read.histories, tmp)
    records = sum(len(h.records) for h in read.histories)
    say(f"{len(read.histories):,} patients, {records:,} records written to {output.resolve()}")
