"""Reproduce the fit that sets the simulator's defaults (van Rijn et al. 2011), and the mechanism comparison.

Run: `.venv/bin/python scripts/calibrate_defaults.py [--trials 120] [--workers 2]` (tens of minutes on
2 cores). Writes src/crpsmap/calibrate/fitted/vanrijn2011.json (best parameters, rounded to 3
significant digits, with the G statistic and the default clinic's figures) and, with --mechanisms,
src/crpsmap/calibrate/fitted/mechanisms-vanrijn2011.json. The defaults in model/params.py must equal
the fitted values: tests/calibrate/test_defaults.py checks that they do.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path

from rich.progress import Progress

from crpsmap.calibrate import fit, van_rijn_2011
from crpsmap.calibrate.distance import deviance, deviance_parts
from crpsmap.calibrate.fit import DEFAULT_FREE, apply, compact, free_params, simulate_summary
from crpsmap.calibrate.mechanisms import compare_mechanisms
from crpsmap.model import Sim
from crpsmap.scale import dask_client

FITTED = Path(__file__).resolve().parents[1] / "src" / "crpsmap" / "calibrate" / "fitted"


def round_sig(x: float, digits: int = 3) -> float:
    return 0.0 if x == 0 else round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--trials", type=int, default=120)
    ap.add_argument("--patients", type=int, default=800)
    ap.add_argument("--years", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--free", nargs="+", default=list(DEFAULT_FREE), help="parameters to fit")
    ap.add_argument("--check-patients", type=int, default=800, help="clinic size of the final check")
    ap.add_argument("--mechanisms", action="store_true", help="also compare mechanism sets")
    ap.add_argument("--mechanism-trials", type=int, default=40)
    args = ap.parse_args()

    targets = van_rijn_2011()
    base = Sim(years=args.years, seed=args.seed)
    t0 = time.perf_counter()
    with dask_client(workers=args.workers) as client, Progress() as bar:
        task = bar.add_task("fitting to van Rijn 2011", total=args.trials)
        result = fit(
            targets,
            base=base,
            free=free_params(args.free),
            n_patients=args.patients,
            n_trials=args.trials,
            seed=args.seed,
            client=client,
            progress=lambda d, n, b: bar.update(task, completed=d, description=f"fit: best G {b:.2f}"),
        )
        rounded = {k: round_sig(v) for k, v in result.best.items()}
        stats = simulate_summary(apply(base, rounded), args.check_patients)
        out = {
            "model_output": True,
            "what": "defaults fitted to van Rijn et al. 2011 (multi-limb share, second-limb patterns)",
            "script": "scripts/calibrate_defaults.py",
            "settings": vars(args),
            "best": rounded,
            "best_unrounded": result.best,
            "deviance": deviance(targets, stats),
            "deviance_parts": deviance_parts(targets, stats),
            "default_clinic": compact(stats),
            "targets": targets.to_dict(),
            "fit_seconds": round(time.perf_counter() - t0, 1),
            "trials": result.trials,
        }
        FITTED.mkdir(parents=True, exist_ok=True)
        (FITTED / "vanrijn2011.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
        print(json.dumps({k: out[k] for k in ("best", "deviance", "default_clinic", "fit_seconds")}))
        if args.mechanisms:
            t1 = time.perf_counter()
            fitted_base = apply(base, rounded)
            task2 = bar.add_task("comparing mechanisms", total=None)
            cmp = compare_mechanisms(
                targets,
                base=dataclasses.replace(fitted_base),
                n_patients=args.patients,
                n_trials=args.mechanism_trials,
                seed=args.seed,
                client=client,
                progress=lambda name, d, n: bar.update(task2, description=f"{name}: trial {d}/{n}"),
            )
            d = cmp.to_dict()
            d["script"] = "scripts/calibrate_defaults.py --mechanisms"
            d["seconds"] = round(time.perf_counter() - t1, 1)
            (FITTED / "mechanisms-vanrijn2011.json").write_text(
                json.dumps(d, indent=1) + "\n", encoding="utf-8"
            )
            print(cmp.sentence())


if __name__ == "__main__":
    main()
