"""The `crpsmap` command line (Typer). Each command is a thin shell over library functions.

Rules every command keeps (docs/cli.md):

- A user's mistake (an option out of range, an unknown name, a missing or unreadable file, an output
  path that cannot be used) ends with exit status 2 and one line "error: ..." on stderr, before any
  work starts; a file with content problems lists them, one per line. Anything else that goes wrong is
  a bug: exit status 1 and one line (CRPSMAP_DEBUG=1 shows the traceback).
- What a user typed or a file contains is printed literally: no console markup, control characters
  shown as escapes (`crpsmap.summary.printable`).
- Output files are checked first (folder exists and is writable, not an input, no two outputs on one
  path) and written atomically: a failed or interrupted run leaves the previous file as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import errno
import json
import math
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand
from typer.exceptions import Abort, TyperException

from crpsmap.history import PatientHistory
from crpsmap.io import HistoryImportError, ImportProblem, read_csv_result
from crpsmap.outputs import OutputPathError, atomic_path, atomic_write_text, check_outputs
from crpsmap.spread import DEFAULT_TRAUMA_WINDOW_DAYS, classify_all
from crpsmap.summary import literal, printable

if TYPE_CHECKING:
    from distributed import Client

    from crpsmap.calibrate.fit import FitResult, FreeParam
    from crpsmap.calibrate.mechanisms import MechanismComparison
    from crpsmap.calibrate.posterior import Posterior
    from crpsmap.calibrate.targets import Targets
    from crpsmap.model import Intervention

# ------------------------------------------------------------------------------------------- limits
#: seeds: NumPy's legacy seeding (Optuna's sampler, pyABC) takes 0 .. 2**32 - 1; the simulator more
MAX_SEED = 2**32 - 1
#: follow-up: the virtual clinic's records must fit between 1960 and the simulator's last date
MIN_YEARS, MAX_YEARS = 0.5, 50.0
MAX_SIM_PATIENTS = 1_000_000  # simulate streams to disk
MAX_TRIAL_PATIENTS = 100_000  # a trial keeps every patient's outcomes in memory
MAX_CALIBRATION_PATIENTS = 100_000
MAX_TRIALS = 10_000
MAX_WORKERS = 64
MAX_BLOCK = 100_000
MAX_CHUNK = 1_000_000
MAX_DAY = 36_525  # intervention days: 100 years
MAX_TRAUMA_WINDOW = 3_653  # 10 years
MAX_JSON_BYTES = 64 * 2**20
MAX_WARNINGS_SHOWN = 10
DEBUG_ENV = "CRPSMAP_DEBUG"


class CrpsmapTyper(typer.Typer):
    """The app: calling it runs `run()`, which prints errors as one line (no usage box, no traceback)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        argv = kwargs.get("args", args[0] if args else None)
        sys.exit(run(argv))


app = CrpsmapTyper(
    help="crpsmap: does CRPS spread, how, how often, how fast - and why?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
# piped output (files, CI logs) gets a wide console so tables are not cut to 80 columns; no markup, no
# emoji codes, no highlighting: user data is printed as it is
console = Console(width=None if sys.stdout.isatty() else 160, markup=False, highlight=False, emoji=False)
err_console = Console(
    stderr=True, width=None if sys.stderr.isatty() else 160, markup=False, highlight=False, emoji=False
)


# ------------------------------------------------------------------------------------------ running
def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: sys.argv[1:]); returns the exit status.

    0: done. 2: a user's mistake, said in one line on stderr ("error: ..."). 1: anything unexpected
    (a bug), also one line; with CRPSMAP_DEBUG=1 in the environment the traceback is shown instead.
    """
    command = typer.main.get_command(app)
    try:
        result = command.main(
            args=list(argv) if argv is not None else None, prog_name="crpsmap", standalone_mode=False
        )
    except TyperException as exc:  # Typer's (vendored Click's) usage errors
        if type(exc).__name__ == "NoArgsIsHelpError":
            return 2  # the help has been printed
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _error_line(" ".join(exc.format_message().split()) + hint)
        return int(getattr(exc, "exit_code", 2))
    except Abort:
        _error_line("interrupted")
        return 130
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        text = " ".join(str(exc).split()) or "(no message)"
        _error_line(
            f"unexpected {type(exc).__name__}: {text} - this is a bug in crpsmap; "
            f"{DEBUG_ENV}=1 shows the traceback"
        )
        return 1
    return result if isinstance(result, int) else 0


def _error_line(message: str) -> None:
    err_console.print(Text.assemble(("error: ", "bold red"), printable(message)), soft_wrap=True)


def fail(message: str) -> NoReturn:
    """Stop with exit status 2 and `message` as one line on stderr (a user's mistake)."""
    _error_line(" ".join(message.split()))
    raise typer.Exit(2)


def warn(message: str) -> None:
    err_console.print(Text.assemble(("warning: ", "yellow"), printable(message)), soft_wrap=True)


def say(message: str, style: str = "") -> None:
    """Print a line on stdout, literally."""
    console.print(literal(message, style), soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("crpsmap")
        except PackageNotFoundError:
            v = "unknown (not installed)"
        say(f"crpsmap {v}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit"),
    ] = False,
) -> None:
    """crpsmap: does CRPS spread, how, how often, how fast - and why?"""


