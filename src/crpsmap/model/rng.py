"""Counter-based random numbers: every draw is a pure function of (seed, patient, stream, counter).

A patient's draws therefore do not depend on which chunk it is simulated in, on which other patients
exist, or on whether an intervention is on (common random numbers). The mixer is SplitMix64's output
function (Steele, Lea & Flood 2014): draw = mix64(key + counter * GOLDEN), with a per-(seed, patient,
stream) key that is itself hashed. The same Python source runs on NumPy uint64 arrays (reference) and,
compiled by Numba, on scalars (kernel), so both produce identical bits.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_KP = np.uint64(0xD6E8FEB86659FD93)
_KS = np.uint64(0xA0761D6478BD642F)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S16 = np.uint64(16)
_S32 = np.uint64(32)
_S48 = np.uint64(48)
_LOW16 = np.uint64(0xFFFF)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53
_INV16 = 1.0 / 65536.0
_SQRT3 = 1.7320508075688772

#: decision streams (never reuse a number for another purpose)
STREAM_NOISE = 1  # microglial demographic noise: counter = step * NODE_STRIDE + node
STREAM_DEMOGRAPHY = 2  # sex, age, onset site, susceptibility, vagal tone, infection
STREAM_EVENTS = 3  # new traumas, surgeries, acute infections
STREAM_VISITS = 4  # visit jitter, referral delay, drop-out
STREAM_OBSERVE = 5  # HRV measurement noise
NODE_STRIDE = 128  # counters per step in the noise stream (>= number of noisy nodes)


def mix64(z: Any) -> Any:
    """SplitMix64 finaliser; works on np.uint64 scalars (Numba) and uint64 arrays (NumPy)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def stream_key(seed: Any, patient: Any, stream: Any) -> Any:
    """Key of one patient's stream; seed, patient and stream must be uint64."""
    return mix64(mix64(seed + GOLDEN) ^ (patient * _KP) ^ (stream * _KS))


def bits(key: Any, counter: Any) -> Any:
    """64 random bits: the counter-th output of the key's SplitMix64 sequence."""
    return mix64(key + counter * GOLDEN)


def normal_from_bits(b: Any) -> Any:
    """Approximately standard normal (Irwin-Hall of four 16-bit uniforms; support +-3.46)."""
    s = (b & _LOW16) + ((b >> _S16) & _LOW16) + ((b >> _S32) & _LOW16) + (b >> _S48)
    return (s * _INV16 + 2.0 * _INV16 - 2.0) * _SQRT3


def uniform_from_bits(b: Any) -> Any:
    """Uniform on [0, 1) with 53 bits."""
    return (b >> _S11) * _INV53


mix64_nb = numba.njit(inline="always")(mix64)
_mix = mix64_nb


@numba.njit(inline="always")
def stream_key_nb(seed: np.uint64, patient: np.uint64, stream: np.uint64) -> np.uint64:
    return _mix(_mix(seed + GOLDEN) ^ (patient * _KP) ^ (stream * _KS))


@numba.njit(inline="always")
def normal_nb(key: np.uint64, counter: np.uint64) -> float:
    b = _mix(key + counter * GOLDEN)
    s = (b & _LOW16) + ((b >> _S16) & _LOW16) + ((b >> _S32) & _LOW16) + (b >> _S48)
    return (float(s) * _INV16 + 2.0 * _INV16 - 2.0) * _SQRT3


class Draws:
    """Vectorised draws for many patients of one (seed, stream): arrays indexed like `patients`."""

    def __init__(self, seed: int, patients: np.ndarray, stream: int) -> None:
        with np.errstate(over="ignore"):
            self.keys = stream_key(np.uint64(seed), np.asarray(patients, dtype=np.uint64), np.uint64(stream))

    def uniform(self, counter: int, n: int = 0) -> np.ndarray:
        """Uniforms for counter (shape P), or counters counter..counter+n-1 (shape P x n) when n > 0."""
        return np.asarray(uniform_from_bits(self._bits(counter, n)), dtype=np.float64)

    def normal(self, counter: int, n: int = 0) -> np.ndarray:
        """Approximate standard normals, shaped like `uniform`."""
        return np.asarray(normal_from_bits(self._bits(counter, n)), dtype=np.float64)

    def _bits(self, counter: int, n: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            if n <= 0:
                return np.asarray(bits(self.keys, np.uint64(counter)))
            c = np.arange(counter, counter + n, dtype=np.uint64)
            return np.asarray(bits(self.keys[:, None], c[None, :]))
