"""Benchmark: the cohort report of N synthetic patients (default 100,000), stage by stage.

Stages: read (the CSV long format, `crpsmap.io`), classify (`spread.classify_all`), statistics
(`stats.cohort_statistics`, including the columnar tables it reads), render (HTML and JSON). For each
stage: wall time, time in the cyclic garbage collector, peak resident memory during the stage (RSS,
sampled every 20 ms) and RSS at its end. Prints one JSON line and appends it to
benchmarks/results/report.jsonl.

The synthetic CSV (`data.synthetic.random_histories`, seed 2024, written 100,000 patients at a time) is
made once and kept in the temp folder; making it is not timed.

Modes:
  --whole    (default up to 200,000 patients) what `crpsmap report` does: the whole file read into
             PatientHistory objects, classified, then the statistics and the report.
  --chunked  (default above) the same reader on pieces of --chunk patients (default 50,000); each piece
             is classified and reduced to the statistics' tables (PatientTable, ClassificationTable)
             and dropped, so no PatientHistory of the whole cohort is held. Read, classify and table
             times are summed over the pieces; the statistics then run on the tables.

  --cli      the product itself: `crpsmap report FILE -o ... --json ...` as a subprocess (it reads a
             big file in pieces on one process per core); wall time and the peak of the summed PSS
             (shared pages counted once) of the command and its worker processes (sampled every
             50 ms). No stage split.

Usage: python benchmarks/bench_report.py [N] [--whole | --chunked | --cli] [--chunk K] [--profile]
       [--gc-freeze] [--max-rss-gib G] [--label TEXT] [--no-save]
--profile prints the statistics stage's cProfile (top 30, cumulative) to stderr. --gc-freeze calls
gc.freeze() after each read, so that the collector never walks the objects just read (what a reader
could do itself; the line then says "gc_freeze": true). A stage whose RSS passes --max-rss-gib
(default 12) is stopped and the line records where it stopped. --label puts a note in the line (e.g.
which code ran, for a baseline).
"""

from __future__ import annotations

import _thread
import datetime as dt
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from results_log import record as record_result

SEED = 2024
GEN_CHUNK = 100_000
GIB = 2**30


class Stages:
    """Wall time, GC time and RSS of named stages (RSS sampled by a thread)."""

    def __init__(self, max_rss: float) -> None:
        self.proc = psutil.Process()
        self.max_rss = max_rss
        self.rows: dict[str, dict[str, float]] = {}
        self.current: str | None = None
        self.peak = 0
        self.over = False
        self._gc_start = 0.0
        self._gc_total = 0.0
        self._stop = threading.Event()
        gc.callbacks.append(self._gc)
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self._gc_total += time.perf_counter() - self._gc_start

    def _poll(self) -> None:
        while not self._stop.is_set():
            rss = self.proc.memory_info().rss
            self.peak = max(self.peak, rss)
            if rss > self.max_rss and not self.over:
                self.over = True
                _thread.interrupt_main()
            time.sleep(0.02)

    def start(self, name: str) -> None:
        self.current = name
        self.peak = self.proc.memory_info().rss
        row = self.rows.setdefault(name, {"s": 0.0, "gc_s": 0.0, "peak_rss_gib": 0.0})
        row["_t"] = time.perf_counter()
        row["_gc"] = self._gc_total

    def stop(self) -> None:
        assert self.current is not None
        row = self.rows[self.current]
        row["s"] += time.perf_counter() - row.pop("_t")
        row["gc_s"] += self._gc_total - row.pop("_gc")
        row["peak_rss_gib"] = max(row["peak_rss_gib"], max(self.peak, self.proc.memory_info().rss) / GIB)
        row["end_rss_gib"] = self.proc.memory_info().rss / GIB
        self.current = None

    def close(self) -> dict[str, Any]:
        self._stop.set()
        gc.callbacks.remove(self._gc)
        out: dict[str, Any] = {}
        for name, row in self.rows.items():
            out[f"{name}_s"] = round(row["s"], 3)
            out[f"{name}_gc_s"] = round(row["gc_s"], 3)
            out[f"{name}_peak_rss_gib"] = round(row["peak_rss_gib"], 3)
            if "end_rss_gib" in row:
                out[f"{name}_end_rss_gib"] = round(row["end_rss_gib"], 3)
        return out


