"""Benchmark: reading a CSV long-format file of N rows (default 1,000,000) into patient histories, beside
`pandas.read_csv` of the same file (issue 10, section 6).

Run on demand: `.venv/bin/python benchmarks/bench_import.py [ROWS] [--repeats R] [--legacy] [--no-save]`.
The file (synthetic histories, `data.synthetic.random_histories`, 10 records a patient, seed 2024, as
`write_csv` writes them) is made once and kept in the temp folder; making it is not timed. Each run is a
fresh process that imports everything first and then times one read only: `crpsmap.io.read_csv_result`
(validated PatientHistory objects) and `pandas.read_csv` (a DataFrame, types inferred), alternately, R
times each (default 3); our reader also once more per repeat with the csv module as its tokenizer (what a
file with quoted fields gets; this file has none, so pandas splits it). The line gives the medians, rows
per second, the ratios, and the peak resident
memory of each run's process above what it held before the read (per row too). It also times a small file
(the bundled example cohort) in this process, and with --legacy the reader before the columnar one (once;
tests/test_io_legacy.py). Prints one JSON line and appends it to benchmarks/results/import.jsonl.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_log import record

SEED = 2024
HERE = Path(__file__).resolve().parent


def cohort_file(rows: int) -> Path:
    """The synthetic file of `rows` rows, made once (in pieces of 50,000 patients) and kept."""
    folder = Path(tempfile.gettempdir()) / "crpsmap-bench-import"
    folder.mkdir(exist_ok=True)
    path = folder / f"synthetic-{rows}-seed{SEED}.csv"
    if path.exists():
        return path
    from crpsmap.data.synthetic import random_histories
    from crpsmap.io.csv_long import csv_columns, csv_header, history_rows, needs_provenance

    patients = rows // 10
    tmp = path.with_suffix(".part")
    import csv

    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        done = 0
        header: tuple[list[str], list[str], bool] | None = None
        while done < patients:
            n = min(50_000, patients - done)
            hs = random_histories(
                n, seed=SEED + done, records_per_patient=10, prefix=f"S{done // 50_000:03d}-"
            )
            if header is None:
                values, extra = csv_columns(hs)
                header = (values, extra, needs_provenance(hs, extra))
                writer.writerow(csv_header(values, extra, provenance=header[2]))
            for h in hs:
                writer.writerows(history_rows(h, header[0], header[1], provenance=header[2]))
            done += n
            print(f"  made {done:,} of {patients:,} patients", file=sys.stderr, flush=True)
    tmp.replace(path)
    return path


def child(which: str, path: str) -> None:
    """One timed read in this (fresh) process; prints a JSON line."""
    import gc

    import pandas as pd

    import crpsmap.io

    sys.path.insert(0, str(HERE.parent / "tests"))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    gc.collect()
    t0 = time.perf_counter()
    if which in ("ours", "ours-csv"):
        if which == "ours-csv":  # the csv module's tokenizer, which files with quoted fields get
            from crpsmap.io import reader

            reader.PANDAS_MIN_BYTES = 1 << 62
        result = crpsmap.io.read_csv_result(path)
        rows = sum(len(h.records) for h in result.histories)
        detail = {
            "patients": len(result.histories),
            "warnings": len(result.warnings),
            "encoding": result.encoding,
        }
    elif which == "legacy":
        import test_io_legacy as io_legacy

        histories = io_legacy.read_csv(path)
        rows = sum(len(h.records) for h in histories)
        detail = {"patients": len(histories)}
    else:
        frame = pd.read_csv(path)
        rows = len(frame)
        detail = {"columns": len(frame.columns)}
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {"seconds": seconds, "rows": rows, "rss_before_kib": before, "rss_peak_kib": after, **detail}
        )
    )


def run(which: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", which, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def small_file_ms(repeats: int = 30) -> tuple[int, float]:
    from crpsmap.data import example_cohort_path
    from crpsmap.io import read_csv_result

    raw = example_cohort_path().read_bytes()
    rows = raw.count(b"\n") - 1
    read_csv_result(raw, name="example.csv")  # (atlas and parsers loaded once per process)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        read_csv_result(raw, name="example.csv")
        times.append(time.perf_counter() - t0)
    return rows, statistics.median(times) * 1000


def main() -> dict[str, object]:
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--legacy", action="store_true")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    # made in another process: a child forked from a large process would inherit its peak memory
    subprocess.run([sys.executable, __file__, "--make", str(args.rows)], check=True)
    path = cohort_file(args.rows)
    ours, pandas, ours_csv = [], [], []
    for _ in range(args.repeats):
        ours.append(run("ours", path))
        pandas.append(run("pandas", path))
        ours_csv.append(run("ours-csv", path))
    legacy = run("legacy", path) if args.legacy else None
    small_rows, small_ms = small_file_ms()

    def median(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    def peak_mib(runs: list[dict[str, float]]) -> float:
        return statistics.median((r["rss_peak_kib"] - r["rss_before_kib"]) / 1024 for r in runs)

    rows = int(ours[0]["rows"])
    t_ours, t_pandas = median(ours, "seconds"), median(pandas, "seconds")
    row: dict[str, object] = {
        "benchmark": "import",
        "rows": rows,
        "patients": ours[0]["patients"],
        "file_mib": round(path.stat().st_size / 2**20, 1),
        "ours_median_s": round(t_ours, 3),
        "ours_runs_s": [round(r["seconds"], 3) for r in ours],
        "ours_rows_per_s": round(rows / t_ours),
        "ours_peak_rss_mib": round(peak_mib(ours), 1),
        "ours_rss_bytes_per_row": round(peak_mib(ours) * 2**20 / rows),
        "ours_csv_module_median_s": round(median(ours_csv, "seconds"), 3),
        "ours_csv_module_ratio_to_pandas": round(median(ours_csv, "seconds") / t_pandas, 2),
        "pandas_median_s": round(t_pandas, 3),
        "pandas_runs_s": [round(r["seconds"], 3) for r in pandas],
        "pandas_rows_per_s": round(rows / t_pandas),
        "pandas_peak_rss_mib": round(peak_mib(pandas), 1),
        "ratio_to_pandas": round(t_ours / t_pandas, 2),
        "small_file_rows": small_rows,
        "small_file_ms": round(small_ms, 2),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "date": dt.datetime.now().strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if legacy is not None:
        row["legacy_s"] = round(legacy["seconds"], 3)
        row["legacy_rows_per_s"] = round(rows / legacy["seconds"])
        row["legacy_peak_rss_mib"] = round((legacy["rss_peak_kib"] - legacy["rss_before_kib"]) / 1024, 1)
    record("import", row, save=not args.no_save)
    return row


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "--make":
        cohort_file(int(sys.argv[2]))
    else:
        main()
