"""What is kept per patient object between requests (registry/kept.py) gives what computing it whole
gives: the export's CSV (the bytes of the one-piece writer, also after patients change, gain a column or
turn out not to be clinic data) and "patients like this one" (the survival table of the whole clinic)."""

from __future__ import annotations

import numpy as np

from crpsmap.data.synthetic import random_histories
from crpsmap.history import PatientHistory, Provenance
from crpsmap.io.csv_long import write_csv_text
from crpsmap.registry import clinic, export_cache
from crpsmap.registry.export_cache import csv_text
from crpsmap.spread import classify_all
from crpsmap.stats.survival import second_limb_data


def _with_first_record(h: PatientHistory, **update: object) -> PatientHistory:
    records = (h.records[0].model_copy(update=update), *h.records[1:])
    return h.model_copy(update={"records": records})


def test_pieces_join_to_the_writers_bytes_as_patients_change() -> None:
    cohort = random_histories(60, seed=3, prefix="EXP")
    assert csv_text(cohort) == write_csv_text(cohort)
    assert len(export_cache._rows) >= len(cohort)  # the pieces are kept: the next export reuses them

    # one patient's value changes: a new object, so only its piece is rendered again
    changed = list(cohort)
    changed[7] = _with_first_record(changed[7], pain=9.5)
    assert csv_text(changed) == write_csv_text(changed)
    assert csv_text(changed) != csv_text(cohort)

    # a new extra column in one patient: every patient's rows gain the (empty) column
    extra = list(changed)
    extra[11] = _with_first_record(extra[11], extra={"site": "Leiden"})
    assert csv_text(extra) == write_csv_text(extra)
    assert "site" in csv_text(extra).splitlines()[0].split(",")

    # a synthetic patient among clinic ones: the provenance column appears for all
    mixed = list(extra)
    mixed[0] = mixed[0].model_copy(update={"provenance": Provenance.synthetic})
    assert csv_text(mixed) == write_csv_text(mixed)

    # back to the first cohort (its objects still kept): the first bytes again
    assert csv_text(cohort) == write_csv_text(cohort)


def test_kept_pieces_are_bounded_by_the_patients_in_use() -> None:
    cohort = random_histories(40, seed=5, prefix="BND")
    for i in range(30):  # a stream of writes: each export sees one patient as a new object
        cohort[i % 40] = _with_first_record(cohort[i % 40], pain=float(i % 10))
        assert csv_text(cohort) == write_csv_text(cohort)
    assert len(export_cache._rows) <= 2 * len(cohort) + 64


def _like_this_whole(results: list) -> dict[str, clinic.LikeThis]:
    """The shares computed from the whole clinic's table at once (the code before the kept rows)."""
    data, _ = second_limb_data(results)
    out = {}
    for girdle in ("upper", "lower"):
        sel = [i for i, g in enumerate(data.girdle) if g == girdle]
        if sel:
            curve = clinic._like_this_of(girdle, data.durations[sel], np.asarray(data.observed)[sel])
            if curve is not None:
                out[girdle] = curve
    return out


def test_like_this_from_kept_rows_equals_the_whole_table() -> None:
    cohort = random_histories(300, seed=11, prefix="KM")
    results = list(classify_all(cohort))
    whole = _like_this_whole(results)
    assert set(whole) == {"upper", "lower"}
    assert clinic.like_this_by_girdle(results) == whole
    # every fifth patient written (new classification objects; its later records deleted, so it may lose
    # its second limb), the others' objects kept as the snapshot keeps them: the same as the whole again
    written = set(range(0, len(cohort), 5))
    changed = [
        h.model_copy(update={"records": h.records[:2]}) if i in written else h for i, h in enumerate(cohort)
    ]
    results2 = [c if i in written else results[i] for i, c in enumerate(classify_all(changed))]
    assert clinic.like_this_by_girdle(results2) == _like_this_whole(results2)
    assert clinic.like_this_by_girdle(results2) != whole
