"""The Numba kernel against the readable NumPy reference: same inputs and random streams, same result."""

from __future__ import annotations

import numpy as np

from crpsmap.model import CohortParams, Intervention, Mechanisms, ModelParams
from crpsmap.model.cohort import draw_patients
from crpsmap.model.kernel import run_kernel
from crpsmap.model.reference import RunConfig, run_reference

FIELDS = ("M", "A", "rho", "s", "R", "O", "B", "V", "visit_v")


def _inputs(n: int, days: int, ivs: tuple[Intervention, ...] = ()) -> object:
    cp = CohortParams(
        screen_day=20, first_visit_delay=5, visit_interval_1=20, visit_jitter=3, trauma_rate=3.0
    )
    return draw_patients(3, np.arange(100, 100 + n), cp, days, 4, ivs)[0]


def _compare(params: ModelParams, days: int, ivs: tuple[Intervention, ...] = ()) -> None:
    inp = _inputs(48, days, ivs)
    cfg = RunConfig(n_days=days, seed=3)
    a = run_reference(params, cfg, inp)  # type: ignore[arg-type]
    b = run_kernel(params, cfg, inp)  # type: ignore[arg-type]
    for f in FIELDS:
        np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=0, atol=1e-9, err_msg=f)
    assert np.array_equal(a.visit_mask, b.visit_mask)
    assert a.M.max() > 0.5, "the comparison must cover activated glia, not only the resting state"


def test_kernel_matches_reference_default_model() -> None:
    _compare(ModelParams().replace(gamma_M=0.02), 150)


def test_kernel_matches_reference_with_interventions_and_other_hill() -> None:
    ivs = (
        Intervention("glial_inhibitor", 10, 40, "injury"),
        Intervention("intrathecal_anticytokine", 60, 80, "injury"),
        Intervention("vagal_stimulation", 30, None, "injury"),
        Intervention("anti_inflammatory", 50, 120, "injury"),
        Intervention("infection_cleared", 5, None, "injury"),
    )
    _compare(ModelParams(h=3.0, K=1.2), 130, ivs)


def test_kernel_matches_reference_with_mechanisms_off() -> None:
    mech = Mechanisms(supraspinal=False, noise=False, organs=False, infection=False)
    _compare(ModelParams(mechanisms=mech, K=1.2), 100)


def test_infection_switch_removes_infection_drive() -> None:
    inp = _inputs(48, 200)
    cfg = RunConfig(n_days=200, seed=3)
    p = ModelParams(K=1.2)
    off = run_kernel(p.replace(mechanisms=Mechanisms(infection=False)), cfg, inp)  # type: ignore[arg-type]
    zeroed = run_kernel(p, cfg, inp.without_infection())  # type: ignore[attr-defined]
    on = run_kernel(p, cfg, inp)  # type: ignore[arg-type]
    assert np.array_equal(off.M, zeroed.M) and np.array_equal(off.B, zeroed.B)
    assert not np.array_equal(off.B, on.B)
