"""`convert`: bring a clinic's existing data in (a CHOIR wide table or a REDCap export to the CSV long
format), and send it on (the long format to a REDCap export of crpsmap's project). `redcap dictionary`:
the data dictionary of that project, to build it in REDCap."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from crpsmap.cli.checks import check_input, check_name, check_output_paths, read_or_exit, tell_reading
from crpsmap.cli.console import fail, say, warn
from crpsmap.io import CsvRead, write_csv
from crpsmap.io import fields as F
from crpsmap.io.formats import ReadOptions, read_any
from crpsmap.io.redcap.project import BODY_MAP_FIGURES, DEFAULT_FIGURE
from crpsmap.outputs import atomic_open, atomic_path

#: the layouts `--from` reads and `--to` writes (docs/import.md)
FROM_FORMATS = ("choir", "redcap")
TO_FORMATS = ("redcap",)

redcap_app = typer.Typer(help="crpsmap's REDCap project (docs/import.md, REDCap).", no_args_is_help=True)

_FIGURE_HELP = f"the CHOIR body-map drawing of the Image Map module: {', '.join(BODY_MAP_FIGURES)}"


def convert(
    file: Annotated[Path, typer.Argument(help="the file to convert")],
    output: Annotated[Path, typer.Option("--output", "-o", help="the file to write")],
    source_format: Annotated[
        str | None,
        typer.Option(
            "--from", help=f"layout of FILE when it is not the long format: {', '.join(FROM_FORMATS)}"
        ),
    ] = None,
    target_format: Annotated[
        str | None,
        typer.Option("--to", help=f"layout to write from a long-format FILE: {', '.join(TO_FORMATS)}"),
    ] = None,
    visit_date: Annotated[
        str | None,
        typer.Option(
            help="YYYY-MM-DD: the date of rows that have none (CHOIR: every row; REDCap: see the mapping)"
        ),
    ] = None,
    date_column: Annotated[str | None, typer.Option(help="CHOIR: the column that dates each row")] = None,
    id_column: Annotated[
        str | None, typer.Option(help="CHOIR: the column of patient identifiers (default PATIENT_NUM)")
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(help="REDCap: which fields hold what (TOML; not needed for crpsmap's own project)"),
    ] = None,
    dictionary: Annotated[
        Path | None, typer.Option(help="REDCap: the project's data dictionary (what its codes mean)")
    ] = None,
    dictionary_out: Annotated[
        Path | None, typer.Option(help="--to redcap: also write the data dictionary the export fits")
    ] = None,
    body_map: Annotated[str, typer.Option(help=f"--to redcap: {_FIGURE_HELP}")] = DEFAULT_FIGURE,
) -> None:
    """Convert FILE between the CSV long format and a CHOIR table or a REDCap export.

    --from choir|redcap reads FILE into the long format; --to redcap writes a long-format FILE as an
    export of crpsmap's REDCap project (docs/import.md)."""
    if (source_format is None) == (target_format is None):
        fail("give one of --from choir|redcap (to read that layout) or --to redcap (to write it)")
    if target_format is not None:
        check_name("output layout", target_format, TO_FORMATS)
        reading_only = (
            ("--mapping", mapping),
            ("--dictionary", dictionary),
            ("--visit-date", visit_date),
            ("--date-column", date_column),
            ("--id-column", id_column),
        )
        for option, value in reading_only:
            if value is not None:
                fail(f"{option} is for reading (--from); --to redcap writes crpsmap's own project")
        _to_redcap(file, output, dictionary_out, body_map)
        return
    assert source_format is not None
    if dictionary_out is not None:
        fail("--dictionary-out is for --to redcap; `crpsmap redcap dictionary` writes it alone")
    options = read_options(
        source_format, FROM_FORMATS, visit_date, date_column, id_column, mapping, dictionary
    )
    check_input(file)
    check_output_paths([output], [file, mapping, dictionary])
    read: CsvRead = read_or_exit(file, lambda: read_any(file, source_format, options))
    if not read.histories:
        fail(f"{file}: no patient rows (the file has a header but no rows)")
    tell_reading(file, read.warnings, read.encoding)
    with atomic_path(output) as tmp:
        write_csv(read.histories, tmp)
    records = sum(len(h.records) for h in read.histories)
    say(f"{len(read.histories):,} patients, {records:,} records written to {output.resolve()}")


