"""Plausibility of the default virtual clinic: the figures of calibrate/plausibility.py over several seeds.

Usage: .venv/bin/python scripts/plausibility_check.py [--patients 800] [--seeds 20] [--years 5]
       [--horizon-years 1 2 3 4] [--output src/crpsmap/calibrate/fitted/plausibility-defaults.json]

Each seed is a new clinic of the same default parameters (new virtual patients). The output (model output,
written atomically) holds every seed's headline figures, their spread over seeds, the share of seeds
inside each literature range, the full figures of the first seed, and the multi-limb share of the first
seed's clinic re-simulated at shorter horizons. docs/plausibility.md reports the numbers.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path
from typing import Any

from crpsmap.calibrate.plausibility import (
    compare,
    headline,
    measure_sim,
    multi_limb_by_sim_years,
    references,
    save_json,
)
from crpsmap.model import Sim

DEFAULT_OUTPUT = (
    Path(__file__).resolve().parent.parent / "src/crpsmap/calibrate/fitted/plausibility-defaults.json"
)


def spread(values: list[float | None]) -> dict[str, Any]:
    """Mean, min and max over seeds (seeds without a value are left out and counted)."""
    v = [x for x in values if x is not None and math.isfinite(x)]
    if not v:
        return {"n": 0, "mean": None, "min": None, "max": None}
    return {"n": len(v), "mean": sum(v) / len(v), "min": min(v), "max": max(v)}


def fmt(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=800)
    ap.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1")
    ap.add_argument("--years", type=float, default=5.0)
    ap.add_argument("--horizon-years", type=float, nargs="*", default=[1, 2, 3, 4])
    ap.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = ap.parse_args()

    started = time.perf_counter()
    per_seed: list[dict[str, Any]] = []
    first: dict[str, Any] | None = None
    for seed in range(args.seeds):
        t0 = time.perf_counter()
        figures = measure_sim(Sim(years=args.years, seed=seed), args.patients)
        head = headline(figures)
        n = figures["patients"]
        per_seed.append(
            {
                "seed": seed,
                **head,
                "limb_count_share": {str(k): v / n for k, v in figures["limb_count"].items()},
                "multi_limb_at_years": {
                    h: p["all"]["proportion"] for h, p in figures["multi_limb_by_horizon"].items()
                },
                "conversion_count": figures["conversion"],
                "seconds": time.perf_counter() - t0,
            }
        )
        if first is None:
            first = figures
        print(
            f"seed {seed}: conversion {fmt(head['conversion'])}, multi-limb {fmt(head['multi_limb'])}, "
            f"four limbs {fmt(head['four_limbs'])}, "
            f"arm onsets with shoulder {fmt(head['arm_onset_shoulder'])}, "
            f"cranium/face {fmt(head['cranium_or_face'])}, head/neck {fmt(head['cranial_any'])}, "
            f"visceral {fmt(head['visceral'])} ({time.perf_counter() - t0:.1f} s)",
            flush=True,
        )
    assert first is not None
    t0 = time.perf_counter()
    by_sim_years = multi_limb_by_sim_years(Sim(years=args.years, seed=0), args.patients, args.horizon_years)
    horizon_seconds = time.perf_counter() - t0

    summary = []
    for ref in references():
        values = [s[ref.key] for s in per_seed]
        judged = [
            r["inside"] for s in per_seed for r in compare({ref.key: s[ref.key]}) if r["key"] == ref.key
        ]
        known = [j for j in judged if j is not None]
        summary.append(
            {
                "key": ref.key,
                "label": ref.label,
                "kind": ref.kind,
                "low": ref.low,
                "high": ref.high,
                **spread(values),
                "seeds_inside": sum(known) if known else None,
                "seeds_judged": len(known),
            }
        )
    by_key = {
        "limb_count_share": {
            k: spread([s["limb_count_share"][k] for s in per_seed]) for k in per_seed[0]["limb_count_share"]
        },
        "multi_limb_at_years": {
            h: spread([s["multi_limb_at_years"][h] for s in per_seed])
            for h in per_seed[0]["multi_limb_at_years"]
        },
    }
    out = {
        "model_output": True,
        "what": (
            "Plausibility figures of the default virtual clinic (model output, not patients; no treatment "
            "advice): crpsmap.calibrate.plausibility over several seeds, each a new clinic of the same "
            "default parameters"
        ),
        "settings": {
            "patients": args.patients,
            "seeds": list(range(args.seeds)),
            "years": args.years,
            "horizon_years": list(args.horizon_years),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "python": platform.python_version(),
            "seconds": time.perf_counter() - started,
            "horizon_seconds": horizon_seconds,
        },
        "summary": summary,
        "distributions": by_key,
        "per_seed": per_seed,
        "multi_limb_by_sim_years_seed0": by_sim_years,
        "seed0": first,
    }
    save_json(out, args.output)

    print(f"\n{args.seeds} seeds x {args.patients} patients x {args.years:g} years (model output)")
    print("| figure | kind | range | mean (min-max) over seeds | seeds inside |")
    print("|---|---|---|---|---|")
    for row in summary:
        rng = "–" if row["low"] is None and row["high"] is None else f"{fmt(row['low'])}–{fmt(row['high'])}"
        inside = "–" if row["seeds_inside"] is None else f"{row['seeds_inside']}/{row['seeds_judged']}"
        print(
            f"| {row['label']} | {row['kind']} | {rng} | "
            f"{fmt(row['mean'])} ({fmt(row['min'])}–{fmt(row['max'])}) | {inside} |"
        )
    for k, v in by_key["limb_count_share"].items():
        print(f"limbs {k}: mean {fmt(v['mean'])} ({fmt(v['min'])}–{fmt(v['max'])})")
    for h, v in by_key["multi_limb_at_years"].items():
        print(f"multi-limb {h} years after onset: mean {fmt(v['mean'])} ({fmt(v['min'])}–{fmt(v['max'])})")
    print("multi-limb at the end of follow-up, clinic simulated with each horizon (seed 0):")
    for h, p in by_sim_years.items():
        print(f"  {h} years: {p['count']}/{p['denominator']} = {fmt(p['proportion'])}")
    print(f"wrote {args.output} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
