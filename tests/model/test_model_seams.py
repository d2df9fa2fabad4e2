"""Seams for the next mechanism: the table of effects, named random streams and the recorder.

Each test compares two independent computations (kernel with reference, a table row with the parameter it
stands for, a recording with a shorter run's final state, a chunked run with a whole one).
"""

from __future__ import annotations

import numpy as np
import pytest

from crpsmap.model import CATALOGUE, CohortParams, Intervention, ModelParams, Sim
from crpsmap.model.arrays import PatientInputs
from crpsmap.model.cohort import draw_patients
from crpsmap.model.effects import Channel, Effect, default_table, intervention_columns, registered
from crpsmap.model.kernel import run_kernel
from crpsmap.model.network import topology
from crpsmap.model.recorder import Recorder, Recording
from crpsmap.model.reference import RunConfig, run_reference
from crpsmap.model.rng import Draw, Draws, Stream

STATES = ("M", "A", "rho", "c", "s", "u", "R", "O", "B", "V", "I_chr", "I_ac")
ASTRO = Effect(
    "astrocyte_inhibitor",
    Channel.ASTROCYTE_ACTIVATION,
    "inhibit",
    0.6,
    "hypothetical: astrocyte activation rate scaled by 1 - 0.6 (test only)",
)
# a channel and the ModelParams rate it multiplies (scaling by 0.5 is exact in floating point)
RATE_OF = {
    Channel.MICROGLIA_ACTIVATION: "k_M",
    Channel.ASTROCYTE_ACTIVATION: "k_A",
    Channel.DESCENDING: "w_desc",
    Channel.SUPRASPINAL_ACTIVATION: "k_R",
    Channel.ORGAN_ACTIVATION: "k_O",
    Channel.BBB_INFLUX: "beta_bbb",
}
P = ModelParams(K=1.2)  # a low threshold: glia, hemispheres and organs all move within 60 days


def _inputs(n: int, days: int, ivs: tuple[Intervention, ...] = ()) -> PatientInputs:
    cp = CohortParams(
        screen_day=20, first_visit_delay=5, visit_interval_1=20, visit_jitter=3, trauma_rate=3.0
    )
    return draw_patients(3, np.arange(100, 100 + n), cp, days, 4, ivs)[0]


def _assert_same(a: object, b: object, exact: bool) -> None:
    for f in ("M", "A", "rho", "s", "R", "O", "B", "V", "visit_v", "visit_mask"):
        x, y = getattr(a, f), getattr(b, f)
        if exact:
            assert np.array_equal(x, y), f
        else:
            np.testing.assert_allclose(x, y, rtol=0, atol=1e-9, err_msg=f)


def test_registered_intervention_acts_the_same_in_reference_and_kernel() -> None:
    rec = Recorder(states=("A",), every_days=10)
    cfg = RunConfig(n_days=90, seed=3)
    with registered(ASTRO) as table:
        assert "astrocyte_inhibitor" in CATALOGUE and table.row("astrocyte_inhibitor") == ASTRO
        treated = _inputs(40, 90, (Intervention("astrocyte_inhibitor", 20, None, "injury"),))
        assert treated.iv_start.shape[1] == len(intervention_columns())
        control = _inputs(40, 90)
        ref = run_reference(P, cfg, treated, record=rec)
        ker = run_kernel(P, cfg, treated, record=rec)
        ker0 = run_kernel(P, cfg, control, record=rec)
    assert "astrocyte_inhibitor" not in CATALOGUE and "astrocyte_inhibitor" not in intervention_columns()
    _assert_same(ref, ker, exact=False)
    assert ref.recording is not None and ker.recording is not None and ker0.recording is not None
    np.testing.assert_allclose(ref.recording["A"], ker.recording["A"], rtol=0, atol=1e-9)
    a1, a0 = ker.recording["A"], ker0.recording["A"]
    days = ker.recording.days
    assert np.array_equal(a1[:, days <= 20], a0[:, days <= 20]), "nothing changes before the start"
    assert a0[:, -1].max() > 0.3, "the comparison must cover activated astrocytes"
    assert a1[:, -1].sum() < a0[:, -1].sum(), "the inhibitor lowers astrocyte activation"


