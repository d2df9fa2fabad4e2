"""The cross-section (the cohort at each patient's first time point): counts worked by hand, the real
Alter 2021 CHOIR sample against an independent count of its raw file, and the same numbers from a file
read in pieces."""

from __future__ import annotations

import datetime as dt
import statistics
from pathlib import Path

import numpy as np
import pytest

from choir_reference import HAND_AREAS, area_lookup, count_choir, split
from conftest import build_history
from crpsmap.atlas import LIMBS, load_atlas
from crpsmap.data.synthetic import random_histories
from crpsmap.history import PatientHistory
from crpsmap.io import read_choir_wide, read_csv, write_csv
from crpsmap.report.api import file_statistics
from crpsmap.stats import (
    SPREAD_NOT_JUDGED,
    ClassificationTable,
    PatientTable,
    Proportion,
    cohort_statistics,
    cross_section,
)
from crpsmap.stats.cross_section import CountDistribution

ALTER = Path(__file__).parent / "fixtures" / "choir" / "alter2021-sample300.csv"
VISIT = dt.date(2021, 1, 1)


# ---- counts worked by hand --------------------------------------------------------------------------------


def _hand_cohort() -> list[PatientHistory]:
    return [
        # palm of the right hand (125), back of the left hand (227), left lower back (218)
        build_history([("2021-01-01", "assessment", "125;227;218")], "P1"),
        # an assessment that marked nothing: "no pain location marked"
        build_history([("2021-01-01", "assessment", "")], "P2"),
        # baseline: onset and assessment of one date (both knees); the foot a year later is follow-up
        build_history(
            [
                ("2020-05-01", "onset", "knee_front_right;knee_back_right"),
                ("2020-05-01", "assessment", "knee_front_left"),
                ("2021-05-01", "assessment", "foot_top_right"),
            ],
            "P3",
        ),
        # no onset or assessment record: not a patient with a body map
        build_history([("2021-01-01", "trauma", "hand_palm_left")], "P4"),
        # a whole area (no segment) and a visceral system
        build_history([("2021-02-01", "assessment", "hand_right;visceral_bladder")], "P5"),
    ]


def test_counts_worked_by_hand() -> None:
    cs = cross_section(_hand_cohort())
    assert (cs.n_patients, cs.n_with_body_map, cs.n_no_region, cs.n_follow_up, cs.n_whole_area) == (
        5,
        4,
        1,
        1,
        1,
    )
    assert not cs.no_follow_up  # P3 has a second time point
    marked = {s: p.count for s, p in cs.segments.items() if p.count}
    assert marked == {
        "hand_palm_right": 1,
        "hand_top_left": 1,
        "lower_back_left": 1,
        "knee_front_right": 1,
        "knee_back_right": 1,
        "knee_front_left": 1,
    }  # the foot of P3's follow-up is not at baseline
    areas = {s: p.count for s, p in cs.areas.items() if p.count}
    assert areas == {"hand_right": 2, "hand_left": 1, "lower_back_left": 1, "knee_right": 1, "knee_left": 1}
    assert {s: p.count for s, p in cs.visceral.items() if p.count} == {"visceral_bladder": 1}
    assert all(p.denominator == 4 for p in [*cs.segments.values(), *cs.areas.values(), *cs.limbs.values()])
    assert cs.areas["hand_right"] == Proportion.of(2, 4)  # with its Wilson interval
    # areas per patient: P1 3, P2 0, P3 2, P5 1; segments: 3, 0, 3, 0; limbs: 2, 0, 2, 1
    assert cs.n_areas.counts[:5] == (1, 1, 1, 1, 0) and sum(cs.n_areas.counts) == 4
    assert (cs.n_areas.median, cs.n_areas.q1, cs.n_areas.q3, cs.n_areas.mean) == (1.5, 0.75, 2.25, 1.5)
    assert cs.n_segments.counts[0] == 2 and cs.n_segments.counts[3] == 2 and cs.n_segments.median == 1.5
    assert cs.n_limbs.counts == (1, 1, 2, 0, 0)
    assert {lb: p.count for lb, p in cs.limbs.items()} == {
        "upper_right": 2,
        "upper_left": 1,
        "lower_right": 1,
        "lower_left": 1,
    }
    assert cs.multi_limb == Proportion.of(2, 4)
    pairs = {p.right: (p.right_only, p.left_only, p.both) for p in cs.mirror_pairs if p.either}
    assert pairs == {"hand_right": (1, 0, 1), "lower_back_right": (0, 1, 0), "knee_right": (0, 0, 1)}
    hand = next(p for p in cs.mirror_pairs if p.right == "hand_right")
    assert hand.both_share == Proportion.of(1, 2)
    assert cs.any_bilateral == Proportion.of(2, 4)  # P1 (hands) and P3 (knees), of all 4
    assert len(cs.mirror_pairs) == len(load_atlas().areas) // 2


