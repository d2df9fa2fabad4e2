"""Somatotopic columns of the limb enlargements (Mechanisms.somatotopy; docs/plausibility.md 4.1,
docs/model.md section 3).

The columns (on by default since 2026-11-26) must (a) let a hand onset start at the hand and wrist and
reach the shoulder only later, where the flat dorsal horn involves the whole arm at once, (b) send the first
contralateral involvement to the mirror of the injured area, (c) leave the model bit for bit as it was
before they existed when they are off, (d) agree between kernel and reference, and be recordable. All
outputs here are model output of a hypothesis; w_ml and chi are hand choices, not fits.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math

import numpy as np
import pytest

from crpsmap.atlas import load_atlas
from crpsmap.io.csv_long import write_csv_text
from crpsmap.model import CohortParams, Mechanisms, ModelParams, Sim
from crpsmap.model.arrays import PatientInputs
from crpsmap.model.cohort import draw_patients
from crpsmap.model.experiments import inputs, run, sustained
from crpsmap.model.kernel import run_kernel
from crpsmap.model.network import (
    LATERAL,
    MEDIAL,
    N_SPINAL,
    coupling,
    n_nodes,
    n_spinal,
    node,
    topology,
)
from crpsmap.model.recorder import Recorder
from crpsmap.model.reference import RunConfig, run_reference

FIELDS = ("visit_mask", "visit_v", "M", "A", "rho", "s", "R", "O", "B", "V", "R_limb")
ON = Mechanisms(somatotopy=True)
QUIET_ON = Mechanisms(noise=False, somatotopy=True)
QUIET_OFF = Mechanisms(noise=False, somatotopy=False)
FLAT = Mechanisms(somatotopy=False)  # the dorsal horn of the earlier defaults: one node per segment
#: hand choice: weak mediolateral and cross-column coupling (today's defaults of w_ml and chi; named here
#: so that the protocol does not move with them; w_ml = 0.3, chi = 1 keep the whole-limb onset)
NARROW = {"w_ml": 0.05, "chi": 0.1}
UNITS = load_atlas().unit_index
SEGS = load_atlas().spinal_segments

#: sha256 (first 16 hex digits) of the outputs of `_fingerprint`, computed with the unmodified code of
#: commit fd7eb60 (before Mechanisms.somatotopy existed; numba 0.68.1, numpy 2.4.6, x86_64) by running the
#: same calls there: the kernel's and the reference's arrays for 48 cohort patients over 100 days, and the
#: CSV of a 12-patient virtual clinic (with its number of injuries screened); today run with the columns
#: off and the first-visit rule, the structure of that commit. The float arrays' bits depend on the CPU
#: (numpy's SIMD dispatch of exp/log and the instructions Numba compiles for the host), so the old code's
#: fingerprint is recorded once per kind of machine it was run on; the switch off must give one of them
#: (the CSV, rounded, is the same on both). To add a machine: check out fd7eb60 and run these calls there.
BEFORE = (
    {  # the machine of 2026-11-26 (x86_64; its CPU features were not recorded)
        "run_kernel": "ea1fb366cdbb439b",
        "run_reference": "7c638fca6f70a1c6",
        "clinic": "7aba9a3999fe694a",
        "injuries": 205,
    },
    {  # AMD EPYC without AVX-512 (numpy SIMD: X86_V3 found, X86_V4 not), 2026-11-28
        "run_kernel": "8b0aca1d24f83ba0",
        "run_reference": "b5928bbd37d46f48",
        "clinic": "7aba9a3999fe694a",
        "injuries": 205,
    },
)


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _cohort_inputs(n: int, days: int, **cohort: float) -> PatientInputs:
    cp = CohortParams(
        screen_day=20, first_visit_delay=5, visit_interval_1=20, visit_jitter=3, trauma_rate=3.0, **cohort
    )
    return draw_patients(3, np.arange(100, 100 + n), cp, days, 4)[0]


def _course(
    params: ModelParams, *, area: str = "hand_right", drive: float = 1.5, days: int = 365
) -> np.ndarray:
    """The involved-unit masks on every day 1..days of one noise-free animal (gain 1) whose injury of
    `area` does not heal (sustained drive)."""
    inp = inputs(1, area=area, drive=drive)
    inp = dataclasses.replace(inp, visit_day=np.arange(1, days + 1, dtype=np.int64)[None, :])
    return run(sustained(params), inp, days).visit_mask[0]


def _involved(mask: np.int64, area: str) -> bool:
    return bool((int(mask) >> UNITS[area]) & 1)


def test_a_hand_onset_starts_at_hand_and_wrist_and_reaches_the_shoulder_later() -> None:
    on = _course(ModelParams(mechanisms=QUIET_ON, **NARROW))
    day91 = on[90]
    assert _involved(day91, "hand_right") and _involved(day91, "wrist_right")
    assert not _involved(day91, "shoulder_right") and not _involved(day91, "upper_arm_right")
    assert _involved(on[-1], "shoulder_right"), "under sustained drive the shoulder follows within a year"
    grows = all((int(a) & ~int(b)) == 0 for a, b in zip(on[:-1], on[1:], strict=True))
    assert grows, "no area leaves the involved set while the drive lasts: it grows monotonically"
    assert int(on[-1]).bit_count() > int(day91).bit_count()
    off = _course(ModelParams(mechanisms=QUIET_OFF, **NARROW))
    assert _involved(off[90], "shoulder_right"), "without the columns the same injury involves the shoulder"


@pytest.mark.parametrize(("area", "mirror"), [("hand_right", "hand_left"), ("foot_right", "foot_left")])
def test_b_the_first_contralateral_area_is_the_mirror_of_the_injured_one(area: str, mirror: str) -> None:
    on = _course(ModelParams(mechanisms=QUIET_ON, **NARROW), area=area, drive=3.0)
    left = [a for a in load_atlas().unit_slugs if a.endswith("_left")]
    day = next((t for t, m in enumerate(on) if any(_involved(m, a) for a in left)), None)
    assert day is not None, "strong sustained drive reaches the other side within a year"
    first = {a for a in left if _involved(on[day], a)}
    distal = {"hand_left", "wrist_left"} if mirror == "hand_left" else {"foot_left", "ankle_left"}
    assert mirror in first and first <= distal, first  # hand and wrist (foot and ankle) share their nodes


def _fingerprint() -> dict[str, str | int]:
    inp = _cohort_inputs(48, 100)
    out: dict[str, str | int] = {}
    flat = ModelParams(mechanisms=FLAT)
    for backend in (run_kernel, run_reference):
        res = backend(flat, RunConfig(n_days=100, seed=3), inp)
        out[backend.__name__] = _digest(*(getattr(res, f) for f in FIELDS))
    clinic = Sim(params=flat, years=1.0, seed=11, diagnosis="first_visit").clinic(12, block=256)
    out["clinic"] = _digest(np.frombuffer(write_csv_text(clinic.histories).encode(), np.uint8))
    out["injuries"] = clinic.n_injuries
    return out


def test_c_switch_off_is_bit_identical_to_the_code_before_the_columns() -> None:
    got = _fingerprint()
    assert got in BEFORE, f"not the fingerprint of the code before the columns on any recorded machine: {got}"
    assert n_nodes() == 67 and n_spinal() == N_SPINAL
    # switched off, the columns' parameters must not matter
    inp = _cohort_inputs(48, 120)
    cfg = RunConfig(n_days=120, seed=3)
    default = run_kernel(ModelParams(mechanisms=FLAT), cfg, inp)
    other = run_kernel(ModelParams(mechanisms=FLAT, w_ml=0.02, chi=0.0), cfg, inp)
    for f in FIELDS:
        assert np.array_equal(getattr(other, f), getattr(default, f)), f


def test_the_columns_are_the_default_and_the_arms_keep_them() -> None:
    """Adopted on 2026-11-26 (docs/calibration.md): the columns on, CRPS judged on screen_day; the arms'
    switches keep the variant at its default, and naming it in without() switches it off."""
    assert ModelParams().mechanisms.somatotopy and Sim().diagnosis == "screen_day"
    assert Sim().n_spinal == n_spinal(True) == 80 and "somatotopy" not in Mechanisms.arms()
    assert Mechanisms.without("supraspinal").somatotopy and Mechanisms.only("rostrocaudal").somatotopy
    assert not Mechanisms.without("somatotopy").somatotopy and Mechanisms.without("somatotopy").supraspinal
    assert Mechanisms.only("rostrocaudal", "somatotopy").somatotopy
    assert Mechanisms().variants_changed() == {} and FLAT.variants_changed() == {"somatotopy": False}
    on_limbs = Mechanisms(limb_representations=True)
    assert on_limbs.variants_changed() == {"limb_representations": True}


@pytest.mark.parametrize("limbs", [False, True], ids=["hemispheres", "limb_nodes"])
def test_d_kernel_matches_reference_with_the_columns(limbs: bool) -> None:
    mech = dataclasses.replace(ON, limb_representations=limbs)
    p = ModelParams(mechanisms=mech, w_ml=0.12, chi=0.4, gamma_M=0.02)
    inp = _cohort_inputs(48, 150, p_prior_pain=0.5, rho_prior=0.5)  # priming of L4-S1: both columns
    assert inp.rho0.shape == (48, N_SPINAL) and inp.rho0.max() > 0
    cfg = RunConfig(n_days=150, seed=3)
    a = run_reference(p, cfg, inp)
    b = run_kernel(p, cfg, inp)
    for f in FIELDS:
        np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=0, atol=1e-9, err_msg=f)
    assert a.M.shape == (48, n_spinal(True)) == (48, 80) and n_nodes(limbs, True) == (91 if limbs else 89)
    assert a.M[:, N_SPINAL:].max() > 0.5, "the comparison must cover lit lateral columns"
    # the initial priming of a segment reaches both of its columns
    topo, l4 = topology(True), SEGS.index("L4")
    both = np.flatnonzero((topo.node_seg == l4) & (topo.node_side == 0))
    assert both.size == 2 and np.array_equal(topo.per_node(inp.rho0)[:, both], inp.rho0[:, [node(0, l4)] * 2])


def test_chunks_give_identical_histories_with_the_columns() -> None:
    sim = Sim(params=ModelParams(mechanisms=ON, **NARROW), years=1.0, seed=11)
    whole = sim.chunk(0, 100)
    a, b = sim.chunk(0, 37), sim.chunk(37, 100)
    assert whole.cases.size > 0 and np.array_equal(whole.cases, np.concatenate([a.cases, b.cases]))
    assert write_csv_text(whole.histories) == write_csv_text(a.histories + b.histories)


def test_coupling_follows_the_design_node_by_node() -> None:
    """W and G of the columns against plausibility.md 4.1 written out per pair of nodes."""
    w_rc, w_lr, w_gap, w_ml, chi, ell = 0.3, 0.1, 0.2, 0.07, 0.4, 1.5
    p = ModelParams(mechanisms=ON, w_rc=w_rc, w_lr=w_lr, w_gap=w_gap, w_ml=w_ml, chi=chi, ell=ell)
    topo, net = topology(True), coupling(p)
    W, G = net.dense_w(), net.dense_g()
    reach = max(1, math.floor(1.0 + ell * math.log(20.0)))
    seg, side, col = topo.node_seg, topo.node_side, topo.node_col
    for i in range(topo.n_spinal):
        for j in range(topo.n_spinal):
            d = abs(int(seg[i]) - int(seg[j]))
            across = chi if col[i] != col[j] else 1.0
            w = g = 0.0
            if i != j and side[i] == side[j] and d == 0:
                w = w_ml  # the two columns of one segment
            elif side[i] == side[j] and 1 <= d <= reach:
                w = w_rc * math.exp(-(d - 1) / ell) * across
                g = 0.5 * w_gap * across if d == 1 else 0.0
            elif side[i] != side[j] and d == 0 and col[i] == col[j]:
                w, g = w_lr, w_gap  # homologous column
            assert W[i, j] == pytest.approx(w, abs=1e-15), (i, j)
            assert G[i, j] == pytest.approx(g, abs=1e-15), (i, j)
    # the segment nodes of the enlargements became the medial columns; the appended nodes are lateral
    assert np.array_equal(topo.node_col[:N_SPINAL] == MEDIAL, topo.node_limb[:N_SPINAL] >= 0)
    assert (topo.node_col[N_SPINAL:] == LATERAL).all() and (topo.node_limb[N_SPINAL:] >= 0).all()


def test_areas_drive_and_read_their_columns() -> None:
    """Distal skin -> medial column, proximal -> lateral, middle -> both with weight 1/2."""
    topo = topology(True)

    def driven(area: str) -> dict[tuple[str, int], float]:
        u = UNITS[area]
        ok = topo.area_nodes[u] >= 0
        return {
            (SEGS[topo.node_seg[n]], int(topo.node_col[n])): float(w)
            for n, w in zip(topo.area_nodes[u][ok], topo.area_w[u][ok], strict=True)
        }

    assert driven("hand_right") == {(s, MEDIAL): 1.0 for s in ("C6", "C7", "C8")}
    assert driven("forearm_right") == {(s, c): 0.5 for s in ("C6", "C8", "T1") for c in (MEDIAL, LATERAL)}
    assert driven("shoulder_right") == {("C4", LATERAL): 1.0, ("C5", LATERAL): 1.0}  # C4 is not split
    assert driven("thigh_left") == {("L1", LATERAL): 1.0, **{(s, LATERAL): 1.0 for s in ("L2", "L3", "S2")}}
    for u in range(topo.n_areas):  # the observation weights of every area with dermatomes still sum to 1
        if (topo.overlap_idx[u] >= 0).any():
            assert topo.overlap_w[u][topo.overlap_idx[u] >= 0].sum() == pytest.approx(1.0, abs=1e-12)
    # the unsplit model is today's: every drive weight 1, one node per segment
    plain = topology()
    assert plain.n_spinal == N_SPINAL and set(plain.area_w[plain.area_nodes >= 0].tolist()) == {1.0}


def test_recording_with_the_columns_is_as_wide_as_the_dorsal_horn() -> None:
    """Every per-node state is recorded over all 80 dorsal-horn nodes (segments, then columns), the same
    in both backends, and the last recorded day is the final state."""
    inp = _cohort_inputs(6, 60)
    p = ModelParams(mechanisms=ON, K=1.2)  # a low threshold: columns lit within 60 days
    cfg = RunConfig(n_days=60, seed=3)
    rec = Recorder(states=("M", "A", "rho", "c", "s", "u", "R", "B"), every_days=10)
    ker = run_kernel(p, cfg, inp, record=rec)
    ref = run_reference(p, cfg, inp, record=rec)
    assert ker.recording is not None and ref.recording is not None
    for name in rec.states:
        np.testing.assert_allclose(ker.recording[name], ref.recording[name], rtol=0, atol=1e-9, err_msg=name)
    assert ker.recording["M"].shape == (6, 6, 80) and ker.recording["R"].shape == (6, 6, 2)
    for name in ("M", "A", "rho", "s"):
        assert np.array_equal(ker.recording[name][:, -1], getattr(ker, name)), name
    assert ker.recording["M"][:, :, N_SPINAL:].max() > 0.5, "the columns are recorded, not left at zero"
    clinic = Sim(years=1.0, seed=11, record=Recorder(states=("M", "B"), every_days=30)).clinic(3)
    assert clinic.recording is not None and clinic.recording["M"].shape == (3, 12, 80)
