"""The readable NumPy reference of the dynamics: one synchronous step for all patients at once.

This is the specification the fast kernel (kernel.py) is tested against; it favours clarity over speed.
Equations (docs/model.md): q = a_M M + a_A A + u;  c = f_cyt [q + W q + w_csf mean(q) + desc
+ beta (1 + kappa M) B + v_org E O - w_vinh V]+;  s = H(c; K_s, 2);  microglia by a chemical-Langevin
tau-leap with activation k_M g (1 + pi rho) f_act H(c; K, h);  astrocytes, priming, hemispheres and
organs by explicit Euler;  blood and vagal tone algebraic from the state just computed. The f_* are the
per-step channel values of the table of effects (effects.py): 1 (or 0 for the vagal shift) unless an
intervention or a switched-on mechanism row acts on them. With Mechanisms.limb_representations four limb
nodes R_l replace the two hemisphere nodes (`limb_ascending`, `limb_descending`; docs/model.md section 3).
With Mechanisms.somatotopy the limb enlargements have two columns per segment (network.py): only the
node count, the couplings and the area weights change, not the equations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from crpsmap.model.arrays import PatientInputs, RunOutput
from crpsmap.model.effects import Channel, EffectTable, default_table
from crpsmap.model.network import N_LIMB, N_SEG, N_SPINAL, TRUNK, Coupling, Topology, coupling, topology
from crpsmap.model.params import PI, ModelParams
from crpsmap.model.recorder import STATE_ID, Recorder, width
from crpsmap.model.rng import NODE_STRIDE, Draw, Draws

ASC_NORM = 5.0  # ascending input is normalised by ~one limb's worth of segments [D]


@dataclass(frozen=True)
class RunConfig:
    """Integration and observation settings of one run."""

    n_days: int
    seed: int
    dt: float = 0.25  # day; must divide one day
    theta: float = 0.5  # area symptomatic when its overlap activity exceeds theta
    persist_days: int = 14  # ... for at least this many consecutive days before it counts as involved
    tau_acute: float = 7.0  # decay time of an acute infection's drive, days

    @property
    def steps_per_day(self) -> int:
        spd = int(round(1.0 / self.dt))
        if spd < 1 or abs(spd * self.dt - 1.0) > 1e-12:
            raise ValueError(f"dt={self.dt} must divide one day (1, 0.5, 0.25, ...)")
        return spd

    @property
    def n_steps(self) -> int:
        return self.n_days * self.steps_per_day

    def scalars(self, p: ModelParams) -> np.ndarray:
        """Derived per-step constants, computed once in Python so both implementations share them."""
        v = p.vector()
        return np.array(
            [
                self.dt,
                math.exp(-self.dt / v[PI["tau_heal"]]),
                math.exp(-self.dt / self.tau_acute),
                _pow(v[PI["K"]], v[PI["h"]]),
                v[PI["K_s"]] ** 2,
                _pow(v[PI["K_A"]], 4.0),
                v[PI["K_R"]] ** 2,
                v[PI["K_O"]] ** 2,
                self.theta,
                float(self.persist_days),
            ]
        )


def _pow(x: float, h: float) -> float:
    return (x * x) * (x * x) if h == 4.0 else float(x**h)


def _hill_h(x: np.ndarray, h: float, kh: float) -> np.ndarray:
    xh = (x * x) * (x * x) if h == 4.0 else np.power(x, h)
    return np.asarray(xh / (kh + xh))


def _hill2(x: np.ndarray, k2: float) -> np.ndarray:
    x2 = x * x
    return np.asarray(x2 / (k2 + x2))


def limb_ascending(s_up: np.ndarray, node_limb: np.ndarray, c: tuple[float, float, float]) -> np.ndarray:
    """Ascending input of each limb node before a_asc / ASC_NORM: S_l + c_ips S_ips + c_hom S_hom +
    c_diag S_diag, with S_l the clear sensitisation (s_up, patients x spinal nodes) of limb l's segments.
    Why cross-talk: it is what lets a lit limb raise the others' representations (the hypothesis)."""
    S = np.stack([s_up[:, node_limb == limb].sum(axis=1) for limb in range(N_LIMB)], axis=1)
    c_ips, c_hom, c_diag = c
    return np.stack(
        [
            S[:, limb] + c_ips * S[:, limb ^ 2] + c_hom * S[:, limb ^ 1] + c_diag * S[:, limb ^ 3]
            for limb in range(N_LIMB)
        ],
        axis=1,
    )


