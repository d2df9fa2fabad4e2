"""The experimental facts of mechanism.md section 1, as qualitative checks with margins.

Protocols are rodent-like (experiments.py): one sciatic-territory injury (L4-S1, right), 20 virtual animals
with the default parameters, a sustained (SIN-like) or healing drive. Thresholds leave room: each check
fails if the documented behaviour disappears, not if a number moves a little.
"""

from __future__ import annotations

import pytest

from crpsmap.model import ModelParams
from crpsmap.model import experiments as ex

P = ModelParams()
SIN = ex.sustained(P)


def test_mirror_spread_only_above_a_drive_threshold() -> None:
    """Milligan 2003, Chacur 2001: low drive -> ipsilateral only; strong drive -> bilateral."""
    low, high = ex.mirror_vs_drive(P, (0.5, 3.0), days=120)
    assert low.ipsi_M > 0.8 and low.contra_M < 0.1
    assert high.ipsi_M > 0.8 and high.contra_M > 0.6


def test_contralateral_onset_is_delayed() -> None:
    """Cx43/GFAP-tracking delayed mirror-image onset: the mirror side follows by weeks, not at once."""
    ipsi, contra = ex.onset_days(P, 3.0, days=150)
    assert ipsi <= 7
    assert contra < 150, "strong drive must reach the mirror side"
    assert contra - ipsi >= 21


def test_early_glial_inhibitor_prevents_spread_late_one_does_not() -> None:
    """Raghavendra 2003, Wu 2013: minocycline-like inhibition works before, not after, establishment."""
    control = ex.run(SIN, ex.inputs(20, drive=3.0), 150)
    early = ex.run(SIN, ex.inputs(20, drive=3.0, treatments={"glial_inhibitor": (0, None)}), 150)
    late = ex.run(SIN, ex.inputs(20, drive=3.0, treatments={"glial_inhibitor": (90, None)}), 150)
    assert ex.contra_nodes_active(control) >= 3
    assert ex.readout(early).contra_A < 0.1 and ex.contra_nodes_active(early) < 0.5
    assert ex.readout(late).contra_A > 0.6 and ex.contra_nodes_active(late) >= 1.5


def test_intrathecal_anticytokine_reverses_sensitisation_while_given() -> None:
    """Milligan 2003: rapid, complete reversal after 2 weeks; Hains & Waxman 2006: relapse on stopping."""
    tr = {"intrathecal_anticytokine": (90, 120)}
    before = ex.readout(ex.run(SIN, ex.inputs(20, drive=3.0, treatments=tr), 89))
    during = ex.readout(ex.run(SIN, ex.inputs(20, drive=3.0, treatments=tr), 100))
    after = ex.readout(ex.run(SIN, ex.inputs(20, drive=3.0, treatments=tr), 160))
    assert before.ipsi_s > 0.9 and before.contra_s > 0.8
    assert during.ipsi_s < 0.5 * before.ipsi_s and during.contra_s < 0.1
    assert after.ipsi_s > 0.9, "glia still active: sensitisation returns when the antagonist stops"


@pytest.mark.parametrize("level", [0.4, 0.6])
def test_clearing_infection_late_leaves_residual_spread(level: float) -> None:
    """Two-hit priming (Hains 2010), hysteresis: late clearance leaves spread, early clearance prevents it."""

    def mirror(tr: dict[str, tuple[int, int | None]]) -> float:
        inp = ex.inputs(20, gain=0.6, drive=1.0, infection=level, treatments=tr)
        return ex.contra_nodes_active(ex.run(P, inp, 730))

    never = mirror({})
    early = mirror({"infection_cleared": (0, None)})
    late = mirror({"infection_cleared": (365, None)})
    assert early < 1.0, "without the infection's second hit the injury stays on its side"
    assert late >= 2.0 + early, "late clearance must leave residual (mirror) spread"
    assert late <= never + 0.5
