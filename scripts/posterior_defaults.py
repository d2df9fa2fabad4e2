"""The posterior of the defaults (van Rijn 2011) and its checks: SBC, predictive checks, seed coverage.

Everything written is model output. Steps (each one run alone or together; results go into the bundled
src/crpsmap/calibrate/fitted/posterior-vanrijn2011.json, the draws under "draws", the checks under
"checks"; docs/posterior.md shows the numbers):

    .venv/bin/python scripts/posterior_defaults.py --posterior     # ABC-SMC posterior of the fitted defaults
    .venv/bin/python scripts/posterior_defaults.py --sbc           # SBC of a small ABC-SMC configuration
    .venv/bin/python scripts/posterior_defaults.py --sbc-table     # SBC of rejection ABC (reference table)
    .venv/bin/python scripts/posterior_defaults.py --predictive    # posterior predictive checks
    .venv/bin/python scripts/posterior_defaults.py --coverage      # share of 20 seeds inside van Rijn's CIs

Run them with `nice -n 10 env NUMBA_NUM_THREADS=1` on a shared machine; the sizes used for the bundled
file (and their run times on 2 cores) are in docs/posterior.md. With `--cache CLINICS.jsonl` every clinic
of --predictive, --coverage and --sbc-table is kept as soon as it is done (calibrate/store.py), so a step
that stopped goes on where it stopped when run again; `--history` does the same for --posterior.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from crpsmap.calibrate import van_rijn_2011
from crpsmap.calibrate.draws import DEFAULT_POSTERIOR, load_draws, save_draws
from crpsmap.calibrate.fit import COMPACT_KIND, DEFAULT_FREE, SEARCH_RANGES, free_params, model_structure
from crpsmap.calibrate.provenance import model_source_digest
from crpsmap.calibrate.store import ClinicStore
from crpsmap.model import CohortParams, ModelParams, Sim
from crpsmap.outputs import atomic_path
from crpsmap.scale import dask_client

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "crpsmap" / "calibrate" / "fitted" / DEFAULT_POSTERIOR
WHAT = (
    "MODEL OUTPUT: ABC-SMC posterior of the default free parameters (DEFAULT_FREE) of the crpsmap "
    "simulator given van Rijn et al. 2011 (multi-limb share, identifiable second limb, second-limb "
    "patterns); uniform priors on the search box SEARCH_RANGES (calibrate/fit.py). Parameters of a "
    "hypothesis-driven model, not measured physiology."
)


#: checks that do not read the draws (kept when the posterior is recomputed, if still of this model)
INDEPENDENT_CHECKS = ("sbc", "sbc_table", "coverage")


def still_valid(check: Any, prior: dict[str, list[float]], model_source: str) -> bool:
    """A kept check is of the same model source (defaults included: model/params.py) and, where it drew
    parameters, of the same prior box; any other is stale and is dropped, not carried over."""
    if not isinstance(check, dict) or check.get("model_source_sha256") != model_source:
        return False
    free = check.get("free")
    return free is None or {f["name"]: [f["low"], f["high"]] for f in free} == prior


def model_fingerprint() -> dict[str, str]:
    """What the numbers were computed with: the git commit (or "unknown") and the model source digest
    (the tree may differ from the commit while someone edits it, the digest may not)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {"git_commit": commit, "model_source_sha256": model_source_digest()}


def unchanged(before: dict[str, str]) -> dict[str, str]:
    """The fingerprint taken before a step, once the step is done: a model source edited while the step
    ran (another session, a checkout) would make the numbers of neither source, so the step fails."""
    after = model_fingerprint()
    if after["model_source_sha256"] != before["model_source_sha256"]:
        raise SystemExit("the model's source changed while this step ran; its results were not written")
    return before


def kept(store: ClinicStore | None) -> dict[str, Any]:
    """How many of a step's clinics were simulated now and how many came from earlier pieces (--cache);
    its `seconds` are then this piece's only."""
    if store is None:
        return {}
    return {"kept_clinics": store.counts()}


