"""Plausibility figures (calibrate/plausibility.py): each on hand-built histories whose answer is known by
construction, and all of them on a tiny virtual clinic against an independent recount from the raw
records (not through the classifier)."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter

import pytest
from scipy.stats import binomtest

from conftest import build_history
from crpsmap.atlas import load_atlas
from crpsmap.calibrate import plausibility as pl
from crpsmap.history import INVOLVEMENT_KINDS, TRAUMA_KINDS, PatientHistory, Record, RecordKind
from crpsmap.model import Sim
from crpsmap.model.cohort import RECALLED, is_recalled
from crpsmap.spread import classify

ARM_R = "shoulder_right;upper_arm_right;elbow_right;forearm_right;wrist_right;hand_right"


def classes(hs: list[PatientHistory]) -> list:  # type: ignore[type-arg]
    return [classify(h) for h in hs]


def day(start: str, days: int) -> str:
    return (dt.date.fromisoformat(start) + dt.timedelta(days=days)).isoformat()


# ------------------------------------------------------------------------------ limb counts
def test_limb_counts_ever_and_at_last_observation() -> None:
    a = build_history(
        [
            ("2020-01-01", "onset", "hand_right"),
            ("2020-06-01", "assessment", "hand_right;hand_left"),
            ("2021-01-01", "assessment", "hand_right;hand_left;foot_left"),
        ],
        "A",
    )
    b = build_history([("2020-01-01", "onset", "foot_left")], "B")
    c = build_history(
        [
            ("2020-01-01", "onset", "hand_right"),
            ("2020-03-01", "assessment", "hand_right;hand_left;foot_right;foot_left"),
            ("2021-03-01", "assessment", "hand_right"),  # three limbs resolved
        ],
        "C",
    )
    hs = [a, b, c]
    assert pl.limb_count_distribution(classes(hs)) == {0: 0, 1: 1, 2: 0, 3: 1, 4: 1}
    assert pl.current_limb_count_distribution(hs) == {0: 0, 1: 2, 2: 0, 3: 1, 4: 0}


def test_a_recalled_record_is_not_the_current_state() -> None:
    """Recall names only the newly involved limb; the state at the last observation is the last visit."""
    visit = Record(date=dt.date(2020, 5, 1), kind=RecordKind.assessment, regions=("hand_right", "hand_left"))
    recalled = Record(
        date=dt.date(2020, 6, 1), kind=RecordKind.assessment, regions=("foot_left",), extra=dict(RECALLED)
    )
    h = PatientHistory(
        patient_id="R",
        records=(
            Record(date=dt.date(2020, 1, 1), kind=RecordKind.onset, regions=("hand_right",)),
            visit,
            recalled,
        ),
    )
    assert is_recalled(recalled) and not is_recalled(visit)
    assert pl.current_regions(h) == frozenset({"hand_right", "hand_left"})
    assert pl.ever_regions(h) == frozenset({"hand_right", "hand_left", "foot_left"})


def test_limb_counts_by_year_only_count_patients_followed_that_long() -> None:
    a = build_history(
        [
            ("2020-01-01", "onset", "hand_right"),
            (day("2020-01-01", 500), "assessment", "hand_right;hand_left"),
        ],
        "A",
    )
    b = build_history(
        [("2020-01-01", "onset", "foot_left"), (day("2020-01-01", 200), "assessment", "foot_left")], "B"
    )
    got = pl.limb_counts_at(classes([a, b]), years=(1, 1.5))
    # at 1 year A is followed (500 days) with one limb; B (200 days) is not followed
    assert got["1"] == {0: 0, 1: 1, 2: 0, 3: 0, 4: 0}
    # at 1.5 years (548 days) A's follow-up (500 days) has ended too
    assert sum(got["1.5"].values()) == 0


# ------------------------------------------------------------------------------ state stability
def test_state_stays_known_durations() -> None:
    start = "2020-01-01"
    # P1: second limb on day 100, third on day 465 -> two limbs for 365 days (event)
    p1 = build_history(
        [
            (start, "onset", "hand_right"),
            (day(start, 100), "assessment", "hand_right;hand_left"),
            (day(start, 465), "assessment", "hand_right;hand_left;foot_left"),
        ],
        "P1",
    )
    # P2: second limb on day 100, followed to day 900 with two limbs -> 800 days, censored
    p2 = build_history(
        [
            (start, "onset", "hand_right"),
            (day(start, 100), "assessment", "hand_right;hand_left"),
            (day(start, 900), "assessment", "hand_right;hand_left"),
        ],
        "P2",
    )
    # P3: second and third limb on the same day -> passes through two limbs (skipped)
    p3 = build_history(
        [(start, "onset", "hand_right"), (day(start, 50), "assessment", "hand_right;hand_left;foot_left")],
        "P3",
    )
    stays = pl.state_stays(classes([p1, p2, p3]), states=(1, 2, 3), at_years=(1.0, 2.0))
    two = stays[2]
    assert (two.entered, two.skipped, two.moved_on) == (2, 1, 1)
    # Kaplan-Meier by hand: at day 365 one of two at risk leaves -> 0.5; nothing else happens by 2 years
    assert two.stay["1"] == pytest.approx(0.5)
    assert two.stay["2"] == pytest.approx(0.5)
    assert two.median_days == 365
    one = stays[1]
    assert (one.entered, one.skipped, one.moved_on) == (3, 0, 3)
    assert one.stay["1"] == pytest.approx(0.0)  # everyone left one limb by day 100
    three = stays[3]
    # P1 has three limbs from day 465 to its last record (the same day: 0 days, censored); P3 from day 50
    assert (three.entered, three.moved_on) == (2, 0)
    assert three.stay["1"] is None  # nobody was observed a year in the state: not estimable


# ------------------------------------------------------------------------------ onset extent
def test_onset_extent_known_sites() -> None:
    small = build_history(
        [("2020-01-01", "trauma", "hand_right"), ("2020-02-01", "onset", "hand_right;wrist_right")], "S"
    )
    whole = build_history([("2020-01-01", "trauma", "wrist_right"), ("2020-02-01", "onset", ARM_R)], "W")
    elsewhere = build_history(
        [("2020-01-01", "trauma", "knee_left"), ("2020-02-01", "onset", "foot_left")], "E"
    )
    spontaneous = build_history(
        [("2020-02-01", "onset", "ankle_left;lower_leg_left;knee_left;hip_left")], "N"
    )
    hs = [small, whole, elsewhere, spontaneous]
    got = pl.onset_extent(hs, classes(hs))
    assert got.onsets == 4
    assert (got.arm_onsets, got.arm_with_shoulder) == (2, 1)
    assert (got.leg_onsets, got.leg_with_hip) == (2, 1)
    assert got.whole_limb == 1
    assert got.distal_only == 2  # hand+wrist, foot
    assert (got.with_injury, got.include_injury) == (3, 2)
    assert got.areas_distribution == {1: 1, 2: 1, 4: 1, 6: 1}
    assert got.areas_mean == pytest.approx((1 + 2 + 4 + 6) / 4)
    assert got.area_share["hand"] == pytest.approx(0.5)
    assert got.more_than_one_limb == 0
    assert (got.second_injury, got.include_latest_injury) == (0, 2)  # one injury each: latest = first
    d = got.to_dict()
    assert d["arm_onset_shoulder"]["proportion"] == pytest.approx(0.5)


def test_an_onset_after_a_second_injury_elsewhere_is_counted_apart() -> None:
    """A first injury of one hand, a second of the other hand weeks later, CRPS seen in the second: the
    onset does not include the first injury's area but does include the latest injury's."""
    two = build_history(
        [
            ("2020-01-01", "trauma", "hand_right"),
            ("2020-03-01", "trauma", "hand_left"),
            ("2020-04-01", "onset", "hand_left;wrist_left"),
        ],
        "T",
    )
    again = build_history(  # the same area injured twice is not a second injury elsewhere
        [
            ("2020-01-01", "trauma", "foot_left"),
            ("2020-02-01", "surgery", "foot_left"),
            ("2020-03-01", "onset", "foot_left"),
        ],
        "A",
    )
    hs = [two, again]
    got = pl.onset_extent(hs, classes(hs))
    assert (got.with_injury, got.include_injury) == (2, 1)
    assert (got.second_injury, got.include_latest_injury) == (1, 2)
    d = got.to_dict()
    assert d["onset_after_second_injury"]["proportion"] == pytest.approx(0.5)
    assert d["onset_includes_latest_injury"]["proportion"] == pytest.approx(1.0)


# ------------------------------------------------------------------------------ cranial / visceral
def test_involvement_shares_ever_and_current() -> None:
    neck_then_gone = build_history(
        [
            ("2020-01-01", "onset", "hand_right"),
            ("2020-06-01", "assessment", "hand_right;neck_right"),
            ("2021-01-01", "assessment", "hand_right"),
        ],
        "N",
    )
    bladder = build_history(
        [("2020-01-01", "onset", "foot_left"), ("2020-06-01", "assessment", "foot_left;visceral_bladder")],
        "B",
    )
    face = build_history([("2020-01-01", "onset", "face_left;cranium_left")], "F")
    plain = build_history([("2020-01-01", "onset", "foot_right")], "P")
    got = pl.involvement_shares([neck_then_gone, bladder, face, plain])
    assert got["cranial_any"]["ever"]["count"] == 2 and got["cranial_any"]["current"]["count"] == 1
    assert got["cranium_or_face"]["ever"]["count"] == 1
    assert got["cranial_neck"]["ever"]["count"] == 1 and got["cranial_neck"]["current"]["count"] == 0
    assert got["visceral"]["ever"]["count"] == 1 and got["visceral_bladder"]["current"]["count"] == 1
    assert got["visceral_pelvic"]["ever"]["count"] == 0
    assert all(v["ever"]["denominator"] == 4 for v in got.values())


def test_involvement_by_limbs_splits_by_the_limbs_at_the_end() -> None:
    one_with_face = build_history([("2020-01-01", "onset", "hand_right;face_right")], "A")
    one_plain = build_history([("2020-01-01", "onset", "foot_right")], "B")
    four = build_history(
        [
            ("2020-01-01", "onset", "hand_right"),
            ("2020-06-01", "assessment", "hand_right;hand_left;foot_right;foot_left;cranium_left"),
            ("2020-09-01", "assessment", "hand_right;visceral_bladder"),
        ],
        "C",
    )
    hs = [one_with_face, one_plain, four]
    got = pl.involvement_by_limbs(hs, [classify(h) for h in hs])
    assert [got[str(k)]["patients"] for k in range(5)] == [0, 2, 0, 0, 1]
    assert got["1"]["cranium_or_face"]["count"] == 1 and got["1"]["cranium_or_face"]["proportion"] == 0.5
    assert got["4"]["cranium_or_face"]["count"] == 1 and got["4"]["visceral"]["count"] == 1  # ever, not now
    assert got["1"]["visceral"]["count"] == 0 and got["2"]["cranial_any"]["proportion"] is None


def test_objective_ranges_are_the_table_rows_a_fit_can_add() -> None:
    """A fit may add a row with a range that its objective does not hold already; the figure's value
    is the headline's, its range the table's (assumed stays assumed)."""
    assert pl.objective_range("cranium_or_face").kind == "assumed"
    for key in ("multi_limb", "conversion", "four_limbs", "no_such_figure"):
        with pytest.raises(ValueError, match="no literature range a fit can add"):
            pl.objective_range(key)
    face = build_history([("2020-01-01", "onset", "hand_right;face_right")], "A")
    plain = build_history([("2020-01-01", "onset", "foot_right")], "B")
    got = pl.ranged_figures([face, plain, plain, plain], ["cranium_or_face"])
    ref = pl.reference("cranium_or_face")
    assert got == {"cranium_or_face": [0.25, ref.low, ref.high]}
    assert pl.ranged_figures([face], []) == {}


# ------------------------------------------------------------------------------ horizons, durations
def test_multi_limb_by_horizon_and_disease_durations() -> None:
    start = "2020-01-01"
    early = build_history(
        [(start, "onset", "hand_right"), (day(start, 200), "assessment", "hand_right;hand_left")], "E"
    )
    late = build_history(
        [(start, "onset", "hand_right"), (day(start, 800), "assessment", "hand_right;foot_right")], "L"
    )
    single = build_history([(start, "onset", "foot_left"), (day(start, 548), "assessment", "foot_left")], "S")
    cs = classes([early, late, single])
    got = pl.multi_limb_by_horizon(cs, years=(1, 2, 3))
    assert [got[h]["all"]["count"] for h in ("1", "2", "3")] == [1, 1, 2]
    assert all(got[h]["all"]["denominator"] == 3 for h in ("1", "2", "3"))
    # followed at least h years: 1 year -> E? no (200 days), L (800), S (548): 2; 2 years -> L only
    assert got["1"]["followed"]["denominator"] == 2 and got["1"]["followed"]["count"] == 0
    assert got["2"]["followed"]["denominator"] == 1 and got["3"]["followed"]["denominator"] == 0
    dur = pl.disease_durations(cs)
    assert dur["n"] == 3
    assert dur["median"] == pytest.approx(548 / 365.25)
    assert dur["max"] == pytest.approx(800 / 365.25)


def test_conversion_is_a_wilson_proportion() -> None:
    got = pl.conversion(42, 596)
    ci = binomtest(42, 596).proportion_ci(method="wilson")
    assert got["proportion"] == pytest.approx(42 / 596)
    assert (got["ci_low"], got["ci_high"]) == (pytest.approx(ci.low), pytest.approx(ci.high))


# ------------------------------------------------------------------------------ the literature table
def test_reference_table_rows_are_sourced_or_say_so() -> None:
    refs = pl.references()
    keys = [r.key for r in refs]
    assert len(keys) == len(set(keys))
    for r in refs:
        assert r.source.strip() and r.label.strip()
        if r.kind == "none":
            assert r.low is None and r.high is None and r.judge(0.5) is None
        else:
            assert r.low is not None and r.high is not None and r.low < r.high
            assert r.judge(r.low) and r.judge(r.high) and not r.judge(r.high + 0.01)
        if r.kind == "sourced":
            assert any(ch.isdigit() for ch in r.source)  # a year, a count: something citable
    # the van Rijn interval is the Wilson interval of 89/185, computed here by scipy
    ci = binomtest(89, 185).proportion_ci(method="wilson")
    ml = pl.reference("multi_limb")
    assert (ml.low, ml.high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    # every headline figure has a row, and every row a headline figure
    assert set(pl.headline(_empty_figures())) == set(keys)


def _empty_figures() -> dict:  # type: ignore[type-arg]
    return pl.measure([])


def test_compare_judges_inside_and_outside() -> None:
    rows = {r["key"]: r for r in pl.compare({"conversion": 0.164, "multi_limb": 0.45, "visceral": 0.37})}
    assert rows["conversion"]["inside"] is False
    assert rows["multi_limb"]["inside"] is True
    assert rows["visceral"]["inside"] is None  # no source: reported, not judged
    assert rows["four_limbs"]["value"] is None


# ------------------------------------------------------------------------------ a tiny virtual clinic
@pytest.fixture(scope="module")
def tiny_clinic() -> tuple[Sim, list[PatientHistory], int]:
    # the Numba kernel: the NumPy reference (which the kernel equals, tests/model) took 40 s for the
    # ~1,400 injuries screened in today's structure; every test worker compiles the kernel anyway
    sim = Sim(years=TINY_YEARS, seed=11)
    clinic = sim.clinic(TINY_PATIENTS, block=128)
    return sim, clinic.histories, clinic.n_injuries


def _recount(h: PatientHistory) -> dict[str, object]:
    """Independent reading of one history's raw records (atlas look-ups only, no classifier)."""
    atlas = load_atlas()
    inv = [r for r in h.records if r.kind in INVOLVEMENT_KINDS and r.regions]
    onset = inv[0].date
    first_seen: dict[str, dt.date] = {}
    ever: set[str] = set()
    for r in inv:
        ever.update(r.regions)
        for s in r.regions:
            a = atlas.area_by_slug.get(s)
            if a is not None and a.limb is not None and a.limb not in first_seen:
                first_seen[a.limb] = r.date
    at_onset = {s for r in inv if r.date == onset for s in r.regions}
    injury = next(
        (r.regions[0] for r in h.records if r.kind in TRAUMA_KINDS and r.regions and r.date <= onset), None
    )
    groups = {atlas.area_by_slug[s].body_group if s in atlas.area_by_slug else "visceral" for s in ever}
    return {
        "limbs": len(first_seen),
        "within_h": sum(1 for d in first_seen.values() if (d - onset).days <= TINY_HORIZON * 365.25),
        "head_neck": "head_neck" in groups,
        "visceral": "visceral" in groups,
        "arm_onset": any(
            s.endswith(("_right", "_left")) and s.rsplit("_", 1)[0] in ARM_STEMS for s in at_onset
        ),
        "shoulder": any(s.startswith("shoulder_") for s in at_onset),
        "injury": injury,
        "injury_in_onset": injury in at_onset if injury else None,
    }