def cohort_csv(n: int) -> Path:
    """The cached synthetic CSV of n patients (made on first use, GEN_CHUNK patients at a time)."""
    from crpsmap.data.synthetic import random_histories
    from crpsmap.io import write_csv_text

    folder = Path(tempfile.gettempdir()) / "crpsmap-bench"
    folder.mkdir(exist_ok=True)
    path = folder / f"synthetic-{n}-seed{SEED}.csv"
    if path.exists():
        return path
    t = time.perf_counter()
    part = path.with_suffix(".part")
    header = None
    with part.open("w", encoding="utf-8", newline="") as fh:
        for k, start in enumerate(range(0, n, GEN_CHUNK)):
            m = min(GEN_CHUNK, n - start)
            if n <= GEN_CHUNK:
                histories = random_histories(m, seed=SEED)
            else:
                histories = random_histories(m, seed=SEED + k, prefix=f"SYN{k}-")
            text = write_csv_text(histories)
            head, _, body = text.partition("\n")
            if header is None:
                header = head
                fh.write(head + "\n")
            elif head != header:
                raise RuntimeError(f"chunk {k} has another header: {head}")
            fh.write(body)
            print(
                f"  wrote {start + m} patients ({time.perf_counter() - t:.0f} s)", file=sys.stderr, flush=True
            )
    part.rename(path)
    return path


def patient_chunks(path: Path, chunk: int) -> Iterator[str]:
    """The CSV text of `chunk` patients at a time (rows of a patient are adjacent in these files)."""
    with path.open("r", encoding="utf-8", newline="") as fh:
        header = fh.readline()
        lines: list[str] = []
        n = 0
        last = None
        for line in fh:
            pid = line.split(",", 1)[0]
            if pid != last:
                if n == chunk:
                    yield header + "".join(lines)
                    lines, n = [], 0
                n += 1
                last = pid
            lines.append(line)
        if lines:
            yield header + "".join(lines)


def run(
    path: Path,
    mode: str,
    chunk: int = 50_000,
    profile: bool = False,
    max_rss_gib: float = 12.0,
    freeze: bool = False,
) -> dict[str, Any]:
    """The four stages on the CSV at `path`: stage times, GC times and memory, and a few outputs."""
    from crpsmap.io import read_csv, read_csv_text
    from crpsmap.report.html import render_html
    from crpsmap.spread import classify_all
    from crpsmap.stats import cohort_statistics

    st = Stages(max_rss_gib * GIB)
    row: dict[str, Any] = {}
    stage = "read"
    try:
        if mode == "whole":
            st.start("read")
            histories = read_csv(path)
            if freeze:
                gc.freeze()
            st.stop()
            stage = "classify"
            st.start("classify")
            results = list(classify_all(histories))
            st.stop()
            source: Any = histories
        else:
            from crpsmap.stats import ClassificationTable, PatientTable

            patients: list[PatientTable] = []
            tables: list[ClassificationTable] = []
            for text in patient_chunks(path, chunk):
                stage = "read"
                st.start("read")
                piece = read_csv_text(text, name=path.name)
                del text
                if freeze:
                    gc.freeze()
                st.stop()
                stage = "classify"
                st.start("classify")
                piece_results = list(classify_all(piece))
                st.stop()
                stage = "statistics"
                st.start("statistics")
                patients.append(PatientTable.from_histories(piece))
                tables.append(ClassificationTable.from_classifications(piece_results))
                st.stop()
                del piece, piece_results
            source = PatientTable.concat(patients)
            results = ClassificationTable.concat(tables)  # type: ignore[assignment]
            del patients, tables
        stage = "statistics"
        st.start("statistics")
        if profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
        stats = cohort_statistics(source, results)
        if profile:
            prof.disable()
            pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
        st.stop()
        stage = "render"
        st.start("render")
        html = render_html(stats, source=path.name, data_note="benchmark data")
        data = json.dumps(stats.to_dict())
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "report.html").write_text(html, encoding="utf-8")
            (Path(tmp) / "report.json").write_text(data, encoding="utf-8")
        st.stop()
        row.update(
            cox_fitter=stats.cox.fitter,
            cox_rows=stats.cox.n_rows,
            html_bytes=len(html.encode()),
            any_spread=stats.figures.any_spread.count,
        )
    except KeyboardInterrupt:
        if not st.over:
            raise
        row["stopped"] = f"{stage}: RSS above {max_rss_gib} GiB"
    stages = st.close()
    total = sum(v for k, v in stages.items() if k.endswith("_s") and not k.endswith("_gc_s"))
    return {**stages, "total_s": round(total, 3), **row}


