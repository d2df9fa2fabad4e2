"""Benchmark of the simulator's dynamics: node-days per second of the Numba kernel and the NumPy reference.

Run on demand:
  `.venv/bin/python benchmarks/bench_model.py [--patients N] [--days D] [--repeats R]`
      kernel and reference of this checkout in one process (JIT excluded by a warm-up call);
  `.venv/bin/python benchmarks/bench_model.py --baseline-rev HEAD [--rounds K]`
      the kernel before and after a change in one run: the model package of REV is extracted with
      `git show` into a temporary directory, and the kernels of REV and of this checkout are timed
      alternately in fresh subprocesses (K rounds, R timed runs each) on the same virtual patients and days.
      Reported: median node-days per wall-clock second of both and their ratio (after / before), the
      same per CPU second of the worker process (less sensitive to other load on a shared machine),
      whether both gave bit-identical outputs, and whether small fingerprints of both trees (a virtual
      clinic's CSV, drawn inputs, kernel and reference arrays with all five interventions) are identical.
      With --somatotopy the kernel of this checkout is also timed with Mechanisms.somatotopy on (89 nodes,
      in the same rounds; its node-days count 89 nodes); without --baseline-rev, --somatotopy times the
      kernel and the reference of this checkout with the switch on.
  `.venv/bin/python benchmarks/bench_model.py --baseline-rev HEAD --clinic 150 [--rounds K] [--repeats R]`
      a whole virtual clinic (`Sim(seed=S).clinic(N)` at the defaults of each tree: screening the injuries
      and following the cases) of REV and of this checkout, alternately in fresh subprocesses; reported:
      median seconds (wall and CPU) per clinic, their ratio (after / before), the injuries screened, and
      whether both trees gave the same clinic (its CSV). What a calibration, a comparison or ABC pays per
      simulated clinic.
Prints one JSON line and appends it to benchmarks/results/model.jsonl (written atomically). The figure of
each side is the median of its timed runs; set NUMBA_NUM_THREADS to fix the thread count.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numba
import numpy as np

from results_log import record

# crpsmap is imported inside the functions: a --worker process must import it from the tree it times
ROOT = Path(__file__).resolve().parent.parent
OUTPUT_FIELDS = ("visit_mask", "visit_v", "M", "A", "rho", "s", "R", "O", "B", "V")


def _time(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _environment() -> dict[str, Any]:
    return {
        "threads": numba.get_num_threads(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "numba": numba.__version__,
        "numpy": np.__version__,
    }


def _inputs(patients: int, steps_per_day: int) -> Any:
    from crpsmap.model import CohortParams
    from crpsmap.model.cohort import draw_patients

    return draw_patients(1, np.arange(patients), CohortParams(), 5 * 365, steps_per_day)[0]


def same_process(args: argparse.Namespace) -> dict[str, Any]:
    """Kernel and reference of this checkout, in this process."""
    from crpsmap.model import Mechanisms, ModelParams
    from crpsmap.model.kernel import run_kernel
    from crpsmap.model.network import coupling, n_nodes, topology
    from crpsmap.model.reference import RunConfig, run_reference

    params = ModelParams(mechanisms=Mechanisms(somatotopy=args.somatotopy))
    nodes = n_nodes(somatotopy=args.somatotopy)
    cfg_k = RunConfig(n_days=args.days, seed=1)
    cfg_r = RunConfig(n_days=args.ref_days, seed=1)
    inp = _inputs(args.patients, cfg_k.steps_per_day)
    net, topo = coupling(params), topology(args.somatotopy)
    run_kernel(params, RunConfig(n_days=2, seed=1), inp.take(np.arange(4)), net=net, topo=topo)  # compile
    t_k = _time(lambda: run_kernel(params, cfg_k, inp, net=net, topo=topo), args.repeats)
    t_r = _time(lambda: run_reference(params, cfg_r, inp, net=net, topo=topo), max(1, args.repeats // 2))
    nd_k = args.patients * nodes * args.days / t_k
    nd_r = args.patients * nodes * args.ref_days / t_r
    return {
        "benchmark": "model_dynamics",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "kernel_node_days_per_s": round(nd_k),
        "reference_node_days_per_s": round(nd_r),
        "ratio": round(nd_k / nd_r, 1),
        "patients": args.patients,
        "nodes": nodes,
        "somatotopy": args.somatotopy,
        "days_kernel": args.days,
        "days_reference": args.ref_days,
        "dt": cfg_k.dt,
        "repeats": args.repeats,
        "kernel_seconds": round(t_k, 3),
        "reference_seconds": round(t_r, 3),
        **_environment(),
    }


def extract_package(rev: str, dest: Path) -> str:
    """Write src/crpsmap as it was at `rev` under dest (read-only git: ls-tree and show); returns the
    commit id."""
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{rev}^{{commit}}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    names = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", commit, "--", "src/crpsmap"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    for name in filter(None, names):
        data = subprocess.run(
            ["git", "show", f"{commit}:{name}"], cwd=ROOT, check=True, capture_output=True
        ).stdout
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return commit


def worker(src: str, inputs: str, days: int, repeats: int, somatotopy: bool = False) -> None:
    """Time the kernel of the package under `src` (a subprocess: one tree per process); somatotopy: with
    Mechanisms.somatotopy on (only a tree that has it), else off in every tree (67 nodes)."""
    _import_tree(src)
    from crpsmap.model.arrays import PatientInputs
    from crpsmap.model.kernel import run_kernel as kernel
    from crpsmap.model.network import coupling as coupling_of
    from crpsmap.model.network import topology as topology_of
    from crpsmap.model.params import ModelParams as Params
    from crpsmap.model.reference import RunConfig as Config

    with np.load(inputs) as z:
        inp = PatientInputs(**{k: z[k] for k in PatientInputs.__dataclass_fields__})
    from crpsmap.model.params import Mechanisms

    if somatotopy:
        params = Params(mechanisms=Mechanisms(somatotopy=True))
        net, topo = coupling_of(params), topology_of(True)
    else:  # 67 nodes in every tree: the columns are on by default since 2026-11-26, absent before 2026-11-24
        has = "somatotopy" in Mechanisms.__dataclass_fields__
        params = Params(mechanisms=Mechanisms(somatotopy=False)) if has else Params()
        net, topo = coupling_of(params), topology_of()
    cfg = Config(n_days=days, seed=1)
    kernel(params, Config(n_days=2, seed=1), inp.take(np.arange(4)), net=net, topo=topo)  # compile / load
    times, cpu = [], []
    out = None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = kernel(params, cfg, inp, net=net, topo=topo)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    digest = _digest(*(getattr(out, f) for f in OUTPUT_FIELDS))
    print(json.dumps({"times": times, "cpu": cpu, "digest": digest}))


def _import_tree(src: str) -> None:
    sys.path.insert(0, src)
    import crpsmap

    if not str(Path(crpsmap.__file__).resolve()).startswith(str(Path(src).resolve())):
        raise SystemExit(f"imported {crpsmap.__file__}, not the tree under {src}")


def _digest(*arrays: Any) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def fingerprint(src: str) -> None:
    """Digests of small outputs of the tree under `src`, through the API both trees share: a virtual
    clinic's CSV (kernel with a glial inhibitor; reference), the drawn inputs of 48 patients with all five
    interventions, and the kernel's and the reference's arrays for them (100 days, two parameter sets)."""
    _import_tree(src)
    from crpsmap.io.csv_long import write_csv_text
    from crpsmap.model import CohortParams, Intervention, ModelParams, Sim
    from crpsmap.model.cohort import draw_patients
    from crpsmap.model.kernel import run_kernel as kernel
    from crpsmap.model.reference import RunConfig as Config
    from crpsmap.model.reference import run_reference as reference

    out: dict[str, str] = {}
    sim = Sim(years=1.5, seed=11, interventions=(Intervention("glial_inhibitor", 30, 200),))
    clinic = sim.clinic(30)
    out["clinic_kernel_csv"] = _digest(np.frombuffer(write_csv_text(clinic.histories).encode(), np.uint8))
    ref_clinic = Sim(years=1.5, seed=11, backend="reference").clinic(4, block=64)
    out["clinic_reference_csv"] = _digest(
        np.frombuffer(write_csv_text(ref_clinic.histories).encode(), np.uint8)
    )
    names = ("vagal_stimulation", "anti_inflammatory", "glial_inhibitor", "intrathecal_anticytokine")
    ivs = tuple(Intervention(n, 10 + 15 * i, 60 + 10 * i, "injury") for i, n in enumerate(names))
    ivs += (Intervention("infection_cleared", 5, None, "injury"),)
    cp = CohortParams(
        screen_day=20, first_visit_delay=5, visit_interval_1=20, visit_jitter=3, trauma_rate=3.0
    )
    inp = draw_patients(3, np.arange(100, 148), cp, 100, 4, ivs)[0]
    out["inputs"] = _digest(*(getattr(inp, k) for k in sorted(inp.__dataclass_fields__)))
    for label, params in (("default", ModelParams()), ("h3", ModelParams(h=3.0, K=1.2))):
        for backend, run in (("kernel", kernel), ("reference", reference)):
            res = run(params, Config(n_days=100, seed=3), inp)
            out[f"{backend}_{label}"] = _digest(*(getattr(res, f) for f in OUTPUT_FIELDS))
    print(json.dumps(out))


def clinic_worker(src: str, n: int, seed: int, repeats: int) -> None:
    """Time `Sim(seed=seed).clinic(n)` of the package under `src` (a subprocess: one tree per process)."""
    _import_tree(src)
    from crpsmap.io.csv_long import write_csv_text
    from crpsmap.model import Sim

    sim = Sim(seed=seed)
    sim.clinic(2)  # compile / load the kernel
    times, cpu = [], []
    clinic = None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        clinic = sim.clinic(n)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    assert clinic is not None
    digest = _digest(np.frombuffer(write_csv_text(clinic.histories).encode(), np.uint8))
    print(json.dumps({"times": times, "cpu": cpu, "digest": digest, "injuries": clinic.n_injuries}))


def clinic_before_after(args: argparse.Namespace) -> dict[str, Any]:
    """A default virtual clinic of `args.baseline_rev` and of this checkout, timed alternately."""
    with tempfile.TemporaryDirectory(prefix="bench_model_") as tmp:
        base = Path(tmp) / "baseline"
        commit = extract_package(args.baseline_rev, base)
        sides = {"before": base / "src", "after": ROOT / "src"}
        times: dict[str, list[float]] = {k: [] for k in sides}
        cpu: dict[str, list[float]] = {k: [] for k in sides}
        seen: dict[str, set[tuple[str, int]]] = {k: set() for k in sides}
        for r in range(args.rounds):
            for side in tuple(sides) if r % 2 == 0 else tuple(reversed(sides)):
                cmd = [
                    sys.executable,
                    __file__,
                    "--clinic-worker",
                    str(sides[side]),
                    "--clinic",
                    str(args.clinic),
                ]
                cmd += ["--seed", str(args.seed), "--repeats", str(args.repeats)]
                out = subprocess.run(
                    cmd, check=True, capture_output=True, text=True, cwd=tempfile.gettempdir()
                )
                res = json.loads(out.stdout.strip().splitlines()[-1])
                times[side] += res["times"]
                cpu[side] += res["cpu"]
                seen[side].add((res["digest"], res["injuries"]))
                print(
                    f"round {r + 1}/{args.rounds} {side}: {[round(t, 2) for t in res['times']]}",
                    file=sys.stderr,
                )
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    return {
        "benchmark": "model_clinic_before_after",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "baseline_rev": args.baseline_rev,
        "baseline_commit": commit,
        "patients": args.clinic,
        "seed": args.seed,
        "injuries_screened": sorted({i for _, i in seen["before"] | seen["after"]}),
        "before_seconds_median": round(med["before"], 3),
        "after_seconds_median": round(med["after"], 3),
        "after_over_before": round(med["after"] / med["before"], 3),
        "before_cpu_seconds_median": round(med_cpu["before"], 3),
        "after_cpu_seconds_median": round(med_cpu["after"], 3),
        "after_over_before_cpu": round(med_cpu["after"] / med_cpu["before"], 3),
        "clinics_identical": len(seen["before"] | seen["after"]) == 1,
        "before_seconds": [round(t, 3) for t in times["before"]],
        "after_seconds": [round(t, 3) for t in times["after"]],
        "rounds": args.rounds,
        "repeats_per_round": args.repeats,
        "command": " ".join(["benchmarks/bench_model.py", *sys.argv[1:]]),
        **_environment(),
    }


def _run_worker(
    src: Path, inputs: Path, days: int, repeats: int, *, fingerprints: bool = False, somatotopy: bool = False
) -> dict[str, Any]:
    if fingerprints:
        cmd = [sys.executable, __file__, "--fingerprint", str(src)]
        res = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=tempfile.gettempdir())
        return dict(json.loads(res.stdout.strip().splitlines()[-1]))
    cmd = [sys.executable, __file__, "--worker", str(src), "--inputs", str(inputs)]
    cmd += ["--days", str(days), "--repeats", str(repeats)] + (["--somatotopy"] if somatotopy else [])
    res = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=tempfile.gettempdir())
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


def before_after(args: argparse.Namespace) -> dict[str, Any]:
    """The kernel of `args.baseline_rev` and of this checkout, timed alternately in subprocesses."""
    from crpsmap.model.network import N_NODES, n_nodes
    from crpsmap.model.reference import RunConfig

    with tempfile.TemporaryDirectory(prefix="bench_model_") as tmp:
        base = Path(tmp) / "baseline"
        commit = extract_package(args.baseline_rev, base)
        inputs = Path(tmp) / "inputs.npz"
        inp = _inputs(args.patients, RunConfig(n_days=args.days, seed=1).steps_per_day)
        np.savez(inputs, **{k: getattr(inp, k) for k in inp.__dataclass_fields__})
        sides = {"before": base / "src", "after": ROOT / "src"}
        if args.somatotopy:
            sides["somatotopy"] = ROOT / "src"
        times: dict[str, list[float]] = {k: [] for k in sides}
        cpu: dict[str, list[float]] = {k: [] for k in sides}
        digests: dict[str, set[str]] = {k: set() for k in sides}
        for r in range(args.rounds):
            order = tuple(sides) if r % 2 == 0 else tuple(reversed(sides))
            for side in order:
                res = _run_worker(
                    sides[side], inputs, args.days, args.repeats, somatotopy=side == "somatotopy"
                )
                times[side] += res["times"]
                cpu[side] += res["cpu"]
                digests[side].add(res["digest"])
                print(
                    f"round {r + 1}/{args.rounds} {side}: {[round(t, 3) for t in res['times']]}",
                    file=sys.stderr,
                )
        prints = {s: _run_worker(sides[s], inputs, 0, 0, fingerprints=True) for s in ("before", "after")}
    nodes = {"before": N_NODES, "after": N_NODES, "somatotopy": n_nodes(somatotopy=True)}
    nd = {k: args.patients * nodes[k] * args.days / statistics.median(v) for k, v in times.items()}
    nd_cpu = {k: args.patients * nodes[k] * args.days / statistics.median(v) for k, v in cpu.items()}
    extra: dict[str, Any] = {}
    if args.somatotopy:  # the switch on: node-days of 89 nodes; seconds per patient-day relative to off
        extra = {
            "somatotopy_nodes": nodes["somatotopy"],
            "somatotopy_node_days_per_s": round(nd["somatotopy"]),
            "somatotopy_node_days_per_cpu_s": round(nd_cpu["somatotopy"]),
            "somatotopy_seconds_over_after": round(
                statistics.median(times["somatotopy"]) / statistics.median(times["after"]), 3
            ),
            "somatotopy_seconds": [round(t, 3) for t in times["somatotopy"]],
        }
    return {
        "benchmark": "model_kernel_before_after",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "baseline_rev": args.baseline_rev,
        "baseline_commit": commit,
        "before_node_days_per_s": round(nd["before"]),
        "after_node_days_per_s": round(nd["after"]),
        "after_over_before": round(nd["after"] / nd["before"], 3),
        "before_node_days_per_cpu_s": round(nd_cpu["before"]),
        "after_node_days_per_cpu_s": round(nd_cpu["after"]),
        "after_over_before_cpu": round(nd_cpu["after"] / nd_cpu["before"], 3),
        "outputs_identical": len(digests["before"] | digests["after"]) == 1,
        "fingerprints_identical": {k: v == prints["after"].get(k) for k, v in prints["before"].items()},
        "before_seconds": [round(t, 3) for t in times["before"]],
        "after_seconds": [round(t, 3) for t in times["after"]],
        **extra,
        "patients": args.patients,
        "nodes": N_NODES,
        "days": args.days,
        "rounds": args.rounds,
        "repeats_per_round": args.repeats,
        "command": " ".join(["benchmarks/bench_model.py", *sys.argv[1:]]),
        **_environment(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=4000)
    ap.add_argument("--days", type=int, default=365, help="days simulated by the kernel")
    ap.add_argument("--ref-days", type=int, default=30, help="days simulated by the (slow) reference")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs (per round with --baseline-rev)")
    ap.add_argument("--baseline-rev", help="git revision whose kernel is timed against this checkout's")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds with --baseline-rev")
    ap.add_argument("--somatotopy", action="store_true", help="also (or only) with Mechanisms.somatotopy on")
    ap.add_argument("--clinic", type=int, default=0, help="with --baseline-rev: time a clinic of this many")
    ap.add_argument("--seed", type=int, default=0, help="the clinic's seed (with --clinic)")
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--inputs", help=argparse.SUPPRESS)
    ap.add_argument("--fingerprint", help=argparse.SUPPRESS)
    ap.add_argument("--clinic-worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.clinic_worker:
        clinic_worker(args.clinic_worker, args.clinic, args.seed, args.repeats)
        return
    if args.clinic and not args.baseline_rev:
        ap.error("--clinic times this checkout against --baseline-rev REV")
    if args.fingerprint:
        fingerprint(args.fingerprint)
        return
    if args.worker:
        worker(args.worker, args.inputs, args.days, args.repeats, args.somatotopy)
        return
    if args.clinic:
        rec = clinic_before_after(args)
    else:
        rec = before_after(args) if args.baseline_rev else same_process(args)
    record("model", rec, save=not args.no_save)


if __name__ == "__main__":
    main()
