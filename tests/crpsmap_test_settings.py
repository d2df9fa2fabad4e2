"""Django settings for the test run: the registry's settings on $CRPSMAP_TEST_DATABASE (default: SQLite).

`make test` runs the registry's tests a second time with CRPSMAP_TEST_DATABASE=$CRPSMAP_TEST_POSTGRES
when that is set (CI starts a PostgreSQL server and sets it).
"""

import os
import tempfile

os.environ.setdefault("CRPSMAP_DATA_DIR", tempfile.mkdtemp(prefix="crpsmap-test-"))
os.environ.setdefault("CRPSMAP_SECRET_KEY", "test-only-not-secret")
os.environ.setdefault("CRPSMAP_PSEUDONYM_KEY", "0f" * 32)  # test-only key: research exports work in tests
os.environ["CRPSMAP_DATABASE"] = os.environ.get("CRPSMAP_TEST_DATABASE") or "sqlite:///" + os.path.join(
    os.environ["CRPSMAP_DATA_DIR"], "test.sqlite3"
)

from crpsmap.registry.settings import *  # noqa: E402,F403

# fast hashing in tests only (production keeps Argon2)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# a test database of this run's own, so that concurrent runs on one PostgreSQL server do not collide
if "postgresql" in DATABASES["default"]["ENGINE"]:  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": f"test_crpsmap_{os.getpid()}"}  # noqa: F405