ARM_STEMS = ("shoulder", "upper_arm", "elbow", "forearm", "wrist", "hand")
TINY_PATIENTS, TINY_YEARS, TINY_HORIZON = 40, 0.75, 0.5


def test_tiny_clinic_against_an_independent_recount(
    tiny_clinic: tuple[Sim, list[PatientHistory], int],
) -> None:
    sim, hs, n_injuries = tiny_clinic
    figures = pl.measure(hs, n_injuries=n_injuries, years=(TINY_HORIZON,))
    n = TINY_PATIENTS
    assert figures["model_output"] is True and figures["patients"] == len(hs) == n
    rc = [_recount(h) for h in hs]
    counts = Counter(int(x["limbs"]) for x in rc)  # type: ignore[call-overload]
    assert figures["limb_count"] == {k: counts.get(k, 0) for k in range(5)}
    multi_h = sum(1 for x in rc if int(x["within_h"]) >= 2)  # type: ignore[call-overload]
    assert figures["multi_limb_by_horizon"][f"{TINY_HORIZON:g}"]["all"]["count"] == multi_h
    inv = figures["involvement"]
    assert inv["cranial_any"]["ever"]["count"] == sum(bool(x["head_neck"]) for x in rc)
    assert inv["visceral"]["ever"]["count"] == sum(bool(x["visceral"]) for x in rc)
    by_limbs = figures["involvement_by_limbs"]
    for k in range(5):
        group = [x for x in rc if int(x["limbs"]) == k]  # type: ignore[call-overload]
        assert by_limbs[str(k)]["patients"] == len(group), k
        assert by_limbs[str(k)]["cranial_any"]["count"] == sum(bool(x["head_neck"]) for x in group), k
        assert by_limbs[str(k)]["visceral"]["count"] == sum(bool(x["visceral"]) for x in group), k
    onset = figures["onset"]
    assert onset["arm_onsets"] == sum(bool(x["arm_onset"]) for x in rc)
    assert onset["arm_with_shoulder"] == sum(bool(x["arm_onset"] and x["shoulder"]) for x in rc)
    assert onset["with_injury"] == sum(x["injury"] is not None for x in rc)
    assert onset["include_injury"] == sum(x["injury_in_onset"] is True for x in rc)
    assert onset["arm_onsets"] > 0 and onset["with_injury"] > 0  # the recount compared something
    assert figures["conversion"]["proportion"] == pytest.approx(n / n_injuries)
    head = pl.headline(figures)
    assert head["multi_limb"] == pytest.approx(sum(1 for x in rc if int(x["limbs"]) >= 2) / n)  # type: ignore[call-overload]
    assert all(isinstance(v, float) or v is None for v in head.values())
    assert not any(isinstance(v, float) and math.isnan(v) for v in head.values())


