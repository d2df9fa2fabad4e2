"""Regenerate the tables "What the default model predicts" of docs/trial.md (model output).

Runs every intervention in three schedules (from enrolment never stopped, from day 365, from enrolment
stopped at day 90) on the default virtual clinic, over K draws of model parameters (the bundled
posterior, or the point defaults when it is absent, which is printed) and of the intervention's strength
(its effect prior), and prints the Markdown rows and the HRV sentence. With --point it prints the old
table instead: one run per cell at the point parameters and the model's default strengths.

Usage: .venv/bin/python scripts/trial_table.py [--patients 200] [--years 3] [--seed 0] [--draws 8]
       [--point]
"""

from __future__ import annotations

import argparse
import time

from rich.progress import Progress

from crpsmap.calibrate.draws import default_draws
from crpsmap.model.interventions import CATALOGUE
from crpsmap.trial.design import TrialResult, TrialSpec, run_trial
from crpsmap.trial.uncertainty import DrawsTrialResult, ParameterSource, run_trial_draws

SCHEDULES = (
    ("from enrolment, never stopped", 0, None),
    ("from day 365", 365, None),
    ("stopped at day 90", 0, 90),
)


def pct(x: float | None) -> str:
    if x is None:
        return "–"
    s = f"{100 * x:.1f}".replace("-", "−")
    return "0%" if s in ("0.0", "−0.0") else s + "%"


def pts(x: float | None) -> str:
    if x is None:
        return "–"
    s = f"{100 * x:+.1f}".replace("-", "−")
    return s if s not in ("+0.0", "−0.0") else "0.0"


def cell(r: TrialResult, outcome: str = "spread") -> str:
    b = r.binary[outcome]
    c, i = b.control.proportion or 0.0, b.intervention.proportion or 0.0
    return f"{pct(c)} → {pct(i)}: {pts(b.difference)} ({pts(b.ci_low)} to {pts(b.ci_high)})"


def cell_draws(r: DrawsTrialResult, outcome: str = "spread") -> str:
    b = r.binary[outcome]
    iv90 = f"{pts(b.interval90[0])} to {pts(b.interval90[1])}" if b.interval90 else "–"
    within = f"{pts(b.within95[0])} to {pts(b.within95[1])}" if b.within95 else "–"
    return (
        f"{pct(r.control_share[outcome])} → {pct(r.intervention_share[outcome])}: {pts(b.median)} "
        f"(90% {iv90}; noise only {within})"
    )


def hrv_text(name: str, r: TrialResult | DrawsTrialResult) -> str:
    if isinstance(r, DrawsTrialResult):
        h = r.hrv
        if h.median is None or h.interval90 is None:
            return f"{name} –"
        return f"{name} {h.median:+.1f} ms (90% over draws {h.interval90[0]:+.1f} to {h.interval90[1]:+.1f})"
    d = r.hrv.difference
    ci = f" ({d.ci_low:+.1f} to {d.ci_high:+.1f})" if d.ci_low is not None else ""
    return f"{name} {d.mean:+.1f} ms{ci}" if d.mean is not None else f"{name} –"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument("--years", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--draws", type=int, default=8)
    ap.add_argument("--point", action="store_true", help="the old table: point parameters, no priors")
    args = ap.parse_args()
    posterior = None if args.point else default_draws()
    if not args.point:
        print(f"Model parameters: {ParameterSource.of(posterior).label}")
    t0 = time.monotonic()
    rows, hrv = [], []
    with Progress() as bar:
        task = bar.add_task("virtual trials", total=len(CATALOGUE) * len(SCHEDULES))
        for name in CATALOGUE:
            cells = []
            for _, start, stop in SCHEDULES:
                if name == "infection_cleared" and stop is not None:
                    cells.append("same as never stopped (clearance is permanent)")
                    bar.advance(task)
                    continue
                spec = TrialSpec(name, start, stop, args.patients, args.years, args.seed)
                r: TrialResult | DrawsTrialResult
                if args.point:
                    r = run_trial(spec)
                    cells.append(cell(r))
                else:
                    r = run_trial_draws(spec, posterior, draws=args.draws)
                    cells.append(cell_draws(r))
                if start == 0 and stop is None:
                    hrv.append(hrv_text(name, r))
                bar.advance(task)
            rows.append(f"| {name} | " + " | ".join(cells) + " |")
    print("| intervention | " + " | ".join(s for s, _, _ in SCHEDULES) + " |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    print(
        "\nHRV (paired difference of the RMSSD change, intervention − control, "
        "from enrolment, never stopped):"
    )
    print("; ".join(hrv).replace("-", "−") + ".")
    print(
        f"\n{args.patients} patients, {args.years:g} years, seed {args.seed}, "
        f"{'point run' if args.point else f'{args.draws} draws'}: {time.monotonic() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
