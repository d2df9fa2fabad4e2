"""Benchmark: calibration wall time on the 800-patient, 5-year virtual clinic (issue 5).

Run on demand: `.venv/bin/python benchmarks/bench_calibrate.py [TRIALS] [WORKERS]`. Times an Optuna fit
to van Rijn 2011 of the four default free parameters (TRIALS trials, each an 800-patient clinic) on a
local Dask cluster; prints one JSON line and appends it to benchmarks/results/calibrate.jsonl.
"""

from __future__ import annotations

import platform
import sys
import time

from crpsmap.calibrate import fit, van_rijn_2011
from crpsmap.model import Sim
from crpsmap.scale import dask_client
from results_log import record


def main(trials: int = 24, workers: int = 2) -> dict[str, object]:
    targets = van_rijn_2011()
    base = Sim(years=5.0, seed=0)
    with dask_client(workers=workers) as client:
        fit(targets, base=base, n_patients=50, n_trials=workers, client=client, batch=workers)  # JIT warm-up
        t0 = time.perf_counter()
        result = fit(targets, base=base, n_patients=800, n_trials=trials, client=client, batch=4)
        wall = time.perf_counter() - t0
    row = {
        "benchmark": "calibrate",
        "patients_per_trial": 800,
        "years": 5.0,
        "trials": trials,
        "workers": workers,
        "wall_s": round(wall, 1),
        "s_per_trial": round(wall / trials, 2),
        "best_deviance": round(result.deviance, 2),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    record("calibrate", row)
    return row


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
