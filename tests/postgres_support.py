"""PostgreSQL helpers of the registry tests that make their own databases (importable as
`postgres_support`: tests/ is on pytest's pythonpath; no Django import, so any test can use it)."""

from __future__ import annotations

import os
import secrets
import time
from urllib.parse import urlsplit

import pytest


class TestDatabases:
    """Makes empty PostgreSQL databases on the server of CRPSMAP_TEST_POSTGRES and drops them again.

    One place for the rules every such test shares: without the variable the test is skipped here and
    fails in CI (which must run it); names carry a random part so parallel workers never meet; `drop_all`
    survives the server's autovacuum (`drop_test_database`)."""

    __test__ = False  # a helper, not a test class

    def __init__(self, prefix: str) -> None:
        url = os.environ.get("CRPSMAP_TEST_POSTGRES")
        if not url:
            if os.environ.get("CI"):
                pytest.fail("CI must set CRPSMAP_TEST_POSTGRES (a PostgreSQL server for the registry tests)")
            pytest.skip("CRPSMAP_TEST_POSTGRES is not set")
        self.prefix = prefix
        self.server = urlsplit(url)
        self.admin = self.server._replace(path="/postgres").geturl()
        self.made: list[str] = []

    def make(self, name: str = "") -> str:
        """A new empty database; its URL."""
        import psycopg

        db = "_".join(part for part in (self.prefix, name, secrets.token_hex(4)) if part)
        with psycopg.connect(self.admin, autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{db}"')
        self.made.append(db)
        return self.server._replace(path=f"/{db}").geturl()

    def drop_all(self) -> None:
        """Drop every database this helper made."""
        while self.made:
            drop_test_database(self.admin, self.made.pop())


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
