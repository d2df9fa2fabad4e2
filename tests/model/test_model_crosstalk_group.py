"""The cross-talk subgroup (CohortParams.p_crosstalk_group, plausibility.md 4.7): a share of patients whose
per-limb supraspinal nodes facilitate each other with their own descending cross-talk (ModelParams.
c_desc_group instead of c_desc).

Off by default (empty input: the default model, bit for bit, is pinned in test_model_modifiers.py); when
on, the share drawn is the share asked for and no other draw moves; c_desc_group reaches exactly the
patients of the subgroup; kernel and reference agree and a patient's trajectory does not depend on the
chunk it runs in; without the per-limb nodes it acts on (like c_desc) it changes nothing, and a local
sensitivity box leaves it out there. Model output of a hypothesis.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats

from crpsmap.calibrate.sensitivity import CROSSTALK_GROUP_FIELDS, switched_off
from crpsmap.model import CohortParams, Mechanisms, ModelParams, Sim
from crpsmap.model.arrays import OPTIONAL_INPUTS
from crpsmap.model.cohort import crosstalk_group, draw_patients
from crpsmap.model.experiments import inputs, limb_activity, run
from crpsmap.model.kernel import run_kernel
from crpsmap.model.network import LIMBS, topology
from crpsmap.model.reference import RunConfig, limb_descending, run_reference

FIELDS = ("M", "A", "rho", "s", "R", "O", "B", "V", "visit_v", "R_limb")
LIMB_NODES = Mechanisms(limb_representations=True)
SMALL = CohortParams(screen_day=20, first_visit_delay=5, visit_interval_1=20, visit_jitter=3, trauma_rate=3.0)
GROUP = dataclasses.replace(SMALL, p_crosstalk_group=0.3)


def test_the_share_drawn_is_the_share_asked_for_and_no_other_draw_moves() -> None:
    patients = np.arange(20_000)
    on, demo = draw_patients(4, patients, GROUP, 200, 4)
    off, demo_off = draw_patients(4, patients, SMALL, 200, 4)
    group = demo.crosstalk_group
    assert group is not None and demo_off.crosstalk_group is None and off.crosstalk_group.shape == (0,)
    # binomial test of the drawn share against the 30% asked for
    assert stats.binomtest(int(group.sum()), group.size, 0.3).pvalue > 1e-3
    assert np.array_equal(on.crosstalk_group, np.where(group, 1.0, 0.0))
    for k in on.__dataclass_fields__:
        if k not in OPTIONAL_INPUTS:
            assert np.array_equal(getattr(on, k), getattr(off, k)), k
    # a patient's membership is their own draw: the same whichever patients are drawn with them
    some = draw_patients(4, patients[5_000:5_100], GROUP, 200, 4)[1].crosstalk_group
    assert some is not None and np.array_equal(some, group[5_000:5_100])
    assert crosstalk_group(np.array([0.1, 0.5]), SMALL) is None


def test_a_strong_group_cross_talk_makes_two_lit_limbs_cascade_in_the_subgroup_only() -> None:
    """Both hands injured, no noise, small cross-talk (as in test_model_limbs.py): a patient outside the
    subgroup keeps two limbs for ten years; the same patient in it (c_desc_group 1.0) lights the legs."""
    quiet = ModelParams(
        mechanisms=Mechanisms(noise=False, limb_representations=True, somatotopy=False),
        c_ips=0.05, c_hom=0.05, c_diag=0.05, c_desc=0.05, c_desc_group=1.0,
    )  # fmt: skip
    both_hands = inputs(2, area=("hand_right", "hand_left"), drive=2.0, infection=0.0)
    grouped = dataclasses.replace(both_hands, crosstalk_group=np.array([0.0, 1.0]))
    lit = limb_activity(run(quiet, grouped, 3650))
    arms = [LIMBS.index("upper_right"), LIMBS.index("upper_left")]
    legs = [LIMBS.index("lower_right"), LIMBS.index("lower_left")]
    assert (lit[:, arms] > 0.5).all(), "both injured limbs lit in both patients"
    assert (lit[0, legs] < 0.1).all(), "outside the subgroup: the legs stay quiet"
    assert (lit[1, legs] > 0.5).all(), "in the subgroup: its limbs come together"
    # the same two patients without the input: both keep two limbs (membership is the only difference)
    plain = limb_activity(run(quiet, both_hands, 3650))
    assert (plain[:, legs] < 0.1).all()
    # and with c_desc_group = c_desc membership changes nothing, to the bit
    same = quiet.replace(c_desc_group=quiet.c_desc)
    assert np.array_equal(run(same, grouped, 400).R_limb, run(same, both_hands, 400).R_limb)


def test_descending_input_takes_one_cross_talk_per_patient() -> None:
    topo = topology()
    RL = np.array([[0.9, 0.1, 0.3, 0.0], [0.0, 0.5, 0.2, 0.7]])
    both = limb_descending(RL, topo.node_limb, topo.node_side, np.array([0.1, 0.4]))
    for p, c in enumerate((0.1, 0.4)):
        one = limb_descending(RL[p : p + 1], topo.node_limb, topo.node_side, c)
        assert np.array_equal(both[p], one[0]), p


def test_kernel_matches_reference_and_chunks_with_the_subgroup() -> None:
    p = ModelParams(
        mechanisms=LIMB_NODES, c_ips=0.3, c_hom=0.2, c_diag=0.1, c_desc=0.08, c_desc_group=0.6, gamma_M=0.02
    )
    inp = draw_patients(3, np.arange(100, 148), GROUP, 150, 4)[0]
    assert 5 < (inp.crosstalk_group > 0).sum() < 43, "the comparison must cover both groups"
    cfg = RunConfig(n_days=150, seed=3)
    a = run_reference(p, cfg, inp)
    b = run_kernel(p, cfg, inp)
    for f in FIELDS:
        np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=0, atol=1e-9, err_msg=f)
    assert np.array_equal(a.visit_mask, b.visit_mask)
    assert a.R_limb.max() > 0.3, "the comparison must cover lit limb nodes"
    # the subgroup's cross-talk reaches the dynamics
    plain = run_kernel(p, cfg, dataclasses.replace(inp, crosstalk_group=np.zeros(0)))
    assert not np.array_equal(plain.R_limb, b.R_limb)
    # chunk invariance: the last 13 patients alone (a block of the kernel padded) give the same rows
    part = run_kernel(p, cfg, inp.take(np.arange(35, 48)))
    for f in FIELDS:
        assert np.array_equal(getattr(part, f), getattr(b, f)[35:]), f


def test_bad_memberships_are_refused_and_without_limb_nodes_the_subgroup_is_unused() -> None:
    inp = draw_patients(3, np.arange(10), SMALL, 50, 4)[0]
    cfg = RunConfig(n_days=50, seed=3)
    for bad in (np.ones(3), -np.ones(10), np.full(10, 1.5)):
        with pytest.raises(ValueError, match="crosstalk_group"):
            run_kernel(ModelParams(), cfg, dataclasses.replace(inp, crosstalk_group=bad))
    with pytest.raises(ValueError, match="phi"):  # checked also when there is no initial priming
        run_reference(ModelParams(), cfg, dataclasses.replace(inp, phi=np.full(10, 2.0)))
    # like c_desc, the subgroup acts only on the per-limb nodes: with the hemisphere nodes it changes nothing
    sub = draw_patients(3, np.arange(100, 148), GROUP, 150, 4)[0]
    hemi = RunConfig(n_days=150, seed=3)
    a = run_kernel(ModelParams(), hemi, sub)
    b = run_kernel(ModelParams(), hemi, dataclasses.replace(sub, crosstalk_group=np.zeros(0)))
    for f in (*FIELDS, "visit_mask"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    assert a.M.max() > 0.5
    # and a local sensitivity box leaves its fields out where they cannot act or no patient is in it
    assert set(CROSSTALK_GROUP_FIELDS) <= switched_off(Sim(cohort=GROUP))
    assert set(CROSSTALK_GROUP_FIELDS) <= switched_off(Sim(params=ModelParams(mechanisms=LIMB_NODES)))
    assert not set(CROSSTALK_GROUP_FIELDS) & switched_off(
        Sim(cohort=GROUP, params=ModelParams(mechanisms=LIMB_NODES))
    )
