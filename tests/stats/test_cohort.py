from __future__ import annotations

import json

from stats_cohort import cohort_data

from crpsmap.data.synthetic import random_histories
from crpsmap.stats import cohort_statistics
from crpsmap.stats.cohort import cohort_figures, second_limb_event

SHAPE = {"count", "denominator", "proportion", "ci_low", "ci_high"}


def test_json_has_the_promised_names() -> None:
    histories, results = cohort_data()
    d = cohort_statistics(histories, results).to_dict()
    json.dumps(d)
    assert d["n_patients"] == len(histories)
    for k in ("any_spread", "multi_limb", "generalized", "visceral"):
        assert set(d[k]) >= SHAPE
    for k in ("contiguous", "independent", "mirror"):
        assert set(d["maleki"][k]) >= SHAPE
    for k in ("contralateral", "ipsilateral", "diagonal"):
        assert set(d["limb_patterns"][k]) >= SHAPE
        for t in ("spontaneous", "trauma"):
            assert set(d["limb_patterns"]["by_trigger"][t][k]) >= SHAPE
    assert {"median_days", "ci_low", "ci_high"} <= set(d["second_limb_km"])
    for term in d["cox"].values():
        assert set(term) == {"coef", "hazard_ratio", "ci_low", "ci_high", "p"}


def test_counts_by_hand() -> None:
    _, results = cohort_data()
    f = cohort_figures(results)
    assert f.any_spread.count == sum(c.spread for c in results)
    assert f.multi_limb.count == sum(len(c.limbs) >= 2 for c in results)
    spreaders = [c for c in results if c.spread]
    assert f.maleki["mirror"].denominator == len(spreaders)
    assert f.maleki["mirror"].count == sum(any(e.pattern == "mirror" for e in c.events) for c in spreaders)
    lp = f.limb_patterns
    n = sum(p.count for p in lp.overall.values())
    assert all(p.denominator == n for p in lp.overall.values())
    assert n == sum(sum(p.count for p in d.values()) for d in lp.by_trigger.values())
    assert n + lp.excluded_tied_second == sum(1 for c in results if c.first_limb and len(c.limbs) >= 2)
    for c in results:
        e = second_limb_event(c)
        if e is not None:
            assert e.date == c.limb_dates[1]
    assert sum(f.limb_flows.values()) == n
    dirs = f.direction
    assert sum(p.count for p in dirs.values()) == sum(1 for c in results for e in c.events if e.direction)


def test_empty_cohort() -> None:
    d = cohort_statistics([]).to_dict()
    assert d["n_patients"] == 0
    assert d["any_spread"]["proportion"] is None
    assert d["second_limb_km"]["median_days"] is None
    assert d["cox"] == {}


def test_single_record_patients() -> None:
    histories = random_histories(6, seed=2, records_per_patient=1)
    d = cohort_statistics(histories).to_dict()
    assert d["n_single_record"] == 6
    assert d["any_spread"] == {
        "count": 0,
        "denominator": 6,
        "proportion": 0.0,
        "ci_low": 0.0,
        "ci_high": d["any_spread"]["ci_high"],
    }
    assert d["maleki"]["mirror"]["proportion"] is None
