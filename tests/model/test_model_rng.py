"""The counter-based RNG: same bits in NumPy and Numba, draws independent of the patient set."""

from __future__ import annotations

import numba
import numpy as np

from crpsmap.model import rng


@numba.njit
def _normals_nb(seed: int, patient: int, stream: int, counters: np.ndarray) -> np.ndarray:
    key = rng.stream_key_nb(np.uint64(seed), np.uint64(patient), np.uint64(stream))
    out = np.empty(counters.shape[0])
    for i in range(counters.shape[0]):
        out[i] = rng.normal_nb(key, np.uint64(counters[i]))
    return out


def test_numpy_and_numba_draw_identical_normals() -> None:
    d = rng.Draws(7, np.array([3, 11]), rng.STREAM_NOISE)
    ref = d.normal(100, 50)
    for row, patient in enumerate((3, 11)):
        nb = _normals_nb(7, patient, rng.STREAM_NOISE, np.arange(100, 150, dtype=np.int64))
        assert np.array_equal(ref[row], nb)


def test_draws_depend_only_on_seed_patient_stream_counter() -> None:
    alone = rng.Draws(5, np.array([42]), rng.STREAM_DEMOGRAPHY).uniform(3)
    among = rng.Draws(5, np.arange(100), rng.STREAM_DEMOGRAPHY).uniform(3)
    assert alone[0] == among[42]
    other_stream = rng.Draws(5, np.array([42]), rng.STREAM_EVENTS).uniform(3)
    other_seed = rng.Draws(6, np.array([42]), rng.STREAM_DEMOGRAPHY).uniform(3)
    assert alone[0] != other_stream[0] and alone[0] != other_seed[0]


def test_uniform_and_normal_moments() -> None:
    d = rng.Draws(1, np.arange(200), rng.STREAM_NOISE)
    u = d.uniform(0, 500)
    z = d.normal(0, 500)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1.0) < 0.01
    assert abs(z).max() < 3.47
