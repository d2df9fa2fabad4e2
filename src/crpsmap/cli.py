"""The `crpsmap` command line (Typer). Each command is a thin shell over library functions."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from crpsmap.history import PatientHistory
from crpsmap.io import HistoryImportError, read_csv
from crpsmap.spread import DEFAULT_TRAUMA_WINDOW_DAYS, classify_all

app = typer.Typer(
    help="crpsmap: does CRPS spread, how, how often, how fast - and why?",
    no_args_is_help=True,
    add_completion=False,
)
# piped output (files, CI logs) gets a wide console so tables are not cut to 80 columns
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def load_or_exit(path: Path) -> list[PatientHistory]:
    """Read a CSV file; on bad input print every problem and exit with status 2 (nothing is used)."""
    try:
        return read_csv(path)
    except HistoryImportError as exc:  # file contents are data: never read as console markup
        from rich.markup import escape

        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None


@app.command()
def region(
    name: Annotated[str, typer.Argument(help="slug, CHOIR code (e.g. 125) or REDCap key (e.g. f25)")],
) -> None:
    """Look up a body region of the atlas: its segment, area, limb, mirror, neighbours and dermatomes."""
    from crpsmap.atlas import UnknownRegionError, load_atlas

    atlas = load_atlas()
    try:
        slug = atlas.resolve(name)
    except UnknownRegionError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    seg = atlas.segment_by_slug.get(slug)
    if seg is not None:
        console.print(f"segment [bold]{seg.slug}[/]: CHOIR {seg.choir}, REDCap {seg.redcap}")
        console.print(f"  {seg.view} view, {seg.label}")
    if atlas.is_visceral(slug):
        v = atlas.visceral_by_slug[slug]
        vagal = "vagal and spinal" if v.vagal else "spinal"
        console.print(f"visceral system [bold]{v.slug}[/]: {v.name}")
        console.print(f"  {vagal} innervation, spinal segments {', '.join(v.dermatomes)}")
        return
    a = atlas.area(slug)
    console.print(f"area [bold]{a.slug}[/] ({a.name}): segments {', '.join(a.segments)}")
    console.print(f"  side {a.side}, body group {a.body_group}, limb {a.limb or '-'}, mirror {a.mirror}")
    console.print(f"  neighbours {', '.join(a.neighbours)}")
    console.print(f"  dermatomes {', '.join(a.dermatomes) or '-'}{' (+ trigeminal)' if a.trigeminal else ''}")


@app.command()
def classify(
    file: Annotated[Path, typer.Argument(help="CSV long-format file of patient histories")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines: one object per patient")] = False,
    trauma_window: Annotated[int, typer.Option(help="days before a new area in which a trauma counts")] = (
        DEFAULT_TRAUMA_WINDOW_DAYS
    ),
) -> None:
    """Classify every spread event of every patient in FILE."""
    from crpsmap.summary import print_classification_table

    histories = load_or_exit(file)
    results = classify_all(histories, trauma_window_days=trauma_window)
    if as_json:
        out = sys.stdout
        for c in results:
            out.write(json.dumps(c.to_dict()) + "\n")
        return
    print_classification_table(list(results), console)


@app.command()
def report(
    file: Annotated[Path, typer.Argument(help="CSV long-format file of patient histories")],
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write")] = Path("report.html"),
    json_out: Annotated[Path | None, typer.Option("--json", help="also write the statistics as JSON")] = None,
    data_note: Annotated[str | None, typer.Option(help="note shown at the top (synthetic data...)")] = None,
    calibration: Annotated[
        Path | None,
        typer.Option(help="JSON of `crpsmap calibrate --compare-mechanisms` for this cohort (the 'why')"),
    ] = None,
) -> None:
    """Cohort statistics and the self-contained HTML report: how many spread, how, how fast."""
    from crpsmap.report import write_report
    from crpsmap.report.html import headline

    histories = load_or_exit(file)
    mechanisms = None
    if calibration is not None:
        try:
            mechanisms = json.loads(calibration.read_text(encoding="utf-8"))["mechanisms"]
        except (OSError, ValueError, KeyError):
            err_console.print(f"[bold red]error:[/] {calibration} has no mechanism comparison")
            raise typer.Exit(2) from None
    stats = write_report(
        histories,
        output,
        json_out,
        data_note=data_note,
        source=file.name,
        mechanisms=mechanisms,
        mechanisms_label=file.name,
    )
    console.print(headline(stats), highlight=False)
    console.print(f"report written to {output.resolve()}", highlight=False)
    if json_out is not None:
        console.print(f"statistics written to {json_out.resolve()}", highlight=False)


@app.command()
def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML report to write")] = Path(
        "out/example-report.html"
    ),
) -> None:
    """The main job on the bundled synthetic example cohort (what `make run` runs): summary and report."""
    from crpsmap.data import example_cohort_path
    from crpsmap.report import write_report
    from crpsmap.summary import print_cohort_summary

    path = example_cohort_path()
    console.print(
        f"[bold]crpsmap[/] on the bundled example cohort ({path.name}; SYNTHETIC data, no real patient)"
    )
    histories = load_or_exit(path)
    print_cohort_summary(list(classify_all(histories)), console)
    output.parent.mkdir(parents=True, exist_ok=True)
    json_path = output.with_suffix(".json")
    write_report(histories, output, json_path, source=path.name)
    console.print(
        f"report written to [bold]{output.resolve()}[/] (statistics: {json_path.name})", highlight=False
    )


@app.command()
def trial(
    intervention: Annotated[str, typer.Option(help="intervention from the model's catalogue")],
    start: Annotated[int, typer.Option(min=0, help="first day given, days after enrolment")] = 0,
    stop: Annotated[int | None, typer.Option(help="day it stops, after enrolment (default: never)")] = None,
    patients: Annotated[int, typer.Option("--patients", "-n", min=1, help="virtual CRPS patients")] = 300,
    years: Annotated[float, typer.Option(min=0.5, help="follow-up from the injury, years")] = 3.0,
    seed: Annotated[int, typer.Option(min=0, help="random seed (same seed, same patients)")] = 0,
    off: Annotated[
        list[str] | None, typer.Option(help="switch a model mechanism off (e.g. supraspinal); repeatable")
    ] = None,
    block: Annotated[int, typer.Option(min=1, help="patients per follow-up block (Dask task)")] = 256,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler ADDRESS; with --workers, a local Dask cluster")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="local Dask workers (default: in-process)")
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML page to write")] = Path("trial.html"),
    json_out: Annotated[Path | None, typer.Option("--json", help="also write the results as JSON")] = None,
) -> None:
    """Virtual trial: control vs intervention on the same virtual patients (MODEL RESULT, not evidence)."""
    from contextlib import ExitStack

    from rich.progress import Progress

    from crpsmap.model import CATALOGUE, Mechanisms, ModelParams
    from crpsmap.model.cohort import window_end
    from crpsmap.trial import DISCLAIMER, TrialSpec, run_trial, write_trial_page
    from crpsmap.trial.page import summary_line

    try:
        if intervention not in CATALOGUE:
            raise ValueError(f"unknown intervention {intervention!r}; known: {', '.join(CATALOGUE)}")
        mech = Mechanisms(**{name: False for name in off or []})
        spec = TrialSpec(
            intervention, start, stop, patients, years, seed, params=ModelParams(mechanisms=mech)
        )
        window_end(spec.sims()[0].n_days)
    except (ValueError, TypeError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    with ExitStack() as stack:
        client = None
        if scheduler or workers:
            from crpsmap.scale import dask_client

            client = stack.enter_context(dask_client(scheduler, workers))
        bar = stack.enter_context(Progress(console=err_console, transient=True))
        screen = bar.add_task("enrolling virtual CRPS patients", total=patients)
        follow = bar.add_task("following both arms", total=patients)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(screen if stage == "screen" else follow, completed=done)

        result = run_trial(spec, block=block, client=client, progress=progress)
    write_trial_page(result, output, json_out)
    console.print(summary_line(result), highlight=False, soft_wrap=True)
    files = f"page: {output}" + (f"; JSON: {json_out}" if json_out else "")
    console.print(f"{DISCLAIMER} ({files})", highlight=False, soft_wrap=True)


@app.command()
def simulate(
    patients: Annotated[
        int, typer.Option("--patients", "-n", min=1, help="clinic (CRPS) patients to simulate")
    ] = 200,
    years: Annotated[float, typer.Option(min=0.5, help="follow-up from the injury, years")] = 5.0,
    seed: Annotated[int, typer.Option(min=0, help="random seed: same seed, same cohort, bit for bit")] = 0,
    intervention: Annotated[
        list[str] | None,
        typer.Option(help="NAME[@START[:STOP]] days after enrolment, or NAME@injury+START[:STOP]"),
    ] = None,
    off: Annotated[
        list[str] | None, typer.Option(help="switch a model mechanism off (e.g. supraspinal); repeatable")
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV long-format file to write")] = Path(
        "cohort.csv"
    ),
    chunk_size: Annotated[
        int | None, typer.Option(min=1, help="injuries per Dask task (speed and memory only)")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (default: local cluster)")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="local Dask workers (default: CPU count)")
    ] = None,
) -> None:
    """Simulate a virtual CRPS clinic with the neuro-immune model (MODEL OUTPUT, a hypothesis, not data).

    Patients are simulated in chunks of injuries as Dask tasks; the cohort is the same for any chunk size
    and any number of workers.
    """
    import dataclasses

    from rich.progress import Progress

    from crpsmap.model import Mechanisms, ModelParams, Sim, parse_intervention
    from crpsmap.scale import dask_client, simulate_clinic_csv

    try:
        ivs = tuple(parse_intervention(t) for t in intervention or [])
        mech = Mechanisms.without(*(off or []))
        sim = Sim(params=ModelParams(mechanisms=mech), years=years, seed=seed, interventions=ivs)
        sim.config().steps_per_day  # noqa: B018 - validates dt
        from crpsmap.model.cohort import window_end

        window_end(sim.n_days)
    except (ValueError, TypeError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    with dask_client(scheduler, workers) as client, Progress(console=err_console, transient=True) as bar:
        task = bar.add_task("simulating the virtual clinic", total=patients)

        def progress(cases: int, injuries: int) -> None:
            bar.update(task, completed=cases, description=f"{injuries} injuries screened")

        run = simulate_clinic_csv(sim, patients, output, client, chunk_size=chunk_size, progress=progress)
    meta = {
        "model_output": True,
        "patients": run.patients,
        "injuries_screened": run.injuries,
        "conversion_injury_to_crps": run.conversion,
        "years": years,
        "seed": seed,
        "interventions": [dataclasses.asdict(iv) for iv in ivs],
        "mechanisms_off": sorted(off or []),
    }
    meta_path = output.with_suffix(".model.json")
    meta_path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    console.print(
        f"MODEL OUTPUT: {run.patients} virtual CRPS patients from {run.injuries} "
        f"simulated injuries (conversion {run.conversion:.1%}), {years:g} years, seed {seed} "
        f"-> {output}; settings in {meta_path}",
        highlight=False,
    )


@app.command()
def calibrate(
    file: Annotated[
        Path | None,
        typer.Argument(help="a clinic's CSV file, or its report statistics (crpsmap report --json)"),
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="a published target instead of a file: vanrijn2011")
    ] = None,
    trials: Annotated[int, typer.Option(min=1, help="Optuna trials")] = 60,
    patients: Annotated[int, typer.Option(min=10, help="virtual patients per trial")] = 800,
    years: Annotated[float, typer.Option(min=0.5, help="follow-up of the virtual clinic, years")] = 5.0,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    free: Annotated[list[str] | None, typer.Option(help="parameter to fit (repeatable)")] = None,
    posterior: Annotated[bool, typer.Option(help="also an ABC-SMC posterior (pyABC; slow)")] = False,
    population: Annotated[int, typer.Option(min=4, help="ABC population size")] = 48,
    generations: Annotated[int, typer.Option(min=1, help="ABC generations")] = 4,
    compare_mechanisms: Annotated[
        bool, typer.Option("--compare-mechanisms", help="fit each mechanism set and weigh them (slow)")
    ] = False,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address (default: local)")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="local Dask workers")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="JSON file to write")] = Path(
        "calibration.json"
    ),
) -> None:
    """Fit the simulator to a clinic's spread statistics (MODEL OUTPUT; see docs/calibration.md)."""
    from rich.progress import Progress

    from crpsmap.calibrate import targets_from_histories, targets_from_statistics, van_rijn_2011
    from crpsmap.calibrate.fit import DEFAULT_FREE, fit, free_params
    from crpsmap.model import Sim
    from crpsmap.scale import dask_client

    if (file is None) == (target is None):
        err_console.print("[bold red]error:[/] give either FILE or --target vanrijn2011")
        raise typer.Exit(2)
    try:
        if target is not None:
            if target != "vanrijn2011":
                raise ValueError(f"unknown target {target!r}; known: vanrijn2011")
            targets = van_rijn_2011()
        elif file is not None and file.suffix.lower() == ".json":
            targets = targets_from_statistics(json.loads(file.read_text(encoding="utf-8")), file.name)
        else:
            assert file is not None
            targets = targets_from_histories(load_or_exit(file), file.name)
        free_ps = free_params(free or list(DEFAULT_FREE))
    except (ValueError, KeyError, OSError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    base = Sim(years=years, seed=seed)
    result: dict[str, object] = {}
    with dask_client(scheduler, workers) as client, Progress(console=err_console, transient=True) as bar:
        task = bar.add_task("calibrating (Optuna)", total=trials)
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
        if compare_mechanisms:
            from crpsmap.calibrate.mechanisms import compare_mechanisms as compare

            comparison = compare(
                targets, base=base, n_patients=patients, n_trials=trials, seed=seed, client=client
            )
            result["mechanisms"] = comparison.to_dict()
    output.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    console.print(
        f"MODEL OUTPUT: best fit {fitted.best} (G = {fitted.deviance:.2f}; "
        f"targets: {targets.source[:60]}) -> {output}",
        highlight=False,
    )
    if compare_mechanisms:
        console.print(comparison.sentence(), highlight=False)


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
    from rich.markup import escape

    from crpsmap.registry.runtime import setup

    try:
        return setup(database, migrate=migrate)
    except typer.Exit:
        raise
    except Exception as exc:  # a wrong URL, a refused connection, an unreadable file
        where = escape(_safe(database) if database else "(default)")
        err_console.print(f"[bold red]error:[/] database {where}: {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None


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
    url = _registry(database)
    if demo:
        _load_demo(virtual_patients=300)
    from crpsmap.registry.server import serve as run_server

    console.print(
        f"crpsmap registry on [bold]http://{host}:{port}/[/] (database {_safe(url)}); Ctrl-C stops it",
        highlight=False,
    )
    run_server(host, port, workers=workers, threads=threads)


def _load_demo(virtual_patients: int) -> None:
    from crpsmap.registry.demo import load_demo, reset_demo_users

    loaded = load_demo(virtual_patients, progress=lambda m: console.print(m, highlight=False))
    what = "already loaded" if loaded.already_loaded else "loaded"
    console.print(
        f"demo clinic {what}: {loaded.example_patients} SYNTHETIC example patients and "
        f"{loaded.virtual_patients} virtual patients (MODEL OUTPUT); no real patient",
        highlight=False,
    )
    console.print("demo logins (fresh passwords, valid until the next demo start):", highlight=False)
    for role, (name, password) in reset_demo_users().items():
        console.print(f"  {role.value:<11} {name:<16} {password}", highlight=False, markup=False)


@registry_app.command("demo")
def registry_demo(
    database: DatabaseOption = None,
    virtual_patients: Annotated[
        int, typer.Option(min=0, help="simulated patients to add (model output)")
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
    from rich.markup import escape

    _registry(database)
    from django.db import DatabaseError

    from crpsmap.registry.transfer import import_file

    try:
        result = import_file(file, site=site)
    except HistoryImportError as exc:  # file contents are data: never read as console markup
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    except (DatabaseError, OSError) as exc:
        err_console.print(
            f"[bold red]error:[/] {escape(str(file))}: nothing imported: {escape(str(exc).strip())}",
            highlight=False,
        )
        raise typer.Exit(2) from None
    console.print(
        f"imported {result.patients} patients ({result.visits} visits, {result.events} events, "
        f"{result.treatments} treatments) from {file.name}",
        highlight=False,
        markup=False,
    )


@registry_app.command("export")
def registry_export(
    file: Annotated[Path, typer.Argument(help="CSV long-format file to write")],
    database: DatabaseOption = None,
) -> None:
    """Export the registry as a CSV long-format file (pseudonymous: no identity, no notes)."""
    from rich.markup import escape

    _registry(database)
    from crpsmap.registry.transfer import export_file

    if file.exists() and not file.is_file():
        err_console.print(f"[bold red]error:[/] {escape(str(file))}: not a regular file", highlight=False)
        raise typer.Exit(2)
    try:
        n = export_file(file)
    except OSError as exc:
        err_console.print(
            f"[bold red]error:[/] {escape(str(file))}: {escape(str(exc.strerror or exc))}", highlight=False
        )
        raise typer.Exit(2) from None
    console.print(f"exported {n} patients to {file}", highlight=False, markup=False)


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
    from rich.markup import escape

    from crpsmap.registry.roles import Role  # importable before Django starts

    try:
        the_role = Role(role)
    except ValueError:
        err_console.print(
            f"[bold red]error:[/] --role {escape(repr(role))}: choose one of "
            f"{', '.join(r.value for r in Role)}",
            highlight=False,
        )
        raise typer.Exit(2) from None
    _registry(database)
    from crpsmap.registry.accounts import create_user, generate_password

    generated = not password_stdin
    password = generate_password() if generated else sys.stdin.readline().rstrip("\r\n")
    try:
        create_user(name, the_role, password)
    except ValueError as exc:
        err_console.print(
            f"[bold red]error:[/] user {escape(repr(name))}: {escape(str(exc))}", highlight=False
        )
        raise typer.Exit(2) from None
    console.print(f"created user {name!r} with role {the_role.value}", highlight=False, markup=False)
    if generated:
        console.print(f"password (shown once): {password}", highlight=False, markup=False)


def main() -> None:  # pragma: no cover - entry point
    app()
