"""Benchmark: the registry served by `crpsmap serve` (gunicorn) under concurrent clients.

A registry of N synthetic patients (default 800, ~10 onset/assessment visits each with pain, CSS and HRV,
plus the odd trauma) is imported with `crpsmap registry import`, a clinician is created with `crpsmap
registry createuser`, and `crpsmap serve` is started as a subprocess on 127.0.0.1. Then C clients (default
50, each its own logged-in session, an asyncio + httpx loop against 127.0.0.1 only) run, one phase after
the other, each phase bounded by a request count and a time limit:

  patient_page   GET /patients/<code>/ of a random patient
  visit_save     GET the visit form (`visit_form`, for the CSRF token), then POST a new visit; a save
                 answers 302 (`visit_save` times the POST alone)
  dashboard      GET /dashboard/ then /dashboard/report/ (the report inside it); `dashboard` is the pair.
                 It runs after the saves, so its first requests compute the report of the changed data.
  mixed          9 patient pages to 1 visit save (POST), so most pages follow a write (the clinic
                 snapshot behind the page must follow every write; nothing stale is shown)

By default a client sends its next step as soon as the previous one is answered, so with C clients the
latency is at least C / throughput: the numbers are those of a saturated server. With --think-ms T each
client starts at a random moment within T and pauses a random time (exponential, mean T) between steps:
a paced load of at most about C / T steps a second, like C people at work. For each database (SQLite,
PostgreSQL or both) one JSON line is printed and appended to benchmarks/results/registry.jsonl: median
and p95 latency per endpoint, throughput, errors, server and client CPU per step, the goals (p95 < 100 ms
for the patient page and a visit save, < 1 s for the dashboard) and the machine. The server runs as
`crpsmap serve` would (its workers: $CRPSMAP_WORKERS, else one per CPU core up to 4).

Usage: python benchmarks/bench_registry.py [--patients 800] [--clients 50] [--requests 1000]
       [--database sqlite|postgresql|both] [--phase-seconds 120] [--think-ms 0] [--threads 8]
       [--label TEXT] [--no-save]
PostgreSQL: a database `crpsmap_bench` is created (and dropped at the end) on the server of
$CRPSMAP_BENCH_POSTGRES (default postgresql://crpsmap:crpsmap@127.0.0.1:5432/crpsmap); with
--database both an unreachable server is skipped with a note.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from crpsmap.atlas import load_atlas
from crpsmap.data.synthetic import random_histories
from crpsmap.history import INVOLVEMENT_KINDS, PatientHistory
from crpsmap.io import write_csv
from results_log import record as record_result

HOST = "127.0.0.1"
PG_DEFAULT = "postgresql://crpsmap:crpsmap@127.0.0.1:5432/crpsmap"
PG_BENCH_DB = "crpsmap_bench"
USER = "bench"
GOALS_MS = {"patient_page": 100.0, "visit_save": 100.0, "dashboard": 1000.0}
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

Timings = dict[str, list[float]]
Step = Callable[[httpx.AsyncClient, int, random.Random], Awaitable[list[tuple[str, float]]]]


# ---------------------------------------------------------------------------------------------- data


def cohort(n: int, seed: int = 2024) -> list[PatientHistory]:
    """Synthetic histories with ~10 visits each (pain, CSS, HRV on every visit) and the odd trauma."""
    rng = random.Random(seed)
    out = []
    for h in random_histories(n, seed=seed, records_per_patient=11, prefix="B"):
        records = tuple(
            r.model_copy(update={"pain": rng.randrange(0, 21) / 2, "css": rng.randrange(0, 18)})
            if r.kind in INVOLVEMENT_KINDS
            else r
            for r in h.records
        )
        out.append(h.model_copy(update={"records": records}))
    return out


def crpsmap_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("crpsmap")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("crpsmap")
    return [found] if found else [sys.executable, "-m", "crpsmap"]


def run_cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(crpsmap_cmd() + args, env=env, input=stdin, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"crpsmap {' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr.strip()}")
    return time.perf_counter() - t0


def create_clinician(url: str, env: dict[str, str], password: str) -> None:
    args = ["registry", "createuser", USER, "--role", "clinician", "--password-stdin", "--database", url]
    run_cli(args, env, stdin=password + "\n")


def pg_url(database: str) -> str:
    base = urlsplit(os.environ.get("CRPSMAP_BENCH_POSTGRES", PG_DEFAULT))
    return urlunsplit(base._replace(path="/" + database))


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(os.environ.get("CRPSMAP_BENCH_POSTGRES", PG_DEFAULT), autocommit=True) as conn:
        conn.execute(sql)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# -------------------------------------------------------------------------------------------- server


class Server:
    """`crpsmap serve` as a subprocess, stopped with SIGTERM (gunicorn's graceful stop)."""

    def __init__(self, url: str, env: dict[str, str], threads: int, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log_path = log
        self._log = log.open("w", encoding="utf-8")
        cmd = crpsmap_cmd() + ["serve", "--database", url, "--host", HOST, "--port", str(self.port)]
        cmd += ["--threads", str(threads)]
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_healthy(self, timeout: float = 120.0) -> float:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}): {self.log_tail()}")
            try:
                r = httpx.get(self.base + "/healthz", timeout=2.0)
                if r.status_code == 200:
                    return time.perf_counter() - t0
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not healthy after {timeout:.0f} s: {self.log_tail()}")

    def _stats(self) -> list[list[str]] | None:
        """/proc stat fields (after the name) of the server's processes: its session, master and
        workers; None where there is no /proc."""
        out = []
        try:
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = stat.read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue  # a process that ended meanwhile
                if int(fields[3]) == self.proc.pid:
                    out.append(fields)
        except (OSError, ValueError, IndexError):
            return None
        return out

    def cpu_s(self) -> float | None:
        """CPU seconds used so far by the server's processes."""
        stats = self._stats()
        if stats is None:
            return None
        return sum(int(f[11]) + int(f[12]) for f in stats) / os.sysconf("SC_CLK_TCK")

    def workers(self) -> int | None:
        stats = self._stats()
        return len(stats) - 1 if stats else None

    def log_tail(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-2000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the server's own process group
                self.proc.wait(timeout=10)
        self._log.close()


# ---------------------------------------------------------------------------------------------- load


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    if m is None:
        raise RuntimeError("no CSRF token in the form")
    return m.group(1)


async def login(client: httpx.AsyncClient, password: str) -> None:
    r = await client.get("/login/")
    r.raise_for_status()
    data = {"username": USER, "password": password, "csrfmiddlewaretoken": csrf_of(r.text)}
    r = await client.post("/login/", data=data)
    if r.status_code != 302 or "sessionid" not in client.cookies:
        raise RuntimeError(f"login failed: {r.status_code}")


async def timed(
    client: httpx.AsyncClient, method: str, url: str, expect: int, **kw: Any
) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = await client.request(method, url, **kw)
    dt_s = time.perf_counter() - t0
    if r.status_code != expect:
        raise RuntimeError(f"{method} {url}: {r.status_code} (expected {expect})")
    return dt_s, r.text


class Load:
    """The logged-in clients and the steps they repeat."""

    def __init__(self, base: str, codes: list[str], clients: int, think_ms: float) -> None:
        self.codes = codes
        self.think = think_ms / 1000.0
        self.clients = [
            # idle connections are dropped before gunicorn's 2 s keep-alive closes them under a request
            httpx.AsyncClient(
                base_url=base, timeout=120.0, limits=httpx.Limits(max_connections=1, keepalive_expiry=1.0)
            )
            for _ in range(clients)
        ]
        self.tokens: dict[int, str] = {}
        atlas = load_atlas()
        self.segments = [s.slug for s in atlas.segments]
        self.today = dt.date.today().isoformat()

    async def close(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients))

    async def login_all(self, password: str) -> None:
        await asyncio.gather(*(login(c, password) for c in self.clients))

    def visit_data(self, token: str, rng: random.Random) -> dict[str, Any]:
        return {
            "csrfmiddlewaretoken": token,
            "kind": "assessment",
            "date": self.today,
            "segments": rng.sample(self.segments, rng.randint(1, 4)),
            "pain": str(rng.randrange(0, 21) / 2),
            "hrv_rmssd": str(round(rng.uniform(10, 80), 1)),
            "note": "benchmark visit",
        }

    async def patient_page(self, c: httpx.AsyncClient, i: int, rng: random.Random) -> list[tuple[str, float]]:
        t, _ = await timed(c, "GET", f"/patients/{rng.choice(self.codes)}/", 200)
        return [("patient_page", t)]

    async def visit_save(self, c: httpx.AsyncClient, i: int, rng: random.Random) -> list[tuple[str, float]]:
        url = f"/patients/{rng.choice(self.codes)}/visits/new/"
        t_form, html = await timed(c, "GET", url, 200)
        token = csrf_of(html)
        self.tokens[id(c)] = token
        t_save, _ = await timed(c, "POST", url, 302, data=self.visit_data(token, rng))
        return [("visit_form", t_form), ("visit_save", t_save)]

    async def dashboard(self, c: httpx.AsyncClient, i: int, rng: random.Random) -> list[tuple[str, float]]:
        t_page, _ = await timed(c, "GET", "/dashboard/", 200)
        t_report, _ = await timed(c, "GET", "/dashboard/report/", 200)
        return [("dashboard_page", t_page), ("dashboard_report", t_report), ("dashboard", t_page + t_report)]

    async def mixed(self, c: httpx.AsyncClient, i: int, rng: random.Random) -> list[tuple[str, float]]:
        if i % 10 == 9:
            url = f"/patients/{rng.choice(self.codes)}/visits/new/"
            t, _ = await timed(c, "POST", url, 302, data=self.visit_data(self.tokens[id(c)], rng))
            return [("mixed_visit_save", t)]
        t, _ = await timed(c, "GET", f"/patients/{rng.choice(self.codes)}/", 200)
        return [("mixed_patient_page", t)]

    async def phase(
        self, step: Step, total: int, seconds: float, seed: int, server_cpu: Callable[[], float | None]
    ) -> tuple[Timings, dict[str, Any]]:
        """Every client repeats `step` until `total` steps were started or `seconds` have passed."""
        timings: Timings = {}
        errors: list[str] = []
        started = 0
        cpu0, own0 = server_cpu(), time.process_time()
        t0 = time.perf_counter()
        deadline = t0 + seconds

        async def worker(k: int, c: httpx.AsyncClient) -> None:
            nonlocal started
            rng = random.Random(seed * 1000 + k)
            if self.think:  # paced clients start spread over one think time, not all at once
                await asyncio.sleep(rng.uniform(0, self.think))
            while started < total and time.perf_counter() < deadline:
                i = started
                started += 1
                try:
                    for label, t in await step(c, i, rng):
                        timings.setdefault(label, []).append(t)
                except (httpx.HTTPError, RuntimeError) as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                if self.think:
                    await asyncio.sleep(rng.expovariate(1.0 / self.think))

        await asyncio.gather(*(worker(k, c) for k, c in enumerate(self.clients)))
        wall = time.perf_counter() - t0
        cpu1, own1 = server_cpu(), time.process_time()
        info: dict[str, Any] = {"steps": started, "wall_s": round(wall, 2), "errors": len(errors)}
        if cpu0 is not None and cpu1 is not None and started:
            info["server_cpu_ms_per_step"] = round(1000 * (cpu1 - cpu0) / started, 2)
        if started:
            info["client_cpu_ms_per_step"] = round(1000 * (own1 - own0) / started, 2)
        info["first_errors"] = errors[:3]
        return timings, info


