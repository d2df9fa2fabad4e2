"""Counter-based random numbers: every draw is a pure function of (seed, patient, stream, counter).

A patient's draws therefore do not depend on which chunk it is simulated in, on which other patients
exist, or on whether an intervention is on (common random numbers). The mixer is SplitMix64's output
function (Steele, Lea & Flood 2014): draw = mix64(key + counter * GOLDEN), with a per-(seed, patient,
stream) key that is itself hashed. The same Python source runs on NumPy uint64 arrays (reference) and,
compiled by Numba, on scalars (kernel), so both produce identical bits.
"""

from __future__ import annotations

from enum import Enum, IntEnum
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


class Stream(IntEnum):
    """The decision streams: the id is hashed into every key, so a number is never reused for another
    purpose (a new kind of decision gets a new member; the ids below are fixed: changing one changes
    every virtual patient)."""

    NOISE = 1  # microglial demographic noise: counter = step * NODE_STRIDE + node
    DEMOGRAPHY = 2  # sex, age, onset site, susceptibility, vagal tone, infection
    EVENTS = 3  # new traumas, surgeries, acute infections
    VISITS = 4  # visit jitter, referral delay, drop-out
    OBSERVE = 5  # HRV measurement noise, recall error
    HORIZON = 6  # disease duration at evaluation (follow-up horizon of the matched cohort)


NODE_STRIDE = 128  # counters per step in the noise stream (>= number of noisy nodes)
BLOCK_SPAN = 1000  # counters reserved for a draw of one value per slot (event slots, visits)


class Draw(Enum):
    """Every named draw of a patient: (stream, first counter, span). A draw of n values per patient uses
    counters first .. first + n - 1, and n may not exceed its span, so no two draws share a number
    (tests/model/test_model_seams.py checks that the spans do not overlap). A new random decision gets a
    new member here, at a free counter range of its stream; existing numbers never move."""

    # demography: one value each
    FEMALE = (Stream.DEMOGRAPHY, 0, 1)
    AGE = (Stream.DEMOGRAPHY, 1, 1)
    ONSET_LIMB = (Stream.DEMOGRAPHY, 2, 1)  # upper or lower limb
    ONSET_SIDE = (Stream.DEMOGRAPHY, 3, 1)
    ONSET_SITE = (Stream.DEMOGRAPHY, 4, 1)  # site within the limb
    FRACTURE = (Stream.DEMOGRAPHY, 5, 1)
    SPONTANEOUS = (Stream.DEMOGRAPHY, 6, 1)  # no recorded eliciting event
    SEVERITY = (Stream.DEMOGRAPHY, 7, 1)  # injury drive (lognormal)
    GAIN = (Stream.DEMOGRAPHY, 8, 1)  # susceptibility g
    VAGAL_TONE = (Stream.DEMOGRAPHY, 9, 1)  # V0
    CHRONIC_INFECTION = (Stream.DEMOGRAPHY, 10, 1)
    INFECTION_LEVEL = (Stream.DEMOGRAPHY, 11, 1)
    INJURY_DATE = (Stream.DEMOGRAPHY, 12, 1)
    PRIOR_PAIN = (Stream.DEMOGRAPHY, 13, 1)  # prior chronic (low-back) pain: two-hit priming
    CROSSTALK_GROUP = (Stream.DEMOGRAPHY, 14, 1)  # subgroup with more cross-talk between limb nodes
    # later events: one value per event slot
    TRAUMA_GAPS = (Stream.EVENTS, 0, BLOCK_SPAN)  # waiting times of traumas and surgeries
    IS_SURGERY = (Stream.EVENTS, 1000, BLOCK_SPAN)
    EVENT_LIMB = (Stream.EVENTS, 2000, BLOCK_SPAN)
    EVENT_SIDE = (Stream.EVENTS, 3000, BLOCK_SPAN)
    EVENT_SITE = (Stream.EVENTS, 4000, BLOCK_SPAN)
    SURGERY_ON_LIMB = (Stream.EVENTS, 5000, BLOCK_SPAN)
    EVENT_SEVERITY = (Stream.EVENTS, 6000, BLOCK_SPAN)
    INFECTION_GAPS = (Stream.EVENTS, 7000, BLOCK_SPAN)  # waiting times of acute infections
    INFECTION_SEVERITY = (Stream.EVENTS, 8000, BLOCK_SPAN)
    # clinic visits
    REFERRAL_DELAY = (Stream.VISITS, 0, 1)
    VISIT_JITTER = (Stream.VISITS, 1, BLOCK_SPAN - 1)  # one per nominal visit; the first is unused
    DROPOUT = (Stream.VISITS, 1000, BLOCK_SPAN)
    # follow-up horizon: one disease duration per patient
    DISEASE_DURATION = (Stream.HORIZON, 0, 1)
    # observation
    HRV_NOISE = (Stream.OBSERVE, 0, BLOCK_SPAN)  # one per clinic visit
    RECALL_ERROR = (Stream.OBSERVE, 1000, BLOCK_SPAN)  # one per (clinic visit, limb): visit * 4 + limb
    # dynamics (kernel and reference): counter = step * NODE_STRIDE + node, unbounded
    MICROGLIA_NOISE = (Stream.NOISE, 0, 2**62)

    @property
    def stream(self) -> Stream:
        return Stream(self.value[0])

    @property
    def first(self) -> int:
        return int(self.value[1])

    @property
    def span(self) -> int:
        return int(self.value[2])


# the former hand-numbered names, kept as aliases of the table
STREAM_NOISE = Stream.NOISE
STREAM_DEMOGRAPHY = Stream.DEMOGRAPHY
STREAM_EVENTS = Stream.EVENTS
STREAM_VISITS = Stream.VISITS
STREAM_OBSERVE = Stream.OBSERVE


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
    """Vectorised draws for many patients of one (seed, stream): arrays indexed like `patients`.

    Draws are asked for by name (a `Draw` of this stream), which checks the stream and the span; a plain
    integer counter is still accepted for low-level use (tests of the generator itself).
    """

    def __init__(self, seed: int, patients: np.ndarray, stream: int) -> None:
        self.stream = int(stream)
        with np.errstate(over="ignore"):
            self.keys = stream_key(np.uint64(seed), np.asarray(patients, dtype=np.uint64), np.uint64(stream))

    def uniform(self, counter: Draw | int, n: int = 0) -> np.ndarray:
        """Uniforms for counter (shape P), or counters counter..counter+n-1 (shape P x n) when n > 0."""
        return np.asarray(uniform_from_bits(self._bits(counter, n)), dtype=np.float64)

    def normal(self, counter: Draw | int, n: int = 0) -> np.ndarray:
        """Approximate standard normals, shaped like `uniform`."""
        return np.asarray(normal_from_bits(self._bits(counter, n)), dtype=np.float64)

    def _bits(self, draw: Draw | int, n: int) -> np.ndarray:
        counter = self._counter(draw, n)
        with np.errstate(over="ignore"):
            if n <= 0:
                return np.asarray(bits(self.keys, np.uint64(counter)))
            c = np.arange(counter, counter + n, dtype=np.uint64)
            return np.asarray(bits(self.keys[:, None], c[None, :]))

    def _counter(self, draw: Draw | int, n: int) -> int:
        if not isinstance(draw, Draw):
            return int(draw)
        if draw.stream != self.stream:
            raise ValueError(
                f"draw {draw.name} belongs to stream {draw.stream.name}, not {Stream(self.stream).name}"
            )
        if max(n, 1) > draw.span:
            raise ValueError(f"draw {draw.name}: {n} values exceed its span of {draw.span} counters")
        return draw.first
