"""The nodes of one virtual patient and the coupling between them, built from the atlas dermatomes.

Nodes: 29 spinal segments (C2..S5) x 2 sides of dorsal horn, two hemisphere nodes (one per body side
served), one brainstem/vagal node, the atlas's 5 visceral systems, and blood: 67 in all. With
Mechanisms.limb_representations four supraspinal nodes, one per limb representation, replace the two
hemisphere nodes: 69. With Mechanisms.somatotopy each dorsal-horn node of the limb enlargements (C5-T1,
L2-S2, both sides: 22) is split into a medial column (distal skin) and a lateral column (proximal skin):
the medial column keeps the segment's node index, the lateral columns are appended after the 58 segment
nodes, so there are 80 spinal nodes and 89 in all. Couplings are stored as padded neighbour lists (index,
weight) so the kernel loops over a few neighbours, not a dense 58 x 58 matrix.
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
#: Mechanisms.somatotopy splits the dorsal horn of the limb enlargements (the LIMB_SEGMENTS) into columns
N_SPLIT = sum(len(s) for s in LIMB_SEGMENTS.values())  # split segments per side (11)
MEDIAL, LATERAL = 0, 1  # node_col; a segment that is not split counts as lateral (trunk skin, see below)
#: which column(s) an area's skin projects to, by area stem (slug without the side), and with what weight
#: (drive and observation). Dorsal-horn somatotopy (plausibility.md 3.3, 4.1): distal limb skin maps to the
#: medial dorsal horn, proximal limb and trunk skin laterally. Every atlas area that reads an enlargement
#: segment must be listed (the topology checks it). Ambiguous, [D]: elbow and knee (joints between a
#: distal and a proximal part: middle); upper_arm (its T1/T2 strip is the medial arm, still proximal);
#: the trunk areas that touch an enlargement segment (neck, chest, upper and lower back, buttock, pubic
#: region: trunk skin, lateral). Visceral territories read both columns.
DISTAL = {MEDIAL: 1.0}
MIDDLE = {MEDIAL: 0.5, LATERAL: 0.5}
PROXIMAL = {LATERAL: 1.0}
AREA_COLUMNS: dict[str, dict[int, float]] = {
    "hand": DISTAL, "wrist": DISTAL, "foot": DISTAL, "ankle": DISTAL,
    "forearm": MIDDLE, "elbow": MIDDLE, "lower_leg": MIDDLE, "knee": MIDDLE,
    "shoulder": PROXIMAL, "upper_arm": PROXIMAL, "hip": PROXIMAL, "thigh": PROXIMAL,
    "neck": PROXIMAL, "chest": PROXIMAL, "upper_back": PROXIMAL, "lower_back": PROXIMAL,
    "buttock": PROXIMAL, "pubic": PROXIMAL,
}  # fmt: skip


def n_spinal(somatotopy: bool = False) -> int:
    """Dorsal-horn nodes per patient: 58, or 80 when the 22 enlargement nodes are split into columns."""
    return N_SPINAL + 2 * N_SPLIT if somatotopy else N_SPINAL


def n_nodes(limb_representations: bool = False, somatotopy: bool = False) -> int:
    """Nodes per patient counted in node-days: 67; 69 when four limb nodes replace two hemispheres; 22
    more with the somatotopic columns (89, or 91 with both variants)."""
    base = N_NODES - N_HEMI + N_LIMB if limb_representations else N_NODES
    return base + n_spinal(somatotopy) - N_SPINAL


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
    # the spinal node arrays above have n_spinal rows (N_SPINAL, or more with Mechanisms.somatotopy)
    area_w: np.ndarray  # (n_units, K) weight of the drive of each area_nodes entry (1, or 1/2 per column)
    node_seg: np.ndarray  # (n_spinal,) segment index (0 = C2) of each spinal node
    node_col: np.ndarray  # (n_spinal,) MEDIAL or LATERAL (a segment that is not split: LATERAL)
    seg_node: np.ndarray  # (n_spinal,) index of the node's segment in the unsplit numbering node(side, seg)

    @property
    def n_spinal(self) -> int:
        return int(self.node_side.shape[0])

    def per_node(self, x: np.ndarray) -> np.ndarray:
        """A per-segment array (P, N_SPINAL), e.g. the initial priming, given to every column of its
        segment: (P, n_spinal). Unchanged (the same object) without columns."""
        if self.n_spinal == N_SPINAL or x.shape[0] == 0:
            return x
        return np.ascontiguousarray(x[:, self.seg_node])


@cache
def topology(somatotopy: bool = False) -> Topology:
    """Build (once per variant) the atlas-derived node structure; somatotopy: Mechanisms.somatotopy."""
    return _topology(load_atlas(), somatotopy)


def _pad(rows: list[list[tuple[int, float]]]) -> tuple[np.ndarray, np.ndarray]:
    k = max(1, max(len(r) for r in rows))
    idx = np.full((len(rows), k), -1, dtype=np.int64)
    w = np.zeros((len(rows), k), dtype=np.float64)
    for i, r in enumerate(rows):
        for j, (n, x) in enumerate(r):
            idx[i, j] = n
            w[i, j] = x
    return idx, w


@dataclass(frozen=True)
class _Columns:
    """The spinal nodes of each (side, segment): one node, or the medial and the lateral column."""

    nodes: dict[tuple[int, int], tuple[int, ...]]  # (side, seg) -> node indices, medial first
    side: np.ndarray
    seg: np.ndarray
    col: np.ndarray

    def of(self, side: int, seg: int, columns: dict[int, float]) -> list[tuple[int, float]]:
        """The nodes of (side, seg) an area with these column weights reads or drives, with the weight."""
        got = self.nodes[side, seg]
        if len(got) == 1:
            return [(got[0], 1.0)]
        return [(got[c], w) for c, w in sorted(columns.items())]


def _columns(seg_index: dict[str, int], somatotopy: bool) -> _Columns:
    split = sorted(seg_index[s] for segs in LIMB_SEGMENTS.values() for s in segs) if somatotopy else []
    nodes: dict[tuple[int, int], tuple[int, ...]] = {}
    n = n_spinal(somatotopy)
    side, seg, col = np.zeros(n, np.int64), np.zeros(n, np.int64), np.full(n, LATERAL, np.int64)
    for sd in (0, 1):
        for s in range(N_SEG):
            i = node(sd, s)
            side[i], seg[i] = sd, s
            if s in split:
                lat = N_SPINAL + sd * N_SPLIT + split.index(s)
                side[lat], seg[lat], col[i] = sd, s, MEDIAL
                nodes[sd, s] = (i, lat)
            else:
                nodes[sd, s] = (i,)
    return _Columns(nodes, side, seg, col)


def _area_columns(slug: str, side: str) -> dict[int, float]:
    stem = slug.removesuffix(f"_{side}")
    if stem not in AREA_COLUMNS:
        raise ValueError(f"area {slug!r} reads a limb-enlargement segment but has no column in AREA_COLUMNS")
    return AREA_COLUMNS[stem]


def _topology(atlas: Atlas, somatotopy: bool = False) -> Topology:
    seg_index = {s: i for i, s in enumerate(atlas.spinal_segments)}
    if len(seg_index) != N_SEG:
        raise ValueError(f"expected {N_SEG} spinal segments, atlas has {len(seg_index)}")
    cols = _columns(seg_index, somatotopy)
    both = {MEDIAL: 1.0, LATERAL: 1.0}  # visceral territories: every column of a segment
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
        split = any(len(cols.nodes[side, s]) > 1 for s in weights)
        columns = _area_columns(a.slug, a.side) if split else {}
        overlap.append(
            [(j, w / total * cw) for s, w in sorted(weights.items()) for j, cw in cols.of(side, s, columns)]
        )
        drive.append([(j, cw) for s in sorted(own) for j, cw in cols.of(side, s, columns)])
    for _ in atlas.visceral:
        overlap.append([])
        drive.append([])
    organ_rows: list[list[tuple[int, float]]] = []
    node_organs = np.zeros((cols.side.size, N_ORGAN), dtype=np.float64)
    for o, v in enumerate(atlas.visceral):
        segs = sorted(seg_index[d] for d in v.dermatomes)
        organ_rows.append([(j, 1.0) for side in (0, 1) for s in segs for j, _ in cols.of(side, s, both)])
        for side in (0, 1):
            for s in segs:
                for j in cols.nodes[side, s]:
                    node_organs[j, o] = 1.0
    ov_idx, ov_w = _pad(overlap)
    dr_idx, dr_w = _pad(drive)
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
        node_side=cols.side,
        node_limb=_node_limb(seg_index, cols),
        area_w=dr_w,
        node_seg=cols.seg,
        node_col=cols.col,
        seg_node=cols.side * N_SEG + cols.seg,
    )


def _node_limb(seg_index: dict[str, int], cols: _Columns) -> np.ndarray:
    out = np.full(cols.side.size, TRUNK, dtype=np.int64)
    for kind, segs in enumerate(LIMB_SEGMENTS.values()):
        for side in (0, 1):
            for sg in segs:
                for j in cols.nodes[side, seg_index[sg]]:
                    out[j] = 2 * kind + side
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
    m = np.zeros((idx.shape[0], idx.shape[0]))
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
    With Mechanisms.somatotopy (plausibility.md 4.1): the two columns of a split segment are coupled by
    w_ml; between segments, W and the adjacent-segment G are multiplied by chi where the two nodes lie in
    different columns (an unsplit segment counts as lateral: trunk skin); w_lr and the homologue's G join
    a column to the homologous column.
    """
    v = p.vector()
    from crpsmap.model.params import PI

    w_rc, w_lr, ell, w_gap = v[PI["w_rc"]], v[PI["w_lr"]], p.ell, v[PI["w_gap"]]
    w_ml, chi = v[PI["w_ml"]], v[PI["chi"]]
    topo = topology(p.mechanisms.somatotopy)
    seg, side_of, col = topo.node_seg, topo.node_side, topo.node_col
    at: dict[tuple[int, int], list[int]] = {}  # (side, seg) -> its nodes, in index order
    for j in range(topo.n_spinal):
        at.setdefault((int(side_of[j]), int(seg[j])), []).append(j)
    reach = max(1, int(math.floor(1.0 + ell * math.log(20.0))))
    w_rows: list[list[tuple[int, float]]] = []
    g_rows: list[list[tuple[int, float]]] = []
    for i in range(topo.n_spinal):
        side, s, c = int(side_of[i]), int(seg[i]), col[i]
        row: list[tuple[int, float]] = []
        for d in range(1, reach + 1):
            for t in (s - d, s + d):
                if 0 <= t < N_SEG and w_rc > 0:
                    for j in at[side, t]:
                        w = w_rc * math.exp(-(d - 1) / ell)
                        w = w if col[j] == c else chi * w
                        if w > 0:
                            row.append((j, w))
        row += [(j, w_ml) for j in at[side, s] if j != i and w_ml > 0]
        homologue = at[1 - side, s][[col[j] for j in at[1 - side, s]].index(c)]
        if w_lr > 0:
            row.append((homologue, w_lr))
        w_rows.append(row)
        grow: list[tuple[int, float]] = []
        if w_gap > 0:
            grow.append((homologue, w_gap))
            for t in (s - 1, s + 1):
                if 0 <= t < N_SEG:
                    for j in at[side, t]:
                        g = 0.5 * w_gap if col[j] == c else chi * (0.5 * w_gap)
                        if g > 0:
                            grow.append((j, g))
        g_rows.append(grow)
    w_idx, w_val = _pad(w_rows)
    g_idx, g_val = _pad(g_rows)
    gain = np.ones(topo.n_spinal)
    for i in range(topo.n_spinal):
        if THORACIC[0] <= seg[i] <= THORACIC[1]:
            gain[i] = p.g_thoracic
        if CERVICAL[0] <= seg[i] <= CERVICAL[1]:
            gain[i] = p.g_cervical
    return Coupling(w_idx, w_val, g_idx, g_val, gain)
