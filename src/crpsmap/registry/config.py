"""Where the registry keeps its data and how a database URL is read (no Django import here).

The default is one SQLite file under the user's data folder; `--database URL` (or $CRPSMAP_DATABASE) names
another SQLite file or a PostgreSQL database (`postgresql://user:pass@host/name`).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
import platformdirs

DATABASE_ENV = "CRPSMAP_DATABASE"
SECRET_ENV = "CRPSMAP_SECRET_KEY"  # nosec B105 # the name of an environment variable, not a secret
DATA_DIR_ENV = "CRPSMAP_DATA_DIR"
IDLE_ENV = "CRPSMAP_IDLE_MINUTES"
DEFAULT_IDLE_MINUTES = 30


class SettingsError(ValueError):
    """An environment setting the registry cannot use; the message names the variable."""


def idle_limit_seconds() -> int:
    """How long a signed-in session may be idle (registry/idle.py): `$CRPSMAP_IDLE_MINUTES`, a whole
    number of minutes, at least 1 (default 30)."""
    raw = os.environ.get(IDLE_ENV, "").strip()
    if not raw:
        return DEFAULT_IDLE_MINUTES * 60
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"${IDLE_ENV}={raw!r}: give a whole number of minutes, at least 1")
    return int(raw) * 60


def data_dir() -> Path:
    """The registry's folder (SQLite file, secret key); $CRPSMAP_DATA_DIR overrides the user data folder."""
    return Path(os.environ.get(DATA_DIR_ENV) or platformdirs.user_data_dir("crpsmap", appauthor=False))


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / 'registry.sqlite3'}"


def normalise_database(value: str | None) -> str:
    """A database URL from a URL or a plain SQLite file path."""
    if not value:
        return default_database_url()
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


# Run on every new SQLite connection (Django 5.1+ "init_command"). WAL: readers never block the writer
# nor the writer the readers, and a commit is one append to the -wal file. synchronous=FULL, not NORMAL:
# in WAL mode NORMAL syncs the -wal file only at checkpoints, so a power loss or an operating-system crash
# may undo the last transactions that were already acknowledged to the clinician (the database stays
# consistent, but a saved visit is gone); FULL syncs the -wal file at every commit, so every commit that
# returned is on disk. (A killed process loses nothing in either mode: the -wal file is in the operating
# system's cache.) Foreign keys are switched on by Django itself for every SQLite connection.
SQLITE_INIT_COMMAND = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
SQLITE_BUSY_TIMEOUT_S = 10  # a writer waits this long for another's transaction, then fails

# `crpsmap serve`: worker processes of few threads each. Each process has one Python lock, and a request
# waits for it after every database call while another thread of its process computes: with 2 processes of
# 8 threads on 2 cores the load benchmark's p95 was 121-171 ms, with 4 processes of 2 threads 79 ms (every
# kind under 100 ms; docs/registry.md, Performance). More processes cost memory (each keeps the clinic
# snapshot and a dashboard-report process), hence the cap.
SERVER_THREADS = 2  # threads per worker process
SERVER_WORKERS_PER_CORE = 2
SERVER_MAX_WORKERS = 8


def database_settings(url: str) -> dict[str, Any]:
    """Django's DATABASES['default'] for a URL: SQLite in WAL mode with synchronous=FULL (no acknowledged
    commit lost) and immediate transactions (so that concurrent writers queue, up to the busy timeout,
    instead of failing), both with persistent connections (one per server thread, kept between requests;
    a new SQLite connection with its pragmas costs about 1 ms)."""
    cfg: dict[str, Any] = dict(dj_database_url.parse(url))
    engine = cfg["ENGINE"]
    if engine.endswith("sqlite3"):
        Path(cfg["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        cfg["OPTIONS"] = {
            "init_command": SQLITE_INIT_COMMAND,
            "transaction_mode": "IMMEDIATE",
            "timeout": SQLITE_BUSY_TIMEOUT_S,  # sqlite3's busy timeout (PRAGMA busy_timeout), in seconds
        }
        cfg["CONN_MAX_AGE"] = 600
    elif "postgresql" in engine:
        cfg["CONN_MAX_AGE"] = 60
        cfg["CONN_HEALTH_CHECKS"] = True
    else:
        raise ValueError(f"unsupported database {url.split(':', 1)[0]!r}: use sqlite or postgresql")
    return cfg


def secret_key() -> str:
    """$CRPSMAP_SECRET_KEY, else a key generated once and kept (mode 0600) in the data folder."""
    key = os.environ.get(SECRET_ENV)
    if key:
        return key
    path = data_dir() / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    os.replace(tmp, path)
    return key
