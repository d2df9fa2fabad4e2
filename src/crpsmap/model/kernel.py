"""The fast kernel: the reference step (reference.py) compiled with Numba, parallel over patients.

Each patient is independent (its random numbers are a pure function of seed, patient, step and node), so
patients are distributed over threads with prange and the whole time loop of one patient runs in local
arrays. The arithmetic mirrors reference.py line by line; tests compare the two.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from crpsmap.model.arrays import PatientInputs, RunOutput
from crpsmap.model.effects import N_CHANNELS, Channel, EffectTable, default_table
from crpsmap.model.network import N_LIMB, Coupling, Topology, coupling, topology
from crpsmap.model.params import PI, ModelParams
from crpsmap.model.recorder import N_STATES, STATE_ID, Recorder
from crpsmap.model.reference import ASC_NORM, RunConfig
from crpsmap.model.rng import NODE_STRIDE, Draw, normal_nb, stream_key_nb

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
_c_ips, _c_hom, _c_diag, _c_desc = PI["c_ips"], PI["c_hom"], PI["c_diag"], PI["c_desc"]
_c_desc_group = PI["c_desc_group"]
# channels of the table of effects (effects.py) and recordable states (recorder.py), as constants
_F_ACT, _F_AST, _F_CYT = (
    int(Channel.MICROGLIA_ACTIVATION),
    int(Channel.ASTROCYTE_ACTIVATION),
    int(Channel.SPINAL_CYTOKINE),
)
_F_DESC, _F_SUP, _F_ORG = (
    int(Channel.DESCENDING),
    int(Channel.SUPRASPINAL_ACTIVATION),
    int(Channel.ORGAN_ACTIVATION),
)
_F_BBB, _F_BLOOD = int(Channel.BBB_INFLUX), int(Channel.BLOOD_PRODUCTION)
_F_VAG, _F_INF = int(Channel.VAGAL_TONE), int(Channel.INFECTION_DECAY)
_F_TCELL = int(Channel.T_CELL_ACTIVATION)
_N_CH = N_CHANNELS
_NOISE_STREAM, _NOISE_FIRST = int(Draw.MICROGLIA_NOISE.stream), Draw.MICROGLIA_NOISE.first
_R_M, _R_A, _R_RHO, _R_C, _R_S, _R_U = (STATE_ID[k] for k in ("M", "A", "rho", "c", "s", "u"))
_R_R, _R_O, _R_B, _R_V, _R_IC, _R_IA = (STATE_ID[k] for k in ("R", "O", "B", "V", "I_chr", "I_ac"))
_R_RL = STATE_ID["R_limb"]


@numba.njit(cache=True, nogil=True)
def _rec_nodes(rec, o, ti, p0, x):  # type: ignore[no-untyped-def]
    if o >= 0:
        for i in range(x.shape[0]):
            for b in range(x.shape[1]):
                rec[p0 + b, ti, o + i] = x[i, b]


@numba.njit(cache=True, nogil=True)
def _rec_lane(rec, o, ti, p0, x):  # type: ignore[no-untyped-def]
    if o >= 0:
        for b in range(x.shape[0]):
            rec[p0 + b, ti, o] = x[b]


@numba.njit(cache=True, nogil=True)
def _record(rec, off, ti, p0, M, A, rho, c, s, u, R, O, B, V, I_chr, I_ac, RL):  # type: ignore[no-untyped-def]  # noqa: E741
    """Write one recorded day of a block of patients (states are node x lane arrays)."""
    _rec_nodes(rec, off[_R_M], ti, p0, M)
    _rec_nodes(rec, off[_R_A], ti, p0, A)
    _rec_nodes(rec, off[_R_RHO], ti, p0, rho)
    _rec_nodes(rec, off[_R_C], ti, p0, c)
    _rec_nodes(rec, off[_R_S], ti, p0, s)
    _rec_nodes(rec, off[_R_U], ti, p0, u)
    _rec_nodes(rec, off[_R_R], ti, p0, R)
    _rec_nodes(rec, off[_R_O], ti, p0, O)
    _rec_lane(rec, off[_R_B], ti, p0, B)
    _rec_lane(rec, off[_R_V], ti, p0, V)
    _rec_lane(rec, off[_R_IC], ti, p0, I_chr)
    _rec_lane(rec, off[_R_IA], ti, p0, I_ac)
    _rec_nodes(rec, off[_R_RL], ti, p0, RL)


BLOCK = 64  # patients per SIMD block: the inner loops run over a block's lanes and vectorise


@numba.njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def _run(  # type: ignore[no-untyped-def]  # noqa: C901 - one flat loop nest is what makes it fast
    pv,
    k,
    seed,
    n_steps,
    spd,
    w_idx,
    w_val,
    w_cnt,
    g_idx,
    g_val,
    g_cnt,
    node_gain,
    node_side,
    limbs,
    node_cls,
    no_idx,
    no_cnt,
    org_idx,
    org_cnt,
    ov_idx,
    ov_w,
    ov_cnt,
    area_nodes,
    area_w,
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
    rho0,
    phi,
    crosstalk_group,
    f_base,
    f_slot_ch,
    f_slot_val,
    f_add,
    rec_every,
    rec_off,
    rec,
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
    oRL,
):
    dt, dec_u, dec_ac, Kh, Ks2, KA4, KR2, KO2, theta, persist = (
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
    )
    a_M, a_A, k_M, gamma_M, h, n_eff = pv[_a_M], pv[_a_A], pv[_k_M], pv[_gamma_M], pv[_h], pv[_n_eff]
    k_A, gamma_A, w_AA = pv[_k_A], pv[_gamma_A], pv[_w_AA]
    k_rho, gamma_rho, pi_rho = pv[_k_rho], pv[_gamma_rho], pv[_pi_rho]
    w_csf, k_R, gamma_R, a_asc = pv[_w_csf], pv[_k_R], pv[_gamma_R], pv[_a_asc]
    w_desc, lat, s_asc = pv[_w_desc], pv[_lat], pv[_s_asc]
    b_0, beta, kappa, b_O = pv[_b_0], pv[_beta], pv[_kappa], pv[_b_O]
    eps_V, v_r, K_B, lam_V, w_vinh = pv[_eps_V], pv[_v_r], pv[_K_B], pv[_lam_V], pv[_w_vinh]
    k_O, gamma_O, b_OB, v_org = pv[_k_O], pv[_gamma_O], pv[_b_OB], pv[_v_org]
    c_ips, c_hom, c_diag, c_desc = pv[_c_ips], pv[_c_hom], pv[_c_diag], pv[_c_desc]
    c_desc_group = pv[_c_desc_group]
    h4 = h == 4.0
    noisy = n_eff > 0.0
    inv_neff = 1.0 / n_eff if noisy else 0.0
    n_org = org_idx.shape[0]
    n_ev = ev_step.shape[1]
    nv = visit_day.shape[1]
    n_blocks = patient.shape[0] // BLOCK
    n_sp = node_gain.shape[0]  # dorsal-horn nodes: 58, or more with the somatotopic columns
    inv_n = 1.0 / n_sp
    n_slot = iv_start.shape[1]
    has_phi = phi.shape[0] > 0
    has_grp = crosstalk_group.shape[0] > 0
    n_rec = rec.shape[1]
    rec_c = rec_every > 0 and rec_off[_R_C] >= 0
    for blk in numba.prange(n_blocks):
        p0 = blk * BLOCK
        key = np.empty(BLOCK, dtype=np.uint64)
        for b in range(BLOCK):
            key[b] = stream_key_nb(np.uint64(seed), np.uint64(patient[p0 + b]), np.uint64(_NOISE_STREAM))
        M = np.zeros((n_sp, BLOCK))
        A = np.zeros((n_sp, BLOCK))
        Mn = np.zeros((n_sp, BLOCK))
        An = np.zeros((n_sp, BLOCK))
        rho = np.zeros((n_sp, BLOCK))
        u = np.zeros((n_sp, BLOCK))
        q = np.zeros((n_sp, BLOCK))
        s = np.zeros((n_sp, BLOCK))
        cw = np.zeros(BLOCK)
        cb = np.zeros(BLOCK)
        chb = np.zeros(BLOCK)
        zb = np.zeros(BLOCK)
        ga = np.zeros(BLOCK)
        R = np.zeros((2, BLOCK))
        # limb_representations: limb nodes, and per node class (4 limbs, then trunk right / left) the
        # lane-wise base of the cytokine and the clear sensitisation that ascends
        RL = np.zeros((N_LIMB, BLOCK))
        baseC = np.zeros((N_LIMB + 2, BLOCK))
        sC = np.zeros((N_LIMB + 2, BLOCK))
        O = np.zeros((n_org, BLOCK))  # noqa: E741
        run = np.zeros((n_units, BLOCK), dtype=np.int64)
        involved = np.zeros((n_units, BLOCK), dtype=np.bool_)
        V = np.empty(BLOCK)
        I_chr = np.empty(BLOCK)
        I_ac = np.zeros(BLOCK)
        B = np.empty(BLOCK)
        g = np.empty(BLOCK)
        cd = np.empty(BLOCK)  # descending cross-talk of each lane (the cross-talk subgroup: its own)
        ev = np.zeros(BLOCK, dtype=np.int64)
        vi = np.zeros(BLOCK, dtype=np.int64)
        f = np.empty((_N_CH, BLOCK))  # channel values of the table of effects, this step
        it_f = np.empty(BLOCK)
        lam_f = np.empty(BLOCK)
        sys_f = np.empty(BLOCK)
        vns_d = np.empty(BLOCK)
        clr_f = np.empty(BLOCK)
        kA_f = np.empty(BLOCK)
        kR_f = np.empty(BLOCK)
        kO_f = np.empty(BLOCK)
        wd_f = np.empty(BLOCK)
        beta_f = np.empty(BLOCK)
        cst = np.zeros((n_sp, BLOCK)) if rec_c else np.zeros((0, BLOCK))
        ti = 0
        base0 = np.empty(BLOCK)
        base1 = np.empty(BLOCK)
        betaB = np.empty(BLOCK)
        s0 = np.empty(BLOCK)
        s1 = np.empty(BLOCK)
        stot = np.empty(BLOCK)
        osum = np.empty(BLOCK)
        for b in range(BLOCK):
            V[b] = v0[p0 + b]
            I_chr[b] = infection[p0 + b]
            B[b] = (1.0 - eps_V * V[b]) * (b_0 + I_chr[b])
            g[b] = gain[p0 + b]
            if has_grp:  # the cross-talk subgroup: its members' own descending cross-talk
                w = crosstalk_group[p0 + b]
                cd[b] = (1.0 - w) * c_desc + w * c_desc_group
            else:
                cd[b] = c_desc
        if rho0.shape[0] > 0:  # patient-level modifiers: initial priming per node (else rho(0) = 0)
            for i in range(n_sp):
                for b in range(BLOCK):
                    rho[i, b] = rho0[p0 + b, i]
        for n in range(n_steps):
            # is this the last step of a recorded day (the spinal cytokine c is kept only then)?
            keep_c = rec_c and (n + 1) % spd == 0 and ((n + 1) // spd) % rec_every == 0
            # 1. drive pulses and channel values of the table of effects (per lane)
            for b in range(BLOCK):
                r = p0 + b
                while ev[b] < n_ev and ev_step[r, ev[b]] >= 0 and ev_step[r, ev[b]] <= n:
                    e = ev[b]
                    if ev_step[r, e] == n:
                        un = ev_unit[r, e]
                        if un >= 0:
                            for j in range(area_nodes.shape[1]):
                                nd = area_nodes[un, j]
                                if nd >= 0:
                                    u[nd, b] += ev_amp[r, e] * area_w[un, j]
                        else:
                            I_ac[b] += ev_amp[r, e]
                    ev[b] = e + 1
                for ch in range(_N_CH):
                    f[ch, b] = f_base[ch]
                for kk in range(n_slot):
                    ch = f_slot_ch[kk]
                    if ch >= 0 and iv_start[r, kk] <= n < iv_stop[r, kk]:
                        if f_add[ch]:
                            f[ch, b] += f_slot_val[kk]
                        else:
                            f[ch, b] *= f_slot_val[kk]
                it_f[b] = f[_F_CYT, b]
                if has_phi:  # sex modifier: a share phi of activation runs through T cells
                    ph = phi[r]
                    lam_f[b] = k_M * g[b] * ((1.0 - ph) * f[_F_ACT, b] + ph * f[_F_TCELL, b])
                else:
                    lam_f[b] = k_M * g[b] * f[_F_ACT, b]
                sys_f[b] = f[_F_BLOOD, b]
                vns_d[b] = f[_F_VAG, b]
                clr_f[b] = f[_F_INF, b]
                kA_f[b] = k_A * f[_F_AST, b]
                kR_f[b] = k_R * f[_F_SUP, b]
                kO_f[b] = k_O * f[_F_ORG, b]
                wd_f[b] = w_desc * f[_F_DESC, b]
                beta_f[b] = beta * f[_F_BBB, b]
            # 2. cytokine production, lane-wise constants
            for b in range(BLOCK):
                base0[b] = 0.0
            for i in range(n_sp):
                for b in range(BLOCK):
                    q[i, b] = a_M * M[i, b] + a_A * A[i, b] + u[i, b]
                    base0[b] += q[i, b]
            if limbs:
                for b in range(BLOCK):
                    common = w_csf * (base0[b] * inv_n) - w_vinh * V[b]
                    rsum = RL[0, b] + RL[1, b] + RL[2, b] + RL[3, b]
                    for lb in range(N_LIMB):
                        baseC[lb, b] = common + wd_f[b] * (RL[lb, b] + cd[b] * (rsum - RL[lb, b]))
                    for sd in range(2):  # trunk of side sd: mean of its upper (sd) and lower (sd + 2) limb
                        baseC[N_LIMB + sd, b] = common + wd_f[b] * (0.5 * (RL[sd, b] + RL[sd + 2, b]))
                    for cl in range(N_LIMB + 2):
                        sC[cl, b] = 0.0
            else:
                for b in range(BLOCK):
                    common = w_csf * (base0[b] * inv_n) - w_vinh * V[b]
                    base1[b] = common + wd_f[b] * (lat * R[1, b] + (1.0 - lat) * R[0, b])
                    base0[b] = common + wd_f[b] * (lat * R[0, b] + (1.0 - lat) * R[1, b])
            for b in range(BLOCK):
                betaB[b] = beta_f[b] * B[b]
                s0[b] = 0.0
                s1[b] = 0.0
                stot[b] = 0.0
            for i in range(n_sp):
                ng = node_gain[i]
                if limbs:
                    basev = baseC[node_cls[i]]
                    sside = sC[node_cls[i]]
                else:
                    basev = base1 if node_side[i] == 1 else base0
                    sside = s1 if node_side[i] == 1 else s0
                for b in range(BLOCK):
                    cw[b] = 0.0
                    ga[b] = 0.0
                for kk in range(w_cnt[i]):
                    j = w_idx[i, kk]
                    w = w_val[i, kk]
                    for b in range(BLOCK):
                        cw[b] += w * q[j, b]
                for kk in range(g_cnt[i]):
                    j = g_idx[i, kk]
                    w = g_val[i, kk]
                    for b in range(BLOCK):
                        ga[b] += w * A[j, b]
                for kk in range(no_cnt[i]):
                    o = no_idx[i, kk]
                    for b in range(BLOCK):
                        cw[b] += v_org * O[o, b]
                for b in range(BLOCK):
                    c = q[i, b] + cw[b] + basev[b] + betaB[b] * (1.0 + kappa * M[i, b])
                    c = max(c, 0.0) * it_f[b]
                    c2 = c * c
                    si = c2 / (Ks2 + c2)
                    s[i, b] = si
                    stot[b] += si
                    sside[b] += max(si - s_asc, 0.0)
                    cb[b] = c
                    chb[b] = c2 * c2
                if keep_c:
                    for b in range(BLOCK):
                        cst[i, b] = cb[b]
                if not h4:
                    for b in range(BLOCK):
                        chb[b] = cb[b] ** h
                if noisy:
                    ctr = np.uint64(_NOISE_FIRST + n * NODE_STRIDE + i)
                    for b in range(BLOCK):
                        zb[b] = normal_nb(key[b], ctr)
                for b in range(BLOCK):
                    # 3. microglia (chemical-Langevin tau-leap)
                    m = M[i, b]
                    ch = chb[b]
                    lam = lam_f[b] * ng * (1.0 + pi_rho * rho[i, b]) * (ch / (Kh + ch))
                    up = lam * (1.0 - m)
                    down = gamma_M * m
                    mn = m + (up - down) * dt
                    mn = mn + math.sqrt((up + down) * dt * inv_neff) * zb[b]
                    Mn[i, b] = min(max(mn, 0.0), 1.0)
                    # 4. astrocytes, priming
                    a = A[i, b]
                    xA = m + w_AA * a + ga[b]
                    xa4 = (xA * xA) * (xA * xA)
                    An[i, b] = a + dt * (kA_f[b] * (xa4 / (KA4 + xa4)) * (1.0 - a) - gamma_A * a)
                    rh = rho[i, b]
                    rho[i, b] = rh + dt * (k_rho * m * (1.0 - rh) - gamma_rho * rh)
            # 5. hemispheres (or limb nodes) and organs
            if limbs:
                for b in range(BLOCK):
                    for lb in range(N_LIMB):
                        x = sC[lb, b] + c_ips * sC[lb ^ 2, b] + c_hom * sC[lb ^ 1, b] + c_diag * sC[lb ^ 3, b]
                        asc = a_asc * x / ASC_NORM
                        a2 = asc * asc
                        rl = RL[lb, b]
                        RL[lb, b] = rl + dt * (kR_f[b] * (a2 / (KR2 + a2)) * (1.0 - rl) - gamma_R * rl)
            else:
                for b in range(BLOCK):
                    asc0 = a_asc * (lat * s0[b] + (1.0 - lat) * s1[b]) / ASC_NORM
                    asc1 = a_asc * (lat * s1[b] + (1.0 - lat) * s0[b]) / ASC_NORM
                    a2 = asc0 * asc0
                    r0 = R[0, b]
                    R[0, b] = r0 + dt * (kR_f[b] * (a2 / (KR2 + a2)) * (1.0 - r0) - gamma_R * r0)
                    a2 = asc1 * asc1
                    r1 = R[1, b]
                    R[1, b] = r1 + dt * (kR_f[b] * (a2 / (KR2 + a2)) * (1.0 - r1) - gamma_R * r1)
            for b in range(BLOCK):
                osum[b] = 0.0
            for o in range(n_org):
                for b in range(BLOCK):
                    cw[b] = 0.0
                for kk in range(org_cnt[o]):
                    j = org_idx[o, kk]
                    for b in range(BLOCK):
                        cw[b] += s[j, b]
                inv_cnt = 1.0 / org_cnt[o]
                for b in range(BLOCK):
                    xO = cw[b] * inv_cnt + b_OB * B[b]
                    x2 = xO * xO
                    oo = O[o, b]
                    oo = oo + dt * (kO_f[b] * (x2 / (KO2 + x2)) * (1.0 - oo) - gamma_O * oo)
                    O[o, b] = oo
                    osum[b] += oo
            for i in range(n_sp):
                for b in range(BLOCK):
                    M[i, b] = Mn[i, b]
                    A[i, b] = An[i, b]
                    u[i, b] = u[i, b] * dec_u
            # 6. blood and vagal tone; 7. decay of inputs
            for b in range(BLOCK):
                Bn = (1.0 - eps_V * V[b]) * sys_f[b] * (b_0 + (I_chr[b] + I_ac[b]) + b_O * osum[b])
                B[b] = Bn
                Vn = v0[p0 + b] + vns_d[b] + v_r * Bn / (K_B + Bn) - lam_V * (stot[b] * inv_n)
                V[b] = min(max(Vn, 0.0), 1.0)
                I_ac[b] = I_ac[b] * dec_ac
                I_chr[b] = I_chr[b] * clr_f[b]
            # 8. daily observation
            if (n + 1) % spd == 0:
                day = (n + 1) // spd
                for un in range(n_units):
                    for b in range(BLOCK):
                        cw[b] = 0.0
                    if un < n_areas:
                        for kk in range(ov_cnt[un]):
                            nd = ov_idx[un, kk]
                            w = ov_w[un, kk]
                            for b in range(BLOCK):
                                cw[b] += s[nd, b] * w
                    else:
                        for b in range(BLOCK):
                            cw[b] = O[un - n_areas, b]
                    for b in range(BLOCK):
                        # persistence with hysteresis (branch-free form of reference.py step 8)
                        rn = run[un, b] + 1 if (cw[b] > theta) != involved[un, b] else 0
                        flip = rn >= persist
                        involved[un, b] = involved[un, b] != flip
                        run[un, b] = 0 if flip else rn
                for b in range(BLOCK):
                    r = p0 + b
                    if vi[b] < nv and visit_day[r, vi[b]] == day:
                        mask = np.int64(0)
                        for un in range(n_units):
                            if involved[un, b]:
                                mask |= np.int64(1) << np.int64(un)
                        visit_mask[r, vi[b]] = mask
                        visit_v[r, vi[b]] = V[b]
                        vi[b] += 1
                # 9. recorder (recorder.py): chosen states at the end of every rec_every-th day
                if rec_every > 0 and day % rec_every == 0 and ti < n_rec:
                    _record(rec, rec_off, ti, p0, M, A, rho, cst, s, u, R, O, B, V, I_chr, I_ac, RL)
                    ti += 1
        for b in range(BLOCK):
            r = p0 + b
            for i in range(n_sp):
                oM[r, i] = M[i, b]
                oA[r, i] = A[i, b]
                orho[r, i] = rho[i, b]
                os_[r, i] = s[i, b]
            oR[r, 0] = R[0, b]
            oR[r, 1] = R[1, b]
            for lb in range(N_LIMB):
                oRL[r, lb] = RL[lb, b]
            for o in range(n_org):
                oO[r, o] = O[o, b]
            oB[r] = B[b]
            oV[r] = V[b]


def _counts(idx: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray((idx >= 0).sum(axis=1).astype(np.int64))


def _sparse_rows(dense: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows = [np.flatnonzero(r) for r in dense]
    k = max(1, max(len(r) for r in rows))
    idx = np.full((len(rows), k), -1, dtype=np.int64)
    for i, r in enumerate(rows):
        idx[i, : len(r)] = r
    return idx, _counts(idx)


def run_kernel(
    params: ModelParams,
    cfg: RunConfig,
    inp: PatientInputs,
    *,
    net: Coupling | None = None,
    topo: Topology | None = None,
    effects: EffectTable | None = None,
    record: Recorder | None = None,
) -> RunOutput:
    """Simulate all patients of `inp` for cfg.n_days (same contract as reference.run_reference)."""
    net = net or coupling(params)
    topo = topo or topology(params.mechanisms.somatotopy)
    if not params.mechanisms.infection:
        inp = inp.without_infection()
    n = inp.n
    inp.check_modifiers()
    pad = (-n) % BLOCK
    full = inp.take(np.concatenate([np.arange(n), np.full(pad, max(n - 1, 0))])) if pad else inp
    out = RunOutput.empty(n + pad, inp.visit_day.shape[1], topo.n_spinal)
    if n == 0:
        empty = RunOutput.empty(0, inp.visit_day.shape[1], topo.n_spinal)
        if record is not None:
            empty.recording = record.empty(cfg.n_days, topo.n_spinal)
        return empty
    plan = (effects or default_table()).plan(params, cfg.dt).columns(inp.iv_start.shape[1])
    if record is not None:
        rec_every, (rec_off, _) = int(record.every_days), record.layout(topo.n_spinal)
        rec = record.buffer(n + pad, cfg.n_days, topo.n_spinal)
    else:
        rec_every, rec_off, rec = 0, np.full(N_STATES, -1, dtype=np.int64), np.zeros((0, 0, 0))
    no_idx, no_cnt = _sparse_rows(topo.node_organs)
    org_idx = np.ascontiguousarray(topo.organ_nodes)
    limbs = bool(params.mechanisms.limb_representations)
    # node class of the limb variant: its limb node (0-3) for a limb segment, N_LIMB + side for the trunk
    node_cls = np.where(topo.node_limb >= 0, topo.node_limb, N_LIMB + topo.node_side).astype(np.int64)
    # padded neighbour lists must be compact (valid entries first) for the count-based loops
    _run(
        params.vector(), cfg.scalars(params), np.uint64(cfg.seed), cfg.n_steps, cfg.steps_per_day,
        net.w_idx, net.w_val, _counts(net.w_idx), net.g_idx, net.g_val, _counts(net.g_idx), net.node_gain,
        topo.node_side, limbs, node_cls, no_idx, no_cnt, org_idx, _counts(org_idx),
        topo.overlap_idx, topo.overlap_w, _counts(topo.overlap_idx), topo.area_nodes, topo.area_w,
        topo.n_areas, topo.n_units,
        full.patient, full.gain, full.v0, full.infection, full.ev_step, full.ev_unit, full.ev_amp,
        full.iv_start, full.iv_stop, full.visit_day,
        np.ascontiguousarray(topo.per_node(full.rho0), dtype=np.float64),
        np.ascontiguousarray(full.phi, dtype=np.float64),
        np.ascontiguousarray(full.crosstalk_group, dtype=np.float64),
        plan.base, plan.slot_channel, plan.slot_value, plan.additive, rec_every, rec_off, rec,
        out.visit_mask, out.visit_v, out.M, out.A, out.rho, out.s, out.R, out.O, out.B, out.V, out.R_limb,
    )  # fmt: skip
    if pad:
        out = RunOutput(**{f: getattr(out, f)[:n] for f in out.__dataclass_fields__ if f != "recording"})
    if record is not None:
        out.recording = record.split(inp.patient, cfg.n_days, rec[:n], topo.n_spinal)
    return out
