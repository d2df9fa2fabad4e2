"""History taking: recalled onset dates of newly involved limbs (CohortParams.recall_days)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from crpsmap.atlas import load_atlas
from crpsmap.history import PatientHistory, RecordKind
from crpsmap.io.csv_long import read_csv_text, write_csv_text
from crpsmap.model import Sim
from crpsmap.model.cohort import merge_by_day, misdated, recalled_limb_onsets, with_recall_days
from crpsmap.spread import classify


def test_recall_days_are_merged_with_visits_by_hand() -> None:
    visits = np.array([[100, 200, -1], [50, -1, -1]], dtype=np.int64)
    days, is_visit = with_recall_days(visits, 30.0, 300)
    p0 = [int(d) for d in days[0] if d >= 0]
    p1 = [int(d) for d in days[1] if d >= 0]
    assert p0 == [30, 60, 90, 100, 120, 150, 180, 200]  # none after the last visit
    assert [int(d) for d, v in zip(days[0], is_visit[0], strict=True) if v] == [100, 200]
    assert p1 == [30, 50]
    assert list(days[1][2:]) == [-1] * (days.shape[1] - 2)  # padding at the end
    # a recall day on a visit day is dropped; recall off leaves the visits as they are
    d2, v2 = with_recall_days(np.array([[60, 90]], dtype=np.int64), 30.0, 300)
    assert [int(d) for d in d2[0] if d >= 0] == [30, 60, 90] and int(v2[0].sum()) == 2
    d3, v3 = with_recall_days(visits, 0.0, 300)
    assert np.array_equal(d3, visits) and np.array_equal(v3, visits >= 0)


def recalled_onsets(
    probes: list[tuple[int, int]], before: int, now: int, limbs: tuple[int, ...]
) -> dict[int, int]:
    """The records recall adds at a visit without recall error, {day: area mask}, as `histories` makes
    them: each new limb's recalled onset, limbs recalled on one day in one record."""
    return merge_by_day((day, mask) for _, day, mask in recalled_limb_onsets(probes, before, now, limbs))


def test_recalled_onsets_by_hand() -> None:
    limbs = (0b0011, 0b1100)  # two limbs of two areas each
    probes = [(30, 0b0001), (60, 0b0101), (90, 0b1101)]
    # limb 0 was already involved at the previous visit: only limb 1 is new; first seen on day 60
    assert recalled_onsets(probes, 0b0001, 0b1101, limbs) == {60: 0b0100}
    # first visit (nothing before): both limbs, each on its own first day
    assert recalled_onsets(probes, 0, 0b1101, limbs) == {30: 0b0001, 60: 0b0100}
    # a limb not involved at the visit is not reported, whatever the recall days showed
    assert recalled_onsets(probes, 0, 0b0001, limbs) == {30: 0b0001}
    # a new limb never seen on a recall day (it appeared after the last one) gets no recalled date
    assert recalled_onsets([(30, 0b0001)], 0b0001, 0b1101, limbs) == {}


def test_recalled_limb_onsets_name_each_limb() -> None:
    limbs = (0b0011, 0b1100)
    probes = [(30, 0b0001), (60, 0b0101), (90, 0b1101)]
    assert recalled_limb_onsets(probes, 0, 0b1101, limbs) == [(0, 30, 0b0001), (1, 60, 0b0100)]
    # two limbs first seen on one recall day: one record, but each limb keeps its own entry
    assert recalled_limb_onsets([(30, 0b0101)], 0, 0b0101, limbs) == [(0, 30, 0b0001), (1, 30, 0b0100)]
    assert recalled_onsets([(30, 0b0101)], 0, 0b0101, limbs) == {30: 0b0101}


def test_misdated_by_hand() -> None:
    assert misdated(100, 1.0, 10.0, 50, 200) == 110
    assert misdated(100, -0.26, 10.0, 50, 200) == 97  # 97.4 rounds to 97
    assert misdated(100, 0.0, 30.0, 50, 200) == 100
    # kept strictly between the previous visit and the visit that asks
    assert misdated(100, -3.0, 30.0, 80, 200) == 81
    assert misdated(100, 3.0, 60.0, 50, 150) == 149
    assert misdated(5, -2.0, 30.0, 0, 91) == 1  # never on or before the injury


