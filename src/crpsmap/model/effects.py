"""The table of effects: which factor of the equations each intervention or switchable mechanism acts on.

Why: an intervention's action used to be spread over four modules (a channel number, a hard-coded branch
in the reference, the same branch in the kernel, a strength in ModelParams). Here it is one row: the
channel it acts on (a rate or factor of docs/model.md section 3), how (inhibit, scale, shift, decay) and
by which strength (a ModelParams field, so calibration and trials can vary it, or a fixed number).
The reference and the kernel read per-step channel values built from the table (`ChannelPlan`); neither
knows any intervention by name.

Two kinds of row:
- an **intervention** acts while it is given (time-scheduled per patient by `Intervention`); its column
  in PatientInputs.iv_start / iv_stop is fixed by registration order (the built-ins first, as before);
- a **mechanism** acts at every step of every patient while its switch is on (`EffectTable.switch`).

Model output only: interventions are switches in a simulator of a hypothesis, not treatment advice.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal

import numpy as np

from crpsmap.model.params import PI, ModelParams


class Channel(IntEnum):
    """Factors of the equations (docs/model.md section 3) that an effect can act on.

    Multiplicative channels are 1 and the additive one is 0 while nothing acts on them, which leaves
    every product and sum bit-identical to the equations without the factor.
    """

    MICROGLIA_ACTIVATION = 0  # lambda_i = k_M g ... x f          (glial_inhibitor)
    ASTROCYTE_ACTIVATION = 1  # k_A x f in the astrocyte equation
    SPINAL_CYTOKINE = 2  # c_i x f                                 (intrathecal_anticytokine)
    DESCENDING = 3  # w_desc x f: descending facilitation
    SUPRASPINAL_ACTIVATION = 4  # k_R x f in the hemisphere equation
    ORGAN_ACTIVATION = 5  # k_O x f in the organ equation
    BBB_INFLUX = 6  # beta_BBB x f: blood cytokine entering the cord
    BLOOD_PRODUCTION = 7  # B x f                                  (anti_inflammatory)
    VAGAL_TONE = 8  # V + f (additive)                            (vagal_stimulation)
    INFECTION_DECAY = 9  # I_chr x f each step (1: no decay)       (infection_cleared)
    #: the share phi_i of microglial activation that runs through adaptive immune (T) cells in women
    #: (Sorge 2015): lambda_i x [(1 - phi_i) f_MICROGLIA + phi_i f_T]; no built-in intervention acts on
    #: it yet (a T-cell-directed one is a registered row); unused while phi_female = 0
    T_CELL_ACTIVATION = 10


N_CHANNELS = len(Channel)
ADDITIVE: frozenset[Channel] = frozenset({Channel.VAGAL_TONE})

Mode = Literal["inhibit", "scale", "shift", "decay"]
Kind = Literal["intervention", "mechanism"]
_MULTIPLICATIVE_MODES = ("inhibit", "scale", "decay")


@dataclass(frozen=True)
class Effect:
    """One row: `name` acts on `channel` by `strength` while on.

    mode: "inhibit" multiplies the channel by 1 - strength, "scale" by strength, "decay" by
    exp(-dt / strength) per step (a decay with time constant `strength` days), "shift" adds strength (the
    additive channel only). strength: the name of a ModelParams field, or a fixed number.
    """

    name: str
    channel: Channel
    mode: Mode
    strength: str | float
    what: str
    kind: Kind = "intervention"

    def __post_init__(self) -> None:
        additive = self.channel in ADDITIVE
        if additive != (self.mode == "shift"):
            need = "shift" if additive else "inhibit, scale or decay"
            raise ValueError(f"effect {self.name}: channel {self.channel.name} takes mode {need}")
        if self.mode not in (*_MULTIPLICATIVE_MODES, "shift"):
            raise ValueError(f"effect {self.name}: unknown mode {self.mode!r}")
        if isinstance(self.strength, str) and self.strength not in PI:
            raise ValueError(f"effect {self.name}: {self.strength!r} is not a ModelParams field")
        if self.kind not in ("intervention", "mechanism"):
            raise ValueError(f"effect {self.name}: kind must be intervention or mechanism")

    def value(self, v: np.ndarray, dt: float) -> float:
        """The channel factor (or offset) while on, from the parameter vector `v` (ModelParams.vector)."""
        s = float(v[PI[self.strength]]) if isinstance(self.strength, str) else float(self.strength)
        if self.mode == "inhibit":
            return 1.0 - s
        if self.mode == "decay":
            return math.exp(-dt / s)
        return s


BUILTIN: tuple[Effect, ...] = (
    Effect(
        "vagal_stimulation",
        Channel.VAGAL_TONE,
        "shift",
        "vns_dV",
        "vagal tone V raised by vns_dV (inflammatory reflex, central inhibition)",
    ),
    Effect(
        "anti_inflammatory",
        Channel.BLOOD_PRODUCTION,
        "inhibit",
        "e_sys",
        "peripheral (blood) cytokine production scaled by 1 - e_sys",
    ),
    Effect(
        "glial_inhibitor",
        Channel.MICROGLIA_ACTIVATION,
        "inhibit",
        "e_glia",
        "microglial activation rate scaled by 1 - e_glia (minocycline-like)",
    ),
    Effect(
        "intrathecal_anticytokine",
        Channel.SPINAL_CYTOKINE,
        "inhibit",
        "e_IT",
        "spinal cytokine activity scaled by 1 - e_IT",
    ),
    Effect(
        "infection_cleared",
        Channel.INFECTION_DECAY,
        "decay",
        "tau_clear",
        "chronic infection drive decays with time constant tau_clear",
    ),
)
#: the number of built-in interventions: the columns of iv_start / iv_stop that always exist
N_BUILTIN_INTERVENTIONS = sum(e.kind == "intervention" for e in BUILTIN)

# registry: rows added with register(), and the intervention column order (built-ins first)
_registered: list[Effect] = []
_columns: list[str] = [e.name for e in BUILTIN if e.kind == "intervention"]

#: intervention name -> (column in iv_start / iv_stop, what it does): the catalogue the CLI and the trial
#: pages show and Intervention checks names against. Kept in step with the registry by register().
CATALOGUE: dict[str, tuple[int, str]] = {
    name: (k, next(e.what for e in BUILTIN if e.name == name)) for k, name in enumerate(_columns)
}


@dataclass(frozen=True)
class ChannelPlan:
    """A table compiled for one run: what the reference and the kernel read each step.

    base: the value of each channel with no intervention on (1 or 0, combined with the switched-on
    mechanism rows); slot_channel / slot_value: per intervention column, its channel (-1: no effect in
    this table) and its factor or offset while on; additive: which channels add instead of multiply.
    """

    base: np.ndarray  # (N_CHANNELS,) float64
    slot_channel: np.ndarray  # (K,) int64
    slot_value: np.ndarray  # (K,) float64
    additive: np.ndarray  # (N_CHANNELS,) bool

    def columns(self, n: int) -> ChannelPlan:
        """The plan for inputs with n intervention columns (fewer than registered: the rest never on)."""
        if n > self.slot_channel.shape[0]:
            raise ValueError(f"inputs have {n} intervention columns; only {self.slot_channel.shape[0]} known")
        return ChannelPlan(self.base, self.slot_channel[:n].copy(), self.slot_value[:n].copy(), self.additive)

    def factors(self, iv_start: np.ndarray, iv_stop: np.ndarray, step: int) -> np.ndarray:
        """(P, N_CHANNELS) channel values of every patient at `step` (the reference's form; the kernel
        does the same per lane): start from base, then each intervention that is on multiplies (adds)."""
        f = np.repeat(self.base[None, :], iv_start.shape[0], axis=0)
        for k in range(iv_start.shape[1]):
            c = int(self.slot_channel[k])
            if c < 0:
                continue
            on = (iv_start[:, k] <= step) & (step < iv_stop[:, k])
            if self.additive[c]:
                f[:, c] = f[:, c] + np.where(on, self.slot_value[k], 0.0)
            else:
                f[:, c] = f[:, c] * np.where(on, self.slot_value[k], 1.0)
        return f


@dataclass(frozen=True)
class EffectTable:
    """Rows of effects and the switches of its mechanism rows (all on unless named in `off`)."""

    rows: tuple[Effect, ...]
    off: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        names = [e.name for e in self.rows]
        if len(set(names)) != len(names):
            raise ValueError(f"effect names must be unique: {names}")
        unknown = self.off - {e.name for e in self.rows if e.kind == "mechanism"}
        if unknown:
            raise ValueError(f"only mechanism rows have a switch: {sorted(unknown)}")

    def row(self, name: str) -> Effect:
        for e in self.rows:
            if e.name == name:
                return e
        raise KeyError(name)

    def with_rows(self, *rows: Effect) -> EffectTable:
        """This table with `rows` added, or replacing rows of the same name. An intervention row must be
        registered (register()) so that it has a column in the patients' schedules."""
        for e in rows:
            if e.kind == "intervention" and e.name not in _columns:
                raise ValueError(f"intervention {e.name!r} has no schedule column; register() it first")
        new = {e.name: e for e in rows}
        kept = tuple(new.pop(e.name, e) for e in self.rows)
        return EffectTable(kept + tuple(new.values()), self.off)

    def switch(self, name: str, on: bool) -> EffectTable:
        """This table with the mechanism row `name` switched on or off."""
        if self.row(name).kind != "mechanism":
            raise ValueError(f"{name!r} is an intervention: it is switched by its schedule, not here")
        return EffectTable(self.rows, (self.off - {name}) if on else (self.off | {name}))

    def strength(self, name: str) -> str | float:
        """The ModelParams field (or fixed number) that sets the strength of effect `name`."""
        return self.row(name).strength

    def plan(self, params: ModelParams, dt: float) -> ChannelPlan:
        """Compile for one run: strengths read from params.vector() (so a switched-off Mechanisms arm
        also silences the interventions that act through its parameters, e.g. vns_dV)."""
        v = params.vector()
        additive = np.array([c in ADDITIVE for c in Channel], dtype=np.bool_)
        base = np.where(additive, 0.0, 1.0)
        for e in self.rows:
            if e.kind == "mechanism" and e.name not in self.off:
                c = int(e.channel)
                base[c] = base[c] + e.value(v, dt) if additive[c] else base[c] * e.value(v, dt)
        by_name = {e.name: e for e in self.rows if e.kind == "intervention"}
        slot_channel = np.full(len(_columns), -1, dtype=np.int64)
        slot_value = np.zeros(len(_columns))
        for k, name in enumerate(_columns):
            row = by_name.get(name)
            if row is not None:
                slot_channel[k] = int(row.channel)
                slot_value[k] = row.value(v, dt)
        return ChannelPlan(base, slot_channel, slot_value, additive)


