"""The fast kernel: the reference step (reference.py) compiled with Numba, parallel over patients.

Each patient is independent (its random numbers are a pure function of seed, patient, step and node), so
patients are distributed over threads with prange and the whole time loop of one patient runs in local
arrays. The arithmetic mirrors reference.py line by line; tests compare the two.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from crpsmap.model.arrays import (
    IV_CLEAR,
    IV_GLIA,
    IV_INTRATHECAL,
    IV_SYSTEMIC,
    IV_VAGAL,
    N_IV,
    PatientInputs,
    RunOutput,
)
from crpsmap.model.network import N_SEG, N_SPINAL, Coupling, Topology, coupling, topology
from crpsmap.model.params import PI, ModelParams
from crpsmap.model.reference import ASC_NORM, RunConfig
from crpsmap.model.rng import NODE_STRIDE, STREAM_NOISE, normal_nb, stream_key_nb

# parameter indices as compile-time constants
_a_M, _a_A, _k_M, _gamma_M, _h, _n_eff = PI["a_M"], PI["a_A"], PI["k_M"], PI["gamma_M"], PI["h"], PI["n_eff"]
_k_A, _gamma_A, _w_AA = PI["k_A"], PI["gamma_A"], PI["w_AA"]
_k_rho, _gamma_rho, _pi_rho = PI["k_rho"], PI["gamma_rho"], PI["pi_rho"]
_s_asc = PI["s_asc"]
_w_csf, _k_R, _gamma_R, _a_asc, _w_desc, _lat = (
    PI["w_csf"],
    PI["k_R"],
    PI["gamma_R"],
    PI["a_asc"],
    PI["w_desc"],
    PI["lat"],
)
_b_0, _beta, _kappa, _b_O = PI["b_0"], PI["beta_bbb"], PI["kappa"], PI["b_O"]
_eps_V, _v_r, _K_B, _lam_V, _w_vinh = PI["eps_V"], PI["v_r"], PI["K_B"], PI["lam_V"], PI["w_vinh"]
_k_O, _gamma_O, _b_OB, _v_org = PI["k_O"], PI["gamma_O"], PI["b_OB"], PI["v_org"]
_vns, _e_sys, _e_glia, _e_IT = PI["vns_dV"], PI["e_sys"], PI["e_glia"], PI["e_IT"]


@numba.njit(parallel=True, cache=True, nogil=True)
def _run(  # type: ignore[no-untyped-def]  # noqa: C901 - one flat loop nest is what makes it fast
    pv,
    k,
    seed,
    n_steps,
    spd,
    w_idx,
    w_val,
    g_idx,
    g_val,
    node_gain,
    node_organs,
    organ_n,
    ov_idx,
    ov_w,
    area_nodes,
    n_areas,
    n_units,
    patient,
    gain,
    v0,
    infection,
    ev_step,
    ev_unit,
    ev_amp,
    iv_start,
    iv_stop,
    visit_day,
    visit_mask,
    visit_v,
    oM,
    oA,
    orho,
    os_,
    oR,
    oO,
    oB,
    oV,
):
    dt, dec_u, dec_ac, dec_clear, Kh, Ks2, KA4, KR2, KO2, theta, persist = (
        k[0],
        k[1],
        k[2],
        k[3],
        k[4],
        k[5],
        k[6],
        k[7],
        k[8],
        k[9],
        k[10],
    )
    a_M, a_A, k_M, gamma_M, h, n_eff = pv[_a_M], pv[_a_A], pv[_k_M], pv[_gamma_M], pv[_h], pv[_n_eff]
    k_A, gamma_A, w_AA = pv[_k_A], pv[_gamma_A], pv[_w_AA]
    k_rho, gamma_rho, pi_rho = pv[_k_rho], pv[_gamma_rho], pv[_pi_rho]
    w_csf, k_R, gamma_R, a_asc, w_desc, lat = (
        pv[_w_csf],
        pv[_k_R],
        pv[_gamma_R],
        pv[_a_asc],
        pv[_w_desc],
        pv[_lat],
    )
    b_0, beta, kappa, b_O = pv[_b_0], pv[_beta], pv[_kappa], pv[_b_O]
    eps_V, v_r, K_B, lam_V, w_vinh = pv[_eps_V], pv[_v_r], pv[_K_B], pv[_lam_V], pv[_w_vinh]
    s_asc = pv[_s_asc]
    k_O, gamma_O, b_OB, v_org = pv[_k_O], pv[_gamma_O], pv[_b_OB], pv[_v_org]
    vns, e_sys, e_glia, e_IT = pv[_vns], pv[_e_sys], pv[_e_glia], pv[_e_IT]
    h4 = h == 4.0
    n_org = node_organs.shape[1]
    n_ev = ev_step.shape[1]
    nv = visit_day.shape[1]
    P = patient.shape[0]
    inv_n = 1.0 / N_SPINAL
    for r in numba.prange(P):
        key = stream_key_nb(np.uint64(seed), np.uint64(patient[r]), np.uint64(STREAM_NOISE))
        M = np.zeros(N_SPINAL)
        A = np.zeros(N_SPINAL)
        Mn = np.zeros(N_SPINAL)
        An = np.zeros(N_SPINAL)
        rho = np.zeros(N_SPINAL)
        u = np.zeros(N_SPINAL)
        q = np.zeros(N_SPINAL)
        s = np.zeros(N_SPINAL)
        R = np.zeros(2)
        O = np.zeros(n_org)  # noqa: E741
        On = np.zeros(n_org)
        orgterm = np.zeros(N_SPINAL)
        run = np.zeros(n_units, dtype=np.int64)
        involved = np.zeros(n_units, dtype=np.bool_)
        on = np.zeros(N_IV, dtype=np.bool_)
        V = v0[r]
        I_chr = infection[r]
        I_ac = 0.0
        B = (1.0 - eps_V * V) * (b_0 + I_chr)
        g = gain[r]
        ev = 0
        vi = 0
        for n in range(n_steps):
            # 1. drive pulses
            while ev < n_ev and ev_step[r, ev] >= 0 and ev_step[r, ev] <= n:
                if ev_step[r, ev] == n:
                    un = ev_unit[r, ev]
                    if un >= 0:
                        for j in range(area_nodes.shape[1]):
                            nd = area_nodes[un, j]
                            if nd >= 0:
                                u[nd] += ev_amp[r, ev]
                    else:
                        I_ac += ev_amp[r, ev]
                ev += 1
            for x in range(N_IV):
                on[x] = iv_start[r, x] <= n and n < iv_stop[r, x]
            it_f = 1.0 - e_IT if on[IV_INTRATHECAL] else 1.0
            gl_f = 1.0 - e_glia if on[IV_GLIA] else 1.0
            # 2. cytokine and sensitisation
            qsum = 0.0
            for i in range(N_SPINAL):
                q[i] = a_M * M[i] + a_A * A[i] + u[i]
                qsum += q[i]
            qmean = qsum * inv_n
            d0 = w_desc * (lat * R[0] + (1.0 - lat) * R[1])
            d1 = w_desc * (lat * R[1] + (1.0 - lat) * R[0])
            for i in range(N_SPINAL):
                acc = 0.0
                for o in range(n_org):
                    acc += node_organs[i, o] * O[o]
                orgterm[i] = acc
            s0 = 0.0
            s1 = 0.0
            stot = 0.0
            for i in range(N_SPINAL):
                cw = 0.0
                for j in range(w_idx.shape[1]):
                    nj = w_idx[i, j]
                    if nj >= 0:
                        cw += w_val[i, j] * q[nj]
                desc = d0 if i < N_SEG else d1
                c = (
                    q[i]
                    + cw
                    + w_csf * qmean
                    + desc
                    + beta * (1.0 + kappa * M[i]) * B
                    + v_org * orgterm[i]
                    - w_vinh * V
                )
                if c < 0.0:
                    c = 0.0
                c = c * it_f
                c2 = c * c
                si = c2 / (Ks2 + c2)
                s[i] = si
                stot += si
                sx = si - s_asc
                if sx > 0.0:
                    if i < N_SEG:
                        s0 += sx
                    else:
                        s1 += sx
                # 3. microglia
                ch = c2 * c2 if h4 else c**h
                lam = k_M * g * node_gain[i] * (1.0 + pi_rho * rho[i]) * gl_f * (ch / (Kh + ch))
                up = lam * (1.0 - M[i])
                down = gamma_M * M[i]
                mn = M[i] + (up - down) * dt
                if n_eff > 0.0:
                    z = normal_nb(key, np.uint64(n * NODE_STRIDE + i))
                    mn = mn + math.sqrt((up + down) * dt / n_eff) * z
                Mn[i] = min(max(mn, 0.0), 1.0)
                # 4. astrocytes, priming
                ga = 0.0
                for j in range(g_idx.shape[1]):
                    nj = g_idx[i, j]
                    if nj >= 0:
                        ga += g_val[i, j] * A[nj]
                xA = M[i] + w_AA * A[i] + ga
                xa4 = (xA * xA) * (xA * xA)
                An[i] = A[i] + dt * (k_A * (xa4 / (KA4 + xa4)) * (1.0 - A[i]) - gamma_A * A[i])
                rho[i] = rho[i] + dt * (k_rho * M[i] * (1.0 - rho[i]) - gamma_rho * rho[i])
            # 5. hemispheres and organs
            for hh in range(2):
                own = s0 if hh == 0 else s1
                oth = s1 if hh == 0 else s0
                asc = a_asc * (lat * own + (1.0 - lat) * oth) / ASC_NORM
                a2 = asc * asc
                R[hh] = R[hh] + dt * (k_R * (a2 / (KR2 + a2)) * (1.0 - R[hh]) - gamma_R * R[hh])
            osum = 0.0
            for o in range(n_org):
                acc = 0.0
                for i in range(N_SPINAL):
                    acc += s[i] * node_organs[i, o]
                xO = acc / organ_n[o] + b_OB * B
                x2 = xO * xO
                On[o] = O[o] + dt * (k_O * (x2 / (KO2 + x2)) * (1.0 - O[o]) - gamma_O * O[o])
            for o in range(n_org):
                O[o] = On[o]
                osum += O[o]
            for i in range(N_SPINAL):
                M[i] = Mn[i]
                A[i] = An[i]
            # 6. blood and vagal tone
            sys_f = 1.0 - e_sys if on[IV_SYSTEMIC] else 1.0
            B = (1.0 - eps_V * V) * sys_f * (b_0 + (I_chr + I_ac) + b_O * osum)
            smean = stot * inv_n
            Vn = v0[r] + (vns if on[IV_VAGAL] else 0.0) + v_r * B / (K_B + B) - lam_V * smean
            V = min(max(Vn, 0.0), 1.0)
            # 7. decay of inputs
            for i in range(N_SPINAL):
                u[i] = u[i] * dec_u
            I_ac = I_ac * dec_ac
            if on[IV_CLEAR]:
                I_chr = I_chr * dec_clear
            # 8. daily observation
            if (n + 1) % spd == 0:
                day = (n + 1) // spd
                for un in range(n_units):
                    if un < n_areas:
                        act = 0.0
                        for j in range(ov_idx.shape[1]):
                            nd = ov_idx[un, j]
                            if nd >= 0:
                                act += s[nd] * ov_w[un, j]
                    else:
                        act = O[un - n_areas]
                    if (act > theta) != involved[un]:
                        run[un] += 1
                        if run[un] >= persist:
                            involved[un] = not involved[un]
                            run[un] = 0
                    else:
                        run[un] = 0
                if vi < nv and visit_day[r, vi] == day:
                    mask = np.int64(0)
                    for un in range(n_units):
                        if involved[un]:
                            mask |= np.int64(1) << np.int64(un)
                    visit_mask[r, vi] = mask
                    visit_v[r, vi] = V
                    vi += 1
        for i in range(N_SPINAL):
            oM[r, i] = M[i]
            oA[r, i] = A[i]
            orho[r, i] = rho[i]
            os_[r, i] = s[i]
        oR[r, 0] = R[0]
        oR[r, 1] = R[1]
        for o in range(n_org):
            oO[r, o] = O[o]
        oB[r] = B
        oV[r] = V


def run_kernel(
    params: ModelParams,
    cfg: RunConfig,
    inp: PatientInputs,
    *,
    net: Coupling | None = None,
    topo: Topology | None = None,
) -> RunOutput:
    """Simulate all patients of `inp` for cfg.n_days (same contract as reference.run_reference)."""
    net = net or coupling(params)
    topo = topo or topology()
    out = RunOutput.empty(inp.n, inp.visit_day.shape[1])
    organ_n = topo.node_organs.sum(axis=0)
    _run(
        params.vector(),
        cfg.scalars(params),
        np.uint64(cfg.seed),
        cfg.n_steps,
        cfg.steps_per_day,
        net.w_idx,
        net.w_val,
        net.g_idx,
        net.g_val,
        net.node_gain,
        topo.node_organs,
        organ_n,
        topo.overlap_idx,
        topo.overlap_w,
        topo.area_nodes,
        topo.n_areas,
        topo.n_units,
        inp.patient,
        inp.gain,
        inp.v0,
        inp.infection,
        inp.ev_step,
        inp.ev_unit,
        inp.ev_amp,
        inp.iv_start,
        inp.iv_stop,
        inp.visit_day,
        out.visit_mask,
        out.visit_v,
        out.M,
        out.A,
        out.rho,
        out.s,
        out.R,
        out.O,
        out.B,
        out.V,
    )
    return out
