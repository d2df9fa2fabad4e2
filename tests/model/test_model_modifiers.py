"""Follow-up horizon (plausibility.md 4.4) and patient-level modifiers (4.5): off by default, bit for bit
today's model; when on, visits stop at injury + T_i, durations follow their log-normal, the kernel still
equals the reference and is chunk-invariant, and a primed patient converts at a lower drive."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from crpsmap.atlas import load_atlas
from crpsmap.model import CohortParams, Intervention, Mechanisms, ModelParams, Sim
from crpsmap.model.arrays import OPTIONAL_INPUTS
from crpsmap.model.cohort import (
    AGE_PRIMING_FROM,
    AGE_PRIMING_SPAN,
    disease_durations,
    draw_patients,
    duration_distribution,
    first_visit,
    histories,
    initial_priming,
)
from crpsmap.model.effects import Channel, Effect, registered
from crpsmap.model.experiments import inputs as animal_inputs
from crpsmap.model.kernel import run_kernel
from crpsmap.model.network import N_SPINAL, node, topology
from crpsmap.model.reference import RunConfig, run_reference

ROOT = Path(__file__).resolve().parents[2]
#: a small, fast clinic (short screening, frequent visits, many events) as in test_model_kernel.py
SMALL = CohortParams(screen_day=20, first_visit_delay=5, visit_interval_1=20, visit_jitter=3, trauma_rate=3.0)
MODIFIERS = {"rho_age": 0.4, "p_prior_pain": 0.5, "rho_prior": 0.6, "phi_female": 0.5}
HORIZON = {"horizon_median_years": 1.0, "horizon_q1_years": 0.5, "horizon_q3_years": 2.0}
FIELDS = ("M", "A", "rho", "s", "R", "O", "B", "V", "visit_v")

# the committed model's inputs and reference output for SMALL (run in a subprocess on the HEAD tree)
_OLD_TREE = textwrap.dedent(
    """
    import sys, numpy as np
    sys.path.insert(0, sys.argv[1])
    import crpsmap
    assert crpsmap.__file__.startswith(sys.argv[1]), crpsmap.__file__
    from crpsmap.model import CohortParams
    from crpsmap.model.cohort import draw_patients
    from crpsmap.model.reference import RunConfig, run_reference
    from crpsmap.model.params import ModelParams
    cp = CohortParams(
        screen_day=20, first_visit_delay=5, visit_interval_1=20, visit_jitter=3, trauma_rate=3.0
    )
    inp = draw_patients(3, np.arange(100, 124), cp, 400, 4)[0]
    out = run_reference(ModelParams(), RunConfig(n_days=400, seed=3), inp)
    arrays = {"in_" + k: getattr(inp, k) for k in inp.__dataclass_fields__}
    names = ("visit_mask", "M", "A", "rho", "s", "R", "O", "B", "V", "visit_v")
    arrays.update({"out_" + k: getattr(out, k) for k in names})
    np.savez(sys.argv[2], **arrays)
    """
)


def _extract_head(dest: Path) -> None:
    """src/crpsmap as committed at HEAD (read-only git), so today's defaults can be compared with it."""
    names = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", "HEAD", "--", "src/crpsmap"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    for name in names:
        data = subprocess.run(
            ["git", "show", f"HEAD:{name}"], cwd=ROOT, check=True, capture_output=True
        ).stdout
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def test_defaults_are_bit_identical_to_the_committed_model(tmp_path: Path) -> None:
    try:
        _extract_head(tmp_path)
    except (OSError, subprocess.CalledProcessError) as exc:  # no git checkout (e.g. an sdist)
        pytest.skip(f"the committed tree is not available: {exc}")
    src = tmp_path / "src"
    subprocess.run(
        [sys.executable, "-c", _OLD_TREE, str(src), str(tmp_path / "old.npz")], check=True, cwd=tmp_path
    )
    inp = draw_patients(3, np.arange(100, 124), SMALL, 400, 4)[0]
    assert all(getattr(inp, k).shape[0] == 0 for k in OPTIONAL_INPUTS), "modifiers off: empty inputs"
    ref = run_reference(ModelParams(), RunConfig(n_days=400, seed=3), inp)
    ker = run_kernel(ModelParams(), RunConfig(n_days=400, seed=3), inp)
    with np.load(tmp_path / "old.npz") as old:
        for k in inp.__dataclass_fields__:
            if k not in OPTIONAL_INPUTS:  # new optional inputs are empty here (asserted above)
                assert np.array_equal(old["in_" + k], getattr(inp, k)), k
        for f in (*FIELDS, "visit_mask"):
            assert np.array_equal(old["out_" + f], getattr(ref, f)), f  # bit for bit
            np.testing.assert_allclose(getattr(ker, f), old["out_" + f], rtol=0, atol=1e-9, err_msg=f)
        assert old["out_M"].max() > 0.5, "the comparison must cover activated glia"
    # the neutral values passed explicitly change nothing either: zero priming through the kernel's path
    zero = dataclasses.replace(
        inp, rho0=np.zeros((inp.n, N_SPINAL)), phi=np.zeros(inp.n), crosstalk_group=np.zeros(inp.n)
    )
    ker0 = run_kernel(ModelParams(), RunConfig(n_days=400, seed=3), zero)
    for f in (*FIELDS, "visit_mask"):
        assert np.array_equal(getattr(ker0, f), getattr(ker, f)), f