# ----------------------------------------------------------------------------------- checking input
def finite(value: float | None) -> float | None:
    """Option callback: no NaN (a range check lets NaN through)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a number")
    return value


def did_you_mean(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name.strip().lower(), list(known), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def check_name(what: str, name: str, known: Sequence[str]) -> None:
    """Stop unless `name` is one of `known`, with suggestions."""
    if name not in known:
        listed = (
            f"known: {', '.join(known)}" if len(known) <= 12 else f"{len(known)} known; see docs/model.md"
        )
        fail(f"unknown {what} {name!r}{did_you_mean(name, known)} ({listed})")


def check_input(path: Path) -> None:
    """Stop unless `path` is an existing, readable regular file."""
    try:
        if not path.exists():
            fail(f"{path}: no such file")
        if path.is_dir():
            fail(f"{path}: is a folder, not a file")
        if not path.is_file():
            fail(f"{path}: not a regular file")
    except OSError as exc:  # a name too long, a loop of links
        fail(f"{path}: {exc.strerror or exc}")
    if not os.access(path, os.R_OK):
        fail(f"{path}: cannot read the file: {os.strerror(errno.EACCES)}")


def check_output_paths(outputs: Sequence[Path | None], inputs: Sequence[Path | None] = ()) -> None:
    """Stop, before any work, unless every output can be written: its folder exists and is writable, it
    is not a folder or special file, not one of the inputs, and no two outputs share a path."""
    for out in outputs:
        if out is None:
            continue
        try:
            target = out.expanduser().resolve()
            parent = target.parent
            if not parent.exists():
                fail(f"{out}: cannot write: {os.strerror(errno.ENOENT)} (no folder {parent})")
            if not parent.is_dir():
                fail(f"{out}: cannot write: {os.strerror(errno.ENOTDIR)} ({parent} is a file)")
            if target.is_dir():
                fail(f"{out}: not a regular file (it is a folder)")
            if target.exists() and not target.is_file():
                fail(f"{out}: not a regular file (refusing to write to it)")
        except OSError as exc:
            fail(f"{out}: cannot write: {exc.strerror or exc}")
        if not os.access(parent, os.W_OK | os.X_OK):
            fail(f"{out}: cannot write: {os.strerror(errno.EACCES)} (folder {parent})")
    try:
        check_outputs(outputs, inputs)
    except OutputPathError as exc:
        fail(str(exc))


def read_json(path: Path, what: str) -> Any:
    """A JSON file given by the user; stop with one line if it is missing, too big or not JSON."""
    check_input(path)
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            fail(f"{path}: {path.stat().st_size} bytes is too big for {what} (limit {MAX_JSON_BYTES})")
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        fail(f"{path}: not {what}: not UTF-8 text (byte {exc.start})")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{path}: not {what}: not JSON ({exc.msg}, line {exc.lineno} column {exc.colno})")
    except (ValueError, RecursionError) as exc:
        fail(f"{path}: not {what}: {exc}")


def _read_histories(path: Path) -> tuple[list[PatientHistory], list[ImportProblem], str]:
    """Histories, reading warnings and the encoding assumed (crpsmap.io.read_csv_result)."""
    res = read_csv_result(path)
    return list(res.histories), list(res.warnings), res.encoding


def load_or_exit(path: Path) -> list[PatientHistory]:
    """Read a CSV file; on bad input print every problem and exit with status 2 (nothing is used).
    Warnings (at most MAX_WARNINGS_SHOWN, then a count) and an encoding other than UTF-8 are said."""
    check_input(path)
    try:
        histories, warnings, encoding = _read_histories(path)
    except HistoryImportError as exc:  # file contents are data: printed literally, line by line
        first, *rest = str(exc).splitlines() or ["problems in input"]
        _error_line(f"{path}: {first}" if str(path) not in first else first)
        for line in rest:
            err_console.print(literal(line), soft_wrap=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror or exc}")
    for w in warnings[:MAX_WARNINGS_SHOWN]:
        warn(str(w))
    if len(warnings) > MAX_WARNINGS_SHOWN:
        warn(f"{path}: {len(warnings) - MAX_WARNINGS_SHOWN} more warnings not shown")
    if encoding and encoding.lower().replace("-", "").replace("_", "") not in ("utf8", "utf8sig", "ascii"):
        warn(f"{path}: not UTF-8; read as {encoding}")
    return histories


# ------------------------------------------------------------------------------- the model's names
def intervention_names() -> list[str]:
    from crpsmap.model import CATALOGUE

    return list(CATALOGUE)


def mechanism_names() -> list[str]:
    from crpsmap.model import Mechanisms

    return [f.name for f in dataclasses.fields(Mechanisms)]


def _model_epilog() -> str:
    """The interventions and mechanisms of the model, for `trial --help` and `simulate --help`."""
    from rich.markup import escape

    from crpsmap.model import CATALOGUE, Mechanisms

    lines = ["Interventions (--intervention NAME; model channels, not treatments):"]
    lines += [f"• {name}: {what}" for name, (_, what) in CATALOGUE.items()]
    fields = dataclasses.fields(Mechanisms)
    lines += ["", "Mechanisms (--off NAME switches one off; all are on by default; docs/model.md):"]
    if any(f.metadata.get("help") for f in fields):
        lines += [f"• {f.name}: {f.metadata.get('help', '')}" for f in fields]
    else:
        lines.append(", ".join(f.name for f in fields))
    return escape("\n".join(lines))


class ModelCommand(TyperCommand):
    """A command whose help ends with the model's catalogue, read from the model only when the help is
    shown (so that other commands do not pay for importing the simulator)."""

    @property
    def epilog(self) -> str:
        return _model_epilog()

    @epilog.setter
    def epilog(self, value: str | None) -> None:
        pass


def check_mechanisms(off: Sequence[str]) -> None:
    known = mechanism_names()
    for name in off:
        check_name("mechanism", name, known)
    if len(set(off)) == len(known):
        fail("--off switches every mechanism off; the model then has nothing to simulate")


def check_follow_up(years: float) -> int:
    """Days of follow-up; stop if the virtual clinic's records cannot fit the simulator's calendar."""
    from crpsmap.model import Sim
    from crpsmap.model.cohort import window_end

    n_days = Sim(years=years).n_days
    try:
        window_end(n_days)
    except ValueError as exc:
        fail(str(exc))
    return n_days


def check_intervention_text(text: str, n_days: int) -> Intervention:
    """NAME[@START[:STOP]] or NAME@injury+START[:STOP], checked: a known name, 0 <= START < follow-up,
    STOP after START."""
    from crpsmap.model import parse_intervention

    name = text.strip().partition("@")[0].strip()
    check_name("intervention", name, intervention_names())
    try:
        iv = parse_intervention(text)
    except ValueError as exc:
        fail(f"--intervention {text!r}: {exc}")
    if iv.start_day < 0:
        fail(f"--intervention {text!r}: START must be 0 or later")
    if iv.start_day >= n_days:
        fail(f"--intervention {text!r}: starts on day {iv.start_day}, after the follow-up ({n_days} days)")
    if iv.stop_day is not None and iv.stop_day > MAX_DAY:
        fail(f"--intervention {text!r}: STOP must be at most {MAX_DAY}")
    return iv


@contextlib.contextmanager
def dask(
    scheduler: str | None, workers: int | None, *, local_default: bool = True
) -> Iterator[Client | None]:
    """A Dask client: the scheduler at `scheduler`, or a local cluster of `workers` processes (or of the
    default size when `local_default`; else no client: in process). A scheduler that cannot be reached
    is the user's mistake (exit 2); failures during the work are not."""
    if scheduler is None and workers is None and not local_default:
        yield None
        return
    from crpsmap.scale import dask_client

    with contextlib.ExitStack() as stack:
        try:
            client = stack.enter_context(dask_client(scheduler, workers))
        except (OSError, TimeoutError, ValueError) as exc:
            if scheduler:
                fail(f"--scheduler {scheduler}: cannot connect: {' '.join(str(exc).split())}")
            raise
        yield client


