"""What a computed result was computed with: a digest of the simulator's source.

Bundled results (the posterior and its checks) record it, and caches of simulated clinics key on it, so
that numbers of another model's code are never read as today's model's (the parameter values alone do
not say which code ran them)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def model_source_digest() -> str:
    """SHA-256 over the names and bytes of the simulator's modules (crpsmap/model/*.py)."""
    import crpsmap.model

    h = hashlib.sha256()
    for path in sorted(Path(crpsmap.model.__file__).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def package_source_digest() -> str:
    """SHA-256 over the relative paths and bytes of every module of the package (crpsmap/**/*.py): what a
    kept summary of a clinic depends on beyond the simulator (the classifier, the figures' definitions)."""
    import crpsmap

    root = Path(crpsmap.__file__).parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()