def test_one_time_point_per_patient_is_no_follow_up() -> None:
    hs = [h for h in _hand_cohort() if h.patient_id != "P3"]
    cs = cross_section(hs)
    assert cs.no_follow_up and cs.n_follow_up == 0
    d = cs.to_dict()
    assert d["no_follow_up"] is True and d["note"] == SPREAD_NOT_JUDGED
    stats = cohort_statistics(hs)
    assert stats.no_follow_up and stats.to_dict()["spread_judgeable"] is False
    # two records of one date are one time point
    same_day = build_history([("2021-01-01", "onset", "125"), ("2021-01-01", "assessment", "128")], "S")
    assert cross_section([same_day]).no_follow_up
    assert not cross_section([]).no_follow_up  # no patient with a body map: nothing to say either way


def test_the_statistics_carry_the_cross_section() -> None:
    hs = _hand_cohort()
    stats = cohort_statistics(hs)
    assert stats.cross_section == cross_section(hs)
    assert stats.figures.n_with_onset == stats.cross_section.n_with_body_map
    d = stats.to_dict()
    assert d["cross_section"] == cross_section(hs).to_dict() and d["spread_judgeable"] is True
    assert d["cross_section"]["mirror_pairs"][0]["right"] == "cranium_right"


def test_quantiles_are_numpy_s() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        values = rng.integers(0, 12, size=int(rng.integers(1, 40)))
        d = CountDistribution.of(np.bincount(values, minlength=12))
        assert d.median == pytest.approx(float(np.median(values)))
        assert (d.q1, d.q3) == pytest.approx(tuple(np.percentile(values, [25, 75])))
        assert d.mean == pytest.approx(float(values.mean()))
    assert CountDistribution.of([0, 0]).median is None


def test_a_table_without_the_baseline_columns_has_no_cross_section() -> None:
    hs = random_histories(20, seed=2)
    t = PatientTable.from_histories(hs)
    bare = PatientTable.from_columns(
        t.patient_id, t.sex, t.birth_year, t.first_hrv_rmssd, t.involvement_records
    )
    from crpsmap.spread import classify_all

    stats = cohort_statistics(bare, ClassificationTable.from_classifications(classify_all(hs)))
    assert stats.cross_section is None and stats.to_dict()["cross_section"] is None
    with pytest.raises(ValueError, match="baseline"):
        cross_section(bare)


def test_longitudinal_cohort_baseline_is_the_first_date() -> None:
    """In a cohort with follow-up the cross-section is of the first time point: later areas are not in it."""
    hs = random_histories(150, seed=8)
    cs = cross_section(hs)
    atlas = load_atlas()
    for slug, p in cs.areas.items():
        want = 0
        for h in hs:
            inv = h.involvement_records()
            if not inv:
                continue
            first = min(r.date for r in inv)
            regions = {x for r in inv if r.date == first for x in r.regions}
            want += any(atlas.unit_of(x) == slug for x in regions)
        assert p.count == want, slug
    assert cs.n_follow_up == sum(len({r.date for r in h.involvement_records()}) > 1 for h in hs)


# ---- the real Alter 2021 sample against an independent count of the raw file ------------------------------


@pytest.fixture(scope="module")
def alter() -> list[PatientHistory]:
    return read_choir_wide(ALTER, visit_date=VISIT).histories


def test_hand_written_areas_agree_with_the_atlas() -> None:
    lookup = area_lookup([c for cols in HAND_AREAS.values() for c in cols])
    for area, cols in HAND_AREAS.items():
        assert {lookup[c] for c in cols} == {area}
        assert len(load_atlas().area_by_slug[area].segments) == len(cols)


