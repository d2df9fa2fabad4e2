"""Proportions with Wilson 95% intervals: every share in the report carries its count and denominator.

Wilson's score interval is used because it behaves at 0 and 100% and with small denominators, where the
Wald interval collapses; it is written out here (not imported) so the report has no hidden dependency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975)


def wilson_interval(count: int, denominator: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for count/denominator; None when the denominator is 0."""
    if denominator < 0 or count < 0 or count > denominator:
        raise ValueError(f"invalid proportion {count}/{denominator}")
    if denominator == 0:
        return None
    n = float(denominator)
    p = count / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Proportion:
    """count of denominator, with its Wilson 95% interval (all None when the denominator is 0)."""

    count: int
    denominator: int
    proportion: float | None
    ci_low: float | None
    ci_high: float | None

    @classmethod
    def of(cls, count: int, denominator: int) -> Proportion:
        ci = wilson_interval(count, denominator)
        if ci is None:
            return cls(count, denominator, None, None, None)
        return cls(count, denominator, count / denominator, ci[0], ci[1])

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "denominator": self.denominator,
            "proportion": self.proportion,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
        }

    def percent(self, digits: int = 0) -> str:
        """'61% (95% CI 55-67%)', or 'not estimable (0 patients)'."""
        if self.proportion is None or self.ci_low is None or self.ci_high is None:
            return "not estimable (denominator 0)"
        f = f"{{:.{digits}f}}"
        return (
            f"{f.format(100 * self.proportion)}% (95% CI {f.format(100 * self.ci_low)}–"
            f"{f.format(100 * self.ci_high)}%)"
        )