def summary(times: list[float], wall_s: float) -> dict[str, Any]:
    ms = sorted(t * 1000.0 for t in times)
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1),
        "max_ms": round(ms[-1], 1),
        "per_s": round(len(ms) / wall_s, 1) if wall_s > 0 else None,
    }


async def run_load(
    base: str,
    codes: list[str],
    password: str,
    args: argparse.Namespace,
    server_cpu: Callable[[], float | None],
) -> dict[str, Any]:
    load = Load(base, codes, args.clients, args.think_ms)
    try:
        t0 = time.perf_counter()
        await load.login_all(password)
        login_s = time.perf_counter() - t0
        # the very first patient page computes the clinic snapshot (the server's cold start); timed apart
        first, _ = await timed(load.clients[0], "GET", f"/patients/{codes[0]}/", 200)
        endpoints: dict[str, Any] = {}
        phases: dict[str, Any] = {}
        plan: list[tuple[str, Step]] = [
            ("patient_page", load.patient_page),
            ("visit_save", load.visit_save),
            ("dashboard", load.dashboard),
            ("mixed", load.mixed),
        ]
        for seed, (name, step) in enumerate(plan, start=1):
            timings, info = await load.phase(step, args.requests, args.phase_seconds, seed, server_cpu)
            phases[name] = info
            for label, times in timings.items():
                endpoints[label] = summary(times, info["wall_s"])
            print(f"  {name}: {info}", file=sys.stderr)
        return {
            "login_all_s": round(login_s, 2),
            "first_patient_page_ms": round(first * 1000.0, 1),
            "endpoints": endpoints,
            "phases": phases,
        }
    finally:
        await load.close()