def limb_descending(
    RL: np.ndarray, node_limb: np.ndarray, node_side: np.ndarray, c_desc: float | np.ndarray
) -> np.ndarray:
    """Descending facilitation per spinal node before w_desc: a limb segment gets its own limb node plus
    c_desc times the others; a trunk segment the mean of the two limb nodes of its side. c_desc: one
    value, or one per patient (the cross-talk subgroup)."""
    own = np.where(node_limb >= 0, node_limb, 0)
    total = RL.sum(axis=1, keepdims=True)
    cross = np.reshape(c_desc, (-1, 1)) if np.ndim(c_desc) else c_desc
    limb_part = RL[:, own] + cross * (total - RL[:, own])
    trunk_part = 0.5 * (RL[:, node_side] + RL[:, node_side + 2])
    return np.where(node_limb[None, :] != TRUNK, limb_part, trunk_part)


def _side_sums(x: np.ndarray, node_side: np.ndarray) -> np.ndarray:
    """Sum of x (patients x spinal nodes) over each body side: the side's segment nodes, then its lateral
    columns (appended after N_SPINAL with Mechanisms.somatotopy; summed separately so that without them
    the sums are today's bit for bit)."""
    out = np.stack([x[:, :N_SEG].sum(axis=1), x[:, N_SEG:N_SPINAL].sum(axis=1)], axis=1)
    if x.shape[1] > N_SPINAL:
        cols, sides = x[:, N_SPINAL:], node_side[N_SPINAL:]
        out = out + np.stack([cols[:, sides == 0].sum(axis=1), cols[:, sides == 1].sum(axis=1)], axis=1)
    return out