def check_dask_options(scheduler: str | None, workers: int | None) -> None:
    if scheduler is not None and workers is not None:
        fail("give --scheduler (a running Dask cluster) or --workers (a local one), not both")
    if scheduler is not None:
        s = scheduler.strip()
        if not s or any(c.isspace() for c in s) or not s.isprintable():
            fail(f"--scheduler {scheduler!r}: not an address such as tcp://HOST:8786")
        if "://" not in s and ":" not in s:
            fail(f"--scheduler {scheduler!r}: not an address such as tcp://HOST:8786")


def no_cases(exc: RuntimeError) -> None:
    """The simulator gives up when (almost) no injury becomes CRPS: the settings' fault, not a bug."""
    from crpsmap.model.sim import NoCasesError

    if isinstance(exc, NoCasesError):
        fail(f"these model settings make (almost) no CRPS: {exc}")


# --------------------------------------------------------------------------------- common options
Seed = Annotated[int, typer.Option(min=0, max=MAX_SEED, help=f"random seed, 0 to {MAX_SEED}")]
Years = Annotated[
    float,
    typer.Option(
        min=MIN_YEARS,
        max=MAX_YEARS,
        callback=finite,
        help=f"follow-up from the injury, years ({MIN_YEARS:g}-{MAX_YEARS:g})",
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(min=1, max=MAX_WORKERS, help=f"local Dask worker processes (1-{MAX_WORKERS})"),
]
Scheduler = Annotated[
    str | None,
    typer.Option(help="address of a running Dask scheduler (tcp://HOST:8786); not with --workers"),
]
Off = Annotated[
    list[str] | None,
    typer.Option(help="switch a model mechanism off (repeatable; the list is below)"),
]


# -------------------------------------------------------------------------------------- commands
@app.command()
def region(
    name: Annotated[
        str | None,
        typer.Argument(
            help="slug (hand_right), CHOIR code (125), REDCap key (f25) or everyday name "
            "('right hand', 'left knee', 'R hand', 'left leg', 'both hands', 'bladder')"
        ),
    ] = None,
    list_all: Annotated[
        bool, typer.Option("--list", help="list every area, limb and visceral system (a table)")
    ] = False,
) -> None:
    """Look up a body region of the atlas: its segment, area, limb, mirror, neighbours and dermatomes."""
    from crpsmap.atlas import UnknownRegionError, load_atlas
    from crpsmap.atlas.names import lookup

    atlas = load_atlas()
    if list_all:
        if name is not None:
            fail("give a region NAME or --list, not both")
        from crpsmap.summary import print_atlas_tables

        print_atlas_tables(atlas, console)
        return
    if name is None:
        fail("give a region: a slug, code, REDCap key or everyday name such as 'right hand' (or --list)")
    try:
        found = lookup(name, atlas)
    except UnknownRegionError as exc:
        fail(str(exc))
    if found.kind == "limb" or len(found.slugs) > 1:
        say(f"{name} = {found.label}: {len(found.slugs)} areas")
        for slug in found.slugs:
            a = atlas.area_by_slug.get(slug)
            if a is not None:
                say(f"  {a.slug:<18} {a.name:<22} segments {', '.join(a.segments)}")
            else:
                say(f"  {slug}")
        return
    _describe_region(found.slugs[0], found.label)


def _describe_region(slug: str, everyday: str) -> None:
    from crpsmap.atlas import load_atlas

    atlas = load_atlas()
    seg = atlas.segment_by_slug.get(slug)
    if seg is not None:
        say(f"segment {seg.slug} ({everyday}): CHOIR {seg.choir}, REDCap {seg.redcap}")
        say(f"  {seg.view} view, {seg.label}")
    if atlas.is_visceral(slug):
        v = atlas.visceral_by_slug[slug]
        vagal = "vagal and spinal" if v.vagal else "spinal"
        say(f"visceral system {v.slug}: {v.name}")
        say(f"  {vagal} innervation, spinal segments {', '.join(v.dermatomes)}")
        return
    a = atlas.area(slug)
    from crpsmap.atlas.names import everyday_name, limb_name

    say(
        f"area {a.slug} ({a.name}; everyday name: {everyday_name(atlas, a.slug)}): "
        f"segments {', '.join(a.segments)}"
    )
    limb = f"{a.limb} ({limb_name(a.limb)})" if a.limb else "-"
    say(f"  side {a.side}, body group {a.body_group}, limb {limb}, mirror {a.mirror}")
    say(f"  neighbours {', '.join(a.neighbours)}")
    say(f"  dermatomes {', '.join(a.dermatomes) or '-'}{' (+ trigeminal)' if a.trigeminal else ''}")


@app.command()
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


@app.command()
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
    """Cohort statistics and the self-contained HTML report: how many spread, how, how fast."""
    from crpsmap.report import provenance_summary, write_report
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
    histories = load_or_exit(file)
    stats = write_report(
        histories,
        output,
        json_out,
        data_note=data_note,
        source=file.name,
        mechanisms=mechanisms,
        show_bundled_mechanisms=show_mechanisms,
    )
    say(headline(stats, provenance_summary(histories)))
    say(f"report written to {output.resolve()}")
    if json_out is not None:
        say(f"statistics written to {json_out.resolve()}")


DEMO_OUTPUT = Path("out/example-report.html")


@app.command()
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


@app.command(cls=ModelCommand)
def trial(
    intervention: Annotated[str, typer.Option(help="intervention from the model's catalogue (below)")],
    start: Annotated[
        int,
        typer.Option(
            min=0, max=MAX_DAY, help="first day given, days after enrolment (before the end of follow-up)"
        ),
    ] = 0,
    stop: Annotated[
        int | None, typer.Option(min=1, max=MAX_DAY, help="day it stops, after enrolment (default: never)")
    ] = None,
    patients: Annotated[
        int,
        typer.Option(
            "--patients",
            "-n",
            min=1,
            max=MAX_TRIAL_PATIENTS,
            help=f"virtual CRPS patients (1-{MAX_TRIAL_PATIENTS})",
        ),
    ] = 300,
    years: Years = 3.0,
    seed: Seed = 0,
    off: Off = None,
    block: Annotated[
        int,
        typer.Option(min=1, max=MAX_BLOCK, help=f"patients per follow-up block (Dask task; 1-{MAX_BLOCK})"),
    ] = 256,
    scheduler: Scheduler = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, max=MAX_WORKERS, help=f"local Dask workers (1-{MAX_WORKERS}; default: in-process)"
        ),
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML page to write")] = Path("trial.html"),
    json_out: Annotated[Path | None, typer.Option("--json", help="also write the results as JSON")] = None,
) -> None:
    """Virtual trial: control vs intervention on the same virtual patients (MODEL RESULT, not evidence)."""
    from rich.progress import Progress

    from crpsmap.model import Mechanisms, ModelParams
    from crpsmap.trial import DISCLAIMER, TrialSpec, run_trial, write_trial_page
    from crpsmap.trial.page import summary_line

    check_name("intervention", intervention, intervention_names())
    check_mechanisms(off or [])
    check_dask_options(scheduler, workers)
    n_days = check_follow_up(years)
    if start >= n_days:
        fail(f"--start {start}: after the end of follow-up ({n_days} days with --years {years:g})")
    if stop is not None and stop <= start:
        fail(f"--stop {stop}: must be after --start ({start})")
    try:
        mech = Mechanisms.without(*(off or []))
        spec = TrialSpec(
            intervention, start, stop, patients, years, seed, params=ModelParams(mechanisms=mech)
        )
    except (ValueError, TypeError) as exc:
        fail(str(exc))
    check_output_paths([output, json_out])
    with (
        dask(scheduler, workers, local_default=False) as client,
        Progress(console=err_console, transient=True) as bar,
    ):
        screen = bar.add_task("enrolling virtual CRPS patients", total=patients)
        follow = bar.add_task("following both arms", total=patients)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(screen if stage == "screen" else follow, completed=done)

        try:
            result = run_trial(spec, block=block, client=client, progress=progress)
        except RuntimeError as exc:
            no_cases(exc)
            raise
    write_trial_page(result, output, json_out)
    say(summary_line(result))
    if result.n and result.observed_after_start == 0:
        warn(
            f"no patient was seen after day {start} of the intervention; "
            "try an earlier --start or more --years"
        )
    files = f"page: {output}" + (f"; JSON: {json_out}" if json_out else "")
    say(f"{DISCLAIMER} ({files})")


