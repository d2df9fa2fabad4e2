"""Reproduce the fit that sets the simulator's defaults (van Rijn et al. 2011), or check the defaults.

Run (the kept settings): `.venv/bin/python scripts/calibrate_defaults.py --trials 150 --patients 2400`
(about 20 minutes on 2 cores), then copy `best` into model/params.py. Writes (atomically)
src/crpsmap/calibrate/fitted/vanrijn2011.json (best parameters, rounded to 3 significant digits, with
the G statistic, the default clinic's figures, the validation of the best trials on fresh virtual
patients and the fitted clinic under seeds 0-5). The defaults in model/params.py must equal the fitted
values: tests/calibrate/test_defaults.py checks that they do.

`--range NAME LOW HIGH` (repeatable) replaces one free parameter's search box (SEARCH_RANGES, or the
documented range of a parameter that has none); `--output FILE` writes a candidate elsewhere, e.g. the
refit at the sourced conversion band with the fracture drive free (docs/calibration.md):
    .venv/bin/python scripts/calibrate_defaults.py --trials 120 --patients 2400 \
        --free w_lr w_desc lat beta_bbb gain_mu trauma_rate drive_fracture --range drive_fracture 0.6 1.0 \
        --output src/crpsmap/calibrate/fitted/candidate-sourced-conversion.json

`--check-only` fits nothing: it prints (JSON) the current defaults' objective, G, conversion (overall,
among fractures, among other injuries; calibrate/conversion.py) and the four van Rijn intervals for
seeds 0 .. --check-seeds - 1 of --check-patients virtual patients, e.g. after the plausible conversion
band changed (docs/calibration.md):
    nice -n 19 env NUMBA_NUM_THREADS=1 .venv/bin/python scripts/calibrate_defaults.py --check-only \
        --check-seeds 5 --check-patients 400

`--rejudge` fits nothing either: it judges the kept fit (`best` of --output) again with today's model
structure (e.g. after the structure of the defaults changed) and rewrites its deviance, default clinic
and seed check; the earlier judgement is kept under `judged_before` with the structure it was made in:
    nice -n 5 env NUMBA_NUM_THREADS=1 .venv/bin/python scripts/calibrate_defaults.py --rejudge

The mechanism comparison is scripts/compare_mechanisms.py (this script's former --mechanisms and
--mechanisms-only options ran the old comparison, which started every explanation from this fit; they
were removed so that one script makes the bundled comparison).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.progress import Progress

from crpsmap.calibrate import fit, van_rijn_2011
from crpsmap.calibrate.conversion import clinic_conversion
from crpsmap.calibrate.distance import (
    PLAUSIBLE_CONVERSION,
    conversion_penalty,
    deviance,
    deviance_parts,
    inside_intervals,
    objective,
)
from crpsmap.calibrate.fit import (
    DEFAULT_FREE,
    EARLIER_STRUCTURE,
    SEARCH_RANGES,
    add_range_option,
    apply,
    compact,
    free_params,
    model_structure,
    simulate_summary,
    with_ranges,
)
from crpsmap.calibrate.targets import Targets
from crpsmap.model import Sim
from crpsmap.outputs import atomic_write_text
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
    add_range_option(ap)
    ap.add_argument(
        "--output", type=Path, default=FITTED / "vanrijn2011.json", help="where the fit is written"
    )
    ap.add_argument("--validate-top", type=int, default=10, help="re-judge this many best trials ...")
    ap.add_argument(
        "--validate-seeds", type=int, nargs="*", default=[1, 2, 3], help="... on these fresh seeds"
    )
    ap.add_argument("--check-patients", type=int, default=800, help="clinic size of the final check")
    ap.add_argument(
        "--check-only",
        action="store_true",
        help="fit nothing: print the current defaults' objective and conversion for --check-seeds seeds",
    )
    ap.add_argument("--check-seeds", type=int, default=5, help="seeds 0..N-1 of --check-only")
    ap.add_argument(
        "--rejudge",
        action="store_true",
        help="fit nothing: judge the kept fit of --output again with today's model structure",
    )
    args = ap.parse_args()
    if args.rejudge:
        rejudge(args.output, args.years, args.seed)
        return
    if args.check_only:
        t0 = time.perf_counter()
        rows = check_defaults(Sim(years=args.years), van_rijn_2011(), args.check_patients, args.check_seeds)
        print(json.dumps(summarise_check(rows, time.perf_counter() - t0), indent=1))
        return

    targets = van_rijn_2011()
    base = Sim(years=args.years, seed=args.seed)
    t0 = time.perf_counter()
    with dask_client(workers=args.workers) as client, Progress() as bar:
        task = bar.add_task("fitting to van Rijn 2011", total=args.trials)
        result = fit(
            targets,
            base=base,
            free=free_params(args.free, with_ranges(SEARCH_RANGES, args.range)),
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
            "settings": {**vars(args), "output": str(args.output)},
            "best": rounded,
            "best_unrounded": result.best,
            "deviance": deviance(targets, stats),
            "deviance_parts": deviance_parts(targets, stats),
            "default_clinic": compact(stats),
            "targets": targets.to_dict(),
            "fit_seconds": round(time.perf_counter() - t0, 1),
            "structure": model_structure(base),
            "trials": result.trials,
            "validation": result.validation,
            "seeds_check": seeds_check(base, rounded, targets, args.check_patients),
        }
        args.output.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.output, json.dumps(out, indent=1) + "\n")
        print(json.dumps({k: out[k] for k in ("best", "deviance", "default_clinic", "fit_seconds")}))


def rejudge(path: Path, years: float, seed: int) -> None:
    """Judge the fit in `path` again with today's structure; the fit itself (best, trials) is unchanged."""
    old = json.loads(path.read_text(encoding="utf-8"))
    targets, base = van_rijn_2011(), Sim(years=years, seed=seed)
    n = int(old["settings"]["check_patients"])
    t0 = time.perf_counter()
    stats = simulate_summary(apply(base, old["best"]), n)
    keys = ("deviance", "deviance_parts", "default_clinic", "seeds_check")
    before = {k: old[k] for k in keys if k in old}
    before["structure"] = old.get("structure", EARLIER_STRUCTURE)
    if before["structure"] == model_structure(base) and "judged_before" in old:
        before = old["judged_before"]  # judged again in the same structure: keep the earlier structure's
    out = {
        **old,
        "structure": model_structure(base),
        "deviance": deviance(targets, stats),
        "deviance_parts": deviance_parts(targets, stats),
        "default_clinic": compact(stats),
        "seeds_check": seeds_check(base, old["best"], targets, n),
        "judged_before": before,
        "rejudge_seconds": round(time.perf_counter() - t0, 1),
    }
    atomic_write_text(path, json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("structure", "deviance", "default_clinic", "rejudge_seconds")}))


