"""The experimental facts of mechanism.md section 1 as small virtual experiments on the model.

Each function sets up the rodent-like protocol on a few virtual animals (fixed susceptibility, one
injured site), runs the kernel, and returns the readouts the tests and docs quote. They are qualitative
checks that the model can show the documented behaviour, not fits to the rodent numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crpsmap.atlas import load_atlas
from crpsmap.model.arrays import N_IV, NEVER, PatientInputs, RunOutput
from crpsmap.model.interventions import CATALOGUE
from crpsmap.model.kernel import run_kernel
from crpsmap.model.network import N_LIMB, N_SEG, N_SPINAL, Topology, node, topology
from crpsmap.model.params import ModelParams
from crpsmap.model.reference import RunConfig

SCIATIC_AREA = "foot_right"  # L4-S1: the sciatic territory of the rodent models
SCIATIC_SEGMENTS = ("L4", "L5", "S1")


def inputs(
    n: int,
    *,
    gain: float = 1.0,
    v0: float = 0.5,
    infection: float = 0.0,
    area: str | tuple[str, ...] = SCIATIC_AREA,
    drive: float = 1.0,
    treatments: dict[str, tuple[int, int | None]] | None = None,
    first_patient: int = 0,
    dt: float = 0.25,
) -> PatientInputs:
    """n identical animals (distinct noise streams) with one injury of `area` (or of each of several
    areas) on day 0."""
    index = load_atlas().unit_index
    units = [index[a] for a in ((area,) if isinstance(area, str) else area)]
    spd = int(round(1 / dt))
    start = np.full((n, N_IV), NEVER, dtype=np.int64)
    stop = np.full((n, N_IV), NEVER, dtype=np.int64)
    for name, (a, b) in (treatments or {}).items():
        ch = CATALOGUE[name][0]
        start[:, ch] = a * spd
        stop[:, ch] = NEVER if b is None else b * spd
    return PatientInputs(
        patient=np.arange(first_patient, first_patient + n, dtype=np.int64),
        gain=np.full(n, gain),
        v0=np.full(n, v0),
        infection=np.full(n, infection),
        ev_step=np.zeros((n, len(units)), dtype=np.int64),
        ev_unit=np.tile(np.array(units, dtype=np.int64), (n, 1)),
        ev_amp=np.full((n, len(units)), drive),
        iv_start=start,
        iv_stop=stop,
        visit_day=np.full((n, 1), -1, dtype=np.int64),
    )


def sciatic_nodes(side: int) -> list[int]:
    segs = load_atlas().spinal_segments
    return [node(side, segs.index(s)) for s in SCIATIC_SEGMENTS]


@dataclass(frozen=True)
class Readout:
    """Mean microglia, astrocytes and sensitisation of the injured (ipsi) and mirror (contra) segments."""

    ipsi_M: float
    contra_M: float
    ipsi_A: float
    contra_A: float
    ipsi_s: float
    contra_s: float


def readout(out: RunOutput) -> Readout:
    ip, co = sciatic_nodes(0), sciatic_nodes(1)
    return Readout(
        float(out.M[:, ip].mean()),
        float(out.M[:, co].mean()),
        float(out.A[:, ip].mean()),
        float(out.A[:, co].mean()),
        float(out.s[:, ip].mean()),
        float(out.s[:, co].mean()),
    )


def run(params: ModelParams, inp: PatientInputs, days: int, seed: int = 1, dt: float = 0.25) -> RunOutput:
    return run_kernel(params, RunConfig(n_days=days, seed=seed, dt=dt), inp)


def sustained(params: ModelParams) -> ModelParams:
    """SIN-like sustained peripheral drive: the afferent input does not heal during the experiment."""
    return params.replace(tau_heal=1e9)


def mirror_vs_drive(
    params: ModelParams, drives: tuple[float, ...], days: int = 28, n: int = 20
) -> list[Readout]:
    """Milligan 2003 / Chacur 2001: ipsilateral vs mirror-image activation at several drive strengths."""
    p = sustained(params)
    return [readout(run(p, inputs(n, drive=d), days)) for d in drives]


def onset_days(
    params: ModelParams, drive: float, days: int = 120, n: int = 20, level: float = 0.5
) -> tuple[float, float]:
    """First day on which mean ipsilateral and mirror-image microglia exceed `level` (inf if never)."""
    p = sustained(params)
    ipsi = contra = float("inf")
    for d in range(1, days + 1):
        r = readout(run(p, inputs(n, drive=drive), d))
        if ipsi == float("inf") and r.ipsi_M > level:
            ipsi = d
        if r.contra_M > level:
            contra = d
            break
    return ipsi, contra


def contra_nodes_active(out: RunOutput, level: float = 0.5) -> float:
    """Mean number of active contralateral (left) dorsal-horn nodes per animal."""
    return float((out.M[:, N_SEG:] > level).sum(axis=1).mean())


def all_nodes_active(out: RunOutput, level: float = 0.5) -> float:
    """Mean number of active dorsal-horn nodes per animal."""
    return float((level < out.M).sum(axis=1).mean())


def topology_of(out: RunOutput) -> Topology:
    """The node structure a run used: with the somatotopic columns when it has more spinal nodes."""
    return topology(out.M.shape[1] != N_SPINAL)


def limb_activity(out: RunOutput) -> np.ndarray:
    """Mean microglia of each limb's segments (patients x network.LIMBS): which limbs are lit."""
    limb = topology_of(out).node_limb
    return np.stack([out.M[:, limb == k].mean(axis=1) for k in range(N_LIMB)], axis=1)


def area_activity(out: RunOutput, area: str) -> np.ndarray:
    """The observation model's activity of a body area at the end of the run (dermatome-overlap
    weighted sensitisation; involved when above theta for persist_days), per animal."""
    topo = topology_of(out)
    unit = load_atlas().unit_index[area]
    idx, w = topo.overlap_idx[unit], topo.overlap_w[unit]
    ok = idx >= 0
    return np.asarray((out.s[:, idx[ok]] * w[ok]).sum(axis=1))
