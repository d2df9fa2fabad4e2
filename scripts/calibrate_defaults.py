"""Reproduce the fit that sets the simulator's defaults (van Rijn et al. 2011), and the mechanism comparison.

Run (the kept settings): `.venv/bin/python scripts/calibrate_defaults.py --trials 150 --patients 2400`
(about 20 minutes on 2 cores), then copy `best` into model/params.py; then
`.venv/bin/python scripts/calibrate_defaults.py --mechanisms-only` for the mechanism comparison.
Writes src/crpsmap/calibrate/fitted/vanrijn2011.json (best parameters, rounded to 3 significant digits,
with the G statistic, the default clinic's figures, the validation of the best trials on fresh virtual
patients and the fitted clinic under seeds 0-5) and mechanisms-vanrijn2011.json. The defaults in
model/params.py must equal the fitted values: tests/calibrate/test_defaults.py checks that they do.
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
from crpsmap.calibrate.distance import deviance, deviance_parts, inside_intervals
from crpsmap.calibrate.fit import DEFAULT_FREE, SEARCH_RANGES, apply, compact, free_params, simulate_summary
from crpsmap.calibrate.mechanisms import compare_mechanisms
from crpsmap.calibrate.targets import Targets
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
    ap.add_argument("--validate-top", type=int, default=10, help="re-judge this many best trials ...")
    ap.add_argument(
        "--validate-seeds", type=int, nargs="*", default=[1, 2, 3], help="... on these fresh seeds"
    )
    ap.add_argument("--check-patients", type=int, default=800, help="clinic size of the final check")
    ap.add_argument("--mechanisms", action="store_true", help="also compare mechanism sets")
    ap.add_argument("--mechanism-trials", type=int, default=40)
    ap.add_argument("--mechanism-patients", type=int, default=800, help="clinic size per mechanism trial")
    ap.add_argument(
        "--mechanisms-only",
        action="store_true",
        help="skip the fit: compare mechanisms starting from the current defaults (= the kept fit)",
    )
    args = ap.parse_args()
    if args.mechanisms_only:
        compare(args, Sim(years=args.years, seed=args.seed))
        return

    targets = van_rijn_2011()
    base = Sim(years=args.years, seed=args.seed)
    t0 = time.perf_counter()
    with dask_client(workers=args.workers) as client, Progress() as bar:
        task = bar.add_task("fitting to van Rijn 2011", total=args.trials)
        result = fit(
            targets,
            base=base,
            free=free_params(args.free, SEARCH_RANGES),
            n_patients=args.patients,
            n_trials=args.trials,
            seed=args.seed,
            client=client,
            progress=lambda d, n, b: bar.update(task, completed=d, description=f"fit: best G {b:.2f}"),
            validate_top=args.validate_top,
            validate_seeds=args.validate_seeds,
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
            "validation": result.validation,
            "seeds_check": seeds_check(base, rounded, targets, args.check_patients),
        }
        FITTED.mkdir(parents=True, exist_ok=True)
        (FITTED / "vanrijn2011.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
        print(json.dumps({k: out[k] for k in ("best", "deviance", "default_clinic", "fit_seconds")}))
    if args.mechanisms:
        compare(args, apply(base, rounded))


def seeds_check(
    base: Sim, theta: dict[str, float], targets: Targets, n: int, seeds: int = 6
) -> list[dict[str, object]]:
    """The fitted clinic with seeds 0..seeds-1: is each inside every van Rijn interval?"""
    out = []
    for s in range(seeds):
        st = simulate_summary(dataclasses.replace(apply(base, theta), seed=s), n)
        out.append({"seed": s, **compact(st), "inside": inside_intervals(targets, st)})
    return out


def compare(args: argparse.Namespace, fitted_base: Sim) -> None:
    """Compare the mechanism sets, each refitted from `fitted_base`, and bundle the result."""
    targets = van_rijn_2011()
    t1 = time.perf_counter()
    with dask_client(workers=args.workers) as client, Progress() as bar:
        task2 = bar.add_task("comparing mechanisms", total=None)
        cmp = compare_mechanisms(
            targets,
            base=fitted_base,
            n_patients=args.mechanism_patients,
            n_trials=args.mechanism_trials,
            seed=args.seed,
            client=client,
            progress=lambda name, d, n: bar.update(task2, description=f"{name}: trial {d}/{n}"),
        )
    d = cmp.to_dict()
    d["script"] = "scripts/calibrate_defaults.py --mechanisms"
    d["settings"] = vars(args)
    d["seconds"] = round(time.perf_counter() - t1, 1)
    FITTED.mkdir(parents=True, exist_ok=True)
    (FITTED / "mechanisms-vanrijn2011.json").write_text(json.dumps(d, indent=1) + "\n", encoding="utf-8")
    print(cmp.sentence())


if __name__ == "__main__":
    main()