# ------------------------------------------------------------------------------------------ per database


def bench_database(
    kind: str, histories: list[PatientHistory], csv: Path, args: argparse.Namespace
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"crpsmap-bench-{kind}-") as tmp:
        env = dict(os.environ, CRPSMAP_DATA_DIR=tmp, CRPSMAP_SECRET_KEY="bench")
        env.pop("CRPSMAP_DATABASE", None)
        if kind == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'registry.sqlite3'}"
        else:
            pg_admin(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
            pg_admin(f"CREATE DATABASE {PG_BENCH_DB}")
            url = pg_url(PG_BENCH_DB)
        server = None
        try:
            import_s = run_cli(["registry", "import", str(csv), "--database", url], env)
            password = secrets.token_urlsafe(18)
            create_clinician(url, env, password)
            server = Server(url, env, args.threads, Path(tmp) / "server.log")
            start_s = server.wait_healthy()
            print(f"{kind}: server up on {server.base} in {start_s:.1f} s", file=sys.stderr)
            codes = [h.patient_id for h in histories]
            result = asyncio.run(run_load(server.base, codes, password, args, server.cpu_s))
            workers = server.workers()  # counted at the end: all have started by now
            if any(p["errors"] for p in result["phases"].values()):
                print(f"{kind}: errors; server log tail:\n{server.log_tail()}", file=sys.stderr)
        finally:
            if server is not None:
                server.stop()
            if kind == "postgresql":
                pg_admin(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
    eps = result["endpoints"]
    return {
        "import_s": round(import_s, 2),
        "server_start_s": round(start_s, 2),
        "server_workers": workers,
        **{k: v for k, v in result.items() if k != "endpoints"},
        "median_ms": {k: v["median_ms"] for k, v in eps.items()},
        "p95_ms": {k: v["p95_ms"] for k, v in eps.items()},
        "endpoints": eps,
        "goals_met": {k: k in eps and eps[k]["p95_ms"] < g for k, g in GOALS_MS.items()},
    }


def postgres_reachable() -> bool:
    try:
        pg_admin("SELECT 1")
    except Exception as exc:  # no server, wrong password: skipped with a note
        print(f"PostgreSQL skipped: {type(exc).__name__}: {exc}", file=sys.stderr)
        return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--patients", type=int, default=800)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=1000, help="steps per phase (all clients together)")
    ap.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--phase-seconds", type=float, default=120.0, help="time limit of each phase")
    ap.add_argument("--think-ms", type=float, default=0.0, help="mean pause of a client between steps")
    ap.add_argument("--threads", type=int, default=8, help="crpsmap serve --threads")
    ap.add_argument("--label", default="", help="a note kept in the result line (e.g. which code ran)")
    ap.add_argument("--no-save", action="store_true", help="print only; do not append to results/")
    args = ap.parse_args()

    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    if args.database == "both" and not postgres_reachable():
        kinds = ["sqlite"]
    histories = cohort(args.patients)
    n_visits = sum(1 for h in histories for r in h.records if r.kind in INVOLVEMENT_KINDS)
    n_events = sum(len(h.records) for h in histories) - n_visits
    with tempfile.TemporaryDirectory(prefix="crpsmap-bench-") as tmp:
        csv = Path(tmp) / "cohort.csv"
        write_csv(histories, csv)
        for kind in kinds:
            out = bench_database(kind, histories, csv, args)
            row = {
                "benchmark": "registry",
                "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "database": kind,
                **({"label": args.label} if args.label else {}),
                "n_patients": args.patients,
                "visits": n_visits,
                "events": n_events,
                "clients": args.clients,
                "requests": args.requests,
                "think_ms": args.think_ms,
                "server_threads": args.threads,
                **out,
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "machine": platform.machine(),
            }
            record_result("registry", row, save=not args.no_save)


if __name__ == "__main__":
    main()
