"""Benchmark: a 100,000-patient synthetic cohort through classification, statistics and the HTML report.

Prints one JSON line and appends it to benchmarks/results/report.jsonl. Generating the synthetic
histories is timed separately and is not part of the report time (a clinic's CSV would be read instead).
Usage: python benchmarks/bench_report.py [N] [--csv]   (--csv also times writing and reading the CSV file)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from crpsmap.data.synthetic import random_histories
from crpsmap.report.html import data_note_for, render_html
from crpsmap.spread import classify_all
from crpsmap.stats import cohort_statistics
from results_log import record as record_result


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 100_000
    t0 = time.perf_counter()
    histories = random_histories(n, seed=2024)
    t_gen = time.perf_counter() - t0
    extra: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if "--csv" in sys.argv:
            from crpsmap.io import read_csv, write_csv

            csv = Path(tmp) / "cohort.csv"
            t = time.perf_counter()
            write_csv(histories, csv)
            extra["csv_write_s"] = round(time.perf_counter() - t, 3)
            t = time.perf_counter()
            histories = read_csv(csv)
            extra["csv_read_s"] = round(time.perf_counter() - t, 3)
        t1 = time.perf_counter()
        results = list(classify_all(histories))
        t2 = time.perf_counter()
        stats = cohort_statistics(histories, results)
        t3 = time.perf_counter()
        html = render_html(
            stats, source=f"synthetic n={n}", data_note=data_note_for([h.patient_id for h in histories])
        )
        out = Path(tmp) / "report.html"
        out.write_text(html, encoding="utf-8")
        (Path(tmp) / "report.json").write_text(json.dumps(stats.to_dict()), encoding="utf-8")
        t4 = time.perf_counter()
    record = {
        "benchmark": "report",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "n_patients": n,
        "generate_s": round(t_gen, 3),
        **extra,
        "classify_s": round(t2 - t1, 3),
        "stats_s": round(t3 - t2, 3),
        "report_write_s": round(t4 - t3, 3),
        "total_s": round(t4 - t1, 3),
        **({"total_from_csv_s": round(t4 - t1 + extra["csv_read_s"], 3)} if "csv_read_s" in extra else {}),
        "cox_fitter": stats.cox.fitter,
        "cox_rows": stats.cox.n_rows,
        "html_bytes": len(html.encode()),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    record_result("report", record)


if __name__ == "__main__":
    main()
