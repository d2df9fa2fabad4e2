"""Model parameters: one typed, frozen object per concern, each number with unit, range and source.

The values are priors from docs/mechanism.md (rodent time courses are priors, not human
facts) or design choices ([D]) tuned so that the default virtual clinic is plausible. Calibration (next
issue) replaces values with `dataclasses.replace(params, name=value)`; `describe()` lists the metadata for
the documentation and for calibration bounds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _p(default: float, unit: str, low: float, high: float, source: str) -> Any:
    """A parameter field: the default plus its unit, plausible range and source as metadata."""
    return field(default=default, metadata={"unit": unit, "low": low, "high": high, "source": source})


def _variant(help_text: str, default: bool = False) -> Any:
    """A structural-variant switch of Mechanisms, marked so only()/without() keep it at its default unless
    named: a variant is a choice of anatomy, not an arm of the explanation."""
    state = "on" if default else "off"
    return field(
        default=default, metadata={"help": f"variant, {state} by default: {help_text}", "variant": True}
    )


MECH = "mechanism.md"


@dataclass(frozen=True)
class Mechanisms:
    """On/off switches, so spinal, supraspinal and systemic explanations can be compared."""

    rostrocaudal: bool = dataclasses.field(
        default=True, metadata={"help": "same-side coupling between neighbouring spinal segments"}
    )
    commissural: bool = dataclasses.field(
        default=True,
        metadata={"help": "left-right coupling of homologous segments (cytokine + gap junction)"},
    )
    csf: bool = dataclasses.field(
        default=True, metadata={"help": "weak global coupling of all spinal nodes through CSF"}
    )
    supraspinal: bool = dataclasses.field(
        default=True,
        metadata={"help": "hemisphere nodes: ascending input, lateralised descending facilitation"},
    )
    systemic: bool = dataclasses.field(
        default=True, metadata={"help": "blood cytokine pool crossing the blood-brain barrier"}
    )
    infection: bool = dataclasses.field(
        default=True, metadata={"help": "chronic and acute infection drive into blood"}
    )
    vagal: bool = dataclasses.field(
        default=True, metadata={"help": "inflammatory reflex and central vagal inhibition"}
    )
    priming: bool = dataclasses.field(
        default=True, metadata={"help": "slow priming memory lowering the glial threshold"}
    )
    organs: bool = dataclasses.field(
        default=True, metadata={"help": "visceral organ nodes and viscero-somatic convergence"}
    )
    noise: bool = dataclasses.field(
        default=True, metadata={"help": "demographic noise of the microglial population"}
    )
    # --- structural variants (not arms of the explanation): only() and without() keep them at their
    # default unless named, so the arms' comparisons keep today's anatomy
    limb_representations: bool = _variant(
        "four supraspinal nodes, one per limb representation, instead of the two hemisphere nodes "
        "(docs/model.md, plausibility.md 4.2)"
    )
    somatotopy: bool = _variant(
        "each dorsal-horn node of the limb enlargements split into a medial (distal skin) and a lateral "
        "(proximal skin) column (docs/model.md, plausibility.md 4.1)",
        default=True,
    )

    @classmethod
    def only(cls, *names: str) -> Mechanisms:
        """All arms off except `names` (e.g. spinal-only: rostrocaudal, commissural, csf); a variant is on
        when named, else at its default."""
        cls._check(names)
        return cls(
            **{n: n in names for n in cls.arms()},
            **{n: n in names or cls._default(n) for n in cls.variants()},
        )

    @classmethod
    def without(cls, *names: str) -> Mechanisms:
        """All arms on except `names`; a variant is off when named, else at its default."""
        cls._check(names)
        return cls(
            **{n: n not in names for n in cls.arms()},
            **{n: n not in names and cls._default(n) for n in cls.variants()},
        )

    @classmethod
    def variants(cls) -> tuple[str, ...]:
        """Switches that select a structural variant of the model (anatomy), not an arm."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("variant"))

    @classmethod
    def arms(cls) -> tuple[str, ...]:
        """The on/off arms of the explanation (on by default): what `--off` and comparisons switch."""
        return tuple(f.name for f in dataclasses.fields(cls) if not f.metadata.get("variant"))

    @classmethod
    def _default(cls, name: str) -> bool:
        return bool(next(f.default for f in dataclasses.fields(cls) if f.name == name))

    def switched_off(self) -> tuple[str, ...]:
        """The arms that are off (variants are not arms: a default model has none off)."""
        return tuple(n for n in self.arms() if not getattr(self, n))

    def variants_on(self) -> tuple[str, ...]:
        """The structural variants switched on (the default model has the somatotopic columns)."""
        return tuple(n for n in self.variants() if getattr(self, n))

    def variants_changed(self) -> dict[str, bool]:
        """The variants set away from their default, with their setting: what a report must name."""
        return {n: getattr(self, n) for n in self.variants() if getattr(self, n) != self._default(n)}

    @classmethod
    def _check(cls, names: tuple[str, ...]) -> set[str]:
        known = {f.name for f in dataclasses.fields(cls)}
        bad = set(names) - known
        if bad:
            raise ValueError(f"unknown mechanism(s) {sorted(bad)}; known: {', '.join(sorted(known))}")
        return known


