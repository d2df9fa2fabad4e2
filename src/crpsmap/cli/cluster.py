"""Dask for the commands that simulate: `--scheduler` / `--workers` checked, and the client.

Commands call `cluster.dask(...)` through this module, so that a test can replace it in one place."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from crpsmap.cli.console import fail

if TYPE_CHECKING:
    from distributed import Client


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
