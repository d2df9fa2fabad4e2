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

With --mixed (the load test of issue 12) the phases are replaced by one run per client count (e.g.
--clients 50 200) of --seconds each, on one server per database: every client (its own logged-in session
and the API token of the same clinician) loops over a weighted mix of steps, a random one each time:

  patient_list 15   GET /patients/                       api_patients 15  GET /api/patients?page=P
  patient_page 25   GET /patients/<code>/                api_patient  15  GET /api/patients/<code>
  dashboard    10   GET /dashboard/ + /dashboard/report/ api_export    5  GET /api/export/cohort.csv
  visit_save   15   GET the visit form (`visit_form`), POST it with its CSRF token as a browser does

Every request's latency and status is kept; anything but the expected status (200, or 302 for a save),
an exception or a timeout (--timeout) is an error, counted per kind, with the first few listed. One JSON
line per (database, client count): per kind n, median, p95, p99, max, errors, throughput; the server's
workers and threads, the CPU count and load average; and the load generator's own CPU share and event
loop lag, to show whether the generator (one asyncio process) was the limit.

Usage: python benchmarks/bench_registry.py [--patients 800] [--clients 50] [--requests 1000]
       [--database sqlite|postgresql|both] [--phase-seconds 120] [--think-ms 0] [--threads 2]
       [--label TEXT] [--no-save]
       python benchmarks/bench_registry.py --mixed --clients 50 200 --seconds 60 --think-ms 1000
       [--database sqlite|postgresql|both] [--timeout 30] [--mix patient_page=50,visit_save=10,...]
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
from crpsmap.registry.config import SERVER_THREADS
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
        """CPU seconds used so far by the server's processes (the report processes included)."""
        stats = self._stats()
        if stats is None:
            return None
        return sum(int(f[11]) + int(f[12]) for f in stats) / os.sysconf("SC_CLK_TCK")

    def workers(self) -> int | None:
        """The master's own children (each worker's report process is a grandchild)."""
        stats = self._stats()
        return sum(1 for f in stats if int(f[1]) == self.proc.pid) if stats else None

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


# ----------------------------------------------------------------------------------------- mixed load

MIX: list[tuple[str, int]] = [
    ("patient_list", 15),
    ("patient_page", 25),
    ("dashboard", 10),
    ("visit_save", 15),
    ("api_patients", 15),
    ("api_patient", 15),
    ("api_export", 5),
]
KINDS = [
    "patient_list",
    "patient_page",
    "dashboard_page",
    "dashboard_report",
    "visit_form",
    "visit_save",
    "api_patients",
    "api_patient",
    "api_export",
]


