"""Benchmark of the simulator's dynamics: node-days per second of the Numba kernel and the NumPy reference.

Run on demand: `.venv/bin/python benchmarks/bench_model.py [--patients N] [--days D] [--repeats R]`.
Prints one JSON line and appends it to benchmarks/results/model.jsonl. Both backends run the default
model and time step on the same virtual patients in the same process; JIT compilation is excluded
(one warm-up call), and the figure is the median of the repeats.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import time

import numba
import numpy as np

from crpsmap.model import CohortParams, ModelParams
from crpsmap.model.cohort import draw_patients
from crpsmap.model.kernel import run_kernel
from crpsmap.model.network import N_NODES, coupling, topology
from crpsmap.model.reference import RunConfig, run_reference
from results_log import record


def _time(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patients", type=int, default=4000)
    ap.add_argument("--days", type=int, default=365, help="days simulated by the kernel")
    ap.add_argument("--ref-days", type=int, default=30, help="days simulated by the (slow) reference")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()

    params = ModelParams()
    cfg_k = RunConfig(n_days=args.days, seed=1)
    cfg_r = RunConfig(n_days=args.ref_days, seed=1)
    inp, _ = draw_patients(1, np.arange(args.patients), CohortParams(), 5 * 365, cfg_k.steps_per_day)
    net, topo = coupling(params), topology()
    run_kernel(params, RunConfig(n_days=2, seed=1), inp.take(np.arange(4)), net=net, topo=topo)  # compile
    t_k = _time(lambda: run_kernel(params, cfg_k, inp, net=net, topo=topo), args.repeats)
    t_r = _time(lambda: run_reference(params, cfg_r, inp, net=net, topo=topo), max(1, args.repeats // 2))
    nd_k = args.patients * N_NODES * args.days / t_k
    nd_r = args.patients * N_NODES * args.ref_days / t_r
    rec = {
        "benchmark": "model_dynamics",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "kernel_node_days_per_s": round(nd_k),
        "reference_node_days_per_s": round(nd_r),
        "ratio": round(nd_k / nd_r, 1),
        "patients": args.patients,
        "nodes": N_NODES,
        "days_kernel": args.days,
        "days_reference": args.ref_days,
        "dt": cfg_k.dt,
        "repeats": args.repeats,
        "kernel_seconds": round(t_k, 3),
        "reference_seconds": round(t_r, 3),
        "threads": numba.get_num_threads(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "numba": numba.__version__,
        "numpy": np.__version__,
    }
    record("model", rec, save=not args.no_save)


if __name__ == "__main__":
    main()
