"""Plausibility of the default virtual clinic: the figures of calibrate/plausibility.py over several seeds.

Usage: .venv/bin/python scripts/plausibility_check.py [--patients 800] [--seeds 20] [--years 5]
       [--horizon-years 1 2 3 4] [--output src/crpsmap/calibrate/fitted/plausibility-defaults.json]
       [--limb-representations] [--c-ips X] [--c-hom X] [--c-diag X] [--c-desc X] [--g-cervical X]
       [--somatotopy | --no-somatotopy] [--w-ml X] [--chi X] [--diagnosis first_visit] [--recall-days D]
       [--crosstalk-group SHARE C_DESC_GROUP]
       [--from-fitted src/crpsmap/calibrate/fitted/variant-vanrijn2011.json --output FILE]

Each seed is a new clinic of the same parameters (new virtual patients): the defaults, or the defaults
with the per-limb supraspinal nodes switched on (--limb-representations, docs/plausibility.md 4.2) and
any of the cross-talk parameters c_* and the cervical glial gain g_cervical (4.3) set, or with or
without the somatotopic columns of the limb enlargements (--somatotopy / --no-somatotopy, 4.1; on by
default) and their couplings w_ml, chi; nothing is refitted. --diagnosis picks the rule that makes an
injury CRPS (model.sim.DIAGNOSES; also with --from-fitted): the default's screen_day and first visit,
or the first visit only (the earlier defaults' rule, docs/plausibility.md §2).
--from-fitted judges a fit of scripts/refit_variant.py instead (its variant switch, fixed and fitted
values, model and cohort parameters), or a candidate of scripts/calibrate_defaults.py --output (the
defaults with its fitted values), exactly as the defaults are judged; it needs its own --output so
that the defaults' file is not overwritten. Each seed also gets the injury -> CRPS conversion split into
fractures and other injuries (calibrate/conversion.py; the same screening again, checked to agree).
--recall-days changes only how finely patients date a new limb (the observation model, CohortParams.
recall_days, inside its documented range), also of a fitted file: the identifiable first-to-second-limb
share depends on it (docs/identifiability.md, "The observation model").
--crosstalk-group SHARE C with the per-limb nodes gives a share of the patients the descending cross-talk
C (the cross-talk subgroup, docs/plausibility.md 4.7), also on top of a fitted file; not refitted.
The output (model output, written atomically) holds every seed's headline figures and the four van Rijn
2011 figures the calibration fits (with whether each lies in its 95% interval), their spread over seeds,
the share of seeds inside each literature range and inside all four van Rijn intervals, the full figures
of the first seed, and the multi-limb share of the first seed's clinic re-simulated at shorter horizons
(`--horizon-years` with no value skips it). docs/plausibility.md reports the numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import platform
import sys
import time
from pathlib import Path
from typing import Any

from crpsmap.calibrate.conversion import clinic_conversion
from crpsmap.calibrate.fit import FreeParam, apply
from crpsmap.calibrate.plausibility import (
    BY_LIMBS_GROUPS,
    compare,
    headline,
    measure,
    multi_limb_by_sim_years,
    new_injury_involvement,
    references,
    save_json,
    van_rijn_figures,
)
from crpsmap.model import Mechanisms, ModelParams, Sim
from crpsmap.model.sim import DIAGNOSES

#: command-line options that set a ModelParams field (None: keep the default)
PARAM_OPTIONS = ("c_ips", "c_hom", "c_diag", "c_desc", "g_cervical", "w_ml", "chi")

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


def _inside_documented(ap: argparse.ArgumentParser, option: str, name: str, value: float) -> None:
    """Exit 2 (argparse's error) when `value` lies outside `name`'s documented range (params.py)."""
    try:
        FreeParam.of(name).check(value)
    except ValueError as e:
        ap.error(f"{option} {value:g}: {e} ({name})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=800)
    ap.add_argument("--seeds", type=int, default=20, help="seeds FIRST..FIRST+N-1")
    ap.add_argument(
        "--first-seed", type=int, default=0, help="FIRST (fresh seeds for a setting chosen on seeds 0..)"
    )
    ap.add_argument("--years", type=float, default=5.0)
    ap.add_argument("--horizon-years", type=float, nargs="*", default=[1, 2, 3, 4])
    ap.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    ap.add_argument(
        "--limb-representations",
        action="store_true",
        help="four supraspinal nodes, one per limb, instead of two hemisphere nodes (not refitted)",
    )
    ap.add_argument(
        "--somatotopy",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="medial and lateral columns in the limb enlargements' dorsal horn (default: the model's)",
    )
    for name in PARAM_OPTIONS:
        ap.add_argument(f"--{name.replace('_', '-')}", type=float, default=None, help=f"ModelParams.{name}")
    ap.add_argument(
        "--diagnosis",
        choices=DIAGNOSES,
        default=Sim().diagnosis,
        help="when an injury counts as CRPS (model/sim.py, DIAGNOSES)",
    )
    ap.add_argument(
        "--from-fitted",
        type=Path,
        default=None,
        help="a fit written by scripts/refit_variant.py: judge its parameters (needs --output)",
    )
    ap.add_argument(
        "--recall-days",
        type=float,
        default=None,
        help="CohortParams.recall_days: how finely a patient dates a new limb (observation model, not the "
        "disease; also with --from-fitted, whose dating it replaces)",
    )
    ap.add_argument(
        "--crosstalk-group",
        type=float,
        nargs=2,
        metavar=("SHARE", "C_DESC_GROUP"),
        default=None,
        help="the cross-talk subgroup (docs/plausibility.md 4.7): CohortParams.p_crosstalk_group and "
        "ModelParams.c_desc_group, not refitted; needs the per-limb nodes (--limb-representations or a fit "
        "of the per-limb variant), also with --from-fitted",
    )
    args = ap.parse_args()
    if args.recall_days is not None:
        _inside_documented(ap, "--recall-days", "recall_days", args.recall_days)
    group: dict[str, float] = {}
    if args.crosstalk_group is not None:
        group = dict(zip(("p_crosstalk_group", "c_desc_group"), args.crosstalk_group, strict=True))
        for name, value in group.items():
            _inside_documented(ap, "--crosstalk-group", name, value)
    changes = {n: getattr(args, n) for n in PARAM_OPTIONS if getattr(args, n) is not None}
    fitted: dict[str, Any] | None = None
    if args.from_fitted is not None:
        if changes or args.limb_representations or args.somatotopy is not None:
            ap.error("--from-fitted takes every parameter from the fitted file; give no other parameter")
        if args.output == DEFAULT_OUTPUT:
            ap.error("--from-fitted needs its own --output (the default file holds the defaults' figures)")
        fitted = json.loads(args.from_fitted.read_text())
        if "variants_on" in fitted:
            from refit_variant import fitted_sim  # scripts/refit_variant.py: one place builds a fitted Sim

            base = fitted_sim(fitted, years=args.years)
            changes = {**fitted["fixed"], **fitted["best"]}
        else:  # a fit of scripts/calibrate_defaults.py: the defaults with its fitted values
            base = apply(Sim(years=args.years), fitted["best"])
            changes = dict(fitted["best"])
    else:
        soma = Mechanisms().somatotopy if args.somatotopy is None else args.somatotopy
        mech = Mechanisms(limb_representations=args.limb_representations, somatotopy=soma)
        base = Sim(params=ModelParams(mechanisms=mech, **changes), years=args.years)
    base = dataclasses.replace(base, diagnosis=args.diagnosis)
    if args.recall_days is not None:
        base = apply(base, {"recall_days": args.recall_days})
    if group:
        if not base.params.mechanisms.limb_representations:
            ap.error(
                "--crosstalk-group acts on the per-limb supraspinal nodes: give --limb-representations or a "
                "fit of the per-limb variant"
            )
        base = apply(base, group)

    started = time.perf_counter()
    per_seed: list[dict[str, Any]] = []
    first: dict[str, Any] | None = None
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    for seed in seeds:
        t0 = time.perf_counter()
        sim = dataclasses.replace(base, seed=seed)
        clinic = sim.clinic(args.patients)
        conv = clinic_conversion(sim, args.patients)  # the same screening again, split by injury kind
        if conv.overall.proportion != clinic.conversion:
            raise RuntimeError("the conversion split does not match the clinic's funnel")
        figures = measure(clinic.histories, n_injuries=clinic.n_injuries)
        vr = van_rijn_figures(clinic.histories)
        after_injury = new_injury_involvement(clinic.histories)
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
                "onset_after_second_injury": figures["onset"]["onset_after_second_injury"]["proportion"],
                "onset_includes_latest_injury": figures["onset"]["onset_includes_latest_injury"][
                    "proportion"
                ],
                "conversion_count": figures["conversion"],
                "conversion_fractures": conv.fractures.proportion,
                "conversion_other": conv.other.proportion,
                "van_rijn": vr,
                "new_injury_involvement": after_injury.to_dict(),
                "involvement_by_limbs": {
                    k: {g: v[g]["proportion"] for g in BY_LIMBS_GROUPS}
                    for k, v in figures["involvement_by_limbs"].items()
                },
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
            f"visceral {fmt(head['visceral'])}, van Rijn "
            + "/".join(fmt(v) for v in vr["shares"].values())
            + f" inside all: {vr['inside_all']}, conversion fractures {fmt(conv.fractures.proportion)}"
            + f", new injuries to an uninvolved limb followed by it within a year {after_injury.all.count}/"
            + f"{after_injury.all.denominator} = {fmt(after_injury.all.proportion)} ("
            + ", ".join(f"{k} {v.count}/{v.denominator}" for k, v in after_injury.by_pattern.items())
            + ")"
            + f" ({time.perf_counter() - t0:.1f} s)",
            flush=True,
        )
    assert first is not None
    t0 = time.perf_counter()
    by_sim_years = multi_limb_by_sim_years(  # the first judged clinic, re-simulated
        dataclasses.replace(base, seed=args.first_seed), args.patients, args.horizon_years
    )
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
        "van_rijn": {
            k: {
                **spread([s["van_rijn"]["shares"][k] for s in per_seed]),
                "seeds_inside": sum(s["van_rijn"]["inside"][k] is True for s in per_seed),
            }
            for k in per_seed[0]["van_rijn"]["shares"]
        },
        "van_rijn_seeds_inside_all": sum(s["van_rijn"]["inside_all"] for s in per_seed),
        # fitted but with no interval of its own (weighed by G only): how many multi-limb patients have an
        # identifiable first-to-second-limb spread; it depends on the dating (--recall-days)
        "van_rijn_identifiable": spread([s["van_rijn"]["identifiable"] for s in per_seed]),
        "onset_after_second_injury": spread([s["onset_after_second_injury"] for s in per_seed]),
        "onset_includes_latest_injury": spread([s["onset_includes_latest_injury"] for s in per_seed]),
        "conversion_fractures": spread([s["conversion_fractures"] for s in per_seed]),
        "conversion_other": spread([s["conversion_other"] for s in per_seed]),
        "new_injury_involvement": spread([s["new_injury_involvement"]["proportion"] for s in per_seed]),
        # head and organ involvement among the patients with k limbs at the end of follow-up
        "involvement_by_limbs": {
            k: {g: spread([s["involvement_by_limbs"][k][g] for s in per_seed]) for g in BY_LIMBS_GROUPS}
            for k in per_seed[0]["involvement_by_limbs"]
        },
        **{
            f"new_injury_involvement_{k}": spread(
                [s["new_injury_involvement"]["by_pattern"][k]["proportion"] for s in per_seed]
            )
            for k in per_seed[0]["new_injury_involvement"]["by_pattern"]
        },
    }
    out = {
        "model_output": True,
        "what": (
            "Plausibility figures of a virtual clinic (model output, not patients; no treatment "
            "advice): crpsmap.calibrate.plausibility over several seeds, each a new clinic of the same "
            "parameters (the defaults unless `changes` or `limb_representations` say otherwise; refitted "
            "only where `from_fitted` names a fit)"
        ),
        "settings": {
            "limb_representations": base.params.mechanisms.limb_representations,
            "somatotopy": base.params.mechanisms.somatotopy,
            "diagnosis": base.diagnosis,
            "changes": changes,
            "recall_days": base.cohort.recall_days,
            # read from the judged Sim (None: no subgroup), so that an ignored option shows here
            "crosstalk_group": (
                {"p_crosstalk_group": base.cohort.p_crosstalk_group, "c_desc_group": base.params.c_desc_group}
                if base.cohort.p_crosstalk_group > 0
                else None
            ),
            "from_fitted": None if args.from_fitted is None else str(args.from_fitted),
            "patients": args.patients,
            "seeds": seeds,
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
        # the first judged seed's clinic in full, named by its seed
        f"multi_limb_by_sim_years_seed{args.first_seed}": by_sim_years,
        f"seed{args.first_seed}": first,
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
    for k, v in by_key["van_rijn"].items():
        print(
            f"van Rijn {k}: mean {fmt(v['mean'])} ({fmt(v['min'])}–{fmt(v['max'])}), "
            f"inside {v['seeds_inside']}/{args.seeds}"
        )
    print(f"inside all four van Rijn intervals: {by_key['van_rijn_seeds_inside_all']}/{args.seeds} seeds")
    for kind in [k for k in by_key if k.startswith(("conversion_", "new_injury_involvement"))]:
        v = by_key[kind]
        print(f"{kind}: mean {fmt(v['mean'])} ({fmt(v['min'])}–{fmt(v['max'])})")
    for k, groups in by_key["involvement_by_limbs"].items():
        print(
            f"with {k} limbs: "
            + ", ".join(
                f"{g} mean {fmt(v['mean'])} ({fmt(v['min'])}–{fmt(v['max'])})" for g, v in groups.items()
            )
        )
    for h, v in by_key["multi_limb_at_years"].items():
        print(f"multi-limb {h} years after onset: mean {fmt(v['mean'])} ({fmt(v['min'])}–{fmt(v['max'])})")
    print("multi-limb at the end of follow-up, clinic simulated with each horizon (seed 0):")
    for h, p in by_sim_years.items():
        print(f"  {h} years: {p['count']}/{p['denominator']} = {fmt(p['proportion'])}")
    print(f"wrote {args.output} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