def test_every_last_record_is_within_the_disease_duration() -> None:
    cp = CohortParams(**HORIZON, horizon_max_years=3.0)
    sim = Sim(cohort=cp, years=3.0, seed=2)
    cases, _ = sim.find_cases(60)
    demo, out = sim.follow_arrays(cases)
    assert demo.duration_years is not None
    hist = {h.patient_id: h for h in histories(sim.seed, demo, out, cp)}
    first = first_visit(sim.seed, cases, cp)
    cut = 0
    for r, p in enumerate(cases):
        h = hist[f"V{int(p) + 1:06d}"]
        limit = max(int(first[r]), math.floor(demo.duration_years[r] * 365.25))
        last = max(rec.date.toordinal() for rec in h.records) - int(demo.injury_date[r])
        assert last <= limit, (p, last, limit)
        cut += limit < sim.n_days - 200
    assert cut > 10, "the horizon must actually shorten follow-up for many patients"
    # the same patients with the fixed horizon are followed longer: the cap is what keeps records early
    fixed = Sim(years=3.0, seed=2).follow_arrays(cases)[0]
    assert (fixed.visit_day >= 0).sum() > (demo.visit_day >= 0).sum()


@pytest.mark.parametrize(
    ("q1", "med", "q3", "t_max"),
    [(2.0, 4.0, 8.0, 40.0), (1.5, 3.0, 9.0, 6.0)],  # log-symmetric, almost untruncated; skewed, truncated
)
def test_duration_quartiles_match_the_log_normal(q1: float, med: float, q3: float, t_max: float) -> None:
    cp = CohortParams(
        horizon_median_years=med, horizon_q1_years=q1, horizon_q3_years=q3, horizon_max_years=t_max
    )
    t = disease_durations(5, np.arange(40_000), cp, int(t_max * 365.25) + 1)
    assert t is not None and t.max() <= t_max and t.min() > 0
    sigma = (np.log(q3) - np.log(q1)) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    dist = stats.lognorm(s=sigma, scale=med)
    for p in (0.25, 0.5, 0.75):
        target = dist.ppf(p * dist.cdf(t_max))  # quantile of the truncated distribution, computed by scipy
        assert np.quantile(t, p) == pytest.approx(target, rel=0.03), p
    if t_max > 30:  # hardly truncated and log-symmetric: the quartiles are the ones given
        assert np.quantile(t, [0.25, 0.5, 0.75]) == pytest.approx([q1, med, q3], rel=0.03)


