"""Calibration: fit the simulator to a clinic's spread statistics, compare mechanisms, recover parameters.

Summary statistics are those of the report (multi-limb share; first-to-second-limb pattern counts), the
distance is their G statistic (binomial + multinomial deviance), point estimates come from Optuna and
posteriors from pyABC (ABC-SMC). See docs/calibration.md.
"""

from crpsmap.calibrate.distance import deviance
from crpsmap.calibrate.fit import FitResult, FreeParam, fit, simulate_summary
from crpsmap.calibrate.targets import Targets, targets_from_histories, targets_from_statistics, van_rijn_2011

__all__ = [
    "FitResult",
    "FreeParam",
    "Targets",
    "deviance",
    "fit",
    "simulate_summary",
    "targets_from_histories",
    "targets_from_statistics",
    "van_rijn_2011",
]