@app.command(cls=ModelCommand)
def simulate(
    patients: Annotated[
        int,
        typer.Option(
            "--patients",
            "-n",
            min=1,
            max=MAX_SIM_PATIENTS,
            help=f"clinic (CRPS) patients to simulate (1-{MAX_SIM_PATIENTS})",
        ),
    ] = 200,
    years: Years = 5.0,
    seed: Annotated[
        int,
        typer.Option(
            min=0, max=MAX_SEED, help=f"random seed, 0 to {MAX_SEED}: same seed, same cohort, bit for bit"
        ),
    ] = 0,
    intervention: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME[@START[:STOP]] days after enrolment, or NAME@injury+START[:STOP] "
            "(repeatable; names below)"
        ),
    ] = None,
    off: Off = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="CSV long-format file to write (default: virtual-clinic-SEED.csv); "
            "the settings go beside it as NAME.model.json",
        ),
    ] = None,
    chunk_size: Annotated[
        int | None, typer.Option(min=1, max=MAX_CHUNK, help="injuries per Dask task (speed and memory only)")
    ] = None,
    scheduler: Scheduler = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_WORKERS,
            help=f"local Dask workers (1-{MAX_WORKERS}; default: CPU count, at most 8)",
        ),
    ] = None,
) -> None:
    """Simulate a virtual CRPS clinic with the neuro-immune model (MODEL OUTPUT, a hypothesis, not data).

    Patients are simulated in chunks of injuries as Dask tasks; the cohort is the same for any chunk size
    and any number of workers.
    """
    from rich.progress import Progress

    from crpsmap.model import Mechanisms, ModelParams, Sim
    from crpsmap.scale import simulate_clinic_csv

    check_mechanisms(off or [])
    check_dask_options(scheduler, workers)
    n_days = check_follow_up(years)
    ivs = tuple(check_intervention_text(t, n_days) for t in intervention or [])
    twice = sorted({iv.name for iv in ivs if sum(x.name == iv.name for x in ivs) > 1})
    if twice:
        fail(f"--intervention {twice[0]} given twice; the model gives each intervention one course")
    try:
        mech = Mechanisms.without(*(off or []))
        sim = Sim(params=ModelParams(mechanisms=mech), years=years, seed=seed, interventions=ivs)
        sim.config().steps_per_day  # noqa: B018 - validates dt
    except (ValueError, TypeError) as exc:
        fail(str(exc))
    output = output if output is not None else Path(f"virtual-clinic-{seed}.csv")
    check_output_paths([output])  # first alone: "." or "dir/" has no name to put a suffix on
    meta_path = output.with_suffix(".model.json")
    check_output_paths([output, meta_path])
    with (
        dask(scheduler, workers) as client,
        Progress(console=err_console, transient=True) as bar,
        atomic_path(output) as partial,
    ):
        assert client is not None
        task = bar.add_task("simulating the virtual clinic", total=patients)

        def progress(cases: int, injuries: int) -> None:
            bar.update(task, completed=cases, description=f"{injuries} injuries screened")

        try:
            clinic = simulate_clinic_csv(
                sim, patients, partial, client, chunk_size=chunk_size, progress=progress
            )
        except RuntimeError as exc:
            no_cases(exc)
            raise
        meta = {
            "model_output": True,
            "patients": clinic.patients,
            "injuries_screened": clinic.injuries,
            "conversion_injury_to_crps": clinic.conversion,
            "years": years,
            "seed": seed,
            "interventions": [dataclasses.asdict(iv) for iv in ivs],
            "mechanisms_off": sorted(off or []),
            "csv": output.name,
        }
        atomic_write_text(meta_path, json.dumps(meta, indent=1) + "\n")
    say(
        f"MODEL OUTPUT: {clinic.patients} virtual CRPS patients from {clinic.injuries} "
        f"simulated injuries (conversion {clinic.conversion:.1%}), {years:g} years, seed {seed} "
        f"-> {output}; settings in {meta_path}"
    )