def test_horizon_off_and_invalid_quartiles() -> None:
    assert duration_distribution(CohortParams()) is None
    assert disease_durations(0, np.arange(5), CohortParams(), 1000) is None
    fixed = disease_durations(0, np.arange(5), CohortParams(horizon_median_years=2.0), 5000)
    assert fixed is not None and np.all(fixed == 2.0)
    # the quartiles set the spread only: swapped they give the same sigma (valid for any sampled values)
    a = duration_distribution(
        CohortParams(horizon_median_years=2.0, horizon_q1_years=1.0, horizon_q3_years=4.0)
    )
    b = duration_distribution(
        CohortParams(horizon_median_years=2.0, horizon_q1_years=4.0, horizon_q3_years=1.0)
    )
    assert a == b and a is not None and a[1] == pytest.approx(np.log(4.0) / 1.349, rel=1e-3)
    with pytest.raises(ValueError, match="quartiles"):
        duration_distribution(CohortParams(horizon_median_years=2.0, horizon_q1_years=-1.0))


def test_initial_priming_follows_age_and_prior_pain() -> None:
    cp = CohortParams(**MODIFIERS)
    age = np.array([30.0, 40.0, 55.0, 70.0, 85.0, 55.0])
    u = np.array([0.9, 0.9, 0.9, 0.9, 0.9, 0.1])  # only the last has prior pain (u < 0.5)
    rho0, prior = initial_priming(age, u, cp)
    assert prior is not None and prior.tolist() == [False] * 5 + [True]
    expected = np.zeros((6, N_SPINAL))
    expected += np.array([0.0, 0.0, 0.2, 0.4, 0.4, 0.2])[:, None]  # 0.4 * clip((age - 40) / 30, 0, 1)
    segs = load_atlas().spinal_segments
    low_back = [node(side, segs.index(s)) for side in (0, 1) for s in ("L4", "L5", "S1")]
    expected[5, low_back] += 0.6
    np.testing.assert_allclose(rho0, expected, rtol=0, atol=1e-12)
    assert AGE_PRIMING_FROM == 40.0 and AGE_PRIMING_SPAN == 30.0
    off, none = initial_priming(age, u, CohortParams())
    assert off.shape == (0, N_SPINAL) and none is None


def test_kernel_matches_reference_with_modifiers_on() -> None:
    cp = dataclasses.replace(SMALL, **MODIFIERS, **HORIZON)
    inp = draw_patients(3, np.arange(100, 148), cp, 150, 4)[0]
    assert inp.rho0.shape == (48, N_SPINAL) and inp.rho0.max() > 0.5
    assert inp.phi.shape == (48,) and 0 < (inp.phi > 0).sum() < 48
    params = ModelParams().replace(gamma_M=0.02)
    cfg = RunConfig(n_days=150, seed=3)
    # a glial inhibitor on days 10-40 and a T-cell-directed row on days 20-60 (registered for the test)
    t_cell = Effect("t_cell_test", Channel.T_CELL_ACTIVATION, "inhibit", 0.8, "test: T-cell inhibitor")
    with registered(t_cell) as table:
        ivs = (
            Intervention("glial_inhibitor", 10, 40, "injury"),
            Intervention("t_cell_test", 20, 60, "injury"),
        )
        inp = draw_patients(3, np.arange(100, 148), cp, 150, 4, ivs)[0]
        a = run_reference(params, cfg, inp, effects=table)
        b = run_kernel(params, cfg, inp, effects=table)
    for f in FIELDS:
        np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=0, atol=1e-9, err_msg=f)
    assert np.array_equal(a.visit_mask, b.visit_mask)
    assert a.M.max() > 0.5, "the comparison must cover activated glia"
    with registered(t_cell) as table:
        plain = run_kernel(params, cfg, dataclasses.replace(inp, rho0=np.zeros((0, N_SPINAL))), effects=table)
        no_phi = run_kernel(params, cfg, dataclasses.replace(inp, phi=np.zeros(0)), effects=table)
    assert not np.array_equal(plain.M, b.M), "the initial priming must reach the dynamics"
    assert not np.array_equal(no_phi.M, b.M), "the T-cell share must reach the dynamics"


