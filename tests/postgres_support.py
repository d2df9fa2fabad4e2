"""PostgreSQL helpers of the registry tests that make their own databases (importable as
`postgres_support`: tests/ is on pytest's pythonpath; no Django import, so any test can use it)."""

from __future__ import annotations

import time


def drop_test_database(admin_url: str, name: str, *, wait_s: float = 60.0) -> None:
    """Drop a PostgreSQL database a test made, even while the server's autovacuum works on it.

    `WITH (FORCE)` ends the test role's own connections, but not a process of another role: an autovacuum
    worker that started on a freshly filled database makes the drop fail with InsufficientPrivilege
    (seen in CI after a restore test) until it finishes, which it does by itself within seconds. So: try
    again until `wait_s` has passed, then let the error through."""
    import psycopg

    deadline = time.monotonic() + wait_s
    while True:
        try:
            with psycopg.connect(admin_url, autocommit=True) as con:
                con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