def run_reference(
    params: ModelParams,
    cfg: RunConfig,
    inp: PatientInputs,
    *,
    net: Coupling | None = None,
    topo: Topology | None = None,
    effects: EffectTable | None = None,
    record: Recorder | None = None,
) -> RunOutput:
    """Simulate all patients of `inp` for cfg.n_days with NumPy arrays (patients x nodes).

    effects: the table of effects (default: effects.default_table()); record: states to record over time
    (RunOutput.recording).
    """
    v = params.vector()
    if not params.mechanisms.infection:
        inp = inp.without_infection()
    net = net or coupling(params)
    topo = topo or topology(params.mechanisms.somatotopy)
    ns = topo.n_spinal
    k = cfg.scalars(params)
    dt, dec_u, dec_ac, Kh, Ks2, KA4, KR2, KO2, theta, persist = k
    plan = (effects or default_table()).plan(params, dt).columns(inp.iv_start.shape[1])
    W = net.dense_w()
    G = net.dense_g()
    E = topo.node_organs  # (N_SPINAL, N_ORGAN)
    organ_n = E.sum(axis=0)
    side = topo.node_side
    P = inp.n
    nv = inp.visit_day.shape[1]
    out = RunOutput.empty(P, nv, ns)
    p = {n: float(v[i]) for n, i in PI.items()}
    h = p["h"]
    n_eff = p["n_eff"]

    M = np.zeros((P, ns))
    A = np.zeros((P, ns))
    inp.check_modifiers()
    rho = topo.per_node(inp.rho0).astype(np.float64) if inp.rho0.shape[0] else np.zeros((P, ns))
    R = np.zeros((P, 2))
    limbs = params.mechanisms.limb_representations
    RL = np.zeros((P, N_LIMB))  # per-limb supraspinal nodes (used only with limb_representations)
    cross = (p["c_ips"], p["c_hom"], p["c_diag"])  # ascending cross-talk: same side, homologous, diagonal
    # descending cross-talk: one value, or one per patient with the cross-talk subgroup (membership w)
    w = inp.crosstalk_group
    c_desc = (1.0 - w) * p["c_desc"] + w * p["c_desc_group"] if w.shape[0] else p["c_desc"]
    O = np.zeros((P, E.shape[1]))  # noqa: E741
    u = np.zeros((P, ns))
    V = inp.v0.copy()
    I_chr = inp.infection.copy()
    I_ac = np.zeros(P)
    B = (1.0 - p["eps_V"] * V) * (p["b_0"] + I_chr)
    s = np.zeros((P, ns))
    run = np.zeros((P, topo.n_units), dtype=np.int64)
    involved = np.zeros((P, topo.n_units), dtype=bool)
    next_visit = np.zeros(P, dtype=np.int64)
    rows = np.arange(P)
    noise = Draws(cfg.seed, inp.patient, Draw.MICROGLIA_NOISE.stream)
    lat = p["lat"]
    spd = cfg.steps_per_day
    rec = record.buffer(P, cfg.n_days, ns) if record is not None else np.zeros((P, 0, 0))
    rec_off = record.layout(ns)[0] if record is not None else np.zeros(0, dtype=np.int64)
    rec_t = 0

    for n in range(cfg.n_steps):
        # 1. drive pulses of this step (injury, trauma, surgery -> dermatome nodes; infection -> blood)
        for e in range(inp.ev_step.shape[1]):
            hit = inp.ev_step[:, e] == n
            if not hit.any():
                continue
            unit = inp.ev_unit[:, e]
            local = hit & (unit >= 0)
            for j in range(topo.area_nodes.shape[1]):
                nodes = topo.area_nodes[np.where(local, unit, 0), j]
                weight = topo.area_w[np.where(local, unit, 0), j]
                ok = local & (nodes >= 0)
                u[rows[ok], nodes[ok]] += inp.ev_amp[ok, e] * weight[ok]
            I_ac += np.where(hit & (unit < 0), inp.ev_amp[:, e], 0.0)
        f = plan.factors(inp.iv_start, inp.iv_stop, n)  # (P, channels): the table of effects this step
        act_f = f[:, Channel.MICROGLIA_ACTIVATION]
        if inp.phi.shape[0]:  # sex modifier: a share phi of activation runs through T cells (Sorge 2015)
            act_f = (1.0 - inp.phi) * act_f + inp.phi * f[:, Channel.T_CELL_ACTIVATION]
        # 2. cytokine (quasi-steady) and sensitisation
        q = p["a_M"] * M + p["a_A"] * A + u
        if limbs:
            desc = limb_descending(RL, topo.node_limb, side, c_desc)
        else:
            desc_own = lat * R + (1.0 - lat) * R[:, ::-1]  # (P, 2): descending input per body side
            desc = desc_own[:, side]
        c = (
            q
            + q @ W.T
            + p["w_csf"] * q.mean(axis=1, keepdims=True)
            + (p["w_desc"] * f[:, Channel.DESCENDING])[:, None] * desc
            + (p["beta_bbb"] * f[:, Channel.BBB_INFLUX])[:, None] * (1.0 + p["kappa"] * M) * B[:, None]
            + p["v_org"] * (O @ E.T)
            - p["w_vinh"] * V[:, None]
        )
        c = np.maximum(c, 0.0) * f[:, Channel.SPINAL_CYTOKINE][:, None]
        s = _hill2(c, Ks2)
        # 3. microglia: chemical-Langevin tau-leap (demographic noise of n_eff units per node)
        lam = (
            p["k_M"]
            * inp.gain[:, None]
            * net.node_gain
            * (1.0 + p["pi_rho"] * rho)
            * act_f[:, None]
            * _hill_h(c, h, Kh)
        )
        up = lam * (1.0 - M)
        down = p["gamma_M"] * M
        M_new = M + (up - down) * dt
        if n_eff > 0.0:
            z = noise.normal(Draw.MICROGLIA_NOISE.first + n * NODE_STRIDE, ns)
            M_new = M_new + np.sqrt((up + down) * dt / n_eff) * z
        M_new = np.clip(M_new, 0.0, 1.0)
        # 4. astrocytes (gap-junction coupled), priming
        xA = M + p["w_AA"] * A + A @ G.T
        k_A = (p["k_A"] * f[:, Channel.ASTROCYTE_ACTIVATION])[:, None]
        A_new = A + dt * (k_A * _hill_h(xA, 4.0, KA4) * (1.0 - A) - p["gamma_A"] * A)
        rho = rho + dt * (p["k_rho"] * M * (1.0 - rho) - p["gamma_rho"] * rho)
        # 5. hemispheres (lateralised ascending input), organs
        s_up = np.maximum(s - p["s_asc"], 0.0)
        k_R = (p["k_R"] * f[:, Channel.SUPRASPINAL_ACTIVATION])[:, None]
        if limbs:
            asc = p["a_asc"] * limb_ascending(s_up, topo.node_limb, cross) / ASC_NORM
            RL = RL + dt * (k_R * _hill2(asc, KR2) * (1.0 - RL) - p["gamma_R"] * RL)
        else:
            s_side = _side_sums(s_up, side)
            asc = p["a_asc"] * (lat * s_side + (1.0 - lat) * s_side[:, ::-1]) / ASC_NORM
            R = R + dt * (k_R * _hill2(asc, KR2) * (1.0 - R) - p["gamma_R"] * R)
        xO = (s @ E) / organ_n + p["b_OB"] * B[:, None]
        k_O = (p["k_O"] * f[:, Channel.ORGAN_ACTIVATION])[:, None]
        O = O + dt * (k_O * _hill2(xO, KO2) * (1.0 - O) - p["gamma_O"] * O)  # noqa: E741
        M, A = M_new, A_new
        # 6. blood and vagal tone (algebraic, from the state just computed)
        infl = I_chr + I_ac
        B = (
            (1.0 - p["eps_V"] * V)
            * f[:, Channel.BLOOD_PRODUCTION]
            * (p["b_0"] + infl + p["b_O"] * O.sum(axis=1))
        )
        V = np.clip(
            inp.v0 + f[:, Channel.VAGAL_TONE] + p["v_r"] * B / (p["K_B"] + B) - p["lam_V"] * s.mean(axis=1),
            0.0,
            1.0,
        )
        # 7. decay of inputs
        u = u * dec_u
        I_ac = I_ac * dec_ac
        I_chr = I_chr * f[:, Channel.INFECTION_DECAY]
        # 8. once a day: which areas are symptomatic, persistence, visits
        if (n + 1) % spd == 0:
            day = (n + 1) // spd
            act = np.zeros((P, topo.n_units))
            for j in range(topo.overlap_idx.shape[1]):
                idx = topo.overlap_idx[:, j]
                act += np.where(idx >= 0, s[:, np.maximum(idx, 0)] * topo.overlap_w[:, j], 0.0)
            act[:, topo.n_areas :] = O
            # persistence with hysteresis: the status flips after `persist` consecutive days against it
            run = np.where((act > theta) != involved, run + 1, 0)
            flip = run >= persist
            involved = np.where(flip, ~involved, involved)
            run = np.where(flip, 0, run)
            slot = np.minimum(next_visit, nv - 1)
            due = (next_visit < nv) & (inp.visit_day[rows, slot] == day)
            if due.any():
                mask = (involved.astype(np.int64) << np.arange(topo.n_units, dtype=np.int64)).sum(axis=1)
                out.visit_mask[rows[due], slot[due]] = mask[due]
                out.visit_v[rows[due], slot[due]] = V[due]
                next_visit = next_visit + due
            if record is not None and day % record.every_days == 0:
                now = {"M": M, "A": A, "rho": rho, "c": c, "s": s, "u": u, "R": R, "O": O}
                now |= {"B": B[:, None], "V": V[:, None], "I_chr": I_chr[:, None], "I_ac": I_ac[:, None]}
                now["R_limb"] = RL
                for name in record.states:
                    o = int(rec_off[STATE_ID[name]])
                    rec[:, rec_t, o : o + width(name, ns)] = now[name]
                rec_t += 1
    out.M[:], out.A[:], out.rho[:], out.s[:] = M, A, rho, s
    out.R[:], out.O[:], out.B[:], out.V[:] = R, O, B, V
    out.R_limb[:] = RL
    if record is not None:
        out.recording = record.split(inp.patient, cfg.n_days, rec, ns)
    return out
