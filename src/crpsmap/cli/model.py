"""The simulator as the command line sees it: its interventions and mechanisms (names, the help's
catalogue), checks of the options that name them, and its "no cases" failure. The model is imported
only when one of these runs, so that other commands do not pay for importing the simulator."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from typer.core import TyperCommand

from crpsmap.cli.checks import check_name
from crpsmap.cli.console import fail
from crpsmap.cli.limits import MAX_DAY

if TYPE_CHECKING:
    from crpsmap.model import Intervention


def intervention_names() -> list[str]:
    from crpsmap.model import CATALOGUE

    return list(CATALOGUE)


def mechanism_names() -> list[str]:
    from crpsmap.model import Mechanisms

    return list(Mechanisms.arms())


def _model_epilog() -> str:
    """The interventions and mechanisms of the model, for `trial --help` and `simulate --help`."""
    from rich.markup import escape

    from crpsmap.model import CATALOGUE, Mechanisms

    lines = ["Interventions (--intervention NAME; model channels, not treatments):"]
    lines += [f"• {name}: {what}" for name, (_, what) in CATALOGUE.items()]
    fields = dataclasses.fields(Mechanisms)
    arms = [f for f in fields if f.name in Mechanisms.arms()]
    variants = [f for f in fields if f.name in Mechanisms.variants()]
    lines += ["", "Mechanisms (--off NAME switches one off; all are on by default; docs/model.md):"]
    lines += [f"• {f.name}: {f.metadata.get('help', '')}" for f in arms]
    if variants:
        lines += ["", "Structural variants (anatomy, set in Python: ModelParams(mechanisms=...)):"]
        lines += [f"• {f.name}: {f.metadata.get('help', '')}" for f in variants]
    return escape("\n".join(lines))


class ModelCommand(TyperCommand):
    """A command whose help ends with the model's catalogue, read from the model only when the help is
    shown (so that other commands do not pay for importing the simulator)."""

    @property
    def epilog(self) -> str:
        return _model_epilog()

    @epilog.setter
    def epilog(self, value: str | None) -> None:
        pass


def check_mechanisms(off: Sequence[str]) -> None:
    known = mechanism_names()
    for name in off:
        check_name("mechanism", name, known)
    if len(set(off)) == len(known):
        fail("--off switches every mechanism off; the model then has nothing to simulate")


def check_follow_up(years: float) -> int:
    """Days of follow-up; stop if the virtual clinic's records cannot fit the simulator's calendar."""
    from crpsmap.model import Sim
    from crpsmap.model.cohort import window_end

    n_days = Sim(years=years).n_days
    try:
        window_end(n_days)
    except ValueError as exc:
        fail(str(exc))
    return n_days


def check_intervention_text(text: str, n_days: int) -> Intervention:
    """NAME[@START[:STOP]] or NAME@injury+START[:STOP], checked: a known name, 0 <= START < follow-up,
    STOP after START."""
    from crpsmap.model import parse_intervention

    name = text.strip().partition("@")[0].strip()
    check_name("intervention", name, intervention_names())
    try:
        iv = parse_intervention(text)
    except ValueError as exc:
        fail(f"--intervention {text!r}: {exc}")
    if iv.start_day >= n_days:
        fail(f"--intervention {text!r}: starts on day {iv.start_day}, after the follow-up ({n_days} days)")
    if iv.stop_day is not None and iv.stop_day > MAX_DAY:
        fail(f"--intervention {text!r}: STOP must be at most {MAX_DAY}")
    return iv


def no_cases(exc: RuntimeError) -> None:
    """The simulator gives up when (almost) no injury becomes CRPS: the settings' fault, not a bug."""
    from crpsmap.model.sim import NoCasesError

    if isinstance(exc, NoCasesError):
        fail(f"these model settings make (almost) no CRPS: {exc}")