TARGETS = ("vanrijn2011",)


def _targets(file: Path | None, target: str | None) -> Targets:
    from crpsmap.calibrate import targets_from_histories, targets_from_statistics, van_rijn_2011

    if target is not None:
        check_name("target", target, TARGETS)
        return van_rijn_2011()
    assert file is not None
    if file.suffix.lower() != ".json":
        histories = load_or_exit(file)
        try:
            return targets_from_histories(histories, file.name)
        except ValueError as exc:
            fail(f"{file}: cannot calibrate to it: {exc}")
    data = read_json(file, "report statistics")
    why = "not the statistics of `crpsmap report --json`"
    if not isinstance(data, dict):
        fail(f"{file}: {why}: not a JSON object")
    counts: list[tuple[str, ...]] = [("multi_limb", "count"), ("multi_limb", "denominator")]
    counts += [("limb_patterns", p, "count") for p in ("contralateral", "ipsilateral", "diagonal")]
    for keys in counts:
        value: Any = data
        for k in keys:
            if not isinstance(value, dict) or k not in value:
                fail(f"{file}: {why}: no {'.'.join(keys)} entry")
            value = value[k]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            fail(f"{file}: {why}: {'.'.join(keys)} must be a count (a whole number, 0 or more)")
    try:
        return targets_from_statistics(data, file.name)
    except (KeyError, TypeError, ValueError) as exc:
        fail(f"{file}: {why}: {exc}")


