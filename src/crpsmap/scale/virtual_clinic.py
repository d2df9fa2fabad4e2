"""A virtual clinic of any size, simulated in chunks of injuries and streamed to a CSV file.

Each Dask task screens a contiguous range of injuries and follows its cases; the driver writes the
chunks' rows in injury order as they arrive and stops at the N-th case. Only the chunks in flight are
held in memory, so a million patients need no more memory than a few chunks.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from distributed import Client, as_completed

from crpsmap.io.csv_long import csv_columns, csv_header, history_rows
from crpsmap.model import Sim
from crpsmap.model.sim import MAX_INJURIES_PER_CASE, gives_up, too_few_cases

#: the columns of a simulated cohort, fixed so that every chunk writes the same header
SIM_VALUE_COLUMNS = ("hrv_rmssd", "treatment")
SIM_EXTRA_COLUMNS = ("source", "dated")


@dataclass(frozen=True)
class ClinicRun:
    """What a chunked run produced: patients written and the injury funnel behind them."""

    patients: int  # patients written (cases with at least one clinic visit)
    cases: int  # CRPS cases found (= the N asked for)
    injuries: int  # injuries screened to find them (indices 0..injuries-1)
    chunks: int  # tasks whose cases were used

    @property
    def conversion(self) -> float:
        return self.cases / self.injuries if self.injuries else float("nan")


def chunk_rows(sim: Sim, start: int, stop: int) -> tuple[int, list[tuple[int, str]]]:
    """One task: the cases among injuries start..stop-1 and each case's CSV rows ('' if never seen)."""
    result = sim.chunk(start, stop)
    values, extra = csv_columns(result.histories)
    if not (set(values) <= set(SIM_VALUE_COLUMNS) and set(extra) <= set(SIM_EXTRA_COLUMNS)):
        raise RuntimeError(f"simulated records use columns {values + extra} outside the fixed CSV header")
    by_index = {int(h.patient_id[1:]) - 1: h for h in result.histories}
    out: list[tuple[int, str]] = []
    for case in result.cases.tolist():
        h = by_index.get(case)
        text = ""
        if h is not None:
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerows(
                history_rows(h, SIM_VALUE_COLUMNS, SIM_EXTRA_COLUMNS, provenance=True)
            )
            text = buf.getvalue()
        out.append((case, text))
    return start, out


def auto_chunk_size(n: int, workers: int) -> int:
    """Injuries per task: enough tasks to keep every worker busy, few enough to amortise the overhead.

    About 1 injury in 36 becomes CRPS with the default parameters (2.8%, docs/plausibility.md); the chunk
    size changes only speed and memory, never the cohort.
    """
    return int(min(20_000, max(500, math.ceil(36 * n / (2 * workers)))))


def simulate_clinic_csv(
    sim: Sim,
    n: int,
    dest: str | Path,
    client: Client,
    *,
    chunk_size: int | None = None,
    in_flight: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ClinicRun:
    """Write the first `n` CRPS patients of `sim` to `dest`, as Dask tasks of `chunk_size` injuries each."""
    if n < 1:
        raise ValueError("n must be at least 1")
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    if chunk_size is None:
        chunk_size = auto_chunk_size(n, workers)
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    in_flight = in_flight or workers + 1
    sim_future = client.scatter(sim, broadcast=True, hash=False)
    next_start = 0
    pending: dict[int, list[tuple[int, str]]] = {}
    write_at = 0
    cases = patients = chunks = 0
    last_case = -1

    def submit() -> object:
        nonlocal next_start
        fut = client.submit(chunk_rows, sim_future, next_start, next_start + chunk_size, pure=False)
        next_start += chunk_size
        return fut

    queue = as_completed([submit() for _ in range(in_flight)])
    with open(dest, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerow(
            csv_header(SIM_VALUE_COLUMNS, SIM_EXTRA_COLUMNS, provenance=True)
        )
        for fut in queue:
            start, rows = fut.result()
            pending[start] = rows
            while write_at in pending and cases < n:
                chunk = pending.pop(write_at)
                write_at += chunk_size
                chunks += 1
                for case, text in chunk[: n - cases]:
                    fh.write(text)
                    patients += bool(text)
                    last_case = case
                cases += min(len(chunk), n - cases)
            if progress is not None:
                progress(cases, write_at)
            if cases >= n:
                client.cancel(list(queue.futures))
                break
            if gives_up(cases, write_at, n, MAX_INJURIES_PER_CASE, None):
                raise too_few_cases(cases, write_at, MAX_INJURIES_PER_CASE)
            queue.add(submit())
    return ClinicRun(patients=patients, cases=cases, injuries=last_case + 1, chunks=chunks)
