"""The commands on virtual patients (MODEL OUTPUT): `trial` (control vs intervention on the same
virtual patients) and `simulate` (a virtual CRPS clinic written as CSV)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer

from crpsmap.cli import cluster
from crpsmap.cli.checks import check_name, check_output_paths
from crpsmap.cli.cluster import check_dask_options
from crpsmap.cli.console import err_console, fail, say, warn
from crpsmap.cli.limits import (
    MAX_BLOCK,
    MAX_CHUNK,
    MAX_DAY,
    MAX_SEED,
    MAX_SIM_PATIENTS,
    MAX_TRIAL_PATIENTS,
    MAX_WORKERS,
)
from crpsmap.cli.model import (
    check_follow_up,
    check_intervention_text,
    check_mechanisms,
    intervention_names,
    no_cases,
)
from crpsmap.cli.options import Off, Scheduler, Seed, Years
from crpsmap.outputs import atomic_path, atomic_write_text
from crpsmap.trial.limits import DEFAULT_DRAWS, MAX_DRAWS


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
    draws: Annotated[
        int,
        typer.Option(
            min=1,
            max=MAX_DRAWS,
            help=f"parameter draws (1-{MAX_DRAWS}): each runs the whole trial with posterior model "
            "parameters and the intervention's strength from its effect prior",
        ),
    ] = DEFAULT_DRAWS,
    point: Annotated[
        bool,
        typer.Option(
            "--point",
            help="one run at the point parameters and the model's default strength (the old behaviour: "
            "ignores parameter and effect-size uncertainty; intervals are simulation noise only)",
        ),
    ] = False,
) -> None:
    """Virtual trial: control vs intervention on the same virtual patients (MODEL RESULT, not evidence).

    By default the trial runs over --draws draws of the model parameters (the bundled posterior; the point
    defaults when it is absent, which is said) and of the intervention's strength (its effect prior), so
    that its intervals include parameter and effect-size uncertainty, not only simulation noise.
    """
    from rich.progress import Progress

    from crpsmap.calibrate.draws import default_draws
    from crpsmap.model import Mechanisms, ModelParams
    from crpsmap.trial import DISCLAIMER, TrialResult, TrialSpec, run_trial, write_trial_page
    from crpsmap.trial.page import summary_line
    from crpsmap.trial.priors import PRIORS
    from crpsmap.trial.uncertainty import DrawsTrialResult, ParameterSource, run_trial_draws

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
    if point and draws != DEFAULT_DRAWS:
        fail("--point runs one trial at the point parameters; it takes no --draws")
    if not point and intervention not in PRIORS:
        fail(f"--intervention {intervention} has no effect prior (crpsmap.trial.priors); use --point")
    check_output_paths([output, json_out])
    posterior = None if point else default_draws()
    if not point and posterior is None:
        warn(ParameterSource.of(None).label)
    result: TrialResult | DrawsTrialResult
    with (
        cluster.dask(scheduler, workers, local_default=False) as client,
        Progress(console=err_console, transient=True) as bar,
    ):
        rounds = None if point else bar.add_task("parameter draws", total=draws)
        screen = bar.add_task("enrolling virtual CRPS patients", total=patients)
        follow = bar.add_task("following both arms", total=patients)

        def progress(stage: str, done: int, total: int) -> None:
            if stage == "draw":
                if rounds is not None:
                    bar.update(rounds, completed=done)
                bar.reset(screen)
                bar.reset(follow)
                return
            bar.update(screen if stage == "screen" else follow, completed=done)

        try:
            if point:
                result = run_trial(spec, block=block, client=client, progress=progress)
            else:
                result = run_trial_draws(
                    spec,
                    posterior,
                    draws=draws,
                    block=block,
                    client=client,
                    progress=progress,
                    runner=run_trial,
                )
        except RuntimeError as exc:
            no_cases(exc)
            raise
    write_trial_page(result, output, json_out)
    say(summary_line(result))
    seen = (
        result.observed_after_start
        if isinstance(result, TrialResult)
        else min(d.result.observed_after_start for d in result.draws)
    )
    if result.n and seen == 0:
        warn(
            f"no patient was seen after day {start} of the intervention (in at least one draw); "
            "try an earlier --start or more --years"
        )
    files = f"page: {output}" + (f"; JSON: {json_out}" if json_out else "")
    say(f"{DISCLAIMER} ({files})")


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
        cluster.dask(scheduler, workers) as client,
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