def test_save_json_is_atomic_and_readable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "p.json"
    pl.save_json({"model_output": True, "x": [1, 2]}, path)
    assert path.read_text(encoding="utf-8").startswith("{")
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]  # no temporary file left behind


def test_new_injury_involvement_counts_known_cases() -> None:
    """Four new injuries after onset, worked by hand: an uninvolved limb involved within the year (1),
    one involved only later (0), one already involved (not counted), one before onset (not counted);
    a second patient's surgery to an uninvolved limb that stays clear (0)."""
    d = dt.date
    a = PatientHistory(
        patient_id="A",
        records=(
            Record(date=d(2019, 6, 1), kind=RecordKind.trauma, regions=("foot_left",)),  # before onset
            Record(date=d(2020, 1, 1), kind=RecordKind.onset, regions=("hand_right",)),
            Record(date=d(2020, 3, 1), kind=RecordKind.trauma, regions=("hand_left",)),  # -> within a year
            Record(date=d(2020, 4, 1), kind=RecordKind.trauma, regions=("hand_right",)),  # already involved
            Record(date=d(2020, 5, 1), kind=RecordKind.trauma, regions=("foot_right",)),  # -> after 13 months
            Record(date=d(2020, 9, 1), kind=RecordKind.assessment, regions=("hand_right", "hand_left")),
            Record(date=d(2021, 6, 1), kind=RecordKind.assessment, regions=("hand_right", "foot_right")),
        ),
    )
    b = PatientHistory(
        patient_id="B",
        records=(
            Record(date=d(2020, 1, 1), kind=RecordKind.onset, regions=("foot_left",)),
            Record(date=d(2020, 2, 1), kind=RecordKind.surgery, regions=("hand_left",)),
            Record(date=d(2021, 2, 1), kind=RecordKind.assessment, regions=("foot_left",)),
        ),
    )
    p = pl.new_injury_involvement([a, b])
    assert (p.all.count, p.all.denominator) == (1, 3)
    # relative to the first limb: A's left hand is contralateral (1/1), its right foot ipsilateral
    # (0/1); B's left hand, from a left-foot onset, ipsilateral (0/1)
    by = {k: (v.count, v.denominator) for k, v in p.by_pattern.items()}
    assert by == {"contralateral": (1, 1), "ipsilateral": (0, 2), "diagonal": (0, 0)}
    assert pl.new_injury_involvement([a, b], window_days=400).all.count == 2  # foot_right at 396 days
    assert pl.new_injury_involvement([b]).all.count == 0
    assert p.to_dict()["by_pattern"]["contralateral"]["proportion"] == 1.0
