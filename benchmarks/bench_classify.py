"""Benchmark: classify 100,000 synthetic patients with ~10 records each (issue 2).

Run on demand: `.venv/bin/python benchmarks/bench_classify.py [N]`. Prints one JSON line and appends it to
benchmarks/results/classify.jsonl. Classification is timed in memory (median of repeats); reading the
same cohort from a CSV file and classifying it end to end is timed once.
"""

from __future__ import annotations

import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from crpsmap.data.synthetic import random_histories
from crpsmap.io import read_csv, write_csv
from crpsmap.spread import classify
from results_log import record


def main(n: int = 100_000, repeats: int = 3) -> dict[str, object]:
    histories = random_histories(n, seed=42, records_per_patient=10)
    n_records = sum(len(h.records) for h in histories)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        results = [classify(h) for h in histories]
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cohort.csv"
        write_csv(histories, path)
        t0 = time.perf_counter()
        loaded = read_csv(path)
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = [classify(h) for h in loaded]
        t_classify_loaded = time.perf_counter() - t0
    assert again == results
    row = {
        "benchmark": "classify",
        "patients": n,
        "records": n_records,
        "classify_median_s": round(median, 3),
        "classify_runs_s": [round(t, 3) for t in times],
        "patients_per_s": round(n / median),
        "csv_read_s": round(t_read, 2),
        "csv_read_plus_classify_patients_per_s": round(n / (t_read + t_classify_loaded)),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    record("classify", row)
    return row


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
