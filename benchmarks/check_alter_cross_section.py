"""Check: the real Alter 2021 CHOIR file converts with every patient's segments as in the source, and the
report's cross-section of it equals an independent count with pandas.

Run: `.venv/bin/python benchmarks/check_alter_cross_section.py PATH/alter2021-baseline.csv [--out DIR]`
(the wide table of Alter et al., PLOS ONE 2021, 21,658 patients, as distributed in HDSinRdata; the same
columns as tests/fixtures/choir/alter2021-sample300.csv). Steps, each timed:

1. `crpsmap convert FILE --from choir --visit-date 2021-01-01 -o cohort.csv` (the command line, in a fresh
   process: import included);
2. the converted file read back with pandas (not crpsmap): one assessment row per patient, whose regions
   are exactly the segments marked 1 in the source (codes turned into slugs by the atlas's code list);
3. `crpsmap.report.api.file_statistics` on the converted file (the report's own path), whole and cut into
   pieces of about 1,000 rows read on worker processes; then the HTML report and its JSON;
4. the cross-section counted again from the raw wide file with pandas: only the code -> area look-up is
   the atlas's; mirrors and limbs come from the area slugs' words; Wilson intervals from statsmodels.

Prints one line per check (OK or MISMATCH with the first differences) and the times; exit status 0 when
every count matches, 1 otherwise. Writes cohort.csv, report.html and report.json to --out (default: a
temporary folder, removed at the end).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

VISIT_DATE = "2021-01-01"
UPPER = ("shoulder", "upper_arm", "elbow", "forearm", "wrist", "hand")
LOWER = ("hip", "thigh", "knee", "lower_leg", "ankle", "foot")


class Checks:
    def __init__(self) -> None:
        self.failed: list[str] = []
        self.n = 0

    def same(self, what: str, ours: Any, theirs: Any) -> None:
        self.n += 1
        if ours == theirs:
            print(f"  OK        {what}")
            return
        self.failed.append(what)
        detail = ""
        if isinstance(ours, dict) and isinstance(theirs, dict):
            diff = [(k, ours.get(k), theirs.get(k)) for k in sorted(set(ours) | set(theirs), key=str)]
            diff = [d for d in diff if d[1] != d[2]]
            detail = f" ({len(diff)} differ, first: {diff[:3]})"
        else:
            detail = f" (crpsmap {ours!r}, independent {theirs!r})"
        print(f"  MISMATCH  {what}{detail}")


def timed(label: str, times: dict[str, float], fn: Callable[[], Any]) -> Any:
    t = time.perf_counter()
    out = fn()
    times[label] = time.perf_counter() - t
    return out


def convert(raw: Path, out: Path) -> None:
    cmd = [sys.executable, "-m", "crpsmap", "convert", str(raw), "--from", "choir"]
    cmd += ["--visit-date", VISIT_DATE, "-o", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        sys.exit(f"crpsmap convert failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("raw", type=Path, help="the CHOIR wide table (alter2021-baseline.csv)")
    ap.add_argument("--out", type=Path, help="folder for cohort.csv, report.html, report.json")
    ap.add_argument("--workers", type=int, default=None, help="worker processes for the pieces")
    args = ap.parse_args()
    raw: Path = args.raw
    if not raw.is_file():
        sys.exit(f"{raw}: no such file")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.out or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        return run(raw, folder, args.workers)


def run(raw: Path, folder: Path, workers: int | None) -> int:
    from statsmodels.stats.proportion import proportion_confint

    import crpsmap.io.pieces as pieces
    from crpsmap.atlas import load_atlas
    from crpsmap.report import write_report
    from crpsmap.report.api import file_statistics

    atlas = load_atlas()
    times: dict[str, float] = {}
    checks = Checks()
    cohort = folder / "cohort.csv"

    print(f"1. crpsmap convert {raw.name} --from choir --visit-date {VISIT_DATE}")
    timed("convert (command line, fresh process)", times, lambda: convert(raw, cohort))

    print("2. every patient's segments as in the source")
    wide = timed("read raw file (pandas)", times, lambda: pd.read_csv(raw, dtype=str, keep_default_na=False))
    columns = [c for c in wide.columns if re.fullmatch(r"X[12]\d\d", c)]
    checks.same("74 segment columns", len(columns), 74)
    slug_of = {c: atlas.resolve(c[1:]) for c in columns}  # the atlas's code list: code -> segment slug
    marked = wide[columns].apply(lambda s: s.str.strip().eq("1"))
    long = pd.read_csv(cohort, dtype=str, keep_default_na=False)
    checks.same("one row per patient", (len(long), long["patient_id"].is_unique), (len(wide), True))
    checks.same(
        "every row an assessment of the visit date",
        set(zip(long["kind"], long["date"], strict=True)),
        {("assessment", VISIT_DATE)},
    )
    source = {
        pid: frozenset(slug_of[c] for c in columns if row[c])
        for pid, row in zip(wide["PATIENT_NUM"].str.strip(), marked.to_dict("records"), strict=True)
    }
    converted = {
        pid: frozenset(r for r in regions.split(";") if r)
        for pid, regions in zip(long["patient_id"], long["regions"], strict=True)
    }
    checks.same("patients", set(converted), set(source))
    differ = [p for p in source if converted.get(p) != source[p]]
    checks.same("patients whose segments differ from the source", differ[:5], [])

    print("3. the report's statistics of the converted file (file_statistics)")
    whole = timed("file_statistics (whole)", times, lambda: file_statistics(cohort, workers=workers))
    saved = pieces.PIECE_MIN_BYTES, pieces.PIECE_ROWS
    pieces.PIECE_MIN_BYTES, pieces.PIECE_ROWS = 0, 1_000
    try:
        n_pieces = len(pieces.cut_pieces(cohort))
        pieced = timed(
            f"file_statistics (in {n_pieces} pieces)", times, lambda: file_statistics(cohort, workers=workers)
        )
    finally:
        pieces.PIECE_MIN_BYTES, pieces.PIECE_ROWS = saved
    cs = whole.stats.cross_section
    if cs is None:
        print("  MISMATCH  the statistics have no cross-section")
        return 1
    checks.same("pieces give the whole file's cross-section", pieced.stats.cross_section == cs, True)
    checks.same("no follow-up (spread over time not judged)", whole.stats.no_follow_up, True)
    html, js = folder / "report.html", folder / "report.json"
    timed("HTML report and JSON", times, lambda: write_report(whole, html, js, source=cohort.name))

    print("4. the cross-section counted again from the raw file (pandas)")
    t0 = time.perf_counter()
    n = len(wide)
    area_of = {c: atlas.segment_by_slug[slug_of[c]].area for c in columns}
    areas = marked.T.groupby(area_of).any().T  # patients x areas
    n_areas = areas.sum(axis=1)
    n_segments = marked.sum(axis=1)
    limb_frame = pd.DataFrame(
        {
            f"{girdle}_{side}": areas[[f"{stem}_{side}" for stem in stems]].any(axis=1)
            for girdle, stems in (("upper", UPPER), ("lower", LOWER))
            for side in ("right", "left")
        }
    )
    n_limbs = limb_frame.sum(axis=1)
    stems = sorted({a.rsplit("_", 1)[0] for a in areas.columns})
    both = {s: areas[f"{s}_right"] & areas[f"{s}_left"] for s in stems}
    either = {s: areas[f"{s}_right"] | areas[f"{s}_left"] for s in stems}
    any_bilateral = pd.concat(both, axis=1).any(axis=1)
    times["independent count (pandas)"] = time.perf_counter() - t0

    checks.same("patients with a body map", (cs.n_patients, cs.n_with_body_map), (n, n))
    checks.same("no pain location marked", cs.n_no_region, int((n_segments == 0).sum()))
    checks.same(
        "segment counts (74)",
        {c: cs.segments[slug_of[c]].count for c in columns},
        {c: int(marked[c].sum()) for c in columns},
    )
    checks.same(
        "area counts (46)", {a: p.count for a, p in cs.areas.items()}, {a: int(areas[a].sum()) for a in areas}
    )
    checks.same(
        "visceral counts", {v: p.count for v, p in cs.visceral.items()}, dict.fromkeys(cs.visceral, 0)
    )
    checks.same(
        "every denominator", {p.denominator for p in [*cs.segments.values(), *cs.areas.values()]}, {n}
    )
    for name, dist, series in (
        ("areas", cs.n_areas, n_areas),
        ("segments", cs.n_segments, n_segments),
        ("limbs", cs.n_limbs, n_limbs),
    ):
        hist = np.bincount(series.to_numpy(), minlength=len(dist.counts))
        checks.same(f"patients by number of {name}", list(dist.counts), hist.tolist())
        q = series.quantile([0.25, 0.5, 0.75]).tolist()
        checks.same(f"number of {name}: quartiles and median", [dist.q1, dist.median, dist.q3], q)
    checks.same(
        "limb counts",
        {lb: p.count for lb, p in cs.limbs.items()},
        {lb: int(limb_frame[lb].sum()) for lb in limb_frame},
    )
    checks.same(
        "both sides of each body part (either, both)",
        {p.right.rsplit("_", 1)[0]: (p.either, p.both) for p in cs.mirror_pairs},
        {s: (int(either[s].sum()), int(both[s].sum())) for s in stems},
    )
    checks.same("both sides of at least one body part", cs.any_bilateral.count, int(any_bilateral.sum()))
    worst = 0.0
    for p in [*cs.segments.values(), *cs.areas.values(), *cs.limbs.values(), cs.any_bilateral]:
        lo, hi = proportion_confint(p.count, p.denominator, alpha=0.05, method="wilson")
        worst = max(worst, abs(lo - (p.ci_low or 0.0)), abs(hi - (p.ci_high or 0.0)))
    checks.same("Wilson 95% intervals within 1e-9 of statsmodels", worst < 1e-9, True)
    import json

    data = json.loads(js.read_text(encoding="utf-8"))
    checks.same("the JSON's cross-section", data["cross_section"], cs.to_dict())

    print()
    print(f"patients: {n:,}; segments marked: {int(marked.to_numpy().sum()):,}")
    b, m = cs.any_bilateral, cs.multi_limb
    print(
        f"median areas {cs.n_areas.median:g} (IQR {cs.n_areas.q1:g}-{cs.n_areas.q3:g}); both sides of a body "
        f"part {b.percent(1)}; two or more limbs {m.percent(1)}"
    )
    top = sorted(cs.areas.items(), key=lambda kv: -kv[1].count)[:5]
    print("most often marked: " + ", ".join(f"{a} {p.count:,} ({p.percent(1)})" for a, p in top))
    print("times (s): " + "; ".join(f"{k} {v:.2f}" for k, v in times.items()))
    if checks.failed:
        print(f"{len(checks.failed)} of {checks.n} checks FAILED: {', '.join(checks.failed)}")
        return 1
    print(f"all {checks.n} checks OK: every count matches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
