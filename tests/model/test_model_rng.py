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
    d = rng.Draws(7, np.array([3, 11]), rng.Stream.NOISE)
    ref = d.normal(100, 50)
    for row, patient in enumerate((3, 11)):
        nb = _normals_nb(7, patient, rng.Stream.NOISE, np.arange(100, 150, dtype=np.int64))
        assert np.array_equal(ref[row], nb)


def test_draws_depend_only_on_seed_patient_stream_counter() -> None:
    alone = rng.Draws(5, np.array([42]), rng.Stream.DEMOGRAPHY).uniform(3)
    among = rng.Draws(5, np.arange(100), rng.Stream.DEMOGRAPHY).uniform(3)
    assert alone[0] == among[42]
    other_stream = rng.Draws(5, np.array([42]), rng.Stream.EVENTS).uniform(3)
    other_seed = rng.Draws(6, np.array([42]), rng.Stream.DEMOGRAPHY).uniform(3)
    assert alone[0] != other_stream[0] and alone[0] != other_seed[0]


def test_uniform_and_normal_moments() -> None:
    d = rng.Draws(1, np.arange(200), rng.Stream.NOISE)
    u = d.uniform(0, 500)
    z = d.normal(0, 500)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1.0) < 0.01
    assert abs(z).max() < 3.47


def test_named_draws_keep_the_historic_stream_ids_and_counters() -> None:
    """The names replaced hand-numbered (stream, counter) pairs; the pairs must not move, or every virtual
    patient changes. Each named draw is recomputed from the raw generator with the historic numbers."""
    historic = {
        rng.Draw.FEMALE: (2, 0),
        rng.Draw.GAIN: (2, 8),
        rng.Draw.INJURY_DATE: (2, 12),
        rng.Draw.IS_SURGERY: (3, 1000),
        rng.Draw.INFECTION_SEVERITY: (3, 8000),
        rng.Draw.VISIT_JITTER: (4, 1),
        rng.Draw.DROPOUT: (4, 1000),
        rng.Draw.HRV_NOISE: (5, 0),
        rng.Draw.MICROGLIA_NOISE: (1, 0),
    }
    patients = np.array([0, 7, 123456])
    for draw, (stream, counter) in historic.items():
        named = rng.Draws(9, patients, draw.stream).uniform(draw)
        with np.errstate(over="ignore"):
            key = rng.stream_key(np.uint64(9), patients.astype(np.uint64), np.uint64(stream))
            raw = rng.uniform_from_bits(rng.bits(key, np.uint64(counter)))
        assert np.array_equal(named, raw), draw.name
