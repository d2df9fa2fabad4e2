"""Benchmark: a virtual clinic of N patients x 5 years (default 1,000,000) in Dask chunks (issue 5).

Run on demand: `.venv/bin/python benchmarks/bench_million.py [N] [CHUNK] [WORKERS] [--report]`. Streams
the cohort to a CSV file in a temporary folder, polls the resident memory of the whole process tree
(driver, scheduler, workers) every second, prints one JSON line and appends it to
benchmarks/results/million.jsonl. Memory is bounded by the chunks in flight, not by N.

--report also times the cohort report of the virtual clinic, stage by stage (read, classify,
statistics, render; bench_report.py's chunked mode, in this process after the simulation), under
"report" in the line.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from crpsmap.model import Sim
from crpsmap.scale import dask_client, simulate_clinic_csv
from results_log import record


def tree_rss() -> int:
    me = psutil.Process()
    total = 0
    for p in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def main(
    n: int = 1_000_000, chunk: int = 20_000, workers: int = 2, report: bool = False
) -> dict[str, object]:
    peak = 0
    stop = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss())
            time.sleep(1.0)

    sim = Sim(years=5.0, seed=0)
    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    report_row = None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cohort.csv"
        with dask_client(workers=workers) as client:
            t0 = time.perf_counter()
            last = [t0]

            def progress(cases: int, injuries: int) -> None:
                if time.perf_counter() - last[0] > 60:
                    last[0] = time.perf_counter()
                    print(
                        f"  {cases} patients after {time.perf_counter() - t0:.0f} s",
                        file=sys.stderr,
                        flush=True,
                    )

            run = simulate_clinic_csv(sim, n, out, client, chunk_size=chunk, progress=progress)
            wall = time.perf_counter() - t0
            size = out.stat().st_size
        stop.set()
        watcher.join()
        if report:  # after the workers are gone: the report runs in this process alone
            from bench_report import run as report_run

            report_row = report_run(out, "chunked")
    row = {
        "benchmark": "million",
        "patients": run.patients,
        "cases": run.cases,
        "injuries_screened": run.injuries,
        "years": 5.0,
        "chunk_injuries": chunk,
        "workers": workers,
        "wall_s": round(wall, 1),
        "patients_per_s": round(run.patients / wall, 1),
        "peak_rss_gib_all_processes": round(peak / 2**30, 2),
        "csv_gib": round(size / 2**30, 2),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        **({"report": report_row} if report_row is not None else {}),
    }
    record("million", row)
    return row


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:] if not a.startswith("--")), report="--report" in sys.argv)
