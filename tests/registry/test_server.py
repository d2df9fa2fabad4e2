"""`crpsmap serve` prepares its workers before gunicorn forks them (registry/server.py).

The master process is run up to the point where gunicorn would fork (its `run` replaced), in a
subprocess of its own so that the test process's garbage collector is left as it was.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import gc, sys
from crpsmap.registry import runtime
runtime.setup(sys.argv[1])
from crpsmap.registry import server
seen = {}
def run(self):
    seen["frozen"] = gc.get_freeze_count()
    seen["workers"] = self.cfg.workers
server.RegistryServer.run = run
server.serve("127.0.0.1", 0, workers=3)
print(seen["frozen"], seen["workers"])
"""


def test_serve_freezes_the_heap_before_the_workers_fork(tmp_path: Path, env: dict[str, str]) -> None:
    """Everything alive at start-up is out of the cyclic collector's reach when the workers are forked,
    so that no worker walks it in a full collection while holding its Python lock."""
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    out = subprocess.run(
        [sys.executable, "-c", PROBE, url], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    frozen, workers = (int(x) for x in out.stdout.split()[-2:])
    assert workers == 3
    # Django, the libraries and the warmed caches: far more than any collection threshold
    assert frozen > 50_000, frozen