def command() -> str:
    """The command line as run from the repository root (without --output, a local path)."""
    argv, kept = sys.argv[1:], []
    while argv:
        a = argv.pop(0)
        if a == "--output":
            argv = argv[1:]
        elif not a.startswith("--output="):
            kept.append(a)
    return " ".join([".venv/bin/python scripts/posterior_defaults.py", *kept])


def clean(x: Any) -> Any:
    """JSON-safe: NaN and infinities become None (json.dump would write invalid 'NaN')."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [clean(v) for v in x]
    return x


def add_check(out: Path, name: str, result: dict[str, Any]) -> None:
    """Store one check's result in the posterior file (atomically), keeping the draws and other checks."""
    draws = load_draws(out)
    save_draws(dataclasses.replace(draws, checks={**draws.checks, name: clean(result)}), out)


def run_posterior(args: argparse.Namespace) -> None:
    from crpsmap.calibrate.posterior import abc_posterior

    targets = van_rijn_2011()
    free = free_params(DEFAULT_FREE, SEARCH_RANGES)
    base = Sim(years=args.years, seed=args.seed)
    fingerprint = model_fingerprint()
    t0 = time.perf_counter()
    with dask_client(workers=args.workers) as client:
        post = abc_posterior(
            targets,
            base=base,
            free=free,
            n_patients=args.patients,
            population=args.population,
            generations=args.generations,
            seed=args.seed,
            client=client if args.workers > 1 else None,
            max_simulations=args.max_simulations,
            history=args.history,
        )
    seconds = time.perf_counter() - t0
    settings = {
        "script": "scripts/posterior_defaults.py --posterior",
        "command": command(),
        "prior": {f.name: [f.low, f.high] for f in free},
        "prior_is": "SEARCH_RANGES (calibrate/fit.py), uniform",
        "n_patients_per_simulation": args.patients,
        "years": args.years,
        "population": args.population,
        "max_generations": args.generations,
        "max_simulations": args.max_simulations,
        "workers": args.workers,
        "seed": args.seed,
        "structure": model_structure(base),
        "epsilon_floor": None,
        "seconds": round(seconds, 1),
        "targets": targets.to_dict(),
        "summary": post.to_dict()["parameters"],
        "posterior_sd": post.sd(),
        **unchanged(fingerprint),
    }
    from scipy.stats import chi2

    settings["epsilon_floor"] = float(chi2.ppf(0.95, df=4)) * (1 + targets.patients / args.patients)
    # how far the run got: a posterior whose threshold stopped above the floor is wider than the target
    settings["reached_floor"] = post.epsilon <= settings["epsilon_floor"]
    settings["effective_sample_size"] = float(1.0 / (post.weights**2).sum())
    draws = post.to_draws(WHAT, clean(settings))
    old: dict[str, Any] = {}
    if args.output.is_file():
        # checks that do not use the draws stay valid; the predictive check must be run again
        old = {
            k: v
            for k, v in load_draws(args.output).checks.items()
            if k in INDEPENDENT_CHECKS and still_valid(v, settings["prior"], settings["model_source_sha256"])
        }
    save_draws(dataclasses.replace(draws, checks=old), args.output)
    print(json.dumps({"seconds": round(seconds, 1), **post.to_dict()}, indent=1))


def run_sbc_step(args: argparse.Namespace) -> None:
    from crpsmap.calibrate.sbc import run_sbc

    free = free_params(DEFAULT_FREE, SEARCH_RANGES)
    fingerprint = model_fingerprint()
    t0 = time.perf_counter()
    with dask_client(workers=args.workers) as client:
        res = run_sbc(
            free,
            base=Sim(years=args.years, seed=args.seed),
            replicates=args.sbc_replicates,
            observed_patients=args.observed_patients,
            n_patients=args.sbc_patients,
            population=args.sbc_population,
            generations=args.sbc_generations,
            n_draws=args.sbc_draws,
            seed=args.seed,
            max_simulations=args.sbc_max_simulations,
            client=client if args.workers > 1 else None,
            progress=lambda d, n: print(f"SBC replicate {d}/{n}", flush=True),
        )
    out = {**res.to_dict(args.sbc_bins), "seconds": round(time.perf_counter() - t0, 1), "command": command()}
    add_check(args.output, "sbc", {**out, **unchanged(fingerprint)})
    print(json.dumps(clean(out["summary"]), indent=1))


