"""Regenerate the table "What the default model predicts" of docs/trial.md (model output).

Runs every intervention in three schedules (from enrolment never stopped, from day 365, from enrolment
stopped at day 90) on the default virtual clinic and prints the Markdown rows and the HRV sentence.
Usage: .venv/bin/python scripts/trial_table.py [--patients 300] [--years 3] [--seed 0]
"""

from __future__ import annotations

import argparse

from rich.progress import Progress

from crpsmap.model.interventions import CATALOGUE
from crpsmap.trial.design import TrialResult, TrialSpec, run_trial

SCHEDULES = (
    ("from enrolment, never stopped", 0, None),
    ("from day 365", 365, None),
    ("stopped at day 90", 0, 90),
)


def pct(x: float) -> str:
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patients", type=int, default=300)
    ap.add_argument("--years", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
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
                r = run_trial(spec)
                cells.append(cell(r))
                if start == 0 and stop is None:
                    d = r.hrv.difference
                    ci = f" ({d.ci_low:+.1f} to {d.ci_high:+.1f})" if d.ci_low is not None else ""
                    hrv.append(f"{name} {d.mean:+.1f} ms{ci}" if d.mean is not None else f"{name} –")
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


if __name__ == "__main__":
    main()