def read_options(
    layout: str,
    layouts: tuple[str, ...],
    visit_date: str | None,
    date_column: str | None,
    id_column: str | None,
    mapping: Path | None,
    dictionary: Path | None,
) -> ReadOptions:
    """Check the options of reading a layout (each belongs to some layouts only) and the side files;
    stop with one line on a mistake. `convert` and `registry import` share it."""
    check_name("input layout", layout, layouts)
    given = {
        "--visit-date": visit_date,
        "--date-column": date_column,
        "--id-column": id_column,
        "--mapping": mapping,
        "--dictionary": dictionary,
    }
    allowed = {
        "csv": (),
        "choir": ("--visit-date", "--date-column", "--id-column"),
        "redcap": ("--visit-date", "--mapping", "--dictionary"),
    }[layout]
    for option, value in given.items():
        if value is not None and option not in allowed:
            fail(f"{option} is not for --from {layout} (it takes {', '.join(allowed) or 'no such option'})")
    if layout == "choir":
        if visit_date is None and date_column is None:
            fail("give --visit-date YYYY-MM-DD (the file has no dates) or --date-column NAME")
        if visit_date is not None and date_column is not None:
            fail("give --visit-date or --date-column, not both")
    for option, text in (("--date-column", date_column), ("--id-column", id_column)):
        if text is not None and (not text.strip() or not text.isprintable()):
            fail(f"{option}: give a column name (printable, not empty)")
    date: dt.date | None = None
    if visit_date is not None:
        parsed = F.parse_date(visit_date, dt.date.today())
        if isinstance(parsed, F.Bad):
            fail(f"--visit-date: {parsed.messages[0]}")
        date = parsed
    for side in (mapping, dictionary):
        if side is not None:
            check_input(side)
    return ReadOptions(
        visit_date=date,
        date_column=date_column,
        id_column=id_column,
        mapping_path=mapping,
        dictionary_path=dictionary,
    )


def _to_redcap(file: Path, output: Path, dictionary_out: Path | None, figure: str) -> None:
    from crpsmap.cli.checks import load_or_exit
    from crpsmap.io.redcap import write_dictionary, write_redcap

    check_name("body map", figure, tuple(BODY_MAP_FIGURES))
    check_input(file)
    check_output_paths([output, dictionary_out], [file])
    histories = load_or_exit(file)
    with atomic_open(output) as fh:
        notes = write_redcap(histories, fh, figure)
    if dictionary_out is not None:
        with atomic_open(dictionary_out) as fh:
            write_dictionary(fh, figure)
    for line in notes.lines():
        warn(line)
    say(f"{len(histories):,} patients written as a REDCap export to {output.resolve()}")
    if dictionary_out is not None:
        say(f"the data dictionary it fits: {dictionary_out.resolve()}")


@redcap_app.command("dictionary")
def redcap_dictionary(
    output: Annotated[Path, typer.Option("--output", "-o", help="the data dictionary CSV to write")],
    body_map: Annotated[str, typer.Option(help=_FIGURE_HELP)] = DEFAULT_FIGURE,
) -> None:
    """Write the REDCap data dictionary of crpsmap's CRPS spread project (REDCap's 18-column upload CSV):
    a patient instrument and repeating visit, trauma/surgery/infection and treatment instruments, with the
    CHOIR body map for the REDCap Image Map module."""
    from crpsmap.io.redcap import write_dictionary

    check_name("body map", body_map, tuple(BODY_MAP_FIGURES))
    check_output_paths([output])
    with atomic_open(output) as fh:
        write_dictionary(fh, body_map)
    say(f"REDCap data dictionary written to {output.resolve()}")