def run_table_step(args: argparse.Namespace) -> None:
    from crpsmap.calibrate.sbc import reference_table, table_sbc

    free = free_params(DEFAULT_FREE, SEARCH_RANGES)
    fingerprint = model_fingerprint()
    store = ClinicStore(args.cache, COMPACT_KIND) if args.cache is not None else None
    t0 = time.perf_counter()
    with dask_client(workers=args.workers) as client:
        values, rows = reference_table(
            free,
            base=Sim(years=args.years, seed=args.seed),
            size=args.table_size,
            n_patients=args.observed_patients,
            seed=args.seed,
            client=client if args.workers > 1 else None,
            store=store,
        )
    res = table_sbc(free, values, rows, accept=args.table_accept, seed=args.seed)
    out = {
        **res.to_dict(args.table_bins),
        "seconds": round(time.perf_counter() - t0, 1),
        "command": command(),
        **kept(store),
    }
    out["settings"] = {**out["settings"], "n_patients": args.observed_patients, "years": args.years}
    add_check(args.output, "sbc_table", {**out, **unchanged(fingerprint)})
    print(json.dumps(clean(out["summary"]), indent=1))


def run_predictive_step(args: argparse.Namespace) -> None:
    import numpy as np

    from crpsmap.calibrate.draws import PosteriorDraws
    from crpsmap.calibrate.predictive import FIGURES_KIND, VAN_RIJN_N, run_predictive

    draws = load_draws(args.output)
    base = Sim(years=args.years, seed=args.seed)
    fingerprint = model_fingerprint()
    with dask_client(workers=args.workers) as client:
        c = client if args.workers > 1 else None

        def predict(d: PosteriorDraws) -> dict[str, Any]:
            store = ClinicStore(args.cache, FIGURES_KIND) if args.cache is not None else None
            t0 = time.perf_counter()
            res = run_predictive(
                d,
                n_draws=args.pred_draws,
                n_patients=VAN_RIJN_N,
                base=base,
                seed=args.seed,
                client=c,
                store=store,
            )
            return {**res, "seconds": round(time.perf_counter() - t0, 1), **kept(store), "command": command()}

        post = predict(draws)
        add_check(args.output, "predictive", {**post, **unchanged(fingerprint)})
        if args.pred_point:
            # the point defaults with the same number of clinics: simulation noise only, for comparison
            point = PosteriorDraws(draws.names, np.array([point_values(draws.names)]), np.ones(1))
            add_check(args.output, "predictive_point", {**predict(point), **unchanged(fingerprint)})
    for row in post["checks"]:
        print(row["key"], row["value"], row["predictive"], row["inside"], row["tail_p"])


def run_coverage_step(args: argparse.Namespace) -> None:
    from crpsmap.calibrate.predictive import ideal_coverage, seed_coverage

    targets = van_rijn_2011()
    seeds = list(range(args.coverage_seeds))
    fingerprint = model_fingerprint()
    store = ClinicStore(args.cache, COMPACT_KIND) if args.cache is not None else None
    out: dict[str, Any] = {"model_output": True, "sizes": {}, "command": command(), **fingerprint}
    t0 = time.perf_counter()
    with dask_client(workers=args.workers) as client:
        for n in args.coverage_sizes:
            cov = seed_coverage(
                Sim(years=args.years),
                targets,
                n,
                seeds,
                client=client if args.workers > 1 else None,
                store=store,
            )
            cov["ideal"] = ideal_coverage(targets, n, seed=args.seed)
            out["sizes"][str(n)] = cov
            print(n, cov["inside_all"], cov["inside"], "ideal", cov["ideal"]["inside_all"], flush=True)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    out.update(kept(store))
    add_check(args.output, "coverage", {**out, **unchanged(fingerprint)})