def _recalled_by_limb(h: PatientHistory) -> dict[tuple[int, str], dt.date]:
    """(interval between visits, limb) -> its recalled date."""
    atlas = load_atlas()
    visits = [r.date for r in h.records if r.hrv_rmssd is not None]
    out = {}
    for r in h.records:
        if r.extra.get("dated") != "recall":
            continue
        interval = sum(v < r.date for v in visits)
        for limb in {atlas.limb_of(x) for x in r.regions} - {None}:
            out[interval, str(limb)] = r.date
    return out


@pytest.fixture(scope="module")
def pair() -> tuple[list[PatientHistory], list[PatientHistory]]:
    with_recall = Sim(years=3.0, seed=5)
    without = Sim(years=3.0, seed=5, cohort=with_recall.cohort.replace(recall_days=0.0))
    return with_recall.clinic(150).histories, without.clinic(150).histories


def test_recall_adds_dates_not_involvement(pair: tuple[list[PatientHistory], list[PatientHistory]]) -> None:
    recall, visits_only = pair
    assert [h.patient_id for h in recall] == [h.patient_id for h in visits_only]
    assert not any(r.extra.get("dated") for h in visits_only for r in h.records)
    n_recalled = 0
    gained = 0
    for a, b in zip(recall, visits_only, strict=True):
        ca, cb = classify(a), classify(b)
        # the same limbs are involved; only their dates can be earlier
        assert set(ca.limbs) == set(cb.limbs), a.patient_id
        assert ca.onset_date is not None and cb.onset_date is not None and ca.onset_date <= cb.onset_date
        visit_dates = [r.date for r in a.records if r.hrv_rmssd is not None]
        assert visit_dates == [r.date for r in b.records if r.hrv_rmssd is not None]
        for r in a.records:
            if r.extra.get("dated") == "recall":
                n_recalled += 1
                assert r.hrv_rmssd is None and r.regions
                assert r.kind in (RecordKind.onset, RecordKind.assessment)
                assert r.date < visit_dates[-1]
        ident_a = sum(e.limb_pattern is not None for e in ca.events)
        ident_b = sum(e.limb_pattern is not None for e in cb.events)
        gained += ident_a - ident_b
    assert n_recalled > 0
    assert gained > 0  # recalled dates separate limbs that a visit sees together


def test_recalled_records_round_trip_csv(pair: tuple[list[PatientHistory], list[PatientHistory]]) -> None:
    recall, _ = pair
    text = write_csv_text(recall[:30])
    assert "dated" in text.splitlines()[0].split(",")
    back = read_csv_text(text, today=dt.date(2026, 11, 25))
    assert write_csv_text(back) == text


def test_recall_error_moves_recalled_dates_within_their_interval_only(
    pair: tuple[list[PatientHistory], list[PatientHistory]],
) -> None:
    """With an error of 30 days each recalled limb onset moves (both ways, on average less than the
    unclamped 24 days) but stays between the same two visits; visits, their findings and which limbs
    were recalled are unchanged. A tiny error changes nothing: the draw touches no other number."""
    exact, _ = pair
    base = Sim(years=3.0, seed=5)
    tiny = Sim(years=3.0, seed=5, cohort=base.cohort.replace(recall_error_days=1e-6)).clinic(40).histories
    assert [h.model_dump() for h in tiny] == [h.model_dump() for h in exact[:40]]  # the first 40 cases
    off = Sim(years=3.0, seed=5, cohort=base.cohort.replace(recall_error_days=30.0)).clinic(150).histories
    assert [h.patient_id for h in off] == [h.patient_id for h in exact]
    shifts = []
    for a, b in zip(off, exact, strict=True):
        assert [(r.date, r.regions) for r in a.records if r.hrv_rmssd is not None] == [
            (r.date, r.regions) for r in b.records if r.hrv_rmssd is not None
        ]
        da, db = _recalled_by_limb(a), _recalled_by_limb(b)
        assert da.keys() == db.keys(), a.patient_id
        shifts += [(da[k] - db[k]).days for k in db]
    assert len(shifts) > 50
    assert min(shifts) < 0 < max(shifts)
    assert 5.0 < float(np.mean(np.abs(shifts))) < 24.0
