"""The commands on a clinic's cohort file: `classify` (every spread event), `report` (statistics and the
HTML report) and `demo` (both on the bundled synthetic cohort)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.text import Text

from crpsmap.cli.checks import check_input, check_output_paths, load_or_exit, read_json, statistics_or_exit
from crpsmap.cli.console import console, fail, say
from crpsmap.cli.limits import MAX_TRAUMA_WINDOW
from crpsmap.spread import DEFAULT_TRAUMA_WINDOW_DAYS, classify_all
from crpsmap.summary import printable


def classify(
    file: Annotated[Path, typer.Argument(help="CSV long-format file of patient histories")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines: one object per patient")] = False,
    trauma_window: Annotated[
        int,
        typer.Option(
            min=0,
            max=MAX_TRAUMA_WINDOW,
            help=f"days before a new area in which a trauma counts (0-{MAX_TRAUMA_WINDOW})",
        ),
    ] = DEFAULT_TRAUMA_WINDOW_DAYS,
) -> None:
    """Classify every spread event of every patient in FILE."""
    from crpsmap.summary import print_classification_table

    histories = load_or_exit(file)
    results = classify_all(histories, trauma_window_days=trauma_window)
    if as_json:
        out = sys.stdout
        for c in results:
            out.write(json.dumps(c.to_dict()) + "\n")  # ASCII: control characters escaped
        return
    print_classification_table(list(results), console)


def check_comparison(data: Any, path: Path) -> dict[str, Any]:
    """The mechanism comparison in the JSON of `crpsmap calibrate --compare-mechanisms`, checked."""

    def bad(why: str) -> NoReturn:
        fail(f"{path}: not a mechanism comparison of `crpsmap calibrate --compare-mechanisms`: {why}")

    if not isinstance(data, dict):
        bad("not a JSON object")
    comparison = data.get("mechanisms", data if "candidates" in data else None)
    if not isinstance(comparison, dict):
        bad("no 'mechanisms' object (run calibrate with --compare-mechanisms)")
    candidates = comparison.get("candidates")
    if not isinstance(candidates, list) or not candidates:
        bad("no 'candidates' list")
    for i, c in enumerate(candidates):
        if not isinstance(c, dict):
            bad(f"candidate {i + 1} is not an object")
        if not isinstance(c.get("label"), str) or not isinstance(c.get("free"), list):
            bad(f"candidate {i + 1} has no 'label' or 'free' list")
        if not all(isinstance(x, str) for x in c["free"]):
            bad(f"candidate {i + 1}: 'free' must list parameter names")
        for key in ("heldout_deviance", "aic", "akaike_weight"):
            v = c.get(key)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                bad(f"candidate {i + 1}: {key!r} is not a number")
    return comparison


def report(
    file: Annotated[Path, typer.Argument(help="CSV long-format file of patient histories")],
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write")] = Path("report.html"),
    json_out: Annotated[Path | None, typer.Option("--json", help="also write the statistics as JSON")] = None,
    data_note: Annotated[
        str | None, typer.Option(help="note shown at the top (synthetic data...), up to 1000 characters")
    ] = None,
    show_mechanisms: Annotated[
        bool,
        typer.Option(
            "--mechanisms",
            help="show the bundled mechanism comparison (model output, fitted to van Rijn 2011, "
            "not to this cohort)",
        ),
    ] = False,
    calibration: Annotated[
        Path | None,
        typer.Option(
            help="JSON of `crpsmap calibrate --compare-mechanisms` to show (the 'why'; model output)"
        ),
    ] = None,
) -> None:
    """Cohort statistics and the self-contained HTML report: how many spread, how, how fast (or, for a
    cohort with one body map per patient, where the pain is: spread over time cannot be judged)."""
    from crpsmap.report import write_report
    from crpsmap.report.html import headline

    if show_mechanisms and calibration is not None:
        fail("give --mechanisms (the bundled comparison) or --calibration FILE (yours), not both")
    if data_note is not None and (len(data_note) > 1000 or not data_note.isprintable()):
        fail("--data-note: at most 1000 characters, no control characters")
    check_input(file)
    check_output_paths([output, json_out], [file, calibration])
    mechanisms = None
    if calibration is not None:
        mechanisms = check_comparison(read_json(calibration, "a mechanism comparison"), calibration)
    read = statistics_or_exit(file)
    stats = write_report(
        read,
        output,
        json_out,
        data_note=data_note,
        source=file.name,
        mechanisms=mechanisms,
        show_bundled_mechanisms=show_mechanisms,
    )
    say(headline(stats, read.provenance))
    say(f"report written to {output.resolve()}")
    if json_out is not None:
        say(f"statistics written to {json_out.resolve()}")


DEMO_OUTPUT = Path("out/example-report.html")


def demo(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="HTML report to write (the statistics go beside it, .json)")
    ] = DEMO_OUTPUT,
) -> None:
    """The main job on the bundled synthetic example cohort (what `make run` runs): summary and report."""
    from crpsmap.data import example_cohort_path
    from crpsmap.report import write_report
    from crpsmap.summary import print_cohort_summary

    path = example_cohort_path()
    json_path = output.with_suffix(".json")
    if output == DEMO_OUTPUT:  # the default folder is made; a folder the user names must exist
        output.parent.mkdir(parents=True, exist_ok=True)
    check_output_paths([output, json_path], [path])
    console.print(
        Text.assemble(
            ("crpsmap", "bold"),
            f" on the bundled example cohort ({path.name}; SYNTHETIC data, no real patient)",
        )
    )
    histories = load_or_exit(path)
    print_cohort_summary(list(classify_all(histories)), console)
    write_report(histories, output, json_path, source=path.name)
    console.print(
        Text.assemble(
            "report written to ",
            (printable(output.resolve()), "bold"),
            f" (statistics: {printable(json_path.name)})",
        ),
        soft_wrap=True,
    )
