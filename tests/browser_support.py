"""Finding Debian's Chromium for the browser tests (importable: tests/ is on pytest's pythonpath).

Skips only when Chromium (or playwright) is missing locally and $CI is not set; in CI it fails instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def chromium() -> str:
    """Path of the Chromium executable (never a downloaded browser)."""
    path = os.environ.get("CRPSMAP_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path and Path("/usr/bin/chromium").exists():
        path = "/usr/bin/chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("playwright is not installed (required in CI)")
        pytest.skip("playwright not installed")
    if not path:
        if os.environ.get("CI"):
            pytest.fail("chromium not found (required in CI)")
        pytest.skip("chromium not installed")
    return path