def run_cli(path: Path) -> dict[str, Any]:
    """`crpsmap report` on the file, timed from outside, with the peak RSS of its whole process tree."""
    exe = Path(sys.executable).with_name("crpsmap")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(exe), "report", str(path), "-o", f"{tmp}/r.html", "--json", f"{tmp}/r.json"]
        t0 = time.perf_counter()
        proc = psutil.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        peak = 0
        while proc.poll() is None:
            total = 0
            try:
                for q in [proc, *proc.children(recursive=True)]:
                    total += q.memory_full_info().pss  # (shared pages counted once)
            except psutil.Error:
                pass
            peak = max(peak, total)
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        err = proc.stderr.read().decode() if proc.stderr else ""
        if proc.returncode != 0:
            raise RuntimeError(f"crpsmap report failed ({proc.returncode}): {err[-500:]}")
        stats = json.loads(Path(tmp, "r.json").read_text(encoding="utf-8"))
    return {
        "total_s": round(wall, 3),
        "peak_pss_tree_gib": round(peak / GIB, 3),
        "any_spread": stats["any_spread"]["count"],
        "command": "crpsmap report FILE -o r.html --json r.json",
    }


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["--make-csv"]:
        print(cohort_csv(int(argv[1])))
        return
    args = [a for a in argv if not a.startswith("--")]

    def opt(name: str, default: str) -> str:
        if name in argv:
            value = argv[argv.index(name) + 1]
            args.remove(value)
            return value
        return default

    chunk = int(opt("--chunk", "50000"))
    max_rss = float(opt("--max-rss-gib", "12"))
    label = opt("--label", "")
    n = int(args[0]) if args else 100_000
    mode = "whole" if "--whole" in argv else "chunked" if "--chunked" in argv else None
    mode = "cli" if "--cli" in argv else mode
    mode = mode or ("whole" if n <= 200_000 else "chunked")
    # made in a child process, so that making it does not count in this process's peak memory
    subprocess.run([sys.executable, __file__, "--make-csv", str(n)], check=True, stdout=subprocess.DEVNULL)
    freeze = "--gc-freeze" in argv
    if mode == "cli":
        out = run_cli(cohort_csv(n))
    else:
        out = run(cohort_csv(n), mode, chunk, "--profile" in argv, max_rss, freeze)
    line = {
        "benchmark": "report",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "n_patients": n,
        "mode": mode,
        **({"chunk": chunk} if mode == "chunked" else {}),
        **({"pieces_rows": _piece_rows()} if mode == "cli" else {}),
        **({"gc_freeze": True} if freeze else {}),
        **({"label": label} if label else {}),
        **out,
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3),
        "csv_bytes": cohort_csv(n).stat().st_size,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    record_result("report", line, save="--no-save" not in argv)


def _piece_rows() -> int:
    from crpsmap.io.pieces import PIECE_ROWS

    return PIECE_ROWS


if __name__ == "__main__":
    main()
