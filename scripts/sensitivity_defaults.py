"""Global sensitivity of the default virtual clinic's calibration figures, and what van Rijn 2011 constrains.

Two Morris screenings of all parameters with a documented range (SALib design, common random numbers):
over the documented ranges, and over a local box (each default x (1 -+ 0.1)), then Sobol indices for the
three most influential parameters of the local box. The bundled run (896 simulations of 200 patients x 5
years; about 84 minutes of wall clock on a shared 2-core machine, docs/identifiability.md):

    nice -n 10 env NUMBA_NUM_THREADS=1 .venv/bin/python scripts/sensitivity_defaults.py \
        --cache /tmp/sensitivity-cache.jsonl --max-minutes 14    # repeat until it says "written"

Each simulation's figures go to the cache as soon as they are known, so the run can be done in pieces
(`--max-new N` / `--max-minutes M`: stop after N new simulations or M minutes; run the same command
again to continue). The cache key is every setting of the Sim, the clinic size and a digest of the
package's source (calibrate/store.py), so a changed default or changed code is simulated afresh, never
taken from an old run. Writes
src/crpsmap/calibrate/fitted/sensitivity-vanrijn2011.json (model output) and docs/sensitivity-morris.png,
both atomically. `--plot-only` redraws the plot and `--table` prints the table of
docs/identifiability.md, both from the bundled JSON; `--summary` prints the page's headline numbers
(`headline`), so that its sentences are the file's.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import Progress

from crpsmap.calibrate.fit import DEFAULT_FREE, FreeParam, model_structure
from crpsmap.calibrate.predictive import defined
from crpsmap.calibrate.sensitivity import (
    CONSTRAINED_RATIO,
    FIGURES,
    FITTED_FIGURES,
    WEAK_RATIO,
    default_evaluator,
    local_box,
    ranged_parameters,
    sensitivity,
    signed_effects,
)
from crpsmap.calibrate.store import ClinicStore
from crpsmap.model import Sim
from crpsmap.outputs import atomic_path, atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "src" / "crpsmap" / "calibrate" / "fitted" / "sensitivity-vanrijn2011.json"
PLOT = ROOT / "docs" / "sensitivity-morris.png"
#: what the script keeps of a clinic, as its store names it: the calibration figures (FIGURES)
FIGURES_KIND = "sensitivity.figures"


class BudgetSpent(Exception):
    """This invocation has run its allowed number of new simulations."""


class CachedEvaluator:
    """The clinic figures of a simulation, kept in a JSON-lines file (calibrate/store.py) whose key is every
    setting of the Sim, the clinic size and the package's source: another setting or other code is
    simulated afresh, never taken from an old run."""

    def __init__(
        self, n_patients: int, path: Path | None, max_new: int | None, max_minutes: float | None = None
    ) -> None:
        self.evaluate = default_evaluator(n_patients)
        self.deadline = None if max_minutes is None else time.monotonic() + 60.0 * max_minutes
        self.n_patients = n_patients
        self.max_new = max_new
        self.store = ClinicStore(path, FIGURES_KIND)

    @property
    def new(self) -> int:
        """Clinics simulated by this invocation."""
        return self.store.new

    def key(self, sim: Sim) -> str:
        return self.store.key(sim, self.n_patients)

    def __call__(self, sim: Sim) -> dict[str, float]:
        k = self.key(sim)
        kept = self.store.get(k)
        if kept is not None:
            return {n: (math.nan if v is None else float(v)) for n, v in kept.items()}
        if self.max_new is not None and self.new >= self.max_new:
            raise BudgetSpent
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise BudgetSpent
        t0 = time.perf_counter()
        figures = dict(self.evaluate(sim))
        kept = {n: (v if math.isfinite(v) else None) for n, v in figures.items()}
        self.store.put(k, kept, time.perf_counter() - t0)
        return figures

    def seconds(self, keys: list[str]) -> float:
        return float(sum(self.store.seconds(k) for k in keys))


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def pp(x: float | None) -> float:
    return math.nan if x is None else 100.0 * x


def _panels(axes: Any, data: Mapping[str, Any], label: str, top: int) -> None:
    """One analysis: per figure the `top` parameters by mu* with bootstrap 95% intervals, the sampling SD
    of van Rijn's figure (1 and 2 SD, red) and the run's noise floor (grey); last panel Sobol."""
    morris = data["morris"]["indices"]
    ident = data["identifiability"]
    sd = ident["sampling_sd_van_rijn"]
    floor = ident["noise_floor_mu_star"]
    for ax, f in zip(axes, FIGURES, strict=False):
        ix = morris.get(f)
        if not ix:
            ax.set_title(f"{label}: {f} not defined")
            ax.axis("off")
            continue
        rows = sorted(ix.items(), key=lambda kv: -(kv[1]["mu_star"] or 0.0))[:top][::-1]
        names = [n for n, _ in rows]
        ms = [pp(v["mu_star"]) for _, v in rows]
        lo = [max(m - pp(v["mu_star_ci"][0]), 0.0) for m, (_, v) in zip(ms, rows, strict=True)]
        hi = [max(pp(v["mu_star_ci"][1]) - m, 0.0) for m, (_, v) in zip(ms, rows, strict=True)]
        lo = [0.0 if math.isnan(x) else x for x in lo]
        hi = [0.0 if math.isnan(x) else x for x in hi]
        ax.barh(names, ms, xerr=[lo, hi], color="tab:blue", alpha=0.75, capsize=2)
        if f in FITTED_FIGURES and sd.get(f):
            for k, style in ((WEAK_RATIO, "--"), (CONSTRAINED_RATIO, "-")):
                ax.axvline(pp(sd[f]) * k, color="tab:red", ls=style, lw=1)
        if floor.get(f) is not None:
            ax.axvline(pp(floor[f]), color="grey", ls=":", lw=1.2)
        ax.set_title(f"{label}: {f}", fontsize=10)
        ax.set_xlabel("mu* (percentage points across the range)", fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
    ax = axes[len(FIGURES)]
    sob = data.get("sobol")
    if not sob:
        ax.axis("off")
        return
    names = [p["name"] for p in sob["parameters"]]
    figs = [f for f in FITTED_FIGURES if sob["indices"].get(f)]
    width = 0.8 / max(len(names), 1)
    for i, n in enumerate(names):
        xs = [j + i * width for j in range(len(figs))]
        st = [sob["indices"][f][n]["ST"] or 0.0 for f in figs]
        s1 = [sob["indices"][f][n]["S1"] or 0.0 for f in figs]
        ax.bar(xs, st, width, alpha=0.35, color=f"C{i}")
        ax.bar(xs, s1, width * 0.5, color=f"C{i}", label=n)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(figs))], figs, rotation=30, fontsize=8)
    ax.set_ylabel("Sobol: narrow S1, wide ST", fontsize=8)
    ax.set_title(f"{label}: Sobol, top {len(names)} (N = {sob['n_base']})", fontsize=10)
    ax.legend(fontsize=7)


def plot(data: Mapping[str, Any], path: Path, top: int = 10) -> None:
    """The two analyses (documented ranges, then the local box), four rows of four panels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    boxes = [(k, data[k]) for k in ("global", "local") if data.get(k)]
    fig, axes = plt.subplots(2 * len(boxes), 4, figsize=(18, 9.5 * len(boxes)))
    lines = []
    for i, (label, d) in enumerate(boxes):
        _panels(axes[2 * i : 2 * i + 2].ravel(), d, label, top)
        st = d["settings"]
        box = st["box"] if st["box"].startswith(label) else f"{label}: {st['box']}"
        lines.append(f"{box}, {len(st['parameters'])} parameters, {st['trajectories']} trajectories")
    s = data["settings"]
    fig.suptitle(
        f"MODEL OUTPUT - Morris screening of the calibration figures ({s['n_patients']} virtual patients x "
        f"{s['years']:g} years, seed {s['seed']}, common random numbers)\n" + "\n".join(lines) + "\n"
        "Red lines: 1 and 2 sampling SD of van Rijn 2011's figure; grey dotted: the run's noise floor.",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=72)
    plt.close(fig)


