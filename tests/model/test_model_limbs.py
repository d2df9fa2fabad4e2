"""Per-limb supraspinal nodes (Mechanisms.limb_representations) and the cervical glial gain g_cervical
(docs/plausibility.md 4.2 and 4.3; docs/model.md section 3).

The variant must (a) make two lit limbs a stable state when the cross-talk is small, while a strong
same-side cross-talk still cascades (both behaviours exist: bistability), (b) leave the default model
untouched when it is off, (c) agree between kernel and reference; a lower cervical gain must lower
cranium and neck activity. All outputs here are model output of a hypothesis.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from crpsmap.model import CohortParams, Mechanisms, ModelParams
from crpsmap.model.arrays import PatientInputs
from crpsmap.model.cohort import draw_patients
from crpsmap.model.effects import Channel, Effect, default_table
from crpsmap.model.experiments import area_activity, inputs, limb_activity, run
from crpsmap.model.kernel import run_kernel
from crpsmap.model.network import CERVICAL, LIMBS, N_NODES, N_SEG, TRUNK, n_nodes, node, topology
from crpsmap.model.reference import RunConfig, limb_descending, run_reference

FIELDS = ("M", "A", "rho", "s", "R", "O", "B", "V", "visit_v", "R_limb")
# the per-limb facts below are of the flat dorsal horn (one node per segment), the structure they were
# designed and measured in; the somatotopic columns (on by default) have their own tests
ON = Mechanisms(limb_representations=True, somatotopy=False)
QUIET = Mechanisms(noise=False, limb_representations=True, somatotopy=False)  # deterministic: no noise
SMALL_C = {"c_ips": 0.05, "c_hom": 0.05, "c_diag": 0.05, "c_desc": 0.05}
UPPER = [LIMBS.index("upper_right"), LIMBS.index("upper_left")]
LOWER = [LIMBS.index("lower_right"), LIMBS.index("lower_left")]
THETA = CohortParams().theta


def _cohort_inputs(n: int, days: int) -> PatientInputs:
    cp = CohortParams(
        screen_day=20, first_visit_delay=5, visit_interval_1=20, visit_jitter=3, trauma_rate=3.0
    )
    return draw_patients(3, np.arange(100, 100 + n), cp, days, 4)[0]


def _both_hands(drive: float = 2.0) -> PatientInputs:
    """Two animals whose two hands are injured on day 0; the drive heals (tau_heal), no infection."""
    return inputs(2, area=("hand_right", "hand_left"), drive=drive, infection=0.0)


def test_two_limbs_stay_two_for_ten_years_unless_the_same_side_cross_talk_is_strong() -> None:
    small = ModelParams(mechanisms=QUIET, **SMALL_C)
    lit = limb_activity(run(small, _both_hands(), 3650))
    assert (lit[:, UPPER] > 0.5).all(), "both injured limbs lit and kept after the drive healed"
    assert (lit[:, LOWER] < 0.1).all(), "small cross-talk: the legs stay quiet for 10 years"
    cascade = limb_activity(run(small.replace(c_ips=1.0), _both_hands(), 3650))
    assert (cascade[:, UPPER] > 0.5).all()
    assert (cascade[:, LOWER] > 0.5).all(), "strong same-side cross-talk: each side cascades to its leg"
    # the old two hemisphere nodes (switch off) with the same inputs: one side's summed input lights
    # the whole side, so two lit arms do not stay a two-limb state there
    old = limb_activity(run(ModelParams(mechanisms=dataclasses.replace(QUIET, limb_representations=False)),
                            _both_hands(), 3650))  # fmt: skip
    assert (old[:, LOWER] > 0.5).all(), "the hemisphere model spreads from two arms to the legs"


def test_limb_nodes_follow_their_own_limb() -> None:
    """One lit hand raises its own limb node; with small cross-talk the others stay near rest."""
    out = run(ModelParams(mechanisms=QUIET, **SMALL_C), inputs(2, area="hand_right", drive=2.0), 365)
    own = LIMBS.index("upper_right")
    assert (out.R_limb[:, own] > 0.3).all()
    others = np.delete(out.R_limb, own, axis=1)
    assert (others < 0.2 * out.R_limb[:, [own]]).all()
    assert np.array_equal(out.R, np.zeros_like(out.R)), "the hemisphere nodes are not used when on"


def test_switch_off_leaves_the_limb_nodes_unused() -> None:
    inp = _cohort_inputs(48, 120)
    cfg = RunConfig(n_days=120, seed=3)
    default = run_kernel(ModelParams(), cfg, inp)
    other_c = ModelParams(c_ips=1.0, c_hom=0.9, c_diag=0.8, c_desc=0.7)  # switch off: must not matter
    off = run_kernel(other_c, cfg, inp)
    for f in (*FIELDS, "visit_mask"):
        assert np.array_equal(getattr(off, f), getattr(default, f)), f
    assert not off.R_limb.any() and default.R.max() > 0.1
    on = run_kernel(other_c.replace(mechanisms=ON), cfg, inp)
    assert on.R_limb.max() > 0.1 and not on.R.any()
    assert not np.array_equal(on.M, default.M), "switched on, the variant reaches the dynamics"
    # the supraspinal arm off silences all four limb nodes (k_R = 0)
    no_sup = run_kernel(ModelParams(mechanisms=dataclasses.replace(ON, supraspinal=False)), cfg, inp)
    assert not no_sup.R_limb.any() and not no_sup.R.any()


def test_kernel_matches_reference_with_limb_representations() -> None:
    p = ModelParams(mechanisms=ON, c_ips=0.4, c_hom=0.3, c_diag=0.1, c_desc=0.1, g_cervical=0.6, gamma_M=0.02)
    inp = _cohort_inputs(48, 150)
    cfg = RunConfig(n_days=150, seed=3)
    # a mechanism row on the descending channel covers the table of effects on the limb path
    table = default_table().with_rows(
        Effect("half_desc", Channel.DESCENDING, "scale", 0.5, "test only", kind="mechanism")
    )
    for effects in (None, table):
        a = run_reference(p, cfg, inp, effects=effects)
        b = run_kernel(p, cfg, inp, effects=effects)
        for f in FIELDS:
            np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=0, atol=1e-9, err_msg=f)
        assert np.array_equal(a.visit_mask, b.visit_mask)
        assert a.M.max() > 0.5 and a.R_limb.max() > 0.3, "the comparison must cover lit limb nodes"


def test_descending_input_per_node_follows_the_equation() -> None:
    """limb_descending against the equation written out node by node (docs/model.md section 3)."""
    topo = topology()
    RL = np.array([[0.9, 0.1, 0.3, 0.0], [0.0, 0.5, 0.2, 0.7]])
    c_desc = 0.25
    got = limb_descending(RL, topo.node_limb, topo.node_side, c_desc)
    for p in range(RL.shape[0]):
        for i in range(topo.node_limb.size):
            limb, side = int(topo.node_limb[i]), int(topo.node_side[i])
            if limb == TRUNK:
                want = 0.5 * (RL[p, side] + RL[p, side + 2])  # upper and lower limb of its side
            else:
                want = RL[p, limb] + c_desc * sum(RL[p, k] for k in range(4) if k != limb)
            assert got[p, i] == pytest.approx(want, abs=1e-12), (p, i)
    # the limb segments are the enlargements: C5-T1 (upper) and L2-S2 (lower), on the node's side
    segs = [s for s in range(N_SEG) if topo.node_limb[node(0, s)] == LIMBS.index("upper_right")]
    assert segs == [3, 4, 5, 6, 7]
    assert topo.node_limb[node(1, 22)] == LIMBS.index("lower_left")  # L4 left


@pytest.mark.parametrize(
    "mech", [Mechanisms(noise=False, somatotopy=False), QUIET], ids=["hemispheres", "limb_nodes"]
)
def test_a_lower_cervical_gain_lowers_cranium_and_neck(mech: Mechanisms) -> None:
    """A hand injury under sustained drive: the fire runs up to C2 at the default gain; with a lower
    g_cervical the C2-C4 glia and the cranium and neck activity fall (monotonically)."""
    inp = inputs(4, area="hand_right", drive=2.0, infection=0.0)
    c2c4 = [node(0, s) for s in range(CERVICAL[0], CERVICAL[1] + 1)]
    cranium, neck, glia = [], [], []
    for g in (1.0, 0.6, 0.3):
        out = run(ModelParams(mechanisms=mech, g_cervical=g), inp, 365)
        cranium.append(area_activity(out, "cranium_right").mean())
        neck.append(area_activity(out, "neck_right").mean())
        glia.append(out.M[:, c2c4].mean())
    assert cranium[0] > THETA, "at the default gain the cranium is involved (the implausibility)"
    assert cranium[0] > cranium[1] > cranium[2] and neck[0] > neck[1] > neck[2]
    assert glia[0] > 0.5 > glia[2], "the low gain keeps C2-C4 glia below activation"
    if mech.limb_representations:
        assert cranium[2] < THETA, "with limb nodes a low cervical gain keeps the cranium uninvolved"


def test_default_gain_and_switches_keep_todays_model() -> None:
    assert ModelParams().g_cervical == 1.0 and not ModelParams().mechanisms.limb_representations
    assert n_nodes() == N_NODES == 67 and n_nodes(True) == 69
    # the arms' switches leave the structural variant off; only() can name it
    assert not Mechanisms.without("supraspinal").limb_representations
    assert Mechanisms.without() == Mechanisms()
    assert not Mechanisms.only("rostrocaudal").limb_representations
    assert Mechanisms.only("supraspinal", "limb_representations").limb_representations
    assert Mechanisms().switched_off() == () and "limb_representations" not in Mechanisms.arms()
    assert Mechanisms.without("vagal").switched_off() == ("vagal",)


def test_recorded_limb_nodes_equal_the_final_limb_nodes() -> None:
    """The recorder's R_limb (recorder.STATES) is the limb nodes' state: on the last day it equals the
    run's final R_limb, in both backends, and a mid-run record equals the end of a shorter run."""
    from crpsmap.model.recorder import Recorder

    p = ModelParams(mechanisms=QUIET, c_ips=0.35, c_hom=0.1, g_cervical=0.4)
    inp = _cohort_inputs(48, 150)
    rec = Recorder(states=("M", "R_limb"), every_days=5)
    for backend in (run_kernel, run_reference):
        out = backend(p, RunConfig(n_days=150, seed=3), inp, record=rec)
        assert out.recording is not None and out.recording.days[-1] == 150
        got = out.recording["R_limb"]
        assert got.shape == (48, 30, len(LIMBS))
        assert np.array_equal(got[:, -1], out.R_limb), backend.__name__
        assert got.max() > 0.3, "the check must cover lit limb nodes"
    short = run_kernel(p, RunConfig(n_days=75, seed=3), inp)
    t = int(np.flatnonzero(out.recording.days == 75)[0])
    np.testing.assert_allclose(got[:, t], short.R_limb, rtol=0, atol=1e-9)
    assert not np.array_equal(got[:, t], got[:, -1]), "the nodes move between the two records"
