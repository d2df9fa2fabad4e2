"""The calibration distance: the G statistic of the observed counts at the simulated proportions.

G = 2 sum k log(k / (n p)) over (multi-limb, not multi-limb) of all patients, over (identifiable
first-to-second-limb spread, not) of the multi-limb patients, and over the three second-limb patterns of
those with an identifiable spread: two binomial and one multinomial deviance. It is 0 when the
simulated shares equal the observed ones, and about chi-square with 4 degrees of freedom when the
observed counts are a sample of a clinic whose true shares are the simulated ones (it ignores the
simulation's own noise, which 800 simulated patients keep small). Simulated shares get a half-count of
smoothing so a pattern the model never produced costs a finite, large amount.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from crpsmap.calibrate.targets import PATTERNS, Targets

#: share of injuries that become CRPS that the fit may reach (docs/plausibility.md 3.1). Outside it the
#: objective rises. Sourced for fractures under strict (Budapest research / Harden-Bruehl) criteria:
#: - low 1%: Dijkstra PU, Groothoff JW, ten Duis HJ, Geertzen JHB. Incidence of complex regional pain
#:   syndrome type I after fractures of the distal radius. Eur J Pain 2003;7(5):457-462,
#:   doi:10.1016/S1090-3801(03)00015-6: 1/88 (1%, 95% CI 0.2-6%);
#: - Moseley GL, Herbert RD, Parsons T, Lucas S, Van Hilten JJ, Marinus J. Intense pain soon after wrist
#:   fracture strongly predicts who will develop complex regional pain syndrome: prospective cohort study.
#:   J Pain 2014;15(1):16-23, doi:10.1016/j.jpain.2013.08.009: 3.8% (95% CI 2.9-4.8%) of 1,549 wrist
#:   fractures within 4 months;
#: - high 7%: Beerthuizen A, Stronks DL, van't Spijker A, Yaksh A, Hanraets BM, Klein J, Huygen FJPM.
#:   Demographic and medical parameters in the development of complex regional pain syndrome type 1
#:   (CRPS1): prospective study on 596 patients with a fracture. Pain 2012;153(6):1187-1192,
#:   doi:10.1016/j.pain.2012.01.026: 42/596 (7.0% as published; 7.05%) by the Harden-Bruehl criteria.
#: The model's injuries also include sprains and contusions, whose rate should be no higher, so the
#: fracture band bounds the overall rate. (It was 1-20%, "up to one in five after a fracture", which only
#: looser criteria support: 21% by Veldman's criteria in the same 596 patients.)
PLAUSIBLE_CONVERSION = (0.01, 0.07)
#: a setting under which fewer than this share of injuries become CRPS gives no clinic to judge (the
#: mechanism comparison's failed trial, the posterior's infinite distance): a tenth of the band's floor.
#: No reading of the sources allows it, and filling such a clinic is the costliest simulation there is
#: (with the model's own limit, 1 in 10,000, a clinic of 200 patients screens up to 2 million injuries).
FAILED_BELOW_CONVERSION = PLAUSIBLE_CONVERSION[0] / 10
#: ... found as soon as the injuries screened so far show it at this confidence (`Sim.find_cases`), not
#: after screening 1 / FAILED_BELOW_CONVERSION injuries per patient: a setting converting at the floor
#: itself is failed by chance at most this rarely per look at the count.
FLOOR_CONFIDENCE = 0.999


def _g(observed: Sequence[int], expected_shares: Sequence[float]) -> float:
    n = sum(observed)
    g = 0.0
    for k, p in zip(observed, expected_shares, strict=True):
        if k > 0:
            g += k * math.log(k / (n * p))
    return 2.0 * g


def _smoothed(counts: Sequence[int]) -> list[float]:
    total = sum(counts) + 0.5 * len(counts)
    return [(c + 0.5) / total for c in counts]


def deviance_parts(targets: Targets, simulated: Mapping[str, Any]) -> dict[str, float]:
    """G of the multi-limb share and of the pattern split, for `simulated` report statistics."""
    m = simulated["multi_limb"]
    multi = _smoothed([int(m["count"]), int(m["denominator"]) - int(m["count"])])
    lp = simulated["limb_patterns"]
    shares = _smoothed([int(lp[p]["count"]) for p in PATTERNS])
    parts = {"multi_limb": _g([targets.multi_limb, targets.patients - targets.multi_limb], multi)}
    if targets.identifiable is not None and targets.multi_limb:
        n_ident = sum(int(lp[p]["count"]) for p in PATTERNS)
        ident = _smoothed([n_ident, int(m["count"]) - n_ident])
        parts["identifiable"] = _g([targets.identifiable, targets.multi_limb - targets.identifiable], ident)
    parts["limb_patterns"] = _g(list(targets.patterns), shares) if targets.n_patterns else 0.0
    return parts


def deviance(targets: Targets, simulated: Mapping[str, Any]) -> float:
    """Binomial + multinomial deviance (the distance minimised by the calibration)."""
    return sum(deviance_parts(targets, simulated).values())


def range_penalty(value: float | None, low: float, high: float) -> float:
    """0 inside [low, high]; (distance outside / 0.01)^2 beyond it: a figure one percentage point outside
    costs 1, as one point outside a van Rijn interval does (`interval_penalty`). No value costs nothing."""
    if value is None or math.isnan(value):
        return 0.0
    d = max(low - value, value - high, 0.0)
    return (d / 0.01) ** 2


def conversion_penalty(conversion: float | None) -> float:
    """0 inside PLAUSIBLE_CONVERSION; (distance outside / 0.01)^2 beyond it (0.12 costs 25)."""
    return range_penalty(conversion, *PLAUSIBLE_CONVERSION)


#: key of the simulated statistics under which a fit adds literature ranges of plausibility figures to
#: its objective (`calibrate.fit.simulate_summary(ranges=...)`): {key: [value, low, high]}
RANGES_KEY = "plausibility_ranges"


def ranged_values(simulated: Mapping[str, Any]) -> dict[str, float | None]:
    """The simulated value of each plausibility figure a fit holds in its range (empty unless asked)."""
    return {k: v[0] for k, v in simulated.get(RANGES_KEY, {}).items()}


def ranges_penalty(simulated: Mapping[str, Any]) -> float:
    """`range_penalty` summed over the plausibility figures a fit was asked to hold in their ranges (none
    unless asked: the calibration's objective is van Rijn's figures and the conversion band)."""
    return sum(range_penalty(v, lo, hi) for v, lo, hi in simulated.get(RANGES_KEY, {}).values())


def simulated_shares(simulated: Mapping[str, Any]) -> dict[str, float | None]:
    """The simulated multi-limb share and pattern shares (None where the denominator is 0)."""
    m = simulated["multi_limb"]
    out: dict[str, float | None] = {
        "multi_limb": int(m["count"]) / int(m["denominator"]) if int(m["denominator"]) else None
    }
    lp = simulated["limb_patterns"]
    n = sum(int(lp[p]["count"]) for p in PATTERNS)
    out["identifiable"] = n / int(m["count"]) if int(m["count"]) else None
    for p in PATTERNS:
        out[p] = int(lp[p]["count"]) / n if n else None
    return out


def distance_outside(targets: Targets, simulated: Mapping[str, Any]) -> dict[str, float | None]:
    """For each published figure with an interval: how far (as a share) the simulated share lies outside
    the observed 95% interval (0 inside), None where the simulation has no such share. The identifiable
    share is weighed by G only: it is not one of the published figures to land in."""
    shares = simulated_shares(simulated)
    out: dict[str, float | None] = {}
    for name, ci in targets.intervals().items():
        if name == "identifiable" or ci is None:
            continue
        p = shares[name]
        out[name] = None if p is None else max(ci[0] - p, p - ci[1], 0.0)
    return out


def interval_penalty(targets: Targets, simulated: Mapping[str, Any]) -> float:
    """Sum over the figures of (percentage points outside the observed 95% interval)^2; 0 inside all."""
    return sum(100.0 if d is None else (d / 0.01) ** 2 for d in distance_outside(targets, simulated).values())


def inside_intervals(targets: Targets, simulated: Mapping[str, Any]) -> dict[str, bool | None]:
    """For each published figure: does the simulated share lie inside its 95% interval?"""
    return {k: None if d is None else d == 0.0 for k, d in distance_outside(targets, simulated).items()}


def objective(targets: Targets, simulated: Mapping[str, Any]) -> float:
    """What the fit minimises: the deviance, plus penalties when a simulated figure leaves the observed
    figure's 95% interval (the acceptance criterion of a calibrated clinic), the injury -> CRPS share
    leaves its plausible range, or (only where a fit asked for it) a plausibility figure leaves its
    literature range."""
    return (
        deviance(targets, simulated)
        + interval_penalty(targets, simulated)
        + conversion_penalty(simulated.get("conversion"))
        + ranges_penalty(simulated)
    )
