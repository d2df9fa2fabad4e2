"""Regenerate the default-clinic figures and the mechanism-switch table of docs/model.md §9 (model output).

Usage: .venv/bin/python scripts/clinic_tables.py [--patients 800] [--switch-patients 400] [--seed 0]
The default clinic is judged exactly as a clinic's file (classifier + report statistics); the switch
table turns mechanisms off with the default parameters, not refitted (docs/calibration.md refits them).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections import Counter

from rich.progress import track

from crpsmap.model import Mechanisms, Sim
from crpsmap.spread import classify
from crpsmap.stats.summary import cohort_statistics

VARIANTS = (
    ("full model", Mechanisms()),
    (
        "spinal only (rostro-caudal, commissural, CSF; noise and priming kept)",
        Mechanisms.only("rostrocaudal", "commissural", "csf", "noise", "priming"),
    ),
    ("no supraspinal", Mechanisms.without("supraspinal")),
    ("no systemic (blood-brain barrier)", Mechanisms.without("systemic")),
    ("no vagal reflex", Mechanisms.without("vagal")),
    ("no infection", Mechanisms.without("infection")),
)


def pct(k: int, n: int) -> str:
    return f"{100 * k / n:.1f}%" if n else "–"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patients", type=int, default=800)
    ap.add_argument("--switch-patients", type=int, default=400)
    ap.add_argument("--years", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    sim = Sim(years=args.years, seed=args.seed)
    clinic = sim.clinic(args.patients)
    st = cohort_statistics(clinic.histories)
    f = st.figures
    lp = f.limb_patterns.overall
    n_id = sum(p.count for p in lp.values())
    limbs = Counter(len(classify(h).limbs) for h in clinic.histories)
    print(
        f"default clinic: {args.patients} patients, {clinic.n_injuries} injuries screened, "
        f"conversion {100 * clinic.conversion:.1f}%"
    )
    print(
        f"multi-limb {f.multi_limb.count}/{f.multi_limb.denominator} "
        f"({pct(f.multi_limb.count, f.multi_limb.denominator)}); identifiable {n_id} "
        f"({pct(n_id, f.multi_limb.count)}); contra/ipsi/diag "
        + " / ".join(
            f"{lp[k].count} ({pct(lp[k].count, n_id)})" for k in ("contralateral", "ipsilateral", "diagonal")
        )
    )
    print("limbs at last visit: " + ", ".join(f"{k}: {limbs[k]}" for k in sorted(limbs)))
    print(
        f"generalized {pct(f.generalized.count, f.generalized.denominator)}; "
        f"visceral {pct(f.visceral.count, f.visceral.denominator)}"
    )
    for c in st.literature:
        if c.target_id.startswith("vanrijn2011"):
            ci = c.published_interval
            print(f"  {c.target_id}: {c.cohort.proportion} inside {ci} -> {c.inside_published_interval}")

    print(
        "\n| variant | conversion | multi-limb | first-to-second limb contra / ipsi / diag (patients) "
        "| four limbs + trunk |"
    )
    print("|---|---|---|---|---|")
    for label, mech in track(VARIANTS, description="mechanism switches"):
        v = dataclasses.replace(sim, params=sim.params.replace(mechanisms=mech))
        c = v.clinic(args.switch_patients)
        s = cohort_statistics(c.histories)
        g = s.figures
        o = g.limb_patterns.overall
        print(
            f"| {label} | {100 * c.conversion:.1f}% | {pct(g.multi_limb.count, g.multi_limb.denominator)} | "
            f"{o['contralateral'].count} / {o['ipsilateral'].count} / {o['diagonal'].count} | "
            f"{pct(g.generalized.count, g.generalized.denominator)} |"
        )


if __name__ == "__main__":
    main()