@dataclass(frozen=True)
class ModelParams:
    """Dynamics parameters. Time unit: day. Cytokine and glial quantities are normalised (0-1 scale)."""

    # --- microglia (fast glial arm: initiation)
    k_M: float = _p(0.5, "1/d", 0.3, 1.5, f"{MECH} 1.2: microglial change <1 d, proliferation peak 40 h")
    gamma_M: float = _p(0.03, "1/d", 0.01, 0.05, f"{MECH} 1.2: Iba1 elevated >=14 wk (Leinders 2013)")
    K: float = _p(2.28, "norm.", 0.8, 2.5, f"{MECH} 1.1 [D]: threshold behaviour (Milligan 2003)")
    h: float = _p(4.0, "-", 2.0, 4.0, f"{MECH} skeleton D: Hill steepness 2-4 [D]")
    a_M: float = _p(0.5, "norm.", 0.2, 1.0, f"{MECH} skeleton D: cytokine output of microglia (calibrate)")
    n_eff: float = _p(
        190.0, "units", 20.0, 500.0, f"{MECH} skeleton D: glial units per node (noise size) [D]"
    )
    # --- astrocytes (slow arm: maintenance, gap junctions)
    a_A: float = _p(0.6, "norm.", 0.2, 1.0, f"{MECH} skeleton D: cytokine output of astrocytes (calibrate)")
    k_A: float = _p(0.1, "1/d", 0.05, 0.2, f"{MECH} 1.2: astrocytes at ~7 d (Vega-Avelaira 2007)")
    gamma_A: float = _p(
        0.01, "1/d", 0.005, 0.02, f"{MECH} 1.1/1.2: Cx43 >3 wk, late phase astrocytic (Chen 2014)"
    )
    K_A: float = _p(1.0, "norm.", 0.2, 1.0, f"{MECH} skeleton C [D]: astrocyte activation half-point")
    w_AA: float = _p(0.35, "-", 0.0, 0.5, f"{MECH} 1.2: late minocycline fails (Raghavendra 2003; Wu 2013)")
    w_gap: float = _p(0.1, "-", 0.0, 0.5, f"{MECH} 1.1: contralateral onset tracks Cx43/GFAP [D]")
    # --- priming
    k_rho: float = _p(0.02, "1/d", 0.01, 0.1, f"{MECH} 1.1: two-hit priming at 2 weeks (Hains 2010)")
    gamma_rho: float = _p(0.01, "1/d", 1 / 180, 1 / 30, f"{MECH} skeleton D: priming decay 1-6 months")
    pi_rho: float = _p(1.0, "-", 0.5, 3.0, f"{MECH} 1.1: preconditioning lowers threshold (Mol Pain 2011)")
    # --- sensitisation (algebraic: tracks current cytokine, reverses quickly)
    K_s: float = _p(0.5, "norm.", 0.3, 1.0, f"{MECH} 1.1: rapid reversal by IT antagonists (Milligan 2003)")
    g_thoracic: float = _p(
        0.39, "-", 0.3, 1.0, "[D] fewer dorsal-horn neurons/glia in T2-T12 than in the limb enlargements"
    )
    g_cervical: float = _p(
        1.0,
        "-",
        0.3,
        1.0,
        "[D] glial gain of C2-C4 (neck, back of head, cranium) relative to the limb enlargements, like "
        "g_thoracic; no source (plausibility.md 4.3); 1 = today's model",
    )
    # --- spinal coupling
    w_rc: float = _p(0.41, "-", 0.05, 0.5, f"{MECH} 1.3: somatotopic PNI response; SCI spread (Carlton 2009)")
    ell: float = _p(1.0, "segments", 1.0, 3.0, f"{MECH} 1.3 [D]: coupling length")
    w_lr: float = _p(0.136, "-", 0.05, 0.4, f"{MECH} 1.4: mirror only at high drive (Milligan 2003)")
    w_csf: float = _p(0.05, "-", 0.0, 0.1, f"{MECH} 1.5: CSF turnover 3-4/d")
    # --- supraspinal
    k_R: float = _p(0.136, "1/d", 0.01, 0.3, f"{MECH} skeleton D: supraspinal activation (free)")
    gamma_R: float = _p(0.042, "1/d", 0.005, 0.05, f"{MECH} skeleton D: supraspinal decay (free)")
    s_asc: float = _p(
        0.3, "-", 0.0, 0.6, "[D] only sensitisation above this level ascends (no loop from background)"
    )
    K_R: float = _p(1.34, "norm.", 0.2, 1.5, f"{MECH} skeleton C [D]: supraspinal half-point")
    a_asc: float = _p(2.0, "-", 0.2, 3.0, f"{MECH} skeleton D: ascending gain (free)")
    w_desc: float = _p(0.401, "-", 0.0, 0.6, f"{MECH} skeleton D: descending facilitation (free)")
    lat: float = _p(
        0.872, "-", 0.5, 1.0, f"{MECH} skeleton A/G: lateralisation, an assumption not a measurement"
    )
    # per-limb supraspinal nodes (Mechanisms.limb_representations; unused while it is off). Values: the
    # hand choice of docs/plausibility.md 2.1 (a 32-setting grid on one 300-patient clinic), not a fit
    c_ips: float = _p(
        0.35, "-", 0.0, 1.0, "[D] no source: ascending cross-talk from the other limb of the same side"
    )
    c_hom: float = _p(
        0.1, "-", 0.0, 1.0, "[D] no source: ascending cross-talk from the homologous limb (callosal)"
    )
    c_diag: float = _p(0.05, "-", 0.0, 1.0, "[D] no source: ascending cross-talk from the diagonal limb")
    c_desc: float = _p(
        0.05, "-", 0.0, 1.0, "[D] no source: descending facilitation of a limb by the other limbs' nodes"
    )
    c_desc_group: float = _p(
        0.5,
        "-",
        0.0,
        1.0,
        "[D] no source: c_desc of the patients in the cross-talk subgroup (CohortParams.p_crosstalk_group, "
        "plausibility.md 4.7); unused while that share is 0",
    )
    # somatotopic columns of the limb enlargements (Mechanisms.somatotopy; unused while it is off). Values:
    # the hand choice of docs/model.md §3 (weak coupling between the columns: a local onset), not a fit
    w_ml: float = _p(
        0.05,
        "-",
        0.02,
        0.3,
        "[D] no human rate found (Maleki 2000: spread is 'gradual'): mediolateral cytokine coupling of the "
        "medial (distal skin) and lateral (proximal skin) column of one segment; sets how fast an onset "
        "grows from hand to shoulder",
    )
    chi: float = _p(
        0.1,
        "-",
        0.0,
        1.0,
        "[D] no source: rostro-caudal coupling across columns relative to within a column (1 = no "
        "preference, 0 = columns joined only within a segment)",
    )
    # --- blood, blood-brain barrier, infection
    b_0: float = _p(0.1, "norm.", 0.0, 0.3, f"{MECH} skeleton D: basal cytokine production")
    beta_bbb: float = _p(0.398, "-", 0.05, 0.5, f"{MECH} 1.6: saturable, modest influx (Banks 1995)")
    kappa: float = _p(
        1.7, "-", 0.0, 3.0, f"{MECH} 1.6: influx up-regulated by inflammation (Pan & Kastin 1999)"
    )
    b_O: float = _p(0.05, "-", 0.0, 0.5, f"{MECH} skeleton C [D]: organ contribution to blood")
    tau_clear: float = _p(14.0, "d", 3.0, 60.0, f"{MECH} skeleton E [D]: infection clearance time")
    # --- vagal reflex and HRV
    eps_V: float = _p(0.6, "-", 0.2, 0.8, f"{MECH} 1.7: VNS lowers TNF (Borovikova 2000; Koopman 2016)")
    v_r: float = _p(0.3, "-", 0.0, 0.5, f"{MECH} 1.7: inflammatory reflex (Tracey 2002)")
    K_B: float = _p(1.0, "norm.", 0.2, 2.0, f"{MECH} skeleton D: reflex half-saturation")
    lam_V: float = _p(0.3, "-", 0.0, 0.5, f"{MECH} 1.9: lower HRV in CRPS (Terkelsen 2012)")
    w_vinh: float = _p(0.05, "-", 0.0, 0.3, f"{MECH} 1.8: vagotomy -> hyperalgesia (Khasar 1998)")
    # --- organs
    k_O: float = _p(0.05, "1/d", 0.01, 0.2, f"{MECH} skeleton D: organ sensitisation rate (free)")
    gamma_O: float = _p(0.02, "1/d", 0.005, 0.05, f"{MECH} skeleton D: organ recovery (free)")
    K_O: float = _p(0.9, "norm.", 0.3, 1.0, f"{MECH} skeleton D: organ half-point (free)")
    b_OB: float = _p(0.2, "-", 0.0, 0.5, f"{MECH} skeleton C: blood drive to organs (free)")
    v_org: float = _p(0.05, "-", 0.0, 0.3, f"{MECH} 3.2: viscero-somatic convergence")
    # --- injury drive
    tau_heal: float = _p(
        21.0, "d", 10.0, 60.0, "[D] afferent drive of an injury fades as tissue heals (weeks)"
    )
    # --- interventions (strength of each while given)
    vns_dV: float = _p(0.3, "-", 0.1, 0.4, f"{MECH} skeleton E: vagal tone up 0.1-0.4")
    e_sys: float = _p(0.8, "-", 0.0, 1.0, f"{MECH} skeleton E: systemic anti-inflammatory (anti-TNF)")
    e_glia: float = _p(0.9, "-", 0.0, 1.0, f"{MECH} 1.2: minocycline-like microglial inhibition")
    e_IT: float = _p(0.95, "-", 0.0, 1.0, f"{MECH} 1.1: intrathecal IL-1/TNF antagonists (Milligan 2003)")
    mechanisms: Mechanisms = field(default_factory=Mechanisms)

    def replace(self, **changes: Any) -> ModelParams:
        return dataclasses.replace(self, **changes)

    def vector(self) -> np.ndarray:
        """The values as a float64 vector in PARAM_NAMES order, with switched-off mechanisms zeroed."""
        m = self.mechanisms
        v = {n: float(getattr(self, n)) for n in PARAM_NAMES}
        if not m.rostrocaudal:
            v["w_rc"] = 0.0
        if not m.commissural:
            v["w_lr"] = 0.0
            v["w_gap"] = 0.0
        if not m.csf:
            v["w_csf"] = 0.0
        if not m.supraspinal:
            v["w_desc"] = 0.0
            v["k_R"] = 0.0
        if not m.systemic:
            v["beta_bbb"] = 0.0
            v["b_OB"] = 0.0
        if not m.vagal:
            v["eps_V"] = 0.0
            v["w_vinh"] = 0.0
            v["v_r"] = 0.0
            v["vns_dV"] = 0.0
        if not m.priming:
            v["pi_rho"] = 0.0
        if not m.organs:
            v["k_O"] = 0.0
            v["v_org"] = 0.0
        if not m.noise:
            v["n_eff"] = 0.0  # 0 means: no noise
        return np.array([v[n] for n in PARAM_NAMES], dtype=np.float64)