def default_table() -> EffectTable:
    """The built-in rows plus every registered one (what Sim, run_kernel and run_reference use)."""
    return EffectTable(BUILTIN + tuple(_registered))


def register(effect: Effect) -> None:
    """Add a row to the default table (an intervention also gets the next schedule column and a
    CATALOGUE entry). For a new built-in, add it to BUILTIN instead; this is for plugins and tests."""
    if effect.name in {e.name for e in default_table().rows}:
        raise ValueError(f"effect {effect.name!r} is already in the table")
    _registered.append(effect)
    if effect.kind == "intervention":
        _columns.append(effect.name)
        CATALOGUE[effect.name] = (len(_columns) - 1, effect.what)


def unregister(name: str) -> None:
    """Remove a registered row (built-ins cannot be removed). Only the last registered intervention can
    go, so that the columns of the others do not move."""
    e = next((x for x in _registered if x.name == name), None)
    if e is None:
        raise ValueError(f"{name!r} is not a registered effect")
    if e.kind == "intervention":
        if _columns[-1] != name:
            raise ValueError(f"unregister interventions in reverse order ({_columns[-1]!r} first)")
        _columns.pop()
        CATALOGUE.pop(name, None)
    _registered.remove(e)


@contextmanager
def registered(*effects: Effect) -> Iterator[EffectTable]:
    """Register `effects` for the duration of a with-block (tests, one-off experiments); yields the
    default table that includes them."""
    done: list[str] = []
    try:
        for e in effects:
            register(e)
            done.append(e.name)
        yield default_table()
    finally:
        for name in reversed(done):
            unregister(name)


def intervention_columns() -> tuple[str, ...]:
    """Names of the intervention columns of iv_start / iv_stop, in column order."""
    return tuple(_columns)