class MixedLoad:
    """Clients looping over the weighted MIX for a fixed time; every request's latency and status kept."""

    def __init__(
        self, base: str, codes: list[str], clients: int, api_token: str, think_ms: float, timeout: float
    ) -> None:
        self.codes = codes
        self.think = think_ms / 1000.0
        self.clients = [
            httpx.AsyncClient(
                base_url=base,
                timeout=timeout,
                limits=httpx.Limits(max_connections=1, keepalive_expiry=1.0),
            )
            for _ in range(clients)
        ]
        self.api_headers = {"Authorization": f"Bearer {api_token}"}
        self.segments = [s.slug for s in load_atlas().segments]
        self.today = dt.date.today().isoformat()
        self.pages = max(1, -(-len(codes) // 100))  # API list pages of 100
        self.reset()

    def reset(self) -> None:
        self.latency: Timings = {k: [] for k in KINDS}
        self.errors: dict[str, int] = {k: 0 for k in KINDS}
        self.first_errors: list[str] = []

    async def close(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients))

    async def login_all(self, password: str) -> None:
        # a few at a time: each login is an Argon2 hash on the server
        sem = asyncio.Semaphore(8)

        async def one(c: httpx.AsyncClient) -> None:
            async with sem:
                await login(c, password)

        await asyncio.gather(*(one(c) for c in self.clients))

    async def req(
        self, c: httpx.AsyncClient, kind: str, method: str, url: str, expect: int, **kw: Any
    ) -> httpx.Response | None:
        """One timed request; None (and an error counted) unless it answered `expect`."""
        t0 = time.perf_counter()
        try:
            r = await c.request(method, url, **kw)
            await r.aread()
        except httpx.HTTPError as exc:
            self._error(kind, f"{method} {url}: {type(exc).__name__}: {exc}")
            return None
        self.latency[kind].append(time.perf_counter() - t0)
        if r.status_code != expect:
            self._error(kind, f"{method} {url}: {r.status_code} (expected {expect}) {r.text[:120]!r}")
            return None
        return r

    def _error(self, kind: str, text: str) -> None:
        self.errors[kind] += 1
        if len(self.first_errors) < 5:
            self.first_errors.append(text)

    async def step(self, c: httpx.AsyncClient, name: str, rng: random.Random) -> None:
        code = rng.choice(self.codes)
        if name == "patient_list":
            await self.req(c, name, "GET", "/patients/", 200)
        elif name == "patient_page":
            await self.req(c, name, "GET", f"/patients/{code}/", 200)
        elif name == "dashboard":
            if await self.req(c, "dashboard_page", "GET", "/dashboard/", 200) is not None:
                await self.req(c, "dashboard_report", "GET", "/dashboard/report/", 200)
        elif name == "visit_save":
            url = f"/patients/{code}/visits/new/"
            form = await self.req(c, "visit_form", "GET", url, 200)
            if form is None:
                return
            data = {
                "csrfmiddlewaretoken": csrf_of(form.text),
                "kind": "assessment",
                "date": self.today,
                "segments": rng.sample(self.segments, rng.randint(1, 4)),
                "pain": str(rng.randrange(0, 21) / 2),
                "hrv_rmssd": str(round(rng.uniform(10, 80), 1)),
                "note": "benchmark visit",
            }
            await self.req(
                c, "visit_save", "POST", url, 302, data=data, headers={"Referer": str(c.base_url) + url}
            )
        elif name == "api_patients":
            page = rng.randint(1, self.pages)
            await self.req(c, name, "GET", f"/api/patients?page={page}", 200, headers=self.api_headers)
        elif name == "api_patient":
            await self.req(c, name, "GET", f"/api/patients/{code}", 200, headers=self.api_headers)
        elif name == "api_export":
            await self.req(c, name, "GET", "/api/export/cohort.csv", 200, headers=self.api_headers)

    async def warm_up(self) -> float:
        """One of each step, timed apart (the first patient page computes the clinic snapshot)."""
        t0 = time.perf_counter()
        rng = random.Random(0)
        for name, _w in MIX:
            await self.step(self.clients[0], name, rng)
        return time.perf_counter() - t0

    async def run(self, n: int, seconds: float, seed: int) -> dict[str, Any]:
        """The first n clients loop over the mix for `seconds`; a step under way at the end completes."""
        self.reset()
        names = [m for m, _ in MIX]
        weights = [w for _, w in MIX]
        steps = 0
        lags: list[float] = []
        t0 = time.perf_counter()
        deadline = t0 + seconds
        own0 = time.process_time()

        async def client(k: int, c: httpx.AsyncClient) -> None:
            nonlocal steps
            rng = random.Random(seed * 100_000 + k)
            if self.think:  # paced clients start spread over one think time, not all at once
                await asyncio.sleep(rng.uniform(0, self.think))
            while time.perf_counter() < deadline:
                try:
                    await self.step(c, rng.choices(names, weights)[0], rng)
                except RuntimeError as exc:  # a form without its CSRF token
                    self._error("visit_form", str(exc))
                steps += 1
                if self.think:
                    await asyncio.sleep(rng.expovariate(1.0 / self.think))

        async def lag_probe() -> None:
            # how late the event loop wakes a 20 ms sleep: the generator's own queueing
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                await asyncio.sleep(0.02)
                lags.append(time.perf_counter() - t - 0.02)

        await asyncio.gather(lag_probe(), *(client(k, c) for k, c in enumerate(self.clients[:n])))
        wall = time.perf_counter() - t0
        own = time.process_time() - own0
        lag_ms = sorted(x * 1000.0 for x in lags) or [0.0]
        return {
            "steps": steps,
            "wall_s": round(wall, 2),
            "generator_cpu_share": round(own / wall, 2),  # of one core; near 1.0 = the generator is the limit
            "loop_lag_ms": {
                "median": round(statistics.median(lag_ms), 1),
                "p95": round(pct(lag_ms, 0.95), 1),
                "max": round(lag_ms[-1], 1),
            },
        }


def pct(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return sorted_ms[min(len(sorted_ms) - 1, max(0, int(-(-q * len(sorted_ms) // 1)) - 1))]


def kind_summary(times: list[float], errors: int, wall_s: float) -> dict[str, Any]:
    ms = sorted(t * 1000.0 for t in times)
    out: dict[str, Any] = {"n": len(ms), "errors": errors}
    if ms:
        out.update(
            median_ms=round(statistics.median(ms), 1),
            p95_ms=round(pct(ms, 0.95), 1),
            p99_ms=round(pct(ms, 0.99), 1),
            max_ms=round(ms[-1], 1),
            per_s=round(len(ms) / wall_s, 2),
        )
    return out


def bench_mixed(kind: str, histories: list[PatientHistory], csv: Path, args: argparse.Namespace) -> None:
    """One server per database; one result line per client count."""
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
            token = subprocess.run(
                crpsmap_cmd()
                + ["registry", "token", "create", USER, "--days", "1", "--name", "bench"]
                + ["--database", url],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            server = Server(url, env, args.threads, Path(tmp) / "server.log")
            start_s = server.wait_healthy()
            print(f"{kind}: server up on {server.base} in {start_s:.1f} s", file=sys.stderr)
            codes = [h.patient_id for h in histories]

            async def session() -> list[dict[str, Any]]:
                assert server is not None
                load = MixedLoad(server.base, codes, max(args.clients), token, args.think_ms, args.timeout)
                rows = []
                try:
                    t0 = time.perf_counter()
                    await load.login_all(password)
                    login_s = time.perf_counter() - t0
                    warm_s = await load.warm_up()
                    for seed, n in enumerate(args.clients, start=1):
                        load_before = round(os.getloadavg()[0], 2)  # other work on the machine
                        c0, w0 = server.cpu_s(), time.perf_counter()
                        info = await load.run(n, args.seconds, seed)
                        c1, w1 = server.cpu_s(), time.perf_counter()
                        if c0 is not None and c1 is not None:
                            info["server_cpu_share"] = round((c1 - c0) / (w1 - w0), 2)  # cores busy
                        info["loadavg_1m_before"] = load_before
                        info["loadavg_1m"] = round(os.getloadavg()[0], 2)
                        kinds = {
                            k: kind_summary(load.latency[k], load.errors[k], info["wall_s"]) for k in KINDS
                        }
                        all_t = [t for k in KINDS for t in load.latency[k]]
                        errors = sum(load.errors.values())
                        rows.append(
                            {
                                "clients": n,
                                "login_all_s": round(login_s, 2),
                                "warm_up_s": round(warm_s, 2),
                                **info,
                                "requests_per_s": round(len(all_t) / info["wall_s"], 1),
                                "errors": errors,
                                "first_errors": list(load.first_errors),
                                "kinds": kinds,
                                "all": kind_summary(all_t, errors, info["wall_s"]),
                            }
                        )
                        print(f"  {kind} {n} clients: {info} errors {errors}", file=sys.stderr)
                        if errors:
                            print(f"  first errors: {load.first_errors}", file=sys.stderr)
                finally:
                    await load.close()
                return rows

            rows = asyncio.run(session())
            workers = server.workers()
            if any(r["errors"] for r in rows):
                print(f"{kind}: errors; server log tail:\n{server.log_tail()}", file=sys.stderr)
        finally:
            if server is not None:
                server.stop()
            if kind == "postgresql":
                pg_admin(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
    for r in rows:
        k50 = r["kinds"]
        row = {
            "benchmark": "registry",
            "mode": "mixed",
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "database": kind,
            **({"label": args.label} if args.label else {}),
            "n_patients": args.patients,
            "seconds": args.seconds,
            "think_ms": args.think_ms,
            "mix": dict(MIX),
            "import_s": round(import_s, 2),
            "server_start_s": round(start_s, 2),
            "server_workers": workers,
            "server_threads": args.threads,
            **r,
            "median_ms": {k: v.get("median_ms") for k, v in k50.items()},
            "p95_ms": {k: v.get("p95_ms") for k, v in k50.items()},
            "aim_p95_under_100ms": all(v.get("p95_ms", 0) < 100.0 for v in k50.values()),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "machine": platform.machine(),
        }
        record_result("registry", row, save=not args.no_save)


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
    ap.add_argument("--clients", type=int, nargs="+", default=[50], help="several only with --mixed")
    ap.add_argument("--mixed", action="store_true", help="the weighted mix for --seconds per client count")
    ap.add_argument("--seconds", type=float, default=60.0, help="--mixed: length of each run")
    ap.add_argument("--timeout", type=float, default=30.0, help="--mixed: a request slower than this fails")
    ap.add_argument(
        "--mix", default="", help="--mixed: other weights, e.g. patient_page=50,visit_save=10 (others 0)"
    )
    ap.add_argument("--requests", type=int, default=1000, help="steps per phase (all clients together)")
    ap.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--phase-seconds", type=float, default=120.0, help="time limit of each phase")
    ap.add_argument("--think-ms", type=float, default=0.0, help="mean pause of a client between steps")
    ap.add_argument("--threads", type=int, default=SERVER_THREADS, help="crpsmap serve --threads")
    ap.add_argument("--label", default="", help="a note kept in the result line (e.g. which code ran)")
    ap.add_argument("--no-save", action="store_true", help="print only; do not append to results/")
    args = ap.parse_args()
    if args.mix:
        weights = dict(MIX)
        given = dict(item.split("=") for item in args.mix.split(","))
        if not set(given) <= set(weights):
            ap.error(f"--mix: steps are {', '.join(weights)}")
        MIX[:] = [(name, int(given.get(name, 0))) for name in weights]
    if not args.mixed:
        if len(args.clients) > 1:
            ap.error("several --clients only with --mixed")
        args.clients = args.clients[0]

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
            if args.mixed:
                bench_mixed(kind, histories, csv, args)
                continue
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
