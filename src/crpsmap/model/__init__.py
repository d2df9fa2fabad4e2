"""The neuro-immune CRPS spread simulator: a runnable form of the clinic's hypothesis (model output only).

Public API: Sim (configure and run), ModelParams / CohortParams / Mechanisms (typed parameters with units,
ranges and sources), Intervention / parse_intervention, Clinic / ChunkResult. See docs/model.md.
"""

from crpsmap.model.interventions import CATALOGUE, Intervention, parse_intervention
from crpsmap.model.params import CohortParams, Mechanisms, ModelParams, describe
from crpsmap.model.sim import ChunkResult, Clinic, Sim, node_days

__all__ = [
    "CATALOGUE",
    "ChunkResult",
    "Clinic",
    "CohortParams",
    "Intervention",
    "Mechanisms",
    "ModelParams",
    "Sim",
    "describe",
    "node_days",
    "parse_intervention",
]
