"""`crpsmap serve`: gunicorn (a production WSGI server) in front of the registry."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


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


def serve(host: str, port: int, *, workers: int = 1, threads: int = 8) -> None:
    """Serve until interrupted. SQLite is best served by one process with threads."""
    from crpsmap.registry.wsgi import application

    RegistryServer(
        application,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 60,
            "graceful_timeout": 10,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "proc_name": "crpsmap-registry",
        },
    ).run()