PARAM_NAMES: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(ModelParams) if f.name != "mechanisms"
)
#: index of each parameter in ModelParams.vector()
PI: dict[str, int] = {n: i for i, n in enumerate(PARAM_NAMES)}


@dataclass(frozen=True)
class CohortParams:
    """Who gets injured, how, and how the clinic sees them (drawn per virtual patient)."""

    p_female: float = _p(0.75, "-", 0.6, 0.85, "de Mos 2007: F:M 3.4 (literature-targets.json)")
    age_mean: float = _p(
        50.0, "y", 35.0, 60.0, "de Mos 2007 peak 61-70 F; Schwartzman 2009 mean 37.5 (referral)"
    )
    age_sd: float = _p(15.0, "y", 8.0, 20.0, "[D]")
    p_upper: float = _p(0.6, "-", 0.5, 0.7, "de Mos 2007: upper > lower (split not read) [D]")
    p_hand: float = _p(
        0.6,
        "-",
        0.4,
        0.8,
        "NOT USED: the onset site within a limb comes from the fixed weights UPPER_SITES / LOWER_SITES in "
        "model/cohort.py (hand 51% of upper-limb onsets); making p_hand act would change every default "
        "clinic, so it is to be adopted (with a lower-limb counterpart) or dropped at the next refit. "
        "Pendon 2017: hand most often (81/108)",
    )
    p_fracture: float = _p(0.44, "-", 0.3, 0.6, "de Mos 2007: fracture 44% of precipitating events")
    p_spontaneous: float = _p(0.073, "-", 0.03, 0.1, "de Rooij 2010: 39/537 without eliciting event")
    drive_fracture: float = _p(0.755, "norm.", 0.5, 2.0, "[D] afferent drive of a fracture")
    drive_other: float = _p(0.6, "norm.", 0.2, 1.0, "[D] afferent drive of a sprain/contusion/surgery")
    drive_sd: float = _p(0.3, "log", 0.1, 0.6, "[D] spread of injury severity")
    drive_after_crps: float = _p(
        1.61,
        "x",
        1.0,
        2.5,
        "[D] afferent drive of a new injury after the CRPS screening day, relative to the same injury "
        "before (1 = no difference): pain sensitivity in unaffected limbs and the face is raised in CRPS "
        "(Huge 2008 PLoS One doi:10.1371/journal.pone.0002742; Pain 2013;154(12), 'Muscle hyperalgesia "
        "is widespread in patients with complex regional pain syndrome'); the size is not sourced",
    )
    gain_mu: float = _p(-0.997, "log", -2.0, 0.0, f"{MECH} skeleton D: patient gain lognormal mu_g -2..0")
    gain_sd: float = _p(
        0.28, "log", 0.2, 0.8, f"{MECH} skeleton D: sigma_g 0.4 (Le Coz 2014 strain variability)"
    )
    v0_mean: float = _p(0.5, "-", 0.3, 0.7, f"{MECH} skeleton D: baseline vagal tone V_0")
    v0_sd: float = _p(0.3, "log", 0.1, 0.5, f"{MECH} 1.9: large inter-individual HRV variation (Nunan 2010)")
    rmssd_ref: float = _p(42.0, "ms", 19.0, 75.0, f"{MECH} 1.9: RMSSD ~42 ms (Nunan 2010) [U, unchecked]")
    rmssd_noise: float = _p(0.15, "log", 0.05, 0.3, "[D] day-to-day RMSSD measurement variation")
    p_chronic_infection: float = _p(
        0.15, "-", 0.05, 0.3, "[D] persistent infection (cf. parvovirus B19 2001)"
    )
    infection_level: float = _p(0.3, "norm.", 0.0, 0.6, f"{MECH} skeleton D: I(t) 0-0.6")
    acute_infection_rate: float = _p(1.13, "1/y", 0.1, 2.0, "[D] acute infections per person-year")
    acute_infection_level: float = _p(0.26, "norm.", 0.1, 1.0, "[D] acute infection drive")
    acute_infection_days: float = _p(7.0, "d", 3.0, 14.0, "[D] acute infection decay time")
    trauma_rate: float = _p(0.196, "1/y", 0.02, 0.2, "[D] new injuries per person-year")
    surgery_rate: float = _p(0.05, "1/y", 0.01, 0.15, "[D] surgeries per person-year (half on the CRPS limb)")
    screen_day: float = _p(91.0, "d", 60.0, 180.0, "[D] CRPS = symptoms persisting beyond normal healing")
    persist_days: float = _p(14.0, "d", 7.0, 30.0, f"{MECH} F: symptomatic >= T_persist before counted")
    theta: float = _p(0.5, "-", 0.3, 0.7, f"{MECH} F: region symptomatic when overlap activity > theta")
    first_visit_delay: float = _p(60.0, "d", 0.0, 180.0, "[D] referral delay after screening (uniform 0..x)")
    visit_interval_1: float = _p(91.0, "d", 30.0, 182.0, "[D] visits in the first year")
    visit_interval_2: float = _p(182.0, "d", 91.0, 365.0, "[D] visits afterwards")
    visit_jitter: float = _p(14.0, "d", 0.0, 30.0, "[D] +- uniform jitter of each visit")
    dropout_per_visit: float = _p(0.03, "-", 0.0, 0.1, "[D] probability of leaving after each visit")
    recall_days: float = _p(
        30.0,
        "d",
        0.0,
        91.0,
        "[D] history taking: a patient dates the onset of a newly involved limb to this resolution "
        "(0 = the clinic sees spread only at visits)",
    )
    recall_error_days: float = _p(
        0.0,
        "d",
        0.0,
        90.0,
        "[D] SD of the error of a recalled limb onset date (normal, rounded to a day), kept after the "
        "previous visit and before the visit that asks (0 = recalled exactly to the recall_days grid); "
        "no source for its size",
    )

    # --- follow-up horizon (plausibility.md 4.4): OFF by default (0 = every patient followed Sim.years)
    horizon_median_years: float = _p(
        0.0,
        "y",
        0.0,
        15.0,
        "van Rijn 2011 disease duration at evaluation: NOT READ (patient table unreachable); "
        "0 = off (fixed horizon of Sim.years); >0 = median of a log-normal duration [D], not calibrated",
    )
    horizon_q1_years: float = _p(
        0.0, "y", 0.0, 15.0, "van Rijn 2011 lower quartile: NOT READ; 0 = no spread (every T_i = median) [D]"
    )
    horizon_q3_years: float = _p(
        0.0, "y", 0.0, 30.0, "van Rijn 2011 upper quartile: NOT READ; 0 = no spread (every T_i = median) [D]"
    )
    horizon_max_years: float = _p(
        15.0, "y", 1.0, 30.0, "[D] cap of the drawn durations (cost: every patient runs to the horizon)"
    )
    # --- patient-level modifiers (plausibility.md 4.5): OFF by default (0), not calibrated
    rho_age: float = _p(
        0.0,
        "-",
        0.0,
        0.5,
        "[D] initial priming of all spinal nodes at age >= 70, linear from 40: middle-aged microglia "
        "respond more (Nikodemova et al., Physiol Genomics, doi:10.1152/physiolgenomics.00129.2015; Galbavy "
        "2015 PLoS One doi:10.1371/journal.pone.0134394); 0 = off",
    )
    p_prior_pain: float = _p(
        0.0,
        "-",
        0.0,
        0.5,
        "assumed (no prevalence source; design value 0.2): share of injured people with prior chronic "
        "low-back pain (L4-S1 primed, both sides); 0 = off",
    )
    phi_female: float = _p(
        0.0,
        "-",
        0.0,
        1.0,
        "[D] share of microglial activation routed through T cells in women (effects channel "
        "T_CELL_ACTIVATION): rodent, Sorge 2015 Nat Neurosci 18:1081 doi:10.1038/nn.4053; Gregus 2021 "
        "Pain 162:2186 doi:10.1097/j.pain.0000000000002215; design prior 0.5; 0 = off",
    )
    rho_prior: float = _p(
        0.0,
        "-",
        0.0,
        1.0,
        "[D] initial priming of the prior-pain nodes: two-hit priming (Hains 2010 J Pain 11:1004; "
        "Ferrari 2015 J Neurosci 35:495); 0 = off",
    )
    # --- a cross-talk subgroup (plausibility.md 4.7): OFF by default (0); its patients have c_desc_group
    # instead of c_desc, so it acts only on the per-limb supraspinal nodes (Mechanisms.limb_representations)
    p_crosstalk_group: float = _p(
        0.0,
        "-",
        0.0,
        0.5,
        "[D] share of injured people whose limb representations facilitate each other more (a generalising "
        "phenotype): multi-limb CRPS is younger and more often has movement disorders (van Rijn 2011 J "
        "Neural Transm 118:1301), and CRPS with dystonia is genetically different but overlapping (HLA-B62 "
        "only with dystonia: van Rooijen 2012 J Pain 13:784, doi:10.1016/j.jpain.2012.05.003); the share "
        "is not sourced; 0 = off",
    )

    def replace(self, **changes: Any) -> CohortParams:
        return dataclasses.replace(self, **changes)


def describe(obj: ModelParams | CohortParams) -> list[dict[str, Any]]:
    """Rows (name, value, unit, low, high, source) for documentation and calibration bounds."""
    rows = []
    for f in dataclasses.fields(obj):
        if not f.metadata:
            continue
        rows.append({"name": f.name, "value": getattr(obj, f.name), **f.metadata})
    return rows
