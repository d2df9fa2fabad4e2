"""Virtual trials over parameter draws: intervals that carry model-parameter and effect-size uncertainty.

Why: one trial at the point parameters gives intervals that measure only simulation noise (the play of
chance among a finite number of virtual patients). Here the trial is run K times. Draw k takes the
model and cohort parameters from posterior draw k (crpsmap.calibrate.draws; the point defaults when no
posterior is available, which is then said) and the intervention's strength from the effect prior
(trial/priors.py). Within each draw both arms share every random number (common random numbers) and
every draw uses the same seed, so draws differ only by their parameters.

Per outcome the result gives
- the median over draws of the paired difference;
- the 90% and 95% intervals **over draws**: quantiles of the mixture, over draws, of each draw's own
  sampling distribution of the difference (a split normal through its paired 95% interval), so they
  contain parameter, effect-size and simulation uncertainty; with K identical draws they equal the
  point-parameter interval exactly;
- the **within-draw** 95% paired interval (simulation noise only): the median over draws of each draw's
  own interval limits.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from crpsmap.calibrate.draws import DEFAULT_POSTERIOR, PosteriorDraws
from crpsmap.stats.proportions import Z95
from crpsmap.trial.design import DEFAULT_BLOCK, DISCLAIMER, Progress, TrialResult, TrialSpec, run_trial
from crpsmap.trial.limits import DEFAULT_DRAWS, MAX_DRAWS
from crpsmap.trial.outcomes import BINARY_OUTCOMES
from crpsmap.trial.priors import EffectPrior, prior_for

if TYPE_CHECKING:
    from distributed import Client


#: said on the console, the page and in the JSON when a trial over draws has no posterior to draw from
NO_POSTERIOR = (
    f"no posterior draws were available (the bundled {DEFAULT_POSTERIOR} is absent): every draw uses the "
    "point defaults, so the model parameters are NOT varied and parameter uncertainty is left out"
)


@dataclass(frozen=True)
class ParameterSource:
    """Where the model parameters of the draws came from, in words for the page and the JSON."""

    posterior: bool  # False: every draw uses the point defaults (no parameter uncertainty)
    label: str
    names: tuple[str, ...] = ()

    @classmethod
    def of(cls, posterior: PosteriorDraws | None) -> ParameterSource:
        if posterior is None:
            return cls(False, NO_POSTERIOR)
        what = posterior.what or "posterior draws"
        method = f" ({posterior.method})" if posterior.method else ""
        unfinished = f"; {posterior.unfinished()}" if posterior.unfinished() else ""
        return cls(True, f"{what}{method}{unfinished}", tuple(posterior.names))


def select_draws(posterior: PosteriorDraws, k: int, seed: int) -> np.ndarray:
    """Indices of k draws by systematic resampling: by weight, evenly spread, distinct where possible.

    Systematic rather than multinomial (PosteriorDraws.resample) resampling, because with a handful of
    draws repeated indices would waste whole trials.
    """
    if k < 1:
        raise ValueError("at least 1 draw")
    start = np.random.default_rng([seed, 0x5EED]).random()
    positions = (start + np.arange(k)) / k
    cum = np.cumsum(posterior.weights)
    cum[-1] = 1.0
    idx = np.searchsorted(cum, positions, side="right")
    return np.minimum(idx, len(posterior) - 1)


def effect_levels(k: int, seed: int) -> np.ndarray:
    """k quantile levels of the effect prior, one in each of k equal strata, in random order."""
    rng = np.random.default_rng([seed, 0xEFFEC7])
    u = (np.arange(k) + rng.uniform(0.05, 0.95, size=k)) / k
    return rng.permutation(u)


def _split_normal_cdf(x: float, centre: np.ndarray, lo_sd: np.ndarray, hi_sd: np.ndarray) -> float:
    """Mean over components of split-normal CDFs (median `centre`; sd 0 is a point mass)."""
    d = x - centre
    sd = np.where(d < 0, lo_sd, hi_sd)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, d / np.where(sd > 0, sd, 1.0), np.where(d >= 0, np.inf, -np.inf))
    return float(np.mean(stats.norm.cdf(z)))


def mixture_quantile(
    centres: Sequence[float], lows: Sequence[float], highs: Sequence[float], q: float, z: float = Z95
) -> float:
    """The q-quantile of an equal mixture of split normals, one per draw, each through (low, centre, high)
    as its central interval at z (so one component alone gives back its own interval at that z)."""
    c = np.asarray(centres, dtype=float)
    lo_sd = (c - np.asarray(lows, dtype=float)) / z
    hi_sd = (np.asarray(highs, dtype=float) - c) / z
    if c.size == 0:
        raise ValueError("no components")
    if np.any(lo_sd < 0) or np.any(hi_sd < 0):
        raise ValueError("each interval must contain its centre")
    a = float(np.min(c - 10 * lo_sd)) - 1e-9
    b = float(np.max(c + 10 * hi_sd)) + 1e-9
    for _ in range(200):  # bisection: the CDF may have steps (components with sd 0)
        m = 0.5 * (a + b)
        if _split_normal_cdf(m, c, lo_sd, hi_sd) >= q:
            b = m
        else:
            a = m
        if b - a < 1e-13:
            break
    return b


@dataclass(frozen=True)
class OverDraws:
    """One effect over K draws: per-draw estimates and intervals, and what they add up to.

    `interval90` / `interval95`: over draws (parameters + effect size + simulation noise);
    `within95`: within a draw (simulation noise only; median over draws of each draw's limits).
    """

    estimates: tuple[float | None, ...]
    lows: tuple[float | None, ...]
    highs: tuple[float | None, ...]
    median: float | None
    interval90: tuple[float, float] | None
    interval95: tuple[float, float] | None
    within95: tuple[float, float] | None

    @classmethod
    def of(
        cls,
        estimates: Sequence[float | None],
        lows: Sequence[float | None],
        highs: Sequence[float | None],
        bounds: tuple[float, float] = (-math.inf, math.inf),
    ) -> OverDraws:
        """Combine per-draw estimates with their 95% intervals (None: no estimate / no interval)."""
        keep = [i for i, e in enumerate(estimates) if e is not None]
        if not keep:
            return cls(tuple(estimates), tuple(lows), tuple(highs), None, None, None, None)
        c = [float(estimates[i]) for i in keep]  # type: ignore[arg-type]
        lo = [float(lows[i]) if lows[i] is not None else ci for i, ci in zip(keep, c, strict=True)]  # type: ignore[arg-type]
        hi = [float(highs[i]) if highs[i] is not None else ci for i, ci in zip(keep, c, strict=True)]  # type: ignore[arg-type]

        def clip(x: float) -> float:
            return min(max(x, bounds[0]), bounds[1])

        def interval(level: float) -> tuple[float, float]:
            tail = (1 - level) / 2
            return (
                clip(mixture_quantile(c, lo, hi, tail)),
                clip(mixture_quantile(c, lo, hi, 1 - tail)),
            )

        return cls(
            tuple(estimates),
            tuple(lows),
            tuple(highs),
            float(np.median(c)),
            interval(0.90),
            interval(0.95),
            (float(np.median(lo)), float(np.median(hi))),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "median_over_draws": self.median,
            "interval_90_over_draws": list(self.interval90) if self.interval90 else None,
            "interval_95_over_draws": list(self.interval95) if self.interval95 else None,
            "within_draw_95": list(self.within95) if self.within95 else None,
            "per_draw": [
                {"estimate": e, "ci_low": lo, "ci_high": hi}
                for e, lo, hi in zip(self.estimates, self.lows, self.highs, strict=True)
            ],
        }


def _median(values: Sequence[float | None]) -> float | None:
    v = [x for x in values if x is not None]
    return float(np.median(v)) if v else None


@dataclass(frozen=True)
class Draw:
    """One draw: its parameters (those that vary), the effect strength and its trial."""

    index: int
    posterior_index: int | None
    parameters: dict[str, float]
    effect_level: float  # the prior quantile level u of the strength
    effect: float  # the strength parameter's value
    result: TrialResult


@dataclass(frozen=True)
class DrawsTrialResult:
    """A virtual trial over K draws of model parameters and effect strength (MODEL RESULT)."""

    spec: TrialSpec
    prior: EffectPrior
    source: ParameterSource
    draws: tuple[Draw, ...]
    binary: dict[str, OverDraws]
    control_share: dict[str, float | None]  # median over draws
    intervention_share: dict[str, float | None]
    hrv: OverDraws  # paired difference of the RMSSD change, ms

    @property
    def k(self) -> int:
        return len(self.draws)

    @property
    def n(self) -> int:
        return self.spec.patients

    def to_dict(self) -> dict[str, Any]:
        from crpsmap.trial.page import uncertainty_sentence

        return {
            "title": "Virtual trial (model result)",
            "model_result": True,
            "disclaimer": DISCLAIMER,
            "uncertainty": {
                "mode": "draws",
                "draws": self.k,
                "sentence": uncertainty_sentence(self),
                "parameter_uncertainty_included": self.source.posterior,
                "parameter_source": self.source.label,
                "parameters_varied": list(self.source.names),
                "effect_prior": self.prior.to_dict(),
                "intervals": {
                    "interval_90_over_draws / interval_95_over_draws": (
                        "quantiles of the mixture over draws of each draw's sampling distribution: "
                        "model parameters + effect size + simulation noise"
                    ),
                    "within_draw_95": (
                        "simulation noise only: median over draws of each draw's own paired 95% "
                        "interval limits (Newcombe for shares, t for HRV)"
                    ),
                },
            },
            "settings": self.spec.to_dict(),
            "patients_per_draw": self.n,
            "window": "events dated after the first day of the intervention, up to the last visit",
            "difference": "intervention minus control (negative: fewer events under the intervention)",
            "outcomes": {
                k: {
                    "control_share_median": self.control_share[k],
                    "intervention_share_median": self.intervention_share[k],
                    **v.to_dict(),
                }
                for k, v in self.binary.items()
            },
            "hrv_rmssd_change_difference_ms": self.hrv.to_dict(),
            "draws": [
                {
                    "draw": d.index,
                    "posterior_draw": d.posterior_index,
                    "parameters": d.parameters,
                    "effect_prior_level": d.effect_level,
                    "effect": {self.prior.parameter: d.effect},
                    "injuries_screened": d.result.injuries_screened,
                    "patients_observed_after_start": d.result.observed_after_start,
                }
                for d in self.draws
            ],
        }


def summarise_draws(
    spec: TrialSpec, prior: EffectPrior, source: ParameterSource, draws: Sequence[Draw]
) -> DrawsTrialResult:
    """Combine the draws' paired statistics into medians and intervals over draws."""
    binary: dict[str, OverDraws] = {}
    control: dict[str, float | None] = {}
    treated: dict[str, float | None] = {}
    for key in BINARY_OUTCOMES:
        b = [d.result.binary[key] for d in draws]
        binary[key] = OverDraws.of(
            [x.difference for x in b], [x.ci_low for x in b], [x.ci_high for x in b], (-1.0, 1.0)
        )
        control[key] = _median([x.control.proportion for x in b])
        treated[key] = _median([x.intervention.proportion for x in b])
    h = [d.result.hrv.difference for d in draws]
    hrv = OverDraws.of([m.mean for m in h], [m.ci_low for m in h], [m.ci_high for m in h])
    return DrawsTrialResult(spec, prior, source, tuple(draws), binary, control, treated, hrv)


def run_trial_draws(
    spec: TrialSpec,
    posterior: PosteriorDraws | None,
    *,
    draws: int = DEFAULT_DRAWS,
    prior: EffectPrior | None = None,
    block: int = DEFAULT_BLOCK,
    client: Client | None = None,
    progress: Progress | None = None,
    runner: Callable[..., TrialResult] = run_trial,
) -> DrawsTrialResult:
    """Run spec's trial once per draw: posterior parameters (or the point defaults when `posterior` is
    None) on top of spec.params / spec.cohort, the strength from the effect prior, the same seed.

    `runner` runs one trial (run_trial; the command line passes the one it imported, so a failing run
    fails the same way in both modes)."""
    if not 1 <= draws <= MAX_DRAWS:
        raise ValueError(f"draws must be 1 to {MAX_DRAWS}, got {draws}")
    prior = prior or prior_for(spec.intervention)
    if prior.intervention != spec.intervention:
        raise ValueError(f"prior for {prior.intervention} given to a trial of {spec.intervention}")
    source = ParameterSource.of(posterior)
    picked = select_draws(posterior, draws, spec.seed) if posterior is not None else None
    levels = effect_levels(draws, spec.seed)
    out: list[Draw] = []
    for k in range(draws):
        if progress is not None:
            progress("draw", k, draws)
        params, cohort = spec.params, spec.cohort
        varied: dict[str, float] = {}
        j: int | None = None
        if posterior is not None and picked is not None:
            j = int(picked[k])
            params, cohort = posterior.params(j, params, cohort)
            varied = posterior.draw(j)
        effect = prior.quantile(float(levels[k]), cohort)
        strength: dict[str, Any] = {prior.parameter: effect}
        params = dataclasses.replace(params, **strength)
        one = dataclasses.replace(spec, params=params, cohort=cohort)
        result = runner(one, block=block, client=client, progress=progress)
        out.append(Draw(k, j, varied, float(levels[k]), effect, result))
    if progress is not None:
        progress("draw", draws, draws)
    return summarise_draws(spec, prior, source, out)
