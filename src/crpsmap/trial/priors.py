"""Priors for the strength of each intervention, anchored to human data where it exists (one table).

Why: the model's default strengths (ModelParams.vns_dV, e_sys, e_glia, e_IT, tau_clear) are design
choices. Passed through the model unchanged they made vagal stimulation raise RMSSD by about 25 ms, 1.7
between-person SD, where the human evidence shows no detectable change. A virtual trial therefore draws
each strength from the prior below, so that its interval includes effect-size uncertainty.

Each row names the model parameter, the human-scale readout, what the human data say and their source.
Where human data map onto something the model outputs (RMSSD for vagal stimulation, through the
observation model RMSSD = RMSSD_ref · V / V0_mean of docs/model.md), the prior is set on that readout and
mapped to the parameter. Where the human data measure something the model has no counterpart for (pain
scores, an impairment sum score) or where there are none, the prior is wide over the parameter's
documented range and labelled ASSUMED; the human studies are cited as context.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

from scipy import stats

from crpsmap.model import CATALOGUE, CohortParams, ModelParams

#: the label of a prior that no human data constrain
ASSUMED = "ASSUMED"
#: the label of a prior set on a human readout through the model
ANCHORED = "anchored to human data"

#: Wolf et al. 2021: taVNS vs sham on vagally mediated HRV in healthy people, Hedges' g and its 95%
#: shortest credible interval (16 single-blind studies, living Bayesian random-effects meta-analysis)
TAVNS_HRV_G = 0.014
TAVNS_HRV_G_CI95 = (-0.103, 0.132)
#: Nunan et al. 2010: short-term RMSSD in healthy adults 42 ± 15 ms (44 studies, 21,438 people)
RMSSD_SD_MS = 15.0
_Z975 = float(stats.norm.ppf(0.975))

WOLF_2021 = (
    "Wolf V, Kühnel A, Teckentrup V, Koenig J, Kroemer NB. Does transcutaneous auricular vagus nerve "
    "stimulation affect vagally mediated heart rate variability? A living and interactive Bayesian "
    "meta-analysis. Psychophysiology 2021;58(11):e13933. doi:10.1111/psyp.13933"
)
NUNAN_2010 = (
    "Nunan D, Sandercock GRH, Brodie DA. A quantitative systematic review of normal values for "
    "short-term heart rate variability in healthy adults. Pacing Clin Electrophysiol 2010;33:1407–1417. "
    "doi:10.1111/j.1540-8159.2010.02841.x"
)
DIRCKX_2013 = (
    "Dirckx M, Groeneweg G, Wesseldijk F, Stronks DL, Huygen FJPM. Report of a preliminary discontinued "
    "double-blind, randomized, placebo-controlled trial of the anti-TNF-α chimeric monoclonal antibody "
    "infliximab in complex regional pain syndrome. Pain Pract 2013;13(8):633–640 (doi not verified here)"
)
VANELDEREN_2015 = (
    "Vanelderen P, Van Zundert J, Kozicz T, et al. Effect of minocycline on lumbar radicular neuropathic "
    "pain: a randomized, placebo-controlled, double-blind clinical trial with amitriptyline as a "
    "comparator. Anesthesiology 2015;122(2):399–406 (doi not verified here)"
)

Distribution = Literal["normal", "uniform", "loguniform", "fixed"]
Scale = Literal["parameter", "rmssd_ms"]


def rmssd_per_unit_v(cohort: CohortParams) -> float:
    """ms of RMSSD per unit of vagal tone V: the observation model RMSSD = RMSSD_ref · V / V0_mean."""
    return cohort.rmssd_ref / cohort.v0_mean


def vns_dv_from_rmssd(delta_ms: float, cohort: CohortParams) -> float:
    """The vagal-tone step vns_dV whose direct effect on the observed RMSSD is `delta_ms`."""
    return delta_ms / rmssd_per_unit_v(cohort)


def human_rmssd_change_ms() -> tuple[float, float]:
    """(mean, sd) in ms of the human RMSSD response to taVNS vs sham: Wolf's g × Nunan's SD of RMSSD.

    The sd is read from Wolf's 95% interval as a normal one, from its wider side: (larger distance from g
    to either end) / 1.96. Wolf's shortest interval is not centred on g (g + 0.118, g - 0.117), and the
    plain half-width left the prior's 97.5% point (+1.97 ms) just below Wolf's upper bound (+1.98 ms);
    this way the prior's central 95% contains all of what Wolf 2021 supports, its upper bound included.
    """
    lo, hi = TAVNS_HRV_G_CI95
    half = max(hi - TAVNS_HRV_G, TAVNS_HRV_G - lo)
    return TAVNS_HRV_G * RMSSD_SD_MS, half / _Z975 * RMSSD_SD_MS


def human_rmssd_range_ms() -> tuple[float, float]:
    """The 95% range of the human RMSSD response to taVNS vs sham, in ms (Wolf 2021 × Nunan 2010)."""
    lo, hi = TAVNS_HRV_G_CI95
    return lo * RMSSD_SD_MS, hi * RMSSD_SD_MS


@dataclass(frozen=True)
class EffectPrior:
    """A prior on one intervention's strength parameter, with the evidence it rests on.

    `distribution` lives on `scale`: on the parameter itself, or on the human RMSSD change (ms), mapped
    to vns_dV through the observation model of the draw's cohort. normal: (a, b) = (mean, sd);
    uniform / loguniform: (a, b) = (low, high); fixed: the value a (for tests and point runs).
    """

    intervention: str
    parameter: str
    distribution: Distribution
    a: float
    b: float = 0.0
    scale: Scale = "parameter"
    anchored: bool = False
    readout: str = ""
    evidence: str = ""
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.intervention not in CATALOGUE:
            raise ValueError(f"unknown intervention {self.intervention!r}")
        if self.parameter not in {f.name for f in dataclasses.fields(ModelParams)}:
            raise ValueError(f"unknown model parameter {self.parameter!r}")
        if self.scale == "rmssd_ms" and self.parameter != "vns_dV":
            raise ValueError("only vns_dV can be set on the RMSSD scale")
        if self.distribution == "normal" and not self.b > 0:
            raise ValueError("a normal prior needs sd > 0")
        if self.distribution in ("uniform", "loguniform") and not self.b > self.a:
            raise ValueError("a uniform prior needs low < high")
        if self.distribution == "loguniform" and not self.a > 0:
            raise ValueError("a log-uniform prior needs low > 0")

    @property
    def label(self) -> str:
        """ANCHORED or ASSUMED, as shown on the page."""
        return ANCHORED if self.anchored else ASSUMED

    @classmethod
    def fixed(cls, intervention: str, value: float | None = None) -> EffectPrior:
        """A point prior: every draw uses `value` (default: the model's default strength)."""
        param = prior_for(intervention).parameter
        v = getattr(ModelParams(), param) if value is None else value
        return cls(intervention, param, "fixed", float(v), evidence="fixed strength (no prior)")

    def scale_quantile(self, u: float) -> float:
        """The prior's u-quantile on its own scale (ms of RMSSD change for an RMSSD prior)."""
        if not 0.0 < u < 1.0:
            raise ValueError(f"quantile level must be in (0, 1), got {u}")
        if self.distribution == "fixed":
            return self.a
        if self.distribution == "normal":
            return float(stats.norm.ppf(u, self.a, self.b))
        if self.distribution == "uniform":
            return self.a + u * (self.b - self.a)
        return math.exp(math.log(self.a) + u * (math.log(self.b) - math.log(self.a)))

    def quantile(self, u: float, cohort: CohortParams | None = None) -> float:
        """The parameter value at prior quantile u (RMSSD priors are mapped with the draw's cohort)."""
        x = self.scale_quantile(u)
        if self.scale == "rmssd_ms":
            return vns_dv_from_rmssd(x, cohort or CohortParams())
        return x

    def describe(self) -> str:
        """The prior in words, e.g. 'Normal(0.21, 0.90) ms RMSSD change → vns_dV'."""
        unit = " ms of RMSSD change, mapped to vns_dV" if self.scale == "rmssd_ms" else ""
        if self.distribution == "fixed":
            return f"fixed {self.parameter} = {self.a:g}"
        if self.distribution == "normal":
            return f"Normal(mean {self.a:.3g}, sd {self.b:.3g}){unit}"
        kind = "Uniform" if self.distribution == "uniform" else "Log-uniform"
        return f"{kind}({self.a:g} to {self.b:g}) on {self.parameter}{unit}"

    def central(self, cohort: CohortParams | None = None) -> tuple[float, float, float]:
        """(2.5%, 50%, 97.5%) of the prior on the parameter's own scale."""
        return (self.quantile(0.025, cohort), self.quantile(0.5, cohort), self.quantile(0.975, cohort))

    def to_dict(self) -> dict[str, Any]:
        lo, mid, hi = self.central()
        return {
            "intervention": self.intervention,
            "parameter": self.parameter,
            "prior": self.describe(),
            "basis": self.label,
            "parameter_median_at_defaults": mid,
            "parameter_95_at_defaults": [lo, hi],
            "human_readout": self.readout,
            "evidence": self.evidence,
            "sources": list(self.sources),
        }


def _vns_prior() -> EffectPrior:
    mean, sd = human_rmssd_change_ms()
    lo, hi = human_rmssd_range_ms()
    return EffectPrior(
        "vagal_stimulation",
        "vns_dV",
        "normal",
        mean,
        sd,
        scale="rmssd_ms",
        anchored=True,
        readout="RMSSD change, stimulation minus sham (ms)",
        evidence=(
            f"taVNS vs sham in 16 single-blind studies of healthy people: Hedges' g {TAVNS_HRV_G} (95% "
            f"shortest credible interval {TAVNS_HRV_G_CI95[0]} to {TAVNS_HRV_G_CI95[1]}), strong evidence "
            f"for no change; times the between-person SD of short-term RMSSD (42 ± {RMSSD_SD_MS:g} ms) "
            f"this is {mean:+.2f} ms ({lo:+.2f} to {hi:+.2f}); the prior's sd is set from the wider side "
            "of that interval, so its central 95% contains the whole of it. Acute stimulation in healthy "
            "people: chronic stimulation in patients is not covered."
        ),
        sources=(WOLF_2021, NUNAN_2010),
    )


def _table() -> dict[str, EffectPrior]:
    rows = (
        _vns_prior(),
        EffectPrior(
            "anti_inflammatory",
            "e_sys",
            "uniform",
            0.0,
            1.0,
            readout="impairment level sum score and blister-fluid cytokines (no counterpart in the model)",
            evidence=(
                "The one randomized trial of anti-TNF (infliximab 5 mg/kg) in CRPS stopped early with 13 "
                "patients (6 vs 7): no significant difference in the impairment level sum score or in "
                "blister-fluid cytokines, a trend toward lower TNF-α, a worse EuroQol VAS. It can exclude "
                "neither no effect nor a large one, and its outcome has no counterpart in the model, so it "
                "does not constrain e_sys: the prior spans the whole range."
            ),
            sources=(DIRCKX_2013,),
        ),
        EffectPrior(
            "glial_inhibitor",
            "e_glia",
            "uniform",
            0.0,
            1.0,
            readout="pain score (no counterpart in the model)",
            evidence=(
                "No glial inhibitor has been tested in CRPS. In lumbar radicular pain, minocycline 100 mg "
                "for 14 days lowered pain by 1.47 points on a 0-10 scale vs placebo (20 per group), a "
                "small effect on an outcome the model does not have; how much it inhibits human spinal "
                "microglia is unknown."
            ),
            sources=(VANELDEREN_2015,),
        ),
        EffectPrior(
            "intrathecal_anticytokine",
            "e_IT",
            "uniform",
            0.0,
            1.0,
            readout="none",
            evidence="No human study of spinal anti-cytokine treatment in CRPS was found.",
        ),
        EffectPrior(
            "infection_cleared",
            "tau_clear",
            "loguniform",
            3.0,
            60.0,
            readout="none",
            evidence=(
                "No human data on how fast clearing a persistent infection removes its inflammatory "
                "drive in CRPS; the prior spans the parameter's documented range (3-60 days)."
            ),
        ),
    )
    return {p.intervention: p for p in rows}


#: the effect priors, one per intervention of the model's catalogue
PRIORS: dict[str, EffectPrior] = _table()


def prior_for(intervention: str) -> EffectPrior:
    """The effect prior of one intervention of the catalogue."""
    try:
        return PRIORS[intervention]
    except KeyError:
        raise ValueError(
            f"no effect prior for intervention {intervention!r}; known: {', '.join(PRIORS)}"
        ) from None


def default_strength_source(intervention: str) -> tuple[str, float, str]:
    """(parameter, default value, its source in ModelParams): what a --point run uses."""
    param = prior_for(intervention).parameter
    meta = {f.name: f.metadata for f in dataclasses.fields(ModelParams)}[param]
    return param, float(getattr(ModelParams(), param)), str(meta.get("source", ""))