def point_values(names: tuple[str, ...]) -> list[float]:
    """The point defaults of the named fitted parameters (ModelParams or CohortParams fields)."""
    m, co = ModelParams(), CohortParams()
    return [float(getattr(m if hasattr(m, n) else co, n)) for n in names]


def plot_posterior(posterior: Path, path: Path) -> None:
    """The marginals of the posterior file on their prior boxes, the point fit marked (docs/posterior.md)."""
    import matplotlib.pyplot as plt

    from crpsmap.calibrate.posterior_plot import posterior_figure

    draws = load_draws(posterior)
    point = dict(zip(draws.names, point_values(draws.names), strict=True))
    prior = {k: (float(v[0]), float(v[1])) for k, v in draws.settings["prior"].items()}
    fig = posterior_figure(draws, prior, point)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=72)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posterior", action="store_true", help="ABC-SMC posterior of the defaults")
    ap.add_argument("--patients", type=int, default=200, help="virtual patients per ABC simulation")
    ap.add_argument("--population", type=int, default=60)
    ap.add_argument("--generations", type=int, default=10, help="at most this many ABC generations")
    ap.add_argument("--max-simulations", type=int, default=1000, help="stop after the generation past this")
    ap.add_argument("--years", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--output", type=Path, default=OUT, help="the posterior file (default: the bundled one)")
    ap.add_argument(
        "--history",
        type=Path,
        default=None,
        help="keep pyABC's database here; if it holds a run, continue it (a long posterior in short pieces)",
    )
    ap.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="keep every clinic of --predictive, --coverage and --sbc-table here; run a step again to go on",
    )
    ap.add_argument("--sbc", action="store_true", help="SBC of a small ABC-SMC configuration")
    ap.add_argument("--sbc-replicates", type=int, default=20)
    ap.add_argument("--observed-patients", type=int, default=185, help="clinic size of an SBC 'observation'")
    ap.add_argument("--sbc-patients", type=int, default=60, help="virtual patients per SBC ABC simulation")
    ap.add_argument("--sbc-population", type=int, default=10)
    ap.add_argument("--sbc-generations", type=int, default=2)
    ap.add_argument("--sbc-max-simulations", type=int, default=None)
    ap.add_argument("--sbc-draws", type=int, default=9, help="posterior draws ranked (ranks 0..this)")
    ap.add_argument("--sbc-bins", type=int, default=5)
    ap.add_argument("--sbc-table", action="store_true", help="SBC of rejection ABC on a reference table")
    ap.add_argument("--table-size", type=int, default=240)
    ap.add_argument("--table-accept", type=int, default=19)
    ap.add_argument("--table-bins", type=int, default=5)
    ap.add_argument("--predictive", action="store_true", help="posterior predictive checks")
    ap.add_argument("--pred-draws", type=int, default=60, help="posterior draws (one clinic each)")
    ap.add_argument("--pred-point", action="store_true", help="also the point defaults, for comparison")
    ap.add_argument("--coverage", action="store_true", help="share of seeds inside van Rijn's intervals")
    ap.add_argument("--coverage-seeds", type=int, default=20)
    ap.add_argument("--coverage-sizes", type=int, nargs="+", default=[185, 800])
    ap.add_argument("--plot", type=Path, default=None, help="draw the posterior in --output as a PNG here")
    args = ap.parse_args()
    if args.posterior:
        run_posterior(args)
    if args.sbc:
        run_sbc_step(args)
    if args.sbc_table:
        run_table_step(args)
    if args.predictive:
        run_predictive_step(args)
    if args.coverage:
        run_coverage_step(args)
    if args.plot is not None:
        plot_posterior(args.output, args.plot)


if __name__ == "__main__":
    main()
