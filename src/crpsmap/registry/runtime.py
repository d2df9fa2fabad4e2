"""Start Django for a command-line use of the registry (import, export, createuser, serve)."""

from __future__ import annotations

import os

from crpsmap.registry.config import DATABASE_ENV, normalise_database


def setup(database: str | None = None, *, migrate: bool = True, verbosity: int = 0) -> str:
    """Configure Django for `database` (a URL or SQLite path; default: the user's data folder), apply
    migrations if asked, and return the database URL in use. Call once per process, before any model use."""
    import django

    url = normalise_database(database or os.environ.get(DATABASE_ENV))
    os.environ[DATABASE_ENV] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crpsmap.registry.settings")
    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=verbosity)
    return url
