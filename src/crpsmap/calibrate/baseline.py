"""A phenomenological baseline the mechanistic model must beat: a multi-state Markov model of limb sets.

The states are the sets of limbs with CRPS. From its first limb a patient gains a second one at a
pattern-specific rate (contralateral, ipsilateral, diagonal), or two at once (rate `together`: the
first-to-second pattern cannot be identified, as for 17 of van Rijn's 89 multi-limb patients). Over a
follow-up of T years:

    P(multi-limb)                    = 1 - exp(-L T),          L = sum of the four rates
    P(identifiable | multi-limb)      = (L - together) / L
    P(pattern | identifiable)         = rate(pattern) / (L - together)

Why it is here: four rates for the four fitted figures (multi-limb share, identifiable share, two degrees of
freedom of the pattern split) make the description saturated. It reproduces the figures exactly (G = 0,
AIC = 8), so no set of mechanisms, which needs at least as many fitted parameters, can beat it on them.
The figures alone therefore cannot favour a mechanism over a description; only figures that were not
fitted can (docs/calibration.md, "Mechanism comparison"). The held-out figure used here is van Rijn's
trauma finding: a description of limb sets says nothing about traumas, so it gets the weakest competitor
we can give it, one trauma share for every pattern, fitted to the held-out figure itself (which favours
the baseline; it costs 2 AIC units).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# the G statistic and its half-count smoothing are distance.py's rule; one place for both
from crpsmap.calibrate.distance import _g, _smoothed
from crpsmap.calibrate.targets import PATTERNS, Targets

RATES = (*PATTERNS, "together")

#: van Rijn et al. 2011 (J Neural Transm 118:1301-1309, doi:10.1007/s00702-011-0601-1, abstract): "A trauma
#: preceded the onset in the second limb in 37, 44 and 91%" of contralateral, ipsilateral and diagonal
#: spread. Not used in any fit: it is the held-out figure of the mechanism comparison.
VAN_RIJN_2011_TRAUMA_SHARES = {"contralateral": 0.37, "ipsilateral": 0.44, "diagonal": 0.91}


def van_rijn_2011_trauma(targets: Targets) -> dict[str, tuple[int, int]]:
    """Observed (trauma-preceded, all) second limbs per pattern: the published shares times the pattern
    counts of `targets` (35 / 22 / 10), rounded: 13 / 10 / 9. Derived counts, not read from the paper."""
    return {
        p: (round(VAN_RIJN_2011_TRAUMA_SHARES[p] * n), n)
        for p, n in zip(PATTERNS, targets.patterns, strict=True)
    }


@dataclass(frozen=True)
class MarkovBaseline:
    """Rates per year of the first-to-second-limb transitions, and the follow-up they act over."""

    rates: Mapping[str, float]
    years: float
    n_parameters: int

    def probabilities(self) -> dict[str, float]:
        """P(multi-limb), P(identifiable | multi-limb) and P(pattern | identifiable)."""
        total = math.fsum(self.rates[r] for r in RATES)
        ident = math.fsum(self.rates[p] for p in PATTERNS)
        out = {
            "multi_limb": 1.0 - math.exp(-total * self.years) if math.isfinite(total) else 1.0,
            "identifiable": ident / total if total > 0 else 0.0,
        }
        for p in PATTERNS:
            out[p] = self.rates[p] / ident if ident > 0 else 1.0 / len(PATTERNS)
        return out

    def log_likelihood(self, targets: Targets) -> float:
        """Log-likelihood of the observed counts (binomial, binomial, multinomial kernels; the combinatorial
        constants cancel in G and in AIC differences)."""
        return _log_likelihood(targets, self.probabilities())

    def deviance(self, targets: Targets) -> float:
        """G against the saturated model: 2 (log L(observed shares) - log L(this model)); the same quantity
        as `distance.deviance`, with exact probabilities instead of a simulated clinic's shares."""
        m = self.probabilities()
        n, k = targets.patients, targets.multi_limb
        g = _gstat([k, n - k], [m["multi_limb"], 1.0 - m["multi_limb"]])
        if targets.identifiable is not None and k:
            i = targets.identifiable
            g += _gstat([i, k - i], [m["identifiable"], 1.0 - m["identifiable"]])
        if targets.n_patterns:
            g += _gstat(list(targets.patterns), [m[p] for p in PATTERNS])
        return max(g, 0.0)  # rounding can leave -1e-15 at the saturated fit

    def aic(self, targets: Targets) -> float:
        return self.deviance(targets) + 2 * self.n_parameters

    def to_dict(self, targets: Targets) -> dict[str, Any]:
        return {
            "name": "markov",
            "label": "multi-state Markov description of limb sets (pattern-specific rates, no mechanism)",
            "rates_per_year": dict(self.rates),
            "years": self.years,
            "n_parameters": self.n_parameters,
            "deviance": self.deviance(targets),
            "aic": self.aic(targets),
        }


