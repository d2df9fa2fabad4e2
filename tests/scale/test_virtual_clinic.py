"""Chunked Dask runs give bit-identical cohorts for any chunk size and worker count (per-patient RNG)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client

from crpsmap.io import read_csv
from crpsmap.model import Sim
from crpsmap.scale import dask_client, simulate_clinic_csv

SIM = Sim(years=1.0, seed=11)
N = 60
#: one chunk bigger than all the injuries needed (about 2,000 at today's conversion), not so big that
#: screening it dominates the suite (a 50,000-injury chunk took most of this module's minute)
BIG_CHUNK = 6_000


@pytest.fixture(scope="module")
def two_workers() -> Iterator[Client]:
    with dask_client(workers=2) as client:
        yield client


@pytest.fixture(scope="module")
def one_worker() -> Iterator[Client]:
    with dask_client(workers=1) as client:
        yield client


def test_chunk_size_and_workers_do_not_change_the_cohort(
    tmp_path: Path, one_worker: Client, two_workers: Client
) -> None:
    runs = {}
    for name, client, chunk, in_flight in (
        ("1w-1000", one_worker, 1_000, None),
        ("2w-1000", two_workers, 1_000, None),
        ("2w-big", two_workers, BIG_CHUNK, 1),
        ("2w-137", two_workers, 137, None),
    ):
        out = tmp_path / f"{name}.csv"
        run = simulate_clinic_csv(SIM, N, out, client, chunk_size=chunk, in_flight=in_flight)
        runs[name] = (out.read_bytes(), run.cases, run.injuries)
    first = runs["1w-1000"]
    assert first[1] == N and first[2] > N  # not every injury becomes CRPS
    assert first[2] < BIG_CHUNK  # the big chunk really holds every injury screened, with room to spare
    for name, got in runs.items():
        assert got == first, name


def test_chunked_cohort_equals_the_in_process_clinic(tmp_path: Path, two_workers: Client) -> None:
    out = tmp_path / "c.csv"
    run = simulate_clinic_csv(SIM, N, out, two_workers, chunk_size=500)
    clinic = SIM.clinic(N)
    assert read_csv(out) == clinic.histories
    assert (run.injuries, run.cases) == (clinic.n_injuries, clinic.n_cases)
    assert run.patients == len(clinic.histories)


def test_bad_arguments(tmp_path: Path, two_workers: Client) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        simulate_clinic_csv(SIM, 5, tmp_path / "x.csv", two_workers, chunk_size=0)
    with pytest.raises(ValueError, match="at least 1"):
        simulate_clinic_csv(SIM, 0, tmp_path / "x.csv", two_workers)


def test_a_clinic_that_converts_nothing_gives_up_by_the_rule_of_every_search(
    tmp_path: Path, one_worker: Client
) -> None:
    """No afferent drive, no CRPS: the chunked run stops once more than MAX_INJURIES_PER_CASE injuries per
    wanted case were screened (model.sim.gives_up, the rule of Sim.find_cases), with the same message."""
    from crpsmap.model.sim import MAX_INJURIES_PER_CASE, NoCasesError

    dead = Sim(years=0.5, seed=3, cohort=SIM.cohort.replace(drive_fracture=0.0, drive_other=0.0))
    with pytest.raises(NoCasesError, match=rf"fewer than 1 in {MAX_INJURIES_PER_CASE:,} injuries .*\(0 in "):
        simulate_clinic_csv(dead, 1, tmp_path / "dead.csv", one_worker, chunk_size=4_000)
