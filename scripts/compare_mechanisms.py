"""Make the bundled mechanism comparison for van Rijn 2011 (calibrate/fitted/mechanisms-vanrijn2011.json).

Every explanation gets the same budget (calibrate/mechanisms.py, `Budget`); the criterion is computed on
replicated held-out clinics with and without the conversion constraint; the model-recovery check
(calibrate/recovery.py) and the Markov baseline (calibrate/baseline.py) come with it. The sizes used are
written into the JSON (`budget`, `recovery`, `seconds`, `settings`) and into docs/calibration.md.

Run (the bundled sizes; in today's structure 238 clinics, 5,692 worker-seconds, part of them beside the
test suite; docs/calibration.md):
    nice -n 10 env NUMBA_NUM_THREADS=1 .venv/bin/python scripts/compare_mechanisms.py --cache CLINICS.jsonl
With `--cache` every simulated clinic is kept in that file as soon as it is done (calibrate/store.py): if
the run stops, the same command goes on where it stopped (the searches are seeded, so they ask for the
same clinics again and find them kept). Kept clinics of other settings or other code are not reused.
Print the lines docs/calibration.md quotes from a comparison (its table, recovery and held-out means;
tests/calibrate/test_mechanisms_bundled.py holds the page against the bundled file):
    .venv/bin/python scripts/compare_mechanisms.py \\
        --summary src/crpsmap/calibrate/fitted/mechanisms-vanrijn2011.json
Recompute the held-out trauma figures of an existing comparison from the held-out clinics it stores (no
simulation; for a file written before those rules changed):
    .venv/bin/python scripts/compare_mechanisms.py \\
        --rejudge src/crpsmap/calibrate/fitted/mechanisms-vanrijn2011.json
A bigger run (docs/calibration.md says what it would need), e.g.:
    .venv/bin/python scripts/compare_mechanisms.py --trials 40 --patients 800 --heldout-patients 800 \\
        --recovery 50 --workers 8
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.progress import Progress

from crpsmap.calibrate import van_rijn_2011
from crpsmap.calibrate.baseline import van_rijn_2011_trauma
from crpsmap.calibrate.mechanisms import (
    SUMMARY_KIND,
    Budget,
    Spread,
    compare_mechanisms,
    mean_sd,
    rejudge_trauma,
)
from crpsmap.calibrate.store import ClinicStore
from crpsmap.model import Sim
from crpsmap.outputs import atomic_write_text
from crpsmap.scale import dask_client

FITTED = Path(__file__).resolve().parents[1] / "src" / "crpsmap" / "calibrate" / "fitted"


#: how docs/calibration.md names the candidates (the JSON's names are the code's)
DOC_NAMES = {
    "spinal": "spinal",
    "spinal+supraspinal": "spinal + supraspinal",
    "spinal+systemic": "spinal + systemic",
    "all": "all (the full hypothesis)",
}


def _pm(c: Mapping[str, Any]) -> str:
    return mean_sd(c["mean"], c["sd"])


def _slash(values: Sequence[float], spec: str = ".0f") -> str:
    return " / ".join(format(v, spec) for v in values)


def _mean(values: Sequence[float]) -> float:
    return Spread(tuple(values)).mean


def doc_lines(data: Mapping[str, Any]) -> list[str]:
    """The lines of docs/calibration.md's "bundled comparison" that come from a comparison's JSON: the
    candidate table's rows, the failed trials, the held-out clinics' means, the recovery matrix and its
    accuracy. The page is written from these (`--summary`); a test holds the page against the bundled file."""
    cands = data["candidates"]
    best = min(cands, key=lambda c: c["criterion"]["with_conversion"]["mean"])["name"]
    n_heldout = len(data["heldout_seeds"])
    lines = []
    for c in cands:
        crit = c["criterion"]
        aic = _pm(crit["with_conversion"])
        if c["name"] == best:
            aic = f"**{aic}**"
        lowest = round(crit["with_conversion"]["share_best"] * n_heldout)
        trauma = c["heldout_trauma"]["pattern"]
        lines.append(
            f"| {DOC_NAMES[c['name']]} | {c['n_parameters']} | "
            f"{_slash([s['best_objective'] for s in c['starts']], '.1f')} | {aic} | "
            f"{lowest} of {n_heldout} | "
            f"{_pm(crit['without_conversion'])} | {c['heldout_deviance']:.1f} | "
            f"{trauma['mean'] + 2:.1f} ± {trauma['sd']:.1f} |"
        )
    # not the preset rule (`separated`): the held-out clinics are paired (the same injuries for every
    # candidate), so the page also quotes each other candidate's per-clinic difference to the leader
    lead = next(c for c in cands if c["name"] == best)["criterion"]["with_conversion"]["values"]
    paired = [
        ([a - lo for a, lo in zip(c["criterion"]["with_conversion"]["values"], lead, strict=True)], name)
        for c in cands
        if (name := DOC_NAMES[c["name"]]) != DOC_NAMES[best]
    ]
    paired.sort(key=lambda d: _mean(d[0]))
    lines.append(
        f"the paired differences to {DOC_NAMES[best]} are "
        + ", ".join(f"{mean_sd((sp := Spread(tuple(d))).mean, sp.sd)} ({name})" for d, name in paired)
        + f", smallest {min(min(d) for d, _ in paired):.1f}"
    )
    sims = [c["simulations"] for c in cands]
    failed = [c["failed_trials"] for c in cands]
    lines.append(
        f"Failed trials (conversion under {data['failed_below_conversion']:.1%}): {_slash(failed)} of "
        f"{_slash(sims)} search clinics, so the searches scored "
        f"{_slash([n - f for n, f in zip(sims, failed, strict=True)])}"
    )
    rows = [c["heldout_summaries"]["with_conversion"] for c in cands]

    def share(rs: list[Mapping[str, Any]], num: str, den: str) -> float:
        return 100 * _mean([r[num] / r[den] for r in rs if r[den]])

    lines.append(
        f"Held-out clinics at the chosen parameters (means over the {n_heldout}): multi-limb "
        f"{_slash([share(r, 'multi_limb', 'patients') for r in rows])}%"
    )
    lines.append(f"identifiable {_slash([share(r, 'identifiable', 'multi_limb') for r in rows])}%")
    patterns = ("contralateral", "ipsilateral", "diagonal")
    lines.append(
        "contralateral / ipsilateral / diagonal "
        + ", ".join("/".join(f"{share(r, p, 'identifiable'):.0f}" for p in patterns) for r in rows)
    )
    conversion = [100 * _mean([x["conversion"] for x in r if x["conversion"] is not None]) for r in rows]
    lines.append(f"conversion {_slash(conversion, '.1f')}%")
    rec = data["recovery"]
    names = [c["name"] for c in cands]
    for made in names:
        won = rec["confusion"]["with_conversion"][made]
        cells = [f"**{won[w]}**" if w == made else str(won[w]) for w in names]
        lines.append(f"| {DOC_NAMES[made].removesuffix(' (the full hypothesis)')} | {' | '.join(cells)} |")
    right = sum(rec["confusion"]["with_conversion"][n][n] for n in names)
    total = sum(sum(rec["confusion"]["with_conversion"][n].values()) for n in names)
    lines.append(f"Right in {right} of {total} clinics ({rec['accuracy']['with_conversion']:.0%}")
    return lines


def main() -> None:
    d = Budget()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--starts", type=int, default=d.starts, help="searches per explanation")
    ap.add_argument("--trials", type=int, default=d.trials, help="simulated clinics per search")
    ap.add_argument("--startup", type=int, default=d.startup, help="of them, from the shared start design")
    ap.add_argument("--patients", type=int, default=d.patients, help="virtual patients per search clinic")
    ap.add_argument("--heldout-seeds", type=int, default=d.heldout_seeds, help="held-out clinics")
    ap.add_argument("--heldout-patients", type=int, default=d.heldout_patients, help="their size")
    ap.add_argument("--recovery", type=int, default=8, help="recovery clinics per explanation (0: none)")
    ap.add_argument("--recovery-patients", type=int, default=185, help="their size (van Rijn: 185)")
    ap.add_argument("--years", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("-o", "--output", type=Path, default=FITTED / "mechanisms-vanrijn2011.json")
    ap.add_argument("--cache", type=Path, default=None, help="keep each clinic here; rerun to go on")
    ap.add_argument("--summary", type=Path, help="print the lines docs/calibration.md quotes from this file")
    ap.add_argument(
        "--rejudge", type=Path, help="recompute the held-out trauma figures of this file, in place"
    )
    args = ap.parse_args()
    if args.summary is not None:
        try:
            lines = doc_lines(json.loads(args.summary.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError) as e:
            what = f"not a mechanism comparison this script wrote ({e!r})"
            print(f"error: {args.summary}: {what}", file=sys.stderr)
            raise SystemExit(2) from None
        print("\n".join(lines))
        return
    targets = van_rijn_2011()
    if args.rejudge is not None:
        data = json.loads(args.rejudge.read_text(encoding="utf-8"))
        data = rejudge_trauma(data, targets, van_rijn_2011_trauma(targets))
        data["rejudged"] = "held-out trauma figures recomputed from the stored held-out clinics (--rejudge)"
        atomic_write_text(args.rejudge, json.dumps(data, indent=1) + "\n")
        print(f"held-out trauma figures recomputed in {args.rejudge}")
        return
    budget = Budget(
        starts=args.starts,
        trials=args.trials,
        startup=args.startup,
        patients=args.patients,
        heldout_seeds=args.heldout_seeds,
        heldout_patients=args.heldout_patients,
    )
    store = ClinicStore(args.cache, SUMMARY_KIND) if args.cache is not None else None
    t0 = time.perf_counter()
    with dask_client(workers=args.workers) as client, Progress() as bar:
        task = bar.add_task("comparing mechanisms", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"{stage}: {done}/{total}", completed=done, total=total)

        cmp = compare_mechanisms(
            targets,
            base=Sim(years=args.years, seed=args.seed),
            budget=budget,
            seed=args.seed,
            client=client,
            progress=progress,
            heldout_trauma=van_rijn_2011_trauma(targets),
            recovery_replicates=args.recovery,
            recovery_patients=args.recovery_patients,
            store=store,
        )
    out = cmp.to_dict()
    out["script"] = "scripts/compare_mechanisms.py"
    out["settings"] = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    out["seconds"] = round(time.perf_counter() - t0, 1)  # this invocation only, when clinics were kept
    if store is not None:
        out["kept_clinics"] = store.counts()
    out["workers"] = args.workers
    atomic_write_text(args.output, json.dumps(out, indent=1) + "\n")
    print(cmp.sentence())
    print(f"{out['seconds']} s; written to {args.output}")


if __name__ == "__main__":
    main()
