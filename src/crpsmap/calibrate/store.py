"""Simulated clinics kept on disk, so that a long computation can be done in pieces.

A mechanism comparison or a sensitivity analysis simulates hundreds of clinics over an hour or more, and
the machine or the session may stop at any time. Each clinic's result is appended to a JSON-lines file as
soon as it is known, keyed by everything that makes it: every setting of the `Sim`, the clinic size, what
was kept of the clinic (`kind`), and the package's source. Running the same computation again takes the
kept results and simulates only the rest; its searches are seeded, so they ask for the same clinics and
go on where they stopped. The same settings under other code are another clinic, never reused.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from crpsmap.calibrate.provenance import package_source_digest
from crpsmap.model import Sim


def _canonical(obj: Any) -> Any:
    """A JSON value that is the same for equal settings in any process (sets sorted, enums by name)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _canonical(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return f"{type(obj).__name__}.{obj.name}"
    if isinstance(obj, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (set, frozenset)):
        return sorted((_canonical(v) for v in obj), key=repr)
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, float):
        return repr(obj)  # exact, and NaN or infinity stay JSON
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    raise TypeError(f"cannot key a setting of type {type(obj).__name__}: {obj!r}")


def clinic_key(sim: Sim, n_patients: int, kind: str, code: str) -> str:
    """The key of one kept clinic: the whole `Sim`, the clinic size, what was kept and the source digest."""
    spec = {"kind": kind, "n_patients": int(n_patients), "code": code, "sim": _canonical(sim)}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


class ClinicStore:
    """Kept results of one kind of clinic summary, in memory and (given a path) in an append-only file.

    `new` and `reused` count what this store simulated and what it handed back, so that a result can say
    how much of it came from earlier pieces."""

    def __init__(self, path: Path | None, kind: str, code: str | None = None) -> None:
        self.path = path
        self.kind = kind
        self.code = code if code is not None else package_source_digest()
        self.new = 0
        self.reused = 0
        self._kept: dict[str, dict[str, Any]] = {}
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):  # a piece stopped while writing: drop its torn last line
            data = data[: data.rfind(b"\n") + 1]
            with path.open("r+b") as fh:
                fh.truncate(len(data))
        for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: line {number}: not JSON ({exc.msg})") from None
            if not isinstance(rec, dict) or not isinstance(rec.get("key"), str) or "result" not in rec:
                raise ValueError(f"{path}: line {number}: not a kept clinic (needs 'key' and 'result')")
            self._kept[rec["key"]] = rec

    def key(self, sim: Sim, n_patients: int) -> str:
        return clinic_key(sim, n_patients, self.kind, self.code)

    def get(self, key: str) -> Any | None:
        """The kept result under `key`, or None."""
        rec = self._kept.get(key)
        if rec is None:
            return None
        self.reused += 1
        return rec["result"]

    def seconds(self, key: str) -> float:
        """How long the kept clinic took to simulate (0 if not kept)."""
        rec = self._kept.get(key)
        return float(rec.get("seconds") or 0.0) if rec else 0.0

    def counts(self) -> dict[str, int]:
        """What a result says of its clinics when they were kept: simulated now, taken from earlier pieces."""
        return {"simulated_now": self.new, "taken_from_earlier_pieces": self.reused}

    def put(self, key: str, result: Any, seconds: float = math.nan) -> None:
        """Keep `result` (JSON: no NaN or infinity) under `key`, on disk at once."""
        rec = {"key": key, "seconds": None if math.isnan(seconds) else round(seconds, 3), "result": result}
        try:
            line = json.dumps(rec, allow_nan=False) + "\n"
        except (TypeError, ValueError) as exc:
            raise ValueError(f"a kept clinic must be JSON, not JSON or NaN here ({exc})") from None
        self._kept[key] = rec
        self.new += 1
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as fh:  # append-only: a stop loses one line at most
                fh.write(line)


def timed(fn: Callable[[Sim, int], Any], sim: Sim, n_patients: int) -> tuple[Any, float]:
    """`fn(sim, n_patients)` and the seconds it took (what a store keeps beside the result)."""
    t0 = time.perf_counter()
    out = fn(sim, n_patients)
    return out, time.perf_counter() - t0


def map_kept(
    fn: Callable[[Sim, int], Any],
    sims: Sequence[Sim],
    n_patients: int,
    client: Any | None = None,
    store: ClinicStore | None = None,
    kind: str | None = None,
) -> list[Any]:
    """`fn(sim, n_patients)` for every simulation, in process or as Dask tasks (`client`), in order.

    With a `store` (whose kind must be `kind`, what `fn` keeps of a clinic) kept results are taken from it
    and each new one is kept as soon as it is done, so that a computation stopped midway goes on where it
    stopped; settings asked twice are simulated once. `fn` must be a module-level function (Dask pickles
    it) returning JSON."""
    if store is None:
        if client is None:
            return [fn(s, n_patients) for s in sims]
        return list(client.gather(client.map(fn, sims, n_patients=n_patients, pure=False)))
    if store.kind != kind:
        raise ValueError(f"a store of {store.kind!r} cannot hold {kind!r}")
    keys = [store.key(s, n_patients) for s in sims]
    by_key = dict(zip(keys, sims, strict=True))  # settings asked twice have one key
    found = {k: r for k in by_key if (r := store.get(k)) is not None}
    todo = {k: sim for k, sim in by_key.items() if k not in found}
    if client is None:
        for k, sim in todo.items():
            found[k], seconds = timed(fn, sim, n_patients)
            store.put(k, found[k], seconds)
    elif todo:
        from distributed import as_completed

        futures = client.map(timed, [fn] * len(todo), list(todo.values()), n_patients=n_patients, pure=False)
        key_of = dict(zip(futures, todo, strict=True))
        for fut in as_completed(futures):
            result, seconds = fut.result()
            found[key_of[fut]] = result
            store.put(key_of[fut], result, seconds)
    return [found[k] for k in keys]
