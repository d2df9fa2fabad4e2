"""crpsmap: does CRPS spread, how, how often, how fast - and why?

Three pillars share one data type, the patient history: a registry records it, the spread classifier
and cohort statistics answer from it, and a neuro-immune simulator produces it from a hypothesis.

`crpsmap.Cohort` (crpsmap.analysis) is the notebook API; it is imported on first use, so `import crpsmap`
stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from crpsmap.analysis import Cohort

__all__ = ["Cohort", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Cohort":
        from crpsmap.analysis import Cohort

        return Cohort
    raise AttributeError(f"module 'crpsmap' has no attribute {name!r}")