def _free(free: Sequence[str] | None) -> tuple[FreeParam, ...]:
    from crpsmap.calibrate.fit import DEFAULT_FREE, free_params
    from crpsmap.model import CohortParams, ModelParams

    names = list(free or DEFAULT_FREE)
    known = [f.name for cls in (ModelParams, CohortParams) for f in dataclasses.fields(cls) if f.metadata]
    for n in names:
        check_name("parameter", n, known)
    if len(set(names)) != len(names):
        fail("--free: a parameter is named twice")
    try:
        return free_params(names)
    except ValueError as exc:
        fail(f"--free: {exc}")


@app.command()
def calibrate(
    file: Annotated[
        Path | None,
        typer.Argument(help="a clinic's CSV file, or its report statistics (crpsmap report --json)"),
    ] = None,
    target: Annotated[
        str | None, typer.Option(help=f"a published target instead of a file: {', '.join(TARGETS)}")
    ] = None,
    trials: Annotated[int, typer.Option(min=1, max=MAX_TRIALS, help=f"Optuna trials (1-{MAX_TRIALS})")] = 60,
    patients: Annotated[
        int,
        typer.Option(
            min=10,
            max=MAX_CALIBRATION_PATIENTS,
            help=f"virtual patients per trial (10-{MAX_CALIBRATION_PATIENTS})",
        ),
    ] = 800,
    years: Years = 5.0,
    seed: Seed = 0,
    free: Annotated[
        list[str] | None,
        typer.Option(
            help="parameter to fit (repeatable; default: w_lr w_desc lat beta_bbb gain_mu trauma_rate)"
        ),
    ] = None,
    posterior: Annotated[bool, typer.Option(help="also an ABC-SMC posterior (pyABC; slow)")] = False,
    population: Annotated[int, typer.Option(min=4, max=10_000, help="ABC population size (4-10000)")] = 48,
    generations: Annotated[int, typer.Option(min=1, max=100, help="ABC generations (1-100)")] = 4,
    compare_mechanisms: Annotated[
        bool, typer.Option("--compare-mechanisms", help="fit each mechanism set and weigh them (slow)")
    ] = False,
    scheduler: Scheduler = None,
    workers: Workers = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="JSON file to write")] = Path(
        "calibration.json"
    ),
) -> None:
    """Fit the simulator to a clinic's spread statistics (MODEL OUTPUT; see docs/calibration.md)."""
    from rich.progress import Progress

    from crpsmap.calibrate.fit import fit
    from crpsmap.model import Sim

    if (file is None) == (target is None):
        fail(f"give either FILE or --target ({', '.join(TARGETS)})")
    check_dask_options(scheduler, workers)
    check_follow_up(years)
    free_ps = _free(free)
    if file is not None:
        check_input(file)
    check_output_paths([output], [file])
    targets = _targets(file, target)
    base = Sim(years=years, seed=seed)
    result: dict[str, Any] = {}
    post = comparison = None
    with dask(scheduler, workers) as client, Progress(console=err_console, transient=True) as bar:
        task = bar.add_task("calibrating (Optuna)", total=trials)
        try:
            fitted = fit(
                targets,
                base=base,
                free=free_ps,
                n_patients=patients,
                n_trials=trials,
                seed=seed,
                client=client,
                progress=lambda done, total, best: bar.update(
                    task, completed=done, description=f"best G {best:.2f}"
                ),
            )
            result["fit"] = fitted.to_dict()
            if posterior:
                from crpsmap.calibrate.posterior import abc_posterior

                bar.update(task, description="ABC posterior (pyABC)")
                post = abc_posterior(
                    targets,
                    base=base,
                    free=free_ps,
                    n_patients=patients,
                    population=population,
                    generations=generations,
                    seed=seed,
                    client=client,
                )
                result["posterior"] = post.to_dict()
                summary = posterior_summary(post)
                for name, row in result["posterior"]["parameters"].items():
                    row.update(summary[name])
            if compare_mechanisms:
                from crpsmap.calibrate.mechanisms import compare_mechanisms as compare

                comparison = compare(
                    targets, base=base, n_patients=patients, n_trials=trials, seed=seed, client=client
                )
                result["mechanisms"] = comparison.to_dict()
        except RuntimeError as exc:
            no_cases(exc)
            raise
    atomic_write_text(output, json.dumps(result, indent=1) + "\n")
    print_calibration(fitted, post, comparison, output)


