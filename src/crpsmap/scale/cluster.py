"""Dask clients: a local cluster of single-threaded worker processes, or a scheduler address."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from distributed import Client, LocalCluster

#: each worker process runs the kernel on one thread: parallelism comes from the workers
WORKER_ENV = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Client]:
    """A client for `scheduler` (e.g. tcp://host:8786), or for a new local cluster closed on exit."""
    if scheduler:
        client = Client(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=workers or default_workers(),
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # a free port: several clusters may run at once
        silence_logs=logging.ERROR,
        env=WORKER_ENV,
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
