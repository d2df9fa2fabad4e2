"""The nodes of one virtual patient and the coupling between them, built from the atlas dermatomes.

Nodes: 29 spinal segments (C2..S5) x 2 sides of dorsal horn, two hemisphere nodes (one per body side
served), one brainstem/vagal node, the atlas's 5 visceral systems, and blood: 67 in all. With
Mechanisms.limb_representations four supraspinal nodes, one per limb representation, replace the two
hemisphere nodes: 69. Couplings are stored as padded neighbour lists (index, weight) so the kernel loops
over a few neighbours, not a dense 58 x 58 matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from crpsmap.atlas import Atlas, load_atlas
from crpsmap.model.params import ModelParams

SIDES = ("right", "left")  # side index 0 = right, 1 = left (of the body)
N_SEG = 29
N_SPINAL = 2 * N_SEG
N_HEMI = 2
N_ORGAN = 5
#: all nodes counted in node-days: dorsal horn, hemispheres, brainstem/vagal, organs, blood
N_NODES = N_SPINAL + N_HEMI + 1 + N_ORGAN + 1
THORACIC = (8, 18)  # segment indices of T2..T12 (0 = C2)
CERVICAL = (0, 2)  # segment indices of C2..C4 (neck, back of head, cranium): glial gain g_cervical
#: the limb representations of Mechanisms.limb_representations, index l = 2 * kind + side (kind 0 upper,
#: 1 lower limb; side 0 right, 1 left), so the other limb of the same side is l ^ 2 (ipsilateral), the
#: homologous limb l ^ 1 (contralateral) and the diagonal one l ^ 3
LIMBS = ("upper_right", "upper_left", "lower_right", "lower_left")
N_LIMB = len(LIMBS)
#: the segments of each limb kind: the limb enlargements (brachial plexus C5-T1, lumbosacral L2-S2, as in
#: plausibility.md 4.1); the other segments (C2-C4, T2-L1, S3-S5) are trunk and feed no limb node
LIMB_SEGMENTS = {"upper": ("C5", "C6", "C7", "C8", "T1"), "lower": ("L2", "L3", "L4", "L5", "S1", "S2")}
TRUNK = -1  # node_limb of a trunk segment


def n_nodes(limb_representations: bool = False) -> int:
    """Nodes per patient counted in node-days: 67, or 69 when four limb nodes replace two hemispheres."""
    return N_NODES - N_HEMI + N_LIMB if limb_representations else N_NODES


NEIGHBOUR_OVERLAP = 1.0 / 3.0  # weight of a +-1 segment not in an area's dermatome list [D]


def node(side: int, seg: int) -> int:
    """Index of the dorsal-horn node of segment `seg` (0 = C2) on `side` (0 = right, 1 = left)."""
    return side * N_SEG + seg


@dataclass(frozen=True)
class Topology:
    """Parameter-free structure from the atlas: which nodes serve which body area or organ."""

    n_units: int  # areas + visceral systems, in atlas.unit_slugs order
    n_areas: int
    unit_slugs: tuple[str, ...]
    overlap_idx: np.ndarray  # (n_units, K) spinal node or -1; visceral rows empty
    overlap_w: np.ndarray  # (n_units, K) row-normalised dermatome overlap weights
    area_nodes: np.ndarray  # (n_units, K) dorsal-horn nodes an injury of the area drives, -1 padded
    organ_nodes: np.ndarray  # (N_ORGAN, K) bilateral spinal nodes of each organ, -1 padded
    node_organs: np.ndarray  # (N_SPINAL, N_ORGAN) 1 where the node is in the organ's territory
    node_side: np.ndarray  # (N_SPINAL,) side index
    node_limb: np.ndarray  # (N_SPINAL,) limb representation (LIMBS index) of a limb segment, TRUNK else


@cache
def topology() -> Topology:
    """Build (once) the atlas-derived node structure."""
    return _topology(load_atlas())


def _pad(rows: list[list[tuple[int, float]]]) -> tuple[np.ndarray, np.ndarray]:
    k = max(1, max(len(r) for r in rows))
    idx = np.full((len(rows), k), -1, dtype=np.int64)
    w = np.zeros((len(rows), k), dtype=np.float64)
    for i, r in enumerate(rows):
        for j, (n, x) in enumerate(r):
            idx[i, j] = n
            w[i, j] = x
    return idx, w


def _topology(atlas: Atlas) -> Topology:
    seg_index = {s: i for i, s in enumerate(atlas.spinal_segments)}
    if len(seg_index) != N_SEG:
        raise ValueError(f"expected {N_SEG} spinal segments, atlas has {len(seg_index)}")
    overlap: list[list[tuple[int, float]]] = []
    drive: list[list[tuple[int, float]]] = []
    for a in atlas.areas:
        side = SIDES.index(a.side) if a.side in SIDES else 0
        own = [seg_index[d] for d in a.dermatomes]
        weights = {s: 1.0 for s in own}
        for s in own:
            for t in (s - 1, s + 1):
                if 0 <= t < N_SEG and t not in weights:
                    weights[t] = NEIGHBOUR_OVERLAP
        total = sum(weights.values())
        overlap.append([(node(side, s), w / total) for s, w in sorted(weights.items())])
        drive.append([(node(side, s), 1.0) for s in sorted(own)])
    for _ in atlas.visceral:
        overlap.append([])
        drive.append([])
    organ_rows: list[list[tuple[int, float]]] = []
    node_organs = np.zeros((N_SPINAL, N_ORGAN), dtype=np.float64)
    for o, v in enumerate(atlas.visceral):
        segs = sorted(seg_index[d] for d in v.dermatomes)
        organ_rows.append([(node(side, s), 1.0) for side in (0, 1) for s in segs])
        for side in (0, 1):
            for s in segs:
                node_organs[node(side, s), o] = 1.0
    ov_idx, ov_w = _pad(overlap)
    dr_idx, _ = _pad(drive)
    org_idx, _ = _pad(organ_rows)
    return Topology(
        n_units=len(atlas.unit_slugs),
        n_areas=len(atlas.areas),
        unit_slugs=atlas.unit_slugs,
        overlap_idx=ov_idx,
        overlap_w=ov_w,
        area_nodes=dr_idx,
        organ_nodes=org_idx,
        node_organs=node_organs,
        node_side=np.array([i // N_SEG for i in range(N_SPINAL)], dtype=np.int64),
        node_limb=_node_limb(seg_index),
    )


def _node_limb(seg_index: dict[str, int]) -> np.ndarray:
    out = np.full(N_SPINAL, TRUNK, dtype=np.int64)
    for kind, segs in enumerate(LIMB_SEGMENTS.values()):
        for side in (0, 1):
            for sg in segs:
                out[node(side, seg_index[sg])] = 2 * kind + side
    return out


@dataclass(frozen=True)
class Coupling:
    """Parameter-dependent spinal coupling as padded neighbour lists."""

    w_idx: np.ndarray  # (N_SPINAL, K) cytokine coupling W (rostro-caudal kernel + commissural)
    w_val: np.ndarray
    g_idx: np.ndarray  # (N_SPINAL, K) astrocyte gap-junction coupling G (homologue + adjacent)
    g_val: np.ndarray
    node_gain: np.ndarray  # (N_SPINAL,) relative glial gain of each segment (thoracic, cervical C2-C4)

    def dense_w(self) -> np.ndarray:
        return _dense(self.w_idx, self.w_val)

    def dense_g(self) -> np.ndarray:
        return _dense(self.g_idx, self.g_val)


def _dense(idx: np.ndarray, val: np.ndarray) -> np.ndarray:
    m = np.zeros((N_SPINAL, N_SPINAL))
    for i in range(idx.shape[0]):
        for j in range(idx.shape[1]):
            if idx[i, j] >= 0:
                m[i, idx[i, j]] += val[i, j]
    return m


def coupling(p: ModelParams) -> Coupling:
    """W_ij = w_rc exp(-(|ds|-1)/ell) on the same side (|ds| >= 1, nearest neighbour = w_rc),
    plus w_lr for the contralateral homologue; G = homologue 1, same-side +-1 segment 1/2 (times w_gap).

    The skeleton's kernel w_rc exp(-|ds|/ell) is rescaled so that w_rc is the nearest-neighbour weight
    (a readable calibration knob); it is truncated where it falls below 5% of w_rc.
    """
    v = p.vector()
    from crpsmap.model.params import PI

    w_rc, w_lr, ell, w_gap = v[PI["w_rc"]], v[PI["w_lr"]], p.ell, v[PI["w_gap"]]
    reach = max(1, int(math.floor(1.0 + ell * math.log(20.0))))
    w_rows: list[list[tuple[int, float]]] = []
    g_rows: list[list[tuple[int, float]]] = []
    for side in (0, 1):
        for s in range(N_SEG):
            row: list[tuple[int, float]] = []
            for d in range(1, reach + 1):
                for t in (s - d, s + d):
                    if 0 <= t < N_SEG and w_rc > 0:
                        row.append((node(side, t), w_rc * math.exp(-(d - 1) / ell)))
            if w_lr > 0:
                row.append((node(1 - side, s), w_lr))
            w_rows.append(row)
            grow: list[tuple[int, float]] = []
            if w_gap > 0:
                grow.append((node(1 - side, s), w_gap))
                for t in (s - 1, s + 1):
                    if 0 <= t < N_SEG:
                        grow.append((node(side, t), 0.5 * w_gap))
            g_rows.append(grow)
    w_idx, w_val = _pad(w_rows)
    g_idx, g_val = _pad(g_rows)
    gain = np.ones(N_SPINAL)
    for side in (0, 1):
        for s in range(THORACIC[0], THORACIC[1] + 1):
            gain[node(side, s)] = p.g_thoracic
        for s in range(CERVICAL[0], CERVICAL[1] + 1):
            gain[node(side, s)] = p.g_cervical
    return Coupling(w_idx, w_val, g_idx, g_val, gain)