def _gstat(observed: list[int], shares: list[float]) -> float:
    """distance.py's G, infinite where a share is 0 but its count is not."""
    if any(k > 0 and q <= 0 for k, q in zip(observed, shares, strict=True)):
        return math.inf
    return _g(observed, shares)


def _log_likelihood(targets: Targets, m: Mapping[str, float]) -> float:
    def term(count: int, p: float) -> float:
        if count == 0:
            return 0.0
        return -math.inf if p <= 0 else count * math.log(p)

    n, k = targets.patients, targets.multi_limb
    ll = term(k, m["multi_limb"]) + term(n - k, 1.0 - m["multi_limb"])
    if targets.identifiable is not None and k:
        i = targets.identifiable
        ll += term(i, m["identifiable"]) + term(k - i, 1.0 - m["identifiable"])
    for p, c in zip(PATTERNS, targets.patterns, strict=True):
        ll += term(c, m[p])
    return ll


def saturated_log_likelihood(targets: Targets) -> float:
    """The log-likelihood at the observed shares: the best any model of these counts can reach."""
    n, k = targets.patients, targets.multi_limb
    m = {"multi_limb": k / n, "identifiable": 0.0}
    if targets.identifiable is not None and k:
        m["identifiable"] = targets.identifiable / k
    total = targets.n_patterns
    for p, c in zip(PATTERNS, targets.patterns, strict=True):
        m[p] = c / total if total else 0.0
    return _log_likelihood(targets, m)


def fit_markov(targets: Targets, years: float) -> MarkovBaseline:
    """Maximum-likelihood rates (closed form). Without an identifiable count (a clinic's own statistics)
    the `together` rate is not identified: it is 0 and the model has three parameters."""
    if years <= 0:
        raise ValueError("follow-up must be positive")
    n, k = targets.patients, targets.multi_limb
    total = -math.log(1.0 - k / n) / years if k < n else math.inf
    has_ident = targets.identifiable is not None and k > 0
    share_ident = targets.identifiable / k if has_ident and targets.identifiable is not None else 1.0
    ident_rate = total * share_ident
    together = total - ident_rate if has_ident else 0.0
    n_pat = targets.n_patterns
    rates = {
        p: ident_rate * (c / n_pat if n_pat else 1.0 / len(PATTERNS))
        for p, c in zip(PATTERNS, targets.patterns, strict=True)
    }
    rates["together"] = together
    return MarkovBaseline(rates, years, n_parameters=4 if has_ident else 3)


def trauma_deviance(
    observed: Mapping[str, tuple[int, int]],
    trauma: Mapping[str, int],
    patterns: Mapping[str, int],
    *,
    shift: bool = False,
) -> float:
    """G of the observed trauma-preceded counts per pattern at a clinic's trauma shares (`trauma[p]` of
    `patterns[p]` second limbs), each share with the half-count smoothing of the calibration distance.

    `shift`: first move every share by one common log-odds shift, the one that fits the observed counts
    best (one parameter). What is left is the pattern of the shares (which spreads traumas precede more
    often), not their level: the same freedom `pooled_trauma` has, so the two compare with equal counts."""
    obs = [(k, n) for k, n in observed.values()]
    q = []
    for p in observed:
        t, total = int(trauma.get(p, 0)), int(patterns.get(p, 0))
        q.append(_smoothed([t, total - t])[0])

    def g_at(delta: float) -> float:
        shares = [1.0 / (1.0 + math.exp(-(math.log(x / (1.0 - x)) + delta))) for x in q]
        return math.fsum(_gstat([k, n - k], [s, 1.0 - s]) for (k, n), s in zip(obs, shares, strict=True))

    if not shift:
        return g_at(0.0)
    from scipy.optimize import minimize_scalar

    res = minimize_scalar(g_at, bounds=(-12.0, 12.0), method="bounded", options={"xatol": 1e-8})
    return float(min(res.fun, g_at(0.0)))


def pooled_trauma(observed: Mapping[str, tuple[int, int]]) -> dict[str, float]:
    """The baseline's account of the trauma figure: one share for every pattern (traumas unrelated to the
    pattern), fitted to the observed counts themselves. Its G, and AIC = G + 2 (one parameter)."""
    k = sum(c for c, _ in observed.values())
    n = sum(t for _, t in observed.values())
    share = k / n if n else 0.0
    g = sum(_gstat([c, t - c], [share, 1.0 - share]) for c, t in observed.values())
    return {"share": share, "deviance": g, "n_parameters": 1, "aic": g + 2.0}
