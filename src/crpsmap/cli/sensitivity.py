"""`crpsmap sensitivity`: how much each model parameter, moved across its documented range, moves the
calibration figures (Morris screening, optionally Sobol indices), and which ones van Rijn 2011's figures
can constrain. Model output; docs/identifiability.md."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crpsmap.cli import cluster
from crpsmap.cli.calibration_table import sig
from crpsmap.cli.checks import check_name, check_output_paths, finite
from crpsmap.cli.cluster import check_dask_options
from crpsmap.cli.console import console, err_console, fail, say
from crpsmap.cli.limits import MAX_CALIBRATION_PATIENTS
from crpsmap.cli.model import check_follow_up, no_cases
from crpsmap.cli.options import Scheduler, Seed, Workers, Years
from crpsmap.outputs import atomic_write_text

if TYPE_CHECKING:
    from crpsmap.calibrate.fit import FreeParam
    from crpsmap.calibrate.sensitivity import SensitivityResult

MAX_TRAJECTORIES = 1_000
MAX_SOBOL_N = 2**16


def _params(names: list[str] | None) -> tuple[FreeParam, ...]:
    """The parameters named (default: all with a documented range), checked: exit 2 on a mistake."""
    from crpsmap.calibrate.sensitivity import ranged_parameters

    known = [p.name for p in ranged_parameters()]
    for n in names or []:
        check_name("parameter", n, known)
    try:
        return ranged_parameters(names or None)
    except ValueError as exc:
        fail(f"--param: {exc}")


def _or0(x: float) -> float:
    return x if math.isfinite(x) else 0.0


def _print(result: SensitivityResult, output: Path, top: int = 5) -> None:
    """Per fitted figure the most influential parameters (mu* in percentage points across the whole
    range, and in sampling SDs at van Rijn's size); then the verdict counts."""
    from rich.table import Table
    from rich.text import Text

    from crpsmap.calibrate.sensitivity import FITTED_FIGURES

    ident = result.identifiability
    table = Table(title=Text("Sensitivity of the calibration figures (MODEL OUTPUT)"))
    for col in ("figure", "parameter", "mu* (points)", "95% interval", "mu* / SD (van Rijn)"):
        table.add_column(col, justify="left" if col in ("figure", "parameter") else "right")
    for f in FITTED_FIGURES:
        ix = result.morris.indices.get(f)
        if ix is None:
            table.add_row(f, "(undefined in this run)", "", "", "")
            continue
        for i, (name, v) in enumerate(sorted(ix.items(), key=lambda kv: -_or0(kv[1]["mu_star"]))[:top]):
            sd = ident.sd.get(f)
            table.add_row(
                f if i == 0 else "",
                name,
                sig(100 * v["mu_star"]),
                f"{sig(100 * v['mu_star_low'])}-{sig(100 * v['mu_star_high'])}"
                if math.isfinite(v["mu_star_low"])
                else f"- ({result.morris.effects[f][name]} effect(s))",
                sig(v["mu_star"] / sd) if sd else "",
            )
    console.print(table)
    for verdict in ("constrained", "weakly constrained", "not constrained", "no effect"):
        names = ident.names(verdict)
        say(f"{verdict} ({len(names)}): {', '.join(names) if names else '-'}")
    say(
        f"The fitted figures resolve about {ident.resolvable} parameter combination(s); "
        f"{len(ident.tradeoffs)} pair(s) of influential parameters trade off."
    )
    say(f"Written: {output} (model output; see docs/identifiability.md)")


def sensitivity(
    param: Annotated[
        list[str] | None,
        typer.Option(help="parameter to vary over its documented range (repeatable; default: all of them)"),
    ] = None,
    patients: Annotated[
        int,
        typer.Option(
            min=10,
            max=MAX_CALIBRATION_PATIENTS,
            help=f"virtual patients per simulation (10-{MAX_CALIBRATION_PATIENTS})",
        ),
    ] = 200,
    years: Years = 5.0,
    seed: Seed = 0,
    trajectories: Annotated[
        int,
        typer.Option(
            min=2,
            max=MAX_TRAJECTORIES,
            help=f"Morris trajectories (2-{MAX_TRAJECTORIES}); each runs k+1 clinics",
        ),
    ] = 10,
    levels: Annotated[int, typer.Option(min=2, max=20, help="Morris grid levels (an even number, 2-20)")] = 4,
    noise_seeds: Annotated[
        int, typer.Option(min=2, max=100, help="seeds of the base clinic, for its simulation noise (2-100)")
    ] = 6,
    sobol_top: Annotated[
        int,
        typer.Option(min=0, max=20, help="Sobol indices for this many most influential parameters (0-20)"),
    ] = 0,
    local: Annotated[
        float | None,
        typer.Option(
            callback=finite,
            help="vary each parameter over default x (1 -+ LOCAL) instead of its documented range",
        ),
    ] = None,
    sobol_n: Annotated[
        int, typer.Option(min=2, max=MAX_SOBOL_N, help="Sobol base sample size (a power of 2)")
    ] = 16,
    scheduler: Scheduler = None,
    workers: Workers = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="JSON file to write")] = Path(
        "sensitivity.json"
    ),
) -> None:
    """Global sensitivity of the calibration figures to the model's parameters (MODEL OUTPUT; see
    docs/identifiability.md). Every simulation uses the same virtual injuries (common random numbers)."""
    from rich.progress import Progress

    from crpsmap.calibrate.sensitivity import sensitivity as run_sensitivity
    from crpsmap.model import Sim

    check_dask_options(scheduler, workers)
    check_follow_up(years)
    if levels % 2:
        fail(f"--levels {levels}: must be an even number")
    if sobol_n & (sobol_n - 1):
        fail(f"--sobol-n {sobol_n}: must be a power of 2 (2, 4, 8, 16, ...)")
    params = _params(param)
    box = "documented plausible ranges"
    if local is not None:
        if not 0 < local < 1:
            fail(f"--local {local:g}: must lie between 0 and 1 (0.1: each default -+ 10%)")
        from crpsmap.calibrate.sensitivity import local_box

        params = local_box([p.name for p in params], Sim(years=years, seed=seed), local)
        box = f"local: default x (1 -+ {local:g}), clipped to the documented range"
    if sobol_top > len(params):
        fail(f"--sobol-top {sobol_top}: more than the {len(params)} parameter(s) varied")
    check_output_paths([output])
    base = Sim(years=years, seed=seed)
    with cluster.dask(scheduler, workers) as client, Progress(console=err_console, transient=True) as bar:
        task = bar.add_task("sensitivity", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=f"{stage} (model output)")

        try:
            result = run_sensitivity(
                params,
                base=base,
                n_patients=patients,
                trajectories=trajectories,
                levels=levels,
                sobol_top=sobol_top,
                sobol_n=sobol_n,
                noise_seeds=noise_seeds,
                seed=seed,
                box=box,
                client=client,
                progress=progress,
            )
        except RuntimeError as exc:
            no_cases(exc)
            raise
    data: dict[str, Any] = result.to_dict()
    atomic_write_text(output, json.dumps(data, indent=1) + "\n")
    _print(result, output)
