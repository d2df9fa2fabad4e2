"""Synthetic patient histories for demos, tests and benchmarks. No real patient is in them.

This is a statistical toy (a random walk over the atlas), not the mechanistic simulator of `model/`:
it exists so the classifier and the statistics have realistic-looking input of any size.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from crpsmap.atlas import load_atlas
from crpsmap.history import CRPSType, PatientHistory, Provenance, Record, RecordKind, Sex

ANCHOR = dt.date(2014, 1, 1)


def random_histories(
    n: int, *, seed: int = 0, records_per_patient: int = 10, prefix: str = "SYN", validate: bool = False
) -> list[PatientHistory]:
    """`n` synthetic histories of about `records_per_patient` records each, reproducible from `seed`."""
    atlas = load_atlas()
    rng = np.random.default_rng(seed)
    areas = atlas.areas
    onset_pool = [
        a.slug for a in areas if a.slug.split("_")[0] in ("hand", "wrist", "foot", "ankle", "forearm", "knee")
    ]
    hand_bias = np.array(
        [4.0 if s.startswith(("hand", "wrist")) else 1.5 if s.startswith("foot") else 1.0 for s in onset_pool]
    )
    hand_bias /= hand_bias.sum()
    all_units = list(atlas.unit_slugs)
    build = PatientHistory.model_validate if validate else None
    out: list[PatientHistory] = []
    width = max(6, len(str(n)))
    for i in range(n):
        onset_area = onset_pool[rng.choice(len(onset_pool), p=hand_bias)]
        involved = [onset_area]
        day = int(rng.integers(0, 365 * 6))
        start = ANCHOR + dt.timedelta(days=day)
        records = [_rec(start, RecordKind.onset, (atlas.area(onset_area).segments[0],))]
        date = start
        for _ in range(records_per_patient - 1):
            date = date + dt.timedelta(days=int(rng.integers(30, 200)))
            u = rng.random()
            if u < 0.08:
                target = all_units[int(rng.integers(0, 46))]
                records.append(_rec(date, RecordKind.trauma, (target,)))
                continue
            if u < 0.45:
                somatic = [s for s in involved if s in atlas.area_by_slug]
                base = atlas.area_by_slug[somatic[int(rng.integers(0, len(somatic)))]]
                v = rng.random()
                if v < 0.5:
                    new = base.neighbours[int(rng.integers(0, len(base.neighbours)))]
                elif v < 0.75:
                    new = base.mirror
                elif v < 0.97:
                    new = all_units[int(rng.integers(0, 46))]
                else:
                    new = atlas.visceral[int(rng.integers(0, 5))].slug
                if new not in involved:
                    involved.append(new)
            shown = tuple(s for s in involved if rng.random() < 0.9) or (involved[0],)
            records.append(
                _rec(date, RecordKind.assessment, shown, hrv=float(np.round(rng.lognormal(3.4, 0.4), 1)))
            )
        kw: dict[str, Any] = {
            "patient_id": f"{prefix}{i + 1:0{width}d}",
            "sex": Sex.female if rng.random() < 0.76 else Sex.male,
            "birth_year": int(rng.integers(1940, 2000)),
            "crps_type": CRPSType.I,
            "provenance": Provenance.synthetic,
            "records": tuple(records),
        }
        out.append(build(kw) if build else PatientHistory.model_construct(**kw))
    return out


def _rec(date: dt.date, kind: RecordKind, regions: tuple[str, ...], hrv: float | None = None) -> Record:
    return Record.trusted(date, kind, regions, hrv_rmssd=hrv)