def test_intervention_given_throughout_equals_the_scaled_rate() -> None:
    cfg = RunConfig(n_days=60, seed=3)
    scaled = P.replace(k_A=P.k_A * (1.0 - 0.6))
    with registered(ASTRO) as table:
        inp = _inputs(40, 60, (Intervention("astrocyte_inhibitor", 0, None, "injury"),))
        for run in (run_kernel, run_reference):
            a = run(P, cfg, inp, effects=table)
            b = run(scaled, cfg, _inputs(40, 60), effects=table)
            _assert_same(a, b, exact=False)
            assert a.A.max() > 0.3


@pytest.mark.parametrize("run", [run_kernel, run_reference], ids=["kernel", "reference"])
def test_mechanism_row_equals_its_parameter_and_its_switch_removes_it(run: object) -> None:
    n, days = (40, 60) if run is run_kernel else (12, 40)  # the reference is slow
    inp = _inputs(n, days)
    cfg = RunConfig(n_days=days, seed=3)
    plain = run(P, cfg, inp)  # type: ignore[operator]
    for channel, rate in RATE_OF.items():
        row = Effect(f"half_{rate}", channel, "scale", 0.5, "test only", kind="mechanism")
        table = default_table().with_rows(row)
        with_row = run(P, cfg, inp, effects=table)  # type: ignore[operator]
        halved = run(P.replace(**{rate: getattr(P, rate) * 0.5}), cfg, inp)  # type: ignore[operator]
        _assert_same(with_row, halved, exact=True)
        assert not np.array_equal(with_row.M, plain.M) or not np.array_equal(with_row.O, plain.O), rate
        off = run(P, cfg, inp, effects=table.switch(row.name, False))  # type: ignore[operator]
        _assert_same(off, plain, exact=True)


def test_builtin_rows_carry_the_documented_strengths() -> None:
    p = ModelParams()
    plan = default_table().plan(p, dt=0.25)
    want = {
        "vagal_stimulation": (Channel.VAGAL_TONE, p.vns_dV),
        "anti_inflammatory": (Channel.BLOOD_PRODUCTION, 1.0 - p.e_sys),
        "glial_inhibitor": (Channel.MICROGLIA_ACTIVATION, 1.0 - p.e_glia),
        "intrathecal_anticytokine": (Channel.SPINAL_CYTOKINE, 1.0 - p.e_IT),
        "infection_cleared": (Channel.INFECTION_DECAY, float(np.exp(-0.25 / p.tau_clear))),
    }
    for name, (channel, value) in want.items():
        col = CATALOGUE[name][0]
        assert plan.slot_channel[col] == channel and plan.slot_value[col] == pytest.approx(value), name
    neutral = np.where([c == Channel.VAGAL_TONE for c in Channel], 0.0, 1.0)
    assert np.array_equal(plan.base, neutral), "no mechanism row: every channel is neutral"


def test_table_refuses_rows_it_cannot_run() -> None:
    with pytest.raises(ValueError, match="takes mode shift"):
        Effect("x", Channel.VAGAL_TONE, "scale", 0.5, "")
    with pytest.raises(ValueError, match="not a ModelParams field"):
        Effect("x", Channel.ASTROCYTE_ACTIVATION, "inhibit", "no_such_parameter", "")
    with pytest.raises(ValueError, match="register"):
        default_table().with_rows(ASTRO)  # an intervention needs a schedule column
    with pytest.raises(ValueError, match="intervention"):
        default_table().switch("glial_inhibitor", False)
    with pytest.raises(ValueError, match="unknown intervention"):
        Intervention("astrocyte_inhibitor")