def test_a_glial_inhibitor_is_weaker_with_a_t_cell_share() -> None:
    """Sorge 2015's prediction: with a share phi of activation through T cells (women), a microglial
    inhibitor from day 0 prevents less; with no treatment the share changes nothing (both routes are 1)."""
    n = 16
    params = ModelParams(mechanisms=Mechanisms.without("noise"))
    cfg = RunConfig(n_days=120, seed=1)
    phi = np.repeat([0.0, 0.6], n // 2)
    mean_m = []
    for treat in (None, {"glial_inhibitor": (0, None)}):
        inp = dataclasses.replace(animal_inputs(n, gain=0.45, drive=2.0, treatments=treat), phi=phi)
        m = run_kernel(params, cfg, inp).M.max(axis=1)  # the most activated node
        mean_m.append((m[: n // 2].mean(), m[n // 2 :].mean()))
    (male, female), (male_t, female_t) = mean_m
    assert male > 0.5 and female == pytest.approx(male, rel=1e-9), "untreated: the share alone is neutral"
    assert male_t < 0.5 * male, "the inhibitor must work in males"
    assert female_t > male_t + 0.1 * male, "and less in females with a T-cell share"


def test_chunks_are_invariant_with_modifiers_on() -> None:
    cp = CohortParams(**MODIFIERS, **HORIZON, horizon_max_years=1.0)
    sim = Sim(cohort=cp, years=1.0, seed=4)
    whole = sim.chunk(0, 200)  # injuries; about 3% become cases with today's diagnosis rule
    parts = [sim.chunk(0, 37), sim.chunk(37, 200)]
    assert np.array_equal(whole.cases, np.concatenate([p.cases for p in parts]))
    assert whole.cases.size > 3
    dump = [json.dumps(h.model_dump(mode="json"), sort_keys=True) for h in whole.histories]
    assert dump == [json.dumps(h.model_dump(mode="json"), sort_keys=True) for p in parts for h in p.histories]


def _lowest_converting_drive(rho0: float) -> float:
    """Smallest injury drive (of a grid) at which a noise-free animal has an involved area on day 91."""
    drives = np.linspace(0.1, 3.0, 30)
    inp = animal_inputs(drives.size, gain=0.45)
    inp = dataclasses.replace(
        inp,
        ev_amp=drives[:, None].copy(),
        visit_day=np.full((drives.size, 1), 91, dtype=np.int64),
        rho0=np.full((drives.size, N_SPINAL), rho0),
    )
    params = ModelParams(mechanisms=Mechanisms.without("noise"))
    out = run_kernel(params, RunConfig(n_days=92, seed=1), inp)
    converted = (out.visit_mask[:, 0] & ((1 << topology().n_areas) - 1)) != 0
    assert np.all(np.diff(converted.astype(int)) >= 0), "conversion must be monotone in the drive"
    return float(drives[converted][0]) if converted.any() else math.inf


def test_a_primed_patient_converts_at_a_lower_drive() -> None:
    unprimed, primed = _lowest_converting_drive(0.0), _lowest_converting_drive(0.5)
    assert math.isfinite(unprimed), "the grid must reach the unprimed threshold"
    assert primed < unprimed


def test_drive_after_crps_scales_only_the_injuries_after_the_screening_day() -> None:
    """drive_after_crps multiplies the drive of later traumas and surgeries dated after the screening day,
    and nothing else: the first injury, earlier ones, infections and every date stay as drawn."""
    from crpsmap.model.cohort import SURGERY, TRAUMA

    cp = dataclasses.replace(CohortParams(), drive_after_crps=1.0)  # off
    patients = np.arange(300, dtype=np.int64)
    base_in, base_demo = draw_patients(5, patients, cp, 1500, 4)
    more_in, more_demo = draw_patients(5, patients, dataclasses.replace(cp, drive_after_crps=2.0), 1500, 4)
    assert np.array_equal(base_in.ev_step, more_in.ev_step) and np.array_equal(
        base_demo.ev_day, more_demo.ev_day
    )
    injury = np.isin(base_demo.ev_kind, (TRAUMA, SURGERY)) & (base_demo.ev_day > 0)
    later = injury & (base_demo.ev_day > cp.screen_day)
    assert later.sum() > 20 and (injury & ~later).sum() > 0, "the draw must cover both kinds"
    np.testing.assert_allclose(more_in.ev_amp[later], 2.0 * base_in.ev_amp[later], rtol=1e-12)
    assert np.array_equal(more_in.ev_amp[~later], base_in.ev_amp[~later])
