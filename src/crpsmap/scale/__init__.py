"""Scale: virtual cohorts in patient chunks as Dask tasks (a local cluster by default, or a real one).

Results do not depend on the chunk size or the number of workers: every random draw is a function of
(seed, injury index, step, node, stream) and the clinic is the first N cases in injury order.
"""

from crpsmap.scale.cluster import dask_client
from crpsmap.scale.virtual_clinic import ClinicRun, simulate_clinic_csv

__all__ = ["ClinicRun", "dask_client", "simulate_clinic_csv"]
