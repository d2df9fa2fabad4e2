from __future__ import annotations

import json

from scipy.stats import fisher_exact
from stats_cohort import cohort_data

from crpsmap.stats.cohort import cohort_figures
from crpsmap.stats.literature import MALEKI_CAVEAT, compare_literature, load_targets


def test_bundled_targets_equal_shared_reference() -> None:
    from pathlib import Path

    shared = Path(__file__).resolve().parents[3] / "shared" / "reference" / "literature-targets.json"
    if shared.exists():
        assert load_targets() == {t["id"]: t for t in json.loads(shared.read_text())}


def test_comparisons() -> None:
    histories, results = cohort_data()
    figs = cohort_figures(results)
    comps = {c.target_id: c for c in compare_literature(figs, results, histories)}
    multi = comps["vanrijn2011_multilimb_fraction"]
    assert multi.cohort == figs.multi_limb
    assert multi.published_count == 89 and multi.published_denominator == 185
    table = [[figs.multi_limb.count, figs.multi_limb.denominator - figs.multi_limb.count], [89, 96]]
    assert multi.p_value == fisher_exact(table).pvalue
    assert "Fisher" in (multi.test or "")
    for k, n in (("contralateral", 35), ("ipsilateral", 22), ("diagonal", 10)):
        c = comps[f"vanrijn2011_pattern_{k}"]
        assert c.published_count == n and c.count_derived and "derived" in c.note
    assert not comps["maleki2000_mirror"].comparable and MALEKI_CAVEAT in comps["maleki2000_mirror"].note


def test_binomial_when_only_a_share() -> None:
    histories, results = cohort_data()
    targets = load_targets()
    t = dict(targets["vanrijn2011_multilimb_fraction"], numerator=None, denominator=None)
    targets["vanrijn2011_multilimb_fraction"] = t
    comps = {c.target_id: c for c in compare_literature(cohort_figures(results), results, histories, targets)}
    assert "binomial" in (comps["vanrijn2011_multilimb_fraction"].test or "")


def test_published_interval_and_inside_flag() -> None:
    from statsmodels.stats.proportion import proportion_confint

    histories, results = cohort_data()
    figs = cohort_figures(results)
    multi = {c.target_id: c for c in compare_literature(figs, results, histories)}[
        "vanrijn2011_multilimb_fraction"
    ]
    lo, hi = proportion_confint(89, 185, method="wilson")
    assert multi.published_interval is not None
    assert abs(multi.published_interval[0] - lo) < 1e-12 and abs(multi.published_interval[1] - hi) < 1e-12
    p = figs.multi_limb.proportion
    assert p is not None
    assert multi.inside_published_interval == (lo <= p <= hi)
    assert multi.to_dict()["inside_published_ci"] == multi.inside_published_interval