def test_alter_sample_against_an_independent_count(alter: list[PatientHistory]) -> None:
    ref = count_choir(ALTER)
    cs = cross_section(alter)
    atlas = load_atlas()
    assert ref.n == cs.n_patients == cs.n_with_body_map == 300
    assert cs.no_follow_up and cs.n_no_region == ref.no_region and cs.n_whole_area == 0
    # every segment, by its CHOIR column
    by_column = {f"X{s.choir}": cs.segments[s.slug].count for s in atlas.segments}
    assert by_column == {c: ref.segments[c] for c in by_column}
    assert sum(ref.segments.values()) > 1000  # the sample marks many segments: the check has teeth
    assert {a: p.count for a, p in cs.areas.items()} == {a.slug: ref.areas[a.slug] for a in atlas.areas}
    assert {a: cs.areas[a].count for a in HAND_AREAS} == dict(ref.hand_areas)
    assert all(p.count == 0 for p in cs.visceral.values())
    assert all(p.denominator == 300 for p in cs.areas.values())
    # number of areas, segments and limbs per patient
    for dist, values in (
        (cs.n_areas, ref.n_areas),
        (cs.n_segments, ref.n_segments),
        (cs.n_limbs, ref.n_limbs),
    ):
        assert dist.counts[: max(values) + 1] == tuple(np.bincount(values))
        assert sum(dist.counts) == 300
        assert dist.median == statistics.median(values)
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        assert (dist.q1, dist.q3) == pytest.approx((q1, q3))
    # limbs
    assert {lb: cs.limbs[lb].count for lb in LIMBS} == {lb: ref.limbs[lb] for lb in LIMBS}
    assert cs.multi_limb.count == sum(k >= 2 for k in ref.n_limbs)
    # both sides of each body part
    pairs = {split(p.right)[0]: (p.either, p.both) for p in cs.mirror_pairs}
    assert pairs == {stem: (ref.either[stem], ref.both[stem]) for stem in pairs}
    assert set(pairs) == {split(a.slug)[0] for a in atlas.areas}
    assert cs.any_bilateral == Proportion.of(ref.any_bilateral, 300)


def test_alter_sample_statistics_from_a_converted_file(tmp_path: Path, alter: list[PatientHistory]) -> None:
    """Converted to the long format and read back, the cross-section is the same as of the histories."""
    path = tmp_path / "alter.csv"
    write_csv(alter, path)
    read = file_statistics(path)
    assert read.stats.cross_section == cross_section(alter)
    assert read.stats.no_follow_up


# ---- pieces -------------------------------------------------------------------------------------------


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    import crpsmap.io.pieces as pieces

    monkeypatch.setattr(pieces, "PIECE_MIN_BYTES", 0)
    monkeypatch.setattr(pieces, "PIECE_ROWS", 40)


@pytest.mark.usefixtures("small_pieces")
def test_pieces_give_the_whole_file_s_cross_section(tmp_path: Path, alter: list[PatientHistory]) -> None:
    from crpsmap.io.pieces import cut_pieces

    path = tmp_path / "alter.csv"
    write_csv(alter, path)
    assert len(cut_pieces(path)) > 5
    seen: list[int] = []
    read = file_statistics(path, workers=2, progress=lambda done, total: seen.append(total))
    assert seen and seen[-1] > 5  # really read in pieces
    whole = cohort_statistics(read_csv(path))
    assert read.stats.cross_section == whole.cross_section == cross_section(alter)
    assert read.stats.to_dict() == whole.to_dict()


@pytest.mark.usefixtures("small_pieces")
def test_pieces_of_a_longitudinal_file(tmp_path: Path) -> None:
    hs = random_histories(200, seed=14, validate=True)
    path = tmp_path / "long.csv"
    write_csv(hs, path)
    read = file_statistics(path, workers=1)
    assert read.stats.cross_section == cross_section(read_csv(path))
    assert read.stats.cross_section is not None and not read.stats.no_follow_up


def test_patient_tables_concatenate_and_align() -> None:
    hs = _hand_cohort()
    whole = PatientTable.from_histories(hs)
    parts = PatientTable.concat([PatientTable.from_histories(hs[:2]), PatientTable.from_histories(hs[2:])])
    assert np.array_equal(parts.baseline_segments, whole.baseline_segments)
    assert np.array_equal(parts.baseline_units, whole.baseline_units)
    assert np.array_equal(parts.involvement_dates, whole.involvement_dates)
    order = whole.patient_id[::-1].copy()
    aligned = whole.aligned_to(np.append(order, "nobody"))
    assert np.array_equal(aligned.baseline_segments[:-1], whole.baseline_segments[::-1])
    assert aligned.involvement_dates[-1] == 0 and aligned.baseline_units[-1] == 0
    assert cross_section(aligned).n_with_body_map == cross_section(whole).n_with_body_map