def seeds_check(
    base: Sim, theta: dict[str, float], targets: Targets, n: int, seeds: int = 6
) -> list[dict[str, object]]:
    """The fitted clinic with seeds 0..seeds-1: is each inside every van Rijn interval?"""
    out = []
    for s in range(seeds):
        st = simulate_summary(dataclasses.replace(apply(base, theta), seed=s), n)
        out.append({"seed": s, **compact(st), "inside": inside_intervals(targets, st)})
    return out


def check_defaults(base: Sim, targets: Targets, n: int, seeds: int) -> list[dict[str, Any]]:
    """The defaults (`base`) with seeds 0..seeds-1: objective (G + interval + conversion penalty at the
    current PLAUSIBLE_CONVERSION), G, the conversion split and the four van Rijn intervals. Model output."""
    rows = []
    for s in range(seeds):
        sim = dataclasses.replace(base, seed=s)
        st = simulate_summary(sim, n)
        conv = clinic_conversion(sim, n)  # the same screening again (deterministic), split by injury kind
        if conv.overall.proportion != st["conversion"]:
            raise RuntimeError("the conversion split does not match the clinic's funnel")
        rows.append(
            {
                "seed": s,
                "patients": n,
                "objective": objective(targets, st),
                "deviance": deviance(targets, st),
                "conversion_penalty": conversion_penalty(st["conversion"]),
                **compact(st),
                "conversion_split": conv.to_dict(),
                "inside": inside_intervals(targets, st),
            }
        )
    return rows


def summarise_check(rows: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """Means and ranges over seeds of what `check_defaults` measured."""

    def span(get: Callable[[dict[str, Any]], Any]) -> dict[str, float]:
        vals = [float(get(r)) for r in rows]
        return {"mean": sum(vals) / len(vals), "min": min(vals), "max": max(vals)}

    def split(kind: str) -> Callable[[dict[str, Any]], Any]:
        return lambda r: r["conversion_split"][kind]["proportion"]

    return {
        "model_output": True,
        "what": "current defaults, objective at the plausible conversion band",
        "plausible_conversion": list(PLAUSIBLE_CONVERSION),
        "seconds": round(seconds, 1),
        **{k: span(lambda r, k=k: r[k]) for k in ("objective", "deviance", "conversion_penalty")},
        "conversion": span(lambda r: r["conversion"]),
        "conversion_fractures": span(split("fractures")),
        "conversion_other": span(split("other_injuries")),
        "inside_all_four": sum(all(v is True for v in r["inside"].values()) for r in rows),
        "seeds": rows,
    }


if __name__ == "__main__":
    main()