def sig(x: float, digits: int = 3) -> str:
    """`x` to `digits` significant digits, without an exponent for everyday sizes (0.883, 12.5, 1234)."""
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    if magnitude < -4 or magnitude >= 6:
        return f"{x:.{digits - 1}e}"
    text = f"{round(x, digits - 1 - magnitude):.{max(0, digits - 1 - magnitude)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def weighted_quantile(values: Any, weights: Any, q: float) -> float:
    import numpy as np

    order = np.argsort(values)
    cum = np.cumsum(np.asarray(weights)[order])
    cum = cum / cum[-1]
    return float(np.asarray(values)[order][min(int(np.searchsorted(cum, q)), len(cum) - 1)])


def posterior_summary(post: Posterior) -> dict[str, dict[str, float]]:
    """Per parameter: the weighted posterior median and central 90% interval (5th and 95th centiles)."""
    out = {}
    for i, name in enumerate(post.names):
        col = post.samples[:, i]
        out[name] = {
            "median": weighted_quantile(col, post.weights, 0.5),
            "ci90_low": weighted_quantile(col, post.weights, 0.05),
            "ci90_high": weighted_quantile(col, post.weights, 0.95),
        }
    return out


def print_calibration(
    fitted: FitResult, post: Posterior | None, comparison: MechanismComparison | None, output: Path
) -> None:
    """The fit as a table: parameter, default, fitted value, search range (the uniform prior), posterior
    median and 90% interval (with --posterior); then what was fitted to, with its full citation."""
    from crpsmap.model import CohortParams, ModelParams

    defaults = {
        f.name: (getattr(obj, f.name), f.metadata.get("unit", ""))
        for obj in (ModelParams(), CohortParams())
        for f in dataclasses.fields(obj)
        if f.metadata
    }
    table = Table(title=Text("Calibration: fitted model parameters (MODEL OUTPUT)"))
    for col in ("parameter", "unit", "default", "fitted", "search range (prior)"):
        table.add_column(col, justify="left" if col in ("parameter", "unit") else "right")
    summary = posterior_summary(post) if post is not None else {}
    if post is not None:
        table.add_column("posterior median", justify="right")
        table.add_column("90% interval", justify="right")
    for fp in fitted.free:
        default, unit = defaults.get(fp.name, (None, ""))
        row = [
            fp.name,
            str(unit),
            sig(float(default)) if default is not None else "",
            sig(fitted.best[fp.name]),
            f"{sig(fp.low)} - {sig(fp.high)}",
        ]
        if post is not None and fp.name in summary:
            s = summary[fp.name]
            row += [sig(s["median"]), f"{sig(s['ci90_low'])} - {sig(s['ci90_high'])}"]
        table.add_row(*(literal(x) for x in row))
    console.print(table)
    t = fitted.targets
    pats = ", ".join(
        f"{p} {k}" for p, k in zip(("contralateral", "ipsilateral", "diagonal"), t.patterns, strict=True)
    )
    say(f"Fitted to: {t.source}")
    if t.note:
        say(f"  ({t.note})")
    say(f"  observed: {t.multi_limb} of {t.patients} patients with more than one limb; second limb {pats}")
    b = fitted.best_summary
    say(
        f"  best fit: {b.get('multi_limb')} of {b.get('patients')} virtual patients with more than one limb; "
        f"G = {fitted.deviance:.2f} ({fitted.n_patients} virtual patients per trial, {fitted.years:g} y, "
        f"seed {fitted.seed}, {len(fitted.trials)} trials)"
    )
    if post is not None:
        say(
            f"  posterior: pyABC ABC-SMC, {post.populations} populations, {post.simulations} simulations, "
            f"final epsilon {post.epsilon:.2f}; uniform priors on the search ranges"
        )
    if comparison is not None:
        cmp_table = Table(title=Text("Which explanation fits best (within the model)"))
        for col in ("explanation", "fitted parameters"):
            cmp_table.add_column(col)
        for col in ("G held-out", "AIC", "Akaike weight"):
            cmp_table.add_column(col, justify="right")
        for f in sorted(comparison.fits, key=lambda f: -f.weight):
            cmp_table.add_row(
                literal(f.candidate.label),
                literal(", ".join(f.candidate.free)),
                literal(f"{f.heldout_deviance:.1f}"),
                literal(f"{f.aic:.1f}"),
                literal(f"{f.weight:.0%}"),
            )
        console.print(cmp_table)
        say(comparison.sentence())
    say(f"MODEL OUTPUT written to {output}")


