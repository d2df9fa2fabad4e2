"""Where a report's patients come from (clinic, synthetic, model), read from the histories themselves.

`PatientHistory.provenance` says it for each patient; nothing is guessed from identifiers (a real clinic
whose ids start with V is a real clinic). The report's title, headline and note take their words from here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from crpsmap.history import PROVENANCE_LABELS, PatientHistory, Provenance

#: the words a report of simulator output carries in its title and headline
VIRTUAL_CLINIC = "virtual clinic - model output"

Kind = Literal["none", "clinic", "synthetic", "model", "mixed"]
_SHORT = {Provenance.clinic: "clinic", Provenance.synthetic: "synthetic", Provenance.model: "model output"}


@dataclass(frozen=True)
class ProvenanceSummary:
    """How many patients of a report are clinic data, synthetic (made-up) data, or model output."""

    clinic: int = 0
    synthetic: int = 0
    model: int = 0

    @classmethod
    def of(cls, histories: Iterable[PatientHistory]) -> ProvenanceSummary:
        n = Counter(Provenance(h.provenance) for h in histories)
        return cls(n[Provenance.clinic], n[Provenance.synthetic], n[Provenance.model])

    def __add__(self, other: ProvenanceSummary) -> ProvenanceSummary:
        return ProvenanceSummary(
            self.clinic + other.clinic, self.synthetic + other.synthetic, self.model + other.model
        )

    @property
    def total(self) -> int:
        return self.clinic + self.synthetic + self.model

    def counts(self) -> dict[Provenance, int]:
        return {
            Provenance.clinic: self.clinic,
            Provenance.synthetic: self.synthetic,
            Provenance.model: self.model,
        }

    @property
    def kind(self) -> Kind:
        present = [p for p, k in self.counts().items() if k]
        if not present:
            return "none"
        if len(present) > 1:
            return "mixed"
        return present[0].value

    def shares(self) -> str:
        """'120 of 200 patients (60%) are clinic data, 80 (40%) model output (virtual patient)'."""
        parts = []
        for p, k in self.counts().items():
            if k:
                share = f"{100 * k / self.total:.0f}%"
                parts.append((k, share, PROVENANCE_LABELS[p]))
        (k0, s0, l0), rest = parts[0], parts[1:]
        out = f"{k0} of {self.total} patients ({s0}) are {l0}"
        return out + "".join(f", {k} ({s}) {lab}" for k, s, lab in rest)

    def title_suffix(self) -> str | None:
        """What the report's title adds: None for clinic data."""
        return {
            "model": VIRTUAL_CLINIC,
            "synthetic": "synthetic data",
            "mixed": "mixed data: " + " and ".join(_SHORT[p] for p, k in self.counts().items() if k),
        }.get(self.kind)

    def where(self) -> str:
        """How the headline names the cohort: 'this cohort', 'this virtual clinic - model output', ..."""
        if self.kind == "model":
            return f"this {VIRTUAL_CLINIC}"
        if self.kind == "synthetic":
            return "this synthetic cohort (made-up data)"
        if self.kind == "mixed":
            parts = [f"{100 * k / self.total:.0f}% {_SHORT[p]}" for p, k in self.counts().items() if k]
            return f"this cohort of mixed data ({', '.join(parts)})"
        return "this cohort"

    def patients_word(self) -> str:
        return "virtual patients" if self.kind == "model" else "patients"

    def note(self) -> str | None:
        """The note at the top of the report; None for clinic data only."""
        kind = self.kind
        if kind == "model":
            return (
                f"Model output: all {self.model} patients are {PROVENANCE_LABELS[Provenance.model]}, made by "
                "crpsmap's simulator, which encodes a hypothesis about CRPS; no real patient is in this "
                "report."
            )
        if kind == "synthetic":
            return (
                f"Synthetic data: all {self.synthetic} patients are made up; no real patient is in this "
                "report."
            )
        if kind == "mixed":
            others = " or ".join(w for w, k in (("made-up", self.synthetic), ("simulated", self.model)) if k)
            tail = (
                "no real patient is in this report."
                if not self.clinic
                else f"the shares below pool real patients with {others} ones; read them as such."
            )
            return f"Mixed data: {self.shares()}; {tail}"
        return None


def provenance_summary(histories: Iterable[PatientHistory]) -> ProvenanceSummary:
    """The provenance counts of the histories (what the report says about where its data come from)."""
    return ProvenanceSummary.of(histories)
