"""Options several commands share: seed, follow-up years, Dask workers and scheduler, mechanisms off."""

from __future__ import annotations

from typing import Annotated

import typer

from crpsmap.cli.checks import finite
from crpsmap.cli.limits import MAX_SEED, MAX_WORKERS, MAX_YEARS, MIN_YEARS

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
