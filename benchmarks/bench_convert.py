"""Benchmark: converting REDCap and CHOIR files of N rows (default 100,000) to the CSV long format
(issue 11).

Run on demand: `.venv/bin/python benchmarks/bench_convert.py [ROWS] [--repeats R] [--no-save]`.
The inputs are made once and kept in the temp folder (not timed):
- REDCap: a flat export of crpsmap's project (`io.redcap.write_redcap`) of synthetic histories
  (`data.synthetic.random_histories`, seed 2024), as many patients as make about ROWS rows (patient rows,
  visits, events and treatments together);
- CHOIR: ROWS rows of the real Alter 2021 sample in tests/fixtures (300 patients, CC BY 4.0) repeated
  with fresh patient numbers, one row per patient (`--visit-date`).
Each repeat runs `crpsmap convert` in a fresh process (the command as users run it: reading, checking,
writing the long format atomically) and, in this process, the read alone (`io.formats.read_any`). The
line gives medians, rows per second and the number of patients. Prints one JSON line and appends it to
benchmarks/results/convert.jsonl.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_log import record

SEED = 2024
HERE = Path(__file__).resolve().parent
CHOIR_SAMPLE = HERE.parent / "tests" / "fixtures" / "choir" / "alter2021-sample300.csv"
VISIT_DATE = "2021-01-01"


def folder() -> Path:
    path = Path(tempfile.gettempdir()) / "crpsmap-bench-convert"
    path.mkdir(exist_ok=True)
    return path


def redcap_file(rows: int) -> tuple[Path, int]:
    """A REDCap export of about `rows` rows; returns it and its number of data rows."""
    path = folder() / f"redcap-{rows}-seed{SEED}.csv"
    if not path.exists():
        from crpsmap.data.synthetic import random_histories
        from crpsmap.io.redcap import write_redcap

        # about 11 rows a patient: the patient row and ~10 records (two treatment records share a row)
        hs = random_histories(max(1, rows // 11), seed=SEED, records_per_patient=10)
        tmp = path.with_suffix(".part")
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            write_redcap(hs, fh)
        tmp.replace(path)
    with path.open(encoding="utf-8") as fh:
        n = sum(1 for _ in fh) - 1
    return path, n


def choir_file(rows: int) -> Path:
    """`rows` rows of the Alter sample, repeated with fresh patient numbers."""
    path = folder() / f"choir-{rows}.csv"
    if path.exists():
        return path
    with CHOIR_SAMPLE.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        sample = list(reader)
    i_id = header.index("PATIENT_NUM")
    tmp = path.with_suffix(".part")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for i in range(rows):
            row = list(sample[i % len(sample)])
            row[i_id] = str(1_000_000 + i)
            w.writerow(row)
    tmp.replace(path)
    return path


def time_cli(args: list[str]) -> float:
    exe = Path(sys.executable).with_name("crpsmap")
    start = time.perf_counter()
    subprocess.run([str(exe), *args], check=True, capture_output=True)
    return time.perf_counter() - start


def time_read(path: Path, layout: str) -> tuple[float, int]:
    from crpsmap.io.formats import ReadOptions, read_any

    options = ReadOptions(visit_date=dt.date.fromisoformat(VISIT_DATE)) if layout == "choir" else None
    start = time.perf_counter()
    read = read_any(path, layout, options)
    return time.perf_counter() - start, len(read.histories)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-save", action="store_true")
    a = parser.parse_args()
    out = folder() / "out.csv"
    row: dict[str, object] = {"benchmark": "convert", "rows_requested": a.rows}
    redcap, redcap_rows = redcap_file(a.rows)
    choir = choir_file(a.rows)
    cases = {
        "redcap": (redcap, redcap_rows, ["convert", str(redcap), "--from", "redcap", "-o", str(out)]),
        "choir": (
            choir,
            a.rows,
            ["convert", str(choir), "--from", "choir", "--visit-date", VISIT_DATE, "-o", str(out)],
        ),
    }
    for name, (path, n_rows, args) in cases.items():
        cli_runs, read_runs = [], []
        patients = 0
        for _ in range(a.repeats):
            cli_runs.append(time_cli(args))
            seconds, patients = time_read(path, name)
            read_runs.append(seconds)
        cli_median, read_median = statistics.median(cli_runs), statistics.median(read_runs)
        row |= {
            f"{name}_rows": n_rows,
            f"{name}_patients": patients,
            f"{name}_file_mib": round(path.stat().st_size / 2**20, 1),
            f"{name}_convert_median_s": round(cli_median, 3),
            f"{name}_convert_runs_s": [round(x, 3) for x in cli_runs],
            f"{name}_convert_rows_per_s": round(n_rows / cli_median),
            f"{name}_read_median_s": round(read_median, 3),
            f"{name}_read_rows_per_s": round(n_rows / read_median),
        }
    row |= {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "date": dt.datetime.now().isoformat(timespec="seconds"),
    }
    record("convert", row, save=not a.no_save)


if __name__ == "__main__":
    main()
