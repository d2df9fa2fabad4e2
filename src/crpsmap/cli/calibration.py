"""`crpsmap calibrate`: fit the simulator to a clinic's spread statistics (a CSV file, its report
statistics or a published target), optionally with an ABC posterior and a mechanism comparison."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crpsmap.cli import cluster
from crpsmap.cli.calibration_table import print_calibration
from crpsmap.cli.checks import check_input, check_name, check_output_paths, load_or_exit, read_json
from crpsmap.cli.cluster import check_dask_options
from crpsmap.cli.console import err_console, fail
from crpsmap.cli.limits import MAX_CALIBRATION_PATIENTS, MAX_TRIALS
from crpsmap.cli.model import check_follow_up, no_cases
from crpsmap.cli.options import Scheduler, Seed, Workers, Years
from crpsmap.outputs import atomic_write_text

if TYPE_CHECKING:
    from crpsmap.calibrate.fit import FreeParam
    from crpsmap.calibrate.targets import Targets

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
        bool,
        typer.Option(
            "--compare-mechanisms",
            help="fit each mechanism set with equal budgets, judge on 20 held-out clinics (slow)",
        ),
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
    with cluster.dask(scheduler, workers) as client, Progress(console=err_console, transient=True) as bar:
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
            if compare_mechanisms:
                from crpsmap.calibrate.baseline import van_rijn_2011_trauma
                from crpsmap.calibrate.mechanisms import Budget
                from crpsmap.calibrate.mechanisms import compare_mechanisms as compare

                # the same budget for every explanation: --trials clinics of --patients each (up to 3
                # starts), then 20 held-out clinics and 10 recovery clinics of the cohort's size per
                # explanation; van Rijn's trauma finding is the held-out figure only for that target
                bar.update(task, description="comparing mechanisms (equal budgets)")
                comparison = compare(
                    targets,
                    base=base,
                    budget=Budget.of(trials, patients),
                    seed=seed,
                    client=client,
                    heldout_trauma=van_rijn_2011_trauma(targets) if target is not None else None,
                    recovery_replicates=10,
                )
                result["mechanisms"] = comparison.to_dict()
        except RuntimeError as exc:
            no_cases(exc)
            raise
    atomic_write_text(output, json.dumps(result, indent=1) + "\n")
    print_calibration(fitted, post, comparison, output)
