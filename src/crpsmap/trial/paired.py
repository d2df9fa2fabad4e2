"""Paired statistics for a virtual trial: every patient is seen under both arms (common random numbers).

Because the two arms are the same people, the proportions are correlated and the intervals for their
difference must use the pairing: Newcombe's (1998) hybrid score interval, method 10, for the difference
of two paired proportions (built from the two Wilson intervals); McNemar's exact test on the discordant
pairs; a paired t interval for a continuous outcome (HRV).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from crpsmap.stats.proportions import Z95, Proportion, wilson_interval


@dataclass(frozen=True)
class PairedTable:
    """The paired 2x2 table: `both` yes, `first_only` yes, `second_only` yes, `neither`."""

    both: int
    first_only: int
    second_only: int
    neither: int

    def __post_init__(self) -> None:
        if min(self.both, self.first_only, self.second_only, self.neither) < 0:
            raise ValueError(f"negative count in paired table {self}")

    @classmethod
    def of(cls, first: list[bool], second: list[bool]) -> PairedTable:
        """Count the pairs (first[i], second[i]); the lists are the same patients in the same order."""
        if len(first) != len(second):
            raise ValueError("paired outcomes need the same patients in both arms")
        pairs = list(zip(first, second, strict=True))
        return cls(
            both=sum(a and b for a, b in pairs),
            first_only=sum(a and not b for a, b in pairs),
            second_only=sum(b and not a for a, b in pairs),
            neither=sum(not a and not b for a, b in pairs),
        )

    @property
    def n(self) -> int:
        return self.both + self.first_only + self.second_only + self.neither

    @property
    def discordant(self) -> int:
        return self.first_only + self.second_only


def _phi(t: PairedTable) -> float:
    """Newcombe's continuity-corrected estimate of the correlation of the paired proportions.

    phi* = (AD - BC - N/2)/sqrt(EFGH) when AD - BC > N/2, 0 when 0 <= AD - BC <= N/2, and
    (AD - BC)/sqrt(EFGH) when AD < BC; 0 when any margin is empty (Newcombe 1998, method 10).
    """
    e, f = t.both + t.first_only, t.second_only + t.neither
    g, h = t.both + t.second_only, t.first_only + t.neither
    if min(e, f, g, h) == 0:
        return 0.0
    cross = t.both * t.neither - t.first_only * t.second_only
    root = math.sqrt(float(e) * f * g * h)
    if cross > t.n / 2:
        return (cross - t.n / 2) / root
    if cross >= 0:
        return 0.0
    return cross / root


def newcombe_paired_interval(t: PairedTable, z: float = Z95) -> tuple[float, float, float] | None:
    """(difference p1 - p2, lower, upper): Newcombe's hybrid score interval for paired proportions.

    p1 = (both + first_only)/n and p2 = (both + second_only)/n. The half-widths combine the distances
    from each proportion to its Wilson limit ("square and add"), less the correlation term. None for n = 0.
    """
    n = t.n
    if n == 0:
        return None
    x1, x2 = t.both + t.first_only, t.both + t.second_only
    p1, p2 = x1 / n, x2 / n
    w1, w2 = wilson_interval(x1, n, z), wilson_interval(x2, n, z)
    assert w1 is not None and w2 is not None
    (l1, u1), (l2, u2) = w1, w2
    phi = _phi(t)
    d1, e2 = p1 - l1, u2 - p2
    e1, d2 = u1 - p1, p2 - l2
    delta = math.sqrt(max(0.0, d1 * d1 - 2 * phi * d1 * e2 + e2 * e2))
    eps = math.sqrt(max(0.0, e1 * e1 - 2 * phi * e1 * d2 + d2 * d2))
    diff = p1 - p2
    return diff, max(-1.0, diff - delta), min(1.0, diff + eps)


def mcnemar_exact_p(t: PairedTable) -> float:
    """Two-sided exact McNemar p-value (binomial test on the discordant pairs; 1 when there are none)."""
    if t.discordant == 0:
        return 1.0
    from statsmodels.stats.contingency_tables import mcnemar

    res = mcnemar([[t.both, t.first_only], [t.second_only, t.neither]], exact=True)
    return float(min(1.0, res.pvalue))


@dataclass(frozen=True)
class PairedBinary:
    """A binary outcome in both arms of the same patients: proportions, paired difference, McNemar."""

    control: Proportion
    intervention: Proportion
    table: PairedTable  # first = intervention, second = control
    difference: float | None  # intervention - control
    ci_low: float | None
    ci_high: float | None
    mcnemar_p: float | None

    @classmethod
    def of(cls, control: list[bool], intervention: list[bool]) -> PairedBinary:
        t = PairedTable.of(intervention, control)
        ci = newcombe_paired_interval(t)
        n = t.n
        return cls(
            control=Proportion.of(sum(control), n),
            intervention=Proportion.of(sum(intervention), n),
            table=t,
            difference=None if ci is None else ci[0],
            ci_low=None if ci is None else ci[1],
            ci_high=None if ci is None else ci[2],
            mcnemar_p=None if n == 0 else mcnemar_exact_p(t),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "control": self.control.to_dict(),
            "intervention": self.intervention.to_dict(),
            "difference": self.difference,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "mcnemar_exact_p": self.mcnemar_p,
            "discordant_pairs": self.table.discordant,
            "only_intervention": self.table.first_only,
            "only_control": self.table.second_only,
            "both": self.table.both,
            "neither": self.table.neither,
        }


@dataclass(frozen=True)
class MeanCI:
    """A mean with its 95% t interval (None where fewer than 2 values)."""

    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None

    @classmethod
    def of(cls, values: list[float]) -> MeanCI:
        n = len(values)
        if n == 0:
            return cls(0, None, None, None)
        mean = math.fsum(values) / n
        if n < 2:
            return cls(n, mean, None, None)
        from scipy import stats

        sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
        half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
        return cls(n, mean, mean - half, mean + half)

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean, "ci_low": self.ci_low, "ci_high": self.ci_high}


@dataclass(frozen=True)
class PairedMean:
    """A continuous outcome in both arms: mean per arm and the mean paired difference (t interval)."""

    control: MeanCI
    intervention: MeanCI
    difference: MeanCI  # intervention - control, per patient
    p_value: float | None  # paired t test

    @classmethod
    def of(cls, control: list[float], intervention: list[float]) -> PairedMean:
        if len(control) != len(intervention):
            raise ValueError("paired values need the same patients in both arms")
        diffs = [b - a for a, b in zip(control, intervention, strict=True)]
        p: float | None = None
        if len(diffs) >= 2:
            if all(d == diffs[0] for d in diffs):
                p = 1.0 if diffs[0] == 0 else 0.0
            else:
                from scipy import stats

                p = float(stats.ttest_rel(intervention, control).pvalue)
        return cls(MeanCI.of(control), MeanCI.of(intervention), MeanCI.of(diffs), p)

    def to_dict(self) -> dict[str, Any]:
        return {
            "control": self.control.to_dict(),
            "intervention": self.intervention.to_dict(),
            "difference": self.difference.to_dict(),
            "paired_t_p": self.p_value,
        }