def test_named_draws_never_share_a_counter() -> None:
    by_stream: dict[Stream, list[tuple[int, int, str]]] = {}
    for d in Draw:
        by_stream.setdefault(d.stream, []).append((d.first, d.first + d.span, d.name))
    for stream, spans in by_stream.items():
        spans.sort()
        for (_, end, name), (start, _, nxt) in zip(spans, spans[1:], strict=False):
            assert end <= start, f"{stream.name}: {name} overlaps {nxt}"
    d = Draws(1, np.arange(3), Stream.EVENTS)
    with pytest.raises(ValueError, match="belongs to stream"):
        d.uniform(Draw.FEMALE)
    with pytest.raises(ValueError, match="exceed its span"):
        d.uniform(Draw.IS_SURGERY, Draw.IS_SURGERY.span + 1)


def test_recording_matches_between_backends_and_the_final_state() -> None:
    inp = _inputs(40, 60, (Intervention("glial_inhibitor", 10, 30, "injury"),))
    rec = Recorder(states=STATES, every_days=5)
    cfg = RunConfig(n_days=60, seed=3)
    ker = run_kernel(P, cfg, inp, record=rec)
    ref = run_reference(P, cfg, inp, record=rec)
    assert ker.recording is not None and ref.recording is not None
    assert np.array_equal(ker.recording.days, np.arange(5, 61, 5))
    for name in STATES:
        np.testing.assert_allclose(ker.recording[name], ref.recording[name], rtol=0, atol=1e-9, err_msg=name)
    _assert_same(ker, run_kernel(P, cfg, inp), exact=True)  # recording does not change the run
    # the day-35 record is the final state of a 35-day run
    short = run_kernel(P, RunConfig(n_days=35, seed=3), inp)
    t = int(np.flatnonzero(ker.recording.days == 35)[0])
    for name in ("M", "A", "rho", "s", "R", "O"):
        assert np.array_equal(ker.recording[name][:, t], getattr(short, name)), name
    assert np.array_equal(ker.recording["B"][:, t, 0], short.B)
    # c is the cytokine behind s: s = c^2 / (K_s^2 + c^2)
    c = ker.recording["c"]
    np.testing.assert_allclose(ker.recording["s"], c * c / (P.K_s**2 + c * c), rtol=1e-12, atol=1e-15)
    assert ker.recording["M"].max() > 0.5
    none = run_kernel(P, cfg, inp.take(np.arange(0)), record=rec).recording
    wide = topology(P.mechanisms.somatotopy).n_spinal  # as wide as the run's dorsal horn (80 with columns)
    assert ker.recording["M"].shape == (40, 12, wide) and ker.recording["R"].shape == (40, 12, 2)
    assert none is not None and none["M"].shape == (0, 12, wide) and none["B"].shape == (0, 12, 1)


def test_recording_does_not_depend_on_chunks() -> None:
    sim = Sim(years=1.0, seed=4, record=Recorder(states=("M", "c", "V"), every_days=30))
    whole = sim.chunk(0, 400)  # injuries; about 4% become cases
    a, b = sim.chunk(0, 173), sim.chunk(173, 400)
    assert whole.recording is not None and a.recording is not None and b.recording is not None
    assert whole.cases.size > 2
    assert np.array_equal(whole.recording.patients, whole.cases)
    assert whole.recording["M"].shape == (whole.cases.size, 12, sim.n_spinal)
    parts = Recording.concat([a.recording, b.recording])
    for name in ("M", "c", "V"):
        assert np.array_equal(whole.recording[name], parts[name]), name
    clinic = sim.clinic(whole.cases.size, follow_block=2)
    assert clinic.recording is not None
    assert np.array_equal(clinic.recording.patients, whole.cases)
    assert np.array_equal(clinic.recording["c"], whole.recording["c"])
    assert Sim(years=1.0, seed=4).chunk(0, 10).recording is None


def test_recorder_refuses_unknown_states() -> None:
    with pytest.raises(ValueError, match="unknown"):
        Recorder(states=("glia",))
    with pytest.raises(ValueError, match="every_days"):
        Recorder(states=("M",), every_days=0)