# --------------------------------------------------------------------------------------- registry
registry_app = typer.Typer(
    help="The clinic registry: import, export, users, demo clinic (SQLite by default; --database URL).",
    no_args_is_help=True,
)
app.add_typer(registry_app, name="registry")
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
    from crpsmap.registry.runtime import setup

    try:
        return setup(database, migrate=migrate)
    except typer.Exit:
        raise
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


@app.command()
def serve(
    database: DatabaseOption = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 8000,
    threads: Annotated[int, typer.Option(min=1, max=64, help="threads per worker process")] = 8,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=32, help="processes (default: $CRPSMAP_WORKERS, else 1 per core, max 4)"),
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
    file: Annotated[Path, typer.Argument(help="CSV long-format file")],
    database: DatabaseOption = None,
    site: Annotated[str, typer.Option(help="site of the imported patients")] = "",
) -> None:
    """Import a CSV file into the registry, whole or not at all (same checks and errors as the CLI)."""
    if len(site) > 200 or not site.isprintable():
        fail("--site: at most 200 characters, no control characters")
    check_input(file)
    _registry(database)
    from django.db import DatabaseError

    from crpsmap.registry.transfer import import_file

    try:
        result = import_file(file, site=site)
    except HistoryImportError as exc:  # file contents are data: printed literally
        first, *rest = str(exc).splitlines() or ["problems in input"]
        _error_line(first)
        for line in rest:
            err_console.print(literal(line), soft_wrap=True)
        raise typer.Exit(2) from None
    except (DatabaseError, OSError) as exc:
        fail(f"{file}: nothing imported: {str(exc).strip()}")
    say(
        f"imported {result.patients} patients ({result.visits} visits, {result.events} events, "
        f"{result.treatments} treatments) from {file.name}"
    )


@registry_app.command("export")
def registry_export(
    file: Annotated[Path, typer.Argument(help="CSV long-format file to write")],
    database: DatabaseOption = None,
) -> None:
    """Export the registry as a CSV long-format file (pseudonymous: no identity, no notes)."""
    check_output_paths([file], _sqlite_files(database))
    _registry(database)
    from crpsmap.registry.transfer import export_file

    try:
        n = export_file(file)
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")
    say(f"exported {n} patients to {file}")


@registry_app.command("createuser")
def registry_createuser(
    name: Annotated[str, typer.Argument(help="user name")],
    role: Annotated[str, typer.Option(help="admin, clinician, researcher or auditor")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
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
        create_user(name, the_role, password)
    except ValueError as exc:
        fail(f"user {name!r}: {exc}")
    say(f"created user {name!r} with role {the_role.value}")
    if generated:
        say(f"password (shown once): {password}")


def main() -> None:  # pragma: no cover - entry point
    sys.exit(run())
