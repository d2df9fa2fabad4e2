"""`crpsmap serve`: gunicorn (a production WSGI server) in front of the registry."""

from __future__ import annotations

import gc
import logging
import os
from typing import Any

from gunicorn.app.base import BaseApplication

from crpsmap.registry.config import SERVER_MAX_WORKERS, SERVER_THREADS, SERVER_WORKERS_PER_CORE

WORKERS_ENV = "CRPSMAP_WORKERS"
log = logging.getLogger(__name__)


class RegistryServer(BaseApplication):
    """gunicorn configured in code: threaded workers, access log off (the audit trail is the log)."""

    def __init__(self, app: Any, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.application


def default_workers() -> int:
    """$CRPSMAP_WORKERS, else two processes per CPU core up to eight (config.py says why). Each process
    keeps its own caches (clinic snapshot, dashboard), each checked against the database on every request."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    if value:
        return max(1, int(value))
    return max(1, min(SERVER_MAX_WORKERS, SERVER_WORKERS_PER_CORE * (os.cpu_count() or 1)))


def warm_caches() -> None:
    """Compute the clinic snapshot and the unfiltered dashboard once, before the workers are forked, so
    that every worker starts with them (each refreshes them itself after a write)."""
    from crpsmap.registry import clinic
    from crpsmap.registry.reports import dashboard_report, no_filters

    try:
        clinic.snapshot()
        dashboard_report(no_filters())
    except Exception:  # the pages compute on demand instead; the server must start regardless
        log.warning("could not warm the registry caches", exc_info=True)


def freeze_heap() -> None:
    """Move every object alive now (Django, the libraries, the warmed caches: ~350,000 objects for 800
    patients) out of reach of the cyclic garbage collector, before the workers are forked. Otherwise
    each worker's full collections walk them all, 100-200 ms with the process's Python lock held, which
    stalled every request of that worker (the load benchmark's tail). Frozen objects are still freed by
    reference counting; only cyclic garbage among them would stay, and it is made at start-up once."""
    gc.collect()
    gc.freeze()


def _start_report_process(worker: Any) -> None:
    """gunicorn hook: each worker starts its dashboard-report process (registry/report_process.py) at once,
    in the background, instead of at the first refresh under load."""
    from crpsmap.registry import report_process

    try:
        report_process.start()
    except Exception:  # the first refresh starts it instead (or computes in the worker)
        log.warning("could not start the dashboard report process", exc_info=True)


def serve(host: str, port: int, *, workers: int | None = None, threads: int = SERVER_THREADS) -> None:
    """Serve until interrupted: `workers` processes (default: `default_workers()`) of `threads`
    threads each. SQLite in WAL mode serves several processes (writers queue on its lock)."""
    from django.db import connections

    from crpsmap.registry.wsgi import application

    warm_caches()
    connections.close_all()  # forked workers must not share this process's database connections
    freeze_heap()
    RegistryServer(
        application,
        {
            "bind": f"{host}:{port}",
            "workers": workers if workers is not None else default_workers(),
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 60,
            "graceful_timeout": 10,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "proc_name": "crpsmap-registry",
            "post_worker_init": _start_report_process,
        },
    ).run()