def _verdict(p: Mapping[str, Any]) -> str:
    r = p["max_ratio"]
    by = ", ".join(p["by"])
    if p["verdict"] == "no effect":
        return "no effect"
    return f"{p['verdict']} ({r:.1f} SD{'; ' + by if by else ''})" if r is not None else p["verdict"]


def markdown(data: Mapping[str, Any]) -> str:
    """The table of docs/identifiability.md: per parameter its verdict in each box and its effect on
    conversion and on the four-limb share across the documented range."""
    g = {p["name"]: p for p in data["global"]["identifiability"]["parameters"]}
    loc = {p["name"]: p for p in data["local"]["identifiability"]["parameters"]} if data.get("local") else {}
    gm = data["global"]["morris"]["indices"]
    head = ["parameter", "documented range", "documented range: verdict", "local box: verdict"]
    head += ["conversion mu* (pts)", "4 limbs mu* (pts)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    order = {"constrained": 0, "weakly constrained": 1, "not constrained": 2, "no effect": 3}

    def key(n: str) -> tuple[int, int, float]:
        lv = loc.get(n, g[n])
        return (order[lv["verdict"]], order[g[n]["verdict"]], -(lv["max_ratio"] or 0.0))

    for n in sorted(g, key=key):
        cells = [f"`{n}`", f"{g[n]['range'][0]:g}-{g[n]['range'][1]:g}", _verdict(g[n])]
        cells.append(_verdict(loc[n]) if n in loc else ("not varied" if loc else ""))
        for f in ("conversion", "four_limbs"):
            v = (gm.get(f) or {}).get(n)
            cells.append("" if not v or v["mu_star"] is None else f"{pp(v['mu_star']):.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _spread(values: list[float | None]) -> dict[str, float | None]:
    """5th percentile, median and 95th percentile of the clinics that had the figure."""
    v = defined(values)
    if not v.size:
        return {"p5": None, "median": None, "p95": None}
    p5, med, p95 = np.percentile(v, [5, 50, 95])
    return {"p5": float(p5), "median": float(med), "p95": float(p95)}


def headline(data: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers docs/identifiability.md quotes in its summary, from a run's JSON: per box the share of
    clinics like van Rijn's and the spread of each figure; near the fit the parameters that move a fitted
    figure by >= 2 van Rijn SDs (fitted or not), those that cannot act at all, and how many combinations of
    the fitted parameters the figures resolve (singular values of their signed effects in SDs)."""
    out: dict[str, Any] = {}
    for label in ("global", "local"):
        d = data.get(label)
        if not d:
            continue
        outputs = d["morris"]["outputs"]
        ident = d["identifiability"]
        out[label] = {
            "runs": d["morris"]["runs"],
            "parameters": len(d["settings"]["parameters"]),
            **{k: d["morris_design"][k] for k in ("conversion_plausible", "multi_limb_above_90_percent")},
            "inside": d["morris_design"]["inside"],
            "inside_all": d["morris_design"]["inside_all"],
            # every limb on one date: no first-to-second spread to classify
            "no_identifiable_spread": float(np.mean(defined(outputs["identifiable"]) == 0.0)),
            "figures": {f: _spread(outputs[f]) for f in FIGURES},
            "singular_values": ident["singular_values"],
            "resolvable_combinations": ident["resolvable_combinations"],
        }
    loc, glo = data["local"]["identifiability"], data["global"]["identifiability"]
    documented = {p["name"]: p["verdict"] for p in glo["parameters"]}
    constrained = sorted(
        (p for p in loc["parameters"] if p["verdict"] == "constrained"), key=lambda p: -p["max_ratio"]
    )
    out["constrained"] = [
        {"name": p["name"], "sd": p["max_ratio"], "fitted": p["name"] in DEFAULT_FREE} for p in constrained
    ]
    out["weakly_constrained"] = [p["name"] for p in loc["parameters"] if p["verdict"] == "weakly constrained"]
    out["no_effect"] = sorted(
        p["name"]
        for p in loc["parameters"]
        if p["verdict"] == "no effect" and documented[p["name"]] == "no effect"
    )
    effects = signed_effects(data["local"]["morris"]["indices"], loc["sampling_sd_van_rijn"], DEFAULT_FREE)
    out["fitted_singular_values"] = [float(x) for x in np.linalg.svd(effects, compute_uv=False)]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument("--years", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--trajectories", type=int, default=6, help="Morris trajectories, documented ranges")
    ap.add_argument("--local", type=float, default=0.1, help="local box: default x (1 -+ this); 0: none")
    ap.add_argument("--local-trajectories", type=int, default=4, help="Morris trajectories, local box")
    ap.add_argument("--levels", type=int, default=4)
    ap.add_argument("--noise-seeds", type=int, default=6)
    ap.add_argument("--sobol-top", type=int, default=3, help="Sobol for this many (local box)")
    ap.add_argument("--sobol-n", type=int, default=16)
    ap.add_argument("--param", action="append", help="vary only these (repeatable; default: all ranged)")
    ap.add_argument("--cache", type=Path, default=None, help="JSON-lines cache of simulated figures")
    ap.add_argument("--max-new", type=int, default=None, help="stop after this many new simulations")
    ap.add_argument("--max-minutes", type=float, default=None, help="start no new simulation after this")
    ap.add_argument("--output", type=Path, default=BUNDLED)
    ap.add_argument("--plot", type=Path, default=PLOT)
    ap.add_argument("--plot-only", action="store_true", help="redraw the plot from --output")
    ap.add_argument("--table", action="store_true", help="print the doc's table from --output")
    ap.add_argument("--summary", action="store_true", help="print the doc's headline numbers from --output")
    ap.add_argument("--commit", default=None, help="git commit of the model code run (default: HEAD)")
    args = ap.parse_args()
    if args.table:
        print(markdown(json.loads(args.output.read_text(encoding="utf-8"))))
        return 0
    if args.summary:
        print(json.dumps(headline(json.loads(args.output.read_text(encoding="utf-8"))), indent=1))
        return 0
    if args.plot_only:
        plot(json.loads(args.output.read_text(encoding="utf-8")), args.plot)
        return 0
    params = ranged_parameters(args.param)
    base = Sim(years=args.years, seed=args.seed)
    ev = CachedEvaluator(args.patients, args.cache, args.max_new, args.max_minutes)
    keys_seen: list[str] = []

    def evaluate(sim: Sim) -> dict[str, float]:
        keys_seen.append(ev.key(sim))
        return ev(sim)

    names = [p.name for p in params]
    boxes: list[tuple[str, tuple[FreeParam, ...], int, int, str]] = [
        ("global", params, args.trajectories, 0, "documented plausible ranges")
    ]
    if args.local:
        local = local_box(names, base, args.local)
        box = f"local: default x (1 -+ {args.local:g}), clipped to the documented range"
        boxes.append(("local", local, args.local_trajectories, args.sobol_top, box))
    t0 = time.perf_counter()
    results = {}
    with Progress() as bar:
        task = bar.add_task("sensitivity", total=None)
        try:
            for label, ps, traj, top, box in boxes:
                results[label] = sensitivity(
                    ps,
                    base=base,
                    n_patients=args.patients,
                    trajectories=traj,
                    levels=args.levels,
                    sobol_top=top,
                    sobol_n=args.sobol_n,
                    noise_seeds=args.noise_seeds,
                    seed=args.seed,
                    box=box,
                    evaluate=evaluate,
                    progress=lambda stage, done, total, label=label: bar.update(
                        task, completed=done, total=total, description=f"{label} {stage} (new {ev.new})"
                    ),
                )
        except BudgetSpent:
            print(
                f"partial: {ev.new} new simulations in {time.perf_counter() - t0:.0f} s; run again to go on"
            )
            return 3
    out: dict[str, Any] = {
        "model_output": True,
        "what": "global sensitivity of van Rijn 2011's calibration figures to every parameter with a "
        "documented range (documented ranges, and a local box around the fitted defaults), and what the "
        "figures can constrain; model output, not a measurement",
        "script": "scripts/sensitivity_defaults.py",
        "settings": {
            "command": " ".join(["scripts/sensitivity_defaults.py", *sys.argv[1:]]),
            "git_commit": args.commit or git_commit(),
            "package_source_sha256": ev.store.code,
            "n_patients": args.patients,
            "years": args.years,
            "seed": args.seed,
            "structure": model_structure(base),
            "simulations": len(set(keys_seen)),
            "compute_seconds": round(ev.seconds(sorted(set(keys_seen))), 1),
        },
        **{label: r.to_dict() for label, r in results.items()},
    }
    atomic_write_text(args.output, json.dumps(out, indent=1) + "\n")
    plot(out, args.plot)
    summary: dict[str, Any] = {"written": str(args.output), **out["settings"]}
    for label, r in results.items():
        ident = r.identifiability
        summary[label] = {
            "constrained": ident.names("constrained"),
            "weakly constrained": ident.names("weakly constrained"),
            "no effect": ident.names("no effect"),
            "resolvable_combinations": ident.resolvable,
            "singular_values": [round(x, 2) for x in ident.singular_values],
            "tradeoffs": [(a, b, round(c, 3)) for a, b, c in ident.tradeoffs],
        }
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
