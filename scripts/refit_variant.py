"""Refit the per-limb supraspinal variant to van Rijn et al. 2011 at the sourced conversion band.

Why: the variant with the hand-chosen set A of docs/plausibility.md 2.1 makes two limbs a stable state
and keeps the cranium rare, but was not refitted, so its multi-limb share fell to 23% (van Rijn 48%).
This script fits it (a candidate for the defaults, NOT the defaults) with crpsmap.calibrate.fit.fit,
starting from set A, with the plausible conversion band of calibrate/distance.py (PLAUSIBLE_CONVERSION).

Run (the kept settings; docs/calibration.md, "A candidate for the defaults"):
    nice -n 19 env NUMBA_NUM_THREADS=1 .venv/bin/python scripts/refit_variant.py \
        --trials 160 --patients 800 --workers 2 --validate-top 5 --validate-seeds 1 2 3

In today's structure (columns, screen_day rule) with other cross-talk held fixed, e.g. (docs/calibration.md,
"The per-limb nodes with small cross-talk, refitted in today's structure"; a scratch --output):
    env NUMBA_NUM_THREADS=1 .venv/bin/python scripts/refit_variant.py --structure today \
        --fixed c_ips 0.1 --fixed c_hom 0.05 --fixed c_diag 0.02 --fixed c_desc 0.02 \
        --free w_lr w_desc gain_mu trauma_rate K K_R drive_after_crps --trials 72 --patients 400 \
        --validate-top 3 --output /tmp/fit.json

A documented fit whose file is not at hand is restarted from its values: hold any parameter with
`--fixed NAME VALUE` (e.g. `--fixed K_R 1.49`) and start a free one with `--start NAME VALUE`; both must lie
inside the parameter's documented range. `--objective-range KEY` holds a plausibility figure in its
literature range too (e.g. the assumed cranium-or-face ≤ 5%; docs/calibration.md, "The subgroup with the
pattern split set free, and with the assumed cranium range").

Writes (atomically) src/crpsmap/calibrate/fitted/variant-vanrijn2011.json: model output, the exact
settings, the variant switch, the fixed values of set A, the free set with its search box, every trial,
the validation of the best trials on fresh virtual patients and the fitted clinic's figures. Judge the
result with `scripts/plausibility_check.py --from-fitted <that file>`. Nothing here changes a default.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crpsmap.calibrate import van_rijn_2011
from crpsmap.calibrate.distance import (
    PLAUSIBLE_CONVERSION,
    deviance,
    deviance_parts,
    objective,
    ranged_values,
)
from crpsmap.calibrate.fit import (
    EARLIER_STRUCTURE,
    FreeParam,
    add_range_option,
    apply,
    compact,
    fit,
    free_params,
    model_structure,
    simulate_summary,
    with_ranges,
)
from crpsmap.model import Mechanisms, ModelParams, Sim

FITTED = Path(__file__).resolve().parents[1] / "src" / "crpsmap" / "calibrate" / "fitted"
DEFAULT_OUTPUT = FITTED / "variant-vanrijn2011.json"

#: set A of docs/plausibility.md 2.1 (hand-chosen, not fitted): the starting point of the refit. The c_*
#: values equal today's ModelParams defaults (used only when the variant is on); g_cervical = 0.4 is
#: set here because its default (1.0) is today's model. All assumed, no source (params.py says so).
SET_A: dict[str, float] = {"c_ips": 0.35, "c_hom": 0.1, "c_diag": 0.05, "c_desc": 0.05, "g_cervical": 0.4}

#: the free set. The variant's pattern split is set by the cross-talk c_ips (same side: ipsilateral) and
#: c_hom (callosal: contralateral), which replace `lat` (docs/plausibility.md 4.2); w_lr (mirror spread,
#: spinal) and w_desc (descending facilitation) and trauma_rate as in the defaults' fit (DEFAULT_FREE);
#: gain_mu sets how many injuries become CRPS, the figure the new band constrains; K (glial threshold)
#: and K_R (supraspinal half-point) are the unfitted settings that move the multi-limb share most
#: (docs/identifiability.md: K 7.8 SD, K_R among the 14 influential ones); freeing them lets spread come
#: from the network when fewer injuries convert. beta_bbb is left at its default: it does not move the
#: figures (1.1 SD, below the noise floor, docs/identifiability.md).
VARIANT_FREE: tuple[str, ...] = ("w_lr", "w_desc", "c_ips", "c_hom", "gain_mu", "trauma_rate", "K", "K_R")

#: the search box, inside each documented plausible range (params.py). w_lr from 0.13: below it the
#: model loses the rodent facts it must keep (calibrate/fit.py SEARCH_RANGES). gain_mu up to -0.8: at
#: set A and -0.79, 18% of injuries convert, far above the 1-7% band; the lower end -1.8 keeps the
#: injury screening affordable (conversion near 1%). K and K_R: from below the default upwards where
#: spread, not onset, changes most (defaults 2.28 and 1.34). c_ips, c_hom: the lower part of 0-1,
#: where the per-limb nodes keep their own thresholds (at c_ips = 1 the side cascades, plausibility.md 4.2).
VARIANT_RANGES: dict[str, tuple[float, float]] = {
    "w_lr": (0.13, 0.4),
    "w_desc": (0.3, 0.6),
    "c_ips": (0.05, 0.8),
    "c_hom": (0.0, 0.5),
    "gain_mu": (-1.8, -0.8),
    "trauma_rate": (0.05, 0.2),
    "K": (1.6, 2.5),
    "K_R": (0.6, 1.5),
}


def round_sig(x: float, digits: int = 3) -> float:
    """x to `digits` significant digits (the fitted file keeps values a reader can copy)."""
    return 0.0 if x == 0 else round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


#: the structures a variant can be fitted in (`--structure`): "earlier" (no somatotopic columns, the
#: first-visit rule: the defaults of 2026-11-25, in which the bundled fit was made) and "today" (the
#: columns and the screen_day rule of today's defaults). A fit records the structure itself, as
#: `model_structure` gives it, like the project's other fits; files without one are of the earlier one.
STRUCTURES: dict[str, dict[str, Any]] = {
    "earlier": EARLIER_STRUCTURE,
    "today": {"somatotopy": True, "diagnosis": "screen_day"},
}


def variant_base(
    years: float = 5.0, seed: int = 0, fixed: Mapping[str, float] = SET_A, structure: str = "earlier"
) -> Sim:
    """The variant (per-limb nodes on) at `fixed` (by default set A) with every other parameter at its
    default: the starting point of the refit and the base every fitted value is applied to. It is built
    in the structure it was fitted in (`STRUCTURES`), so that a fit stays the fit it says it is."""
    st = STRUCTURES[structure]
    params = ModelParams(mechanisms=Mechanisms(limb_representations=True, somatotopy=st["somatotopy"]))
    return apply(Sim(params=params, years=years, seed=seed, diagnosis=st["diagnosis"]), dict(fixed))


def variant_free(names: Sequence[str] = VARIANT_FREE) -> tuple[FreeParam, ...]:
    """The free parameters with the search box VARIANT_RANGES (documented range where none is given)."""
    return free_params(names, VARIANT_RANGES)


def structure_name(structure: Any) -> str:
    """The name in `STRUCTURES` of a structure a fit recorded (ValueError for any other)."""
    for name, st in STRUCTURES.items():
        if structure == st:
            return name
    raise ValueError(f"unknown structure of a fit: {structure!r} (known: {', '.join(STRUCTURES)})")


def fitted_sim(fitted: Mapping[str, Any], years: float | None = None, seed: int = 0) -> Sim:
    """The Sim a fitted file describes: its variant switch, its fixed values and its best values."""
    structure = structure_name(fitted.get("structure", EARLIER_STRUCTURE))
    # the switches a fit reports as on beyond the plain model: the per-limb nodes, and the columns in
    # today's structure
    expected = ["limb_representations"] + (["somatotopy"] if STRUCTURES[structure]["somatotopy"] else [])
    if sorted(fitted.get("variants_on", [])) != sorted(expected):
        raise ValueError(
            f"not a fit of the per-limb variant in the {structure} structure: "
            f"variants_on = {fitted.get('variants_on')}"
        )
    y = float(fitted["settings"]["years"]) if years is None else years
    return apply(variant_base(y, seed, fitted["fixed"], structure), fitted["best"])


def held_values(
    fixed: Mapping[str, float], earlier: Mapping[str, Any] | None, best: Mapping[str, float]
) -> dict[str, float]:
    """What a fit held fixed: `fixed` (set A with `--fixed`), or, in a second stage (`earlier` given,
    `fixed` unused), the earlier stage's fixed and fitted values; never a parameter this fit set free (a
    second stage may free one the first held, and the file must not name it twice)."""
    held = dict(fixed) if earlier is None else {**earlier["fixed"], **earlier["best"]}
    return {k: v for k, v in held.items() if k not in best}


def start_values(base: Sim, free: Sequence[FreeParam]) -> dict[str, float]:
    """The values of the free parameters in `base` (before the search box clips them)."""
    return {f.name: float(getattr(base.params if f.group == "model" else base.cohort, f.name)) for f in free}


def documented_value(ap: argparse.ArgumentParser, option: str, name: str, value: str) -> float:
    """`value` as a number inside `name`'s documented plausible range (params.py), or a usage error
    (exit 2) naming the option: a held or starting value outside it would be a model nobody documented."""
    try:
        documented = FreeParam.of(name)
    except ValueError:
        ap.error(f"{option} {name}: not a model or cohort parameter with a documented range")
    try:
        x = float(value)
    except ValueError:
        ap.error(f"{option} {name} {value}: not a number")
    try:
        return documented.check(x)
    except ValueError as e:
        ap.error(f"{option} {name} {value}: {e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=160)
    ap.add_argument("--patients", type=int, default=800)
    ap.add_argument("--years", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2, help="Dask local cluster workers (0: in process)")
    ap.add_argument("--free", nargs="+", default=list(VARIANT_FREE), help="parameters to fit")
    ap.add_argument("--validate-top", type=int, default=5, help="re-judge this many best trials ...")
    ap.add_argument("--validate-seeds", type=int, nargs="*", default=[1, 2, 3], help="... on these seeds")
    ap.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    ap.add_argument(
        "--start-from",
        type=Path,
        default=None,
        help="a fit written by this script: start from its best values (a second, narrower stage)",
    )
    ap.add_argument(
        "--structure",
        choices=sorted(STRUCTURES),
        default=None,
        help="fit in the earlier structure (default; the bundled fit) or in today's (columns, screen_day "
        "rule); a second stage keeps the first stage's",
    )
    ap.add_argument(
        "--fixed",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="hold a parameter at a value inside its documented range: one of set A at another value (e.g. "
        "--fixed c_ips 0.1) or any other model or cohort parameter (e.g. --fixed K_R 1.49); not a free "
        "one, and not with --start-from",
    )
    ap.add_argument(
        "--start",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="start the search of a free parameter at this value (e.g. a documented fit's, when its file "
        "is not at hand)",
    )
    ap.add_argument(
        "--objective-range",
        action="append",
        default=[],
        metavar="KEY",
        help="hold a plausibility figure in its literature range too (a key of "
        "calibrate.plausibility.references() with a range, e.g. cranium_or_face; an assumed range stays "
        "labelled assumed in the file); repeatable",
    )
    add_range_option(ap)
    args = ap.parse_args()
    from crpsmap.calibrate.plausibility import objective_range

    objective_ranges = []
    for key in args.objective_range:
        try:
            objective_ranges.append(objective_range(key))
        except ValueError as e:
            ap.error(f"--objective-range {e}")
    range_keys = tuple(r.key for r in objective_ranges)
    fixed = dict(SET_A)
    for name, value in args.fixed:
        if name in args.free:
            ap.error(f"--fixed {name}: it is also in --free (start a free parameter with --start)")
        fixed[name] = documented_value(ap, "--fixed", name, value)
    if args.fixed and args.start_from is not None:
        ap.error("--fixed is not for --start-from (a second stage keeps the first stage's fixed values)")
    starts: dict[str, float] = {}
    for name, value in args.start:
        if name not in args.free:
            ap.error(f"--start {name}: not in --free (hold a parameter with --fixed)")
        starts[name] = documented_value(ap, "--start", name, value)

    from rich.progress import Progress

    from crpsmap.scale import dask_client

    targets = van_rijn_2011()
    earlier: dict[str, Any] | None = None
    if args.start_from is not None:
        earlier = json.loads(args.start_from.read_text())
        base = fitted_sim(earlier, years=args.years, seed=args.seed)
        structure = structure_name(earlier.get("structure", EARLIER_STRUCTURE))
        if args.structure not in (None, structure):
            ap.error(f"--structure {args.structure}: {args.start_from} is a fit in the {structure} one")
    else:
        structure = args.structure or "earlier"
        base = variant_base(args.years, args.seed, fixed, structure)
    base = apply(base, starts)
    ranges = with_ranges(VARIANT_RANGES, args.range)
    free = free_params(args.free, ranges)
    t0 = time.perf_counter()

    def run(client: Any | None) -> Any:
        with Progress() as bar:
            task = bar.add_task("variant fit", total=args.trials)
            return fit(
                targets,
                base=base,
                free=free,
                n_patients=args.patients,
                n_trials=args.trials,
                seed=args.seed,
                batch=args.batch,
                client=client,
                progress=lambda d, n, b: bar.update(task, completed=d, description=f"fit: best {b:.1f}"),
                validate_top=args.validate_top,
                validate_seeds=args.validate_seeds,
                ranges=range_keys,
            )

    if args.workers > 0:
        with dask_client(workers=args.workers) as client:
            result = run(client)
    else:
        result = run(None)
    rounded = {k: round_sig(v) for k, v in result.best.items()}
    stats = simulate_summary(apply(base, rounded), args.patients, ranges=range_keys)
    start = simulate_summary(base, args.patients, ranges=range_keys)
    out = {
        "model_output": True,
        "what": (
            "CANDIDATE, not the defaults: the per-limb supraspinal variant (Mechanisms.limb_representations) "
            "fitted to van Rijn et al. 2011 (J Neural Transm 118:1301; multi-limb share, second-limb "
            "patterns) with the plausible conversion band; model output of a hypothesis, not patients, "
            "no treatment advice"
        ),
        "script": "scripts/refit_variant.py",
        "settings": {
            **{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "ranges": {f.name: [f.low, f.high] for f in free},
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "python": platform.python_version(),
        },
        "structure": model_structure(base),
        "variants_on": list(result.variants_on),
        "mechanisms_off": list(result.mechanisms_off),
        "fixed": held_values(fixed, earlier, result.best),
        "start_from": None
        if earlier is None
        else {
            "file": str(args.start_from),
            **{
                k: earlier[k]
                for k in ("settings", "free", "best", "objective", "fitted_clinic", "validation")
            },
        },
        "free": [{"name": f.name, "low": f.low, "high": f.high, "group": f.group} for f in free],
        "plausible_conversion": list(PLAUSIBLE_CONVERSION),
        # plausibility figures held in their ranges too (--objective-range), with each range's kind
        "objective_ranges": [
            {"key": r.key, "label": r.label, "low": r.low, "high": r.high, "kind": r.kind, "source": r.source}
            for r in objective_ranges
        ],
        "start": start_values(base, free),
        "start_clinic": {**compact(start), "objective": objective(targets, start)},
        "best": rounded,
        "best_unrounded": result.best,
        "objective": objective(targets, stats),
        "deviance": deviance(targets, stats),
        "deviance_parts": deviance_parts(targets, stats),
        "fitted_clinic": {**compact(stats), **ranged_values(stats)},
        "targets": targets.to_dict(),
        "fit_seconds": round(time.perf_counter() - t0, 1),
        "validation": result.validation,
        "trials": result.trials,
    }
    from crpsmap.outputs import atomic_write_text

    atomic_write_text(args.output, json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("best", "objective", "deviance", "fitted_clinic", "fit_seconds")}))


if __name__ == "__main__":
    main()
