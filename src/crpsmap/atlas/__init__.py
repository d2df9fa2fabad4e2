"""The body atlas: CHOIR segments, areas, limbs, mirrors, neighbours, dermatomes, viscera."""

from crpsmap.atlas.loader import (
    LIMBS,
    Area,
    Atlas,
    AtlasError,
    Segment,
    UnknownRegionError,
    VisceralSystem,
    load_atlas,
)

__all__ = [
    "LIMBS",
    "Area",
    "Atlas",
    "AtlasError",
    "Segment",
    "UnknownRegionError",
    "VisceralSystem",
    "load_atlas",
]
