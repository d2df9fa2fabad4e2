"""Bundled data: the synthetic example cohort (no real patient; made by scripts/make_example_cohort.py)."""

from importlib import resources
from pathlib import Path


def example_cohort_path() -> Path:
    """Path of the bundled synthetic example cohort CSV."""
    return Path(str(resources.files("crpsmap.data").joinpath("example_cohort.csv")))
