"""The notebook API (crpsmap.analysis): docs/api.md's example runs as written, and what it shows equals the
lower-level functions."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import crpsmap  # noqa: E402
from crpsmap.analysis import Cohort  # noqa: E402
from crpsmap.data import example_cohort_path  # noqa: E402
from crpsmap.data.synthetic import random_histories  # noqa: E402
from crpsmap.history import PatientHistory, Provenance, Record, RecordKind  # noqa: E402
from crpsmap.io import read_csv  # noqa: E402
from crpsmap.spread import classify_all  # noqa: E402
from crpsmap.stats import cohort_statistics  # noqa: E402
from crpsmap.stats.cox import fit_cox  # noqa: E402
from crpsmap.stats.survival import second_limb_km  # noqa: E402

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def doc_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


@pytest.fixture(scope="module")
def doc_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import os

    blocks = doc_blocks()
    assert blocks, "docs/api.md has no python block"
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("doc"))
    ns: dict[str, Any] = {"__name__": "__doc__"}
    try:
        for code in blocks:
            exec(compile(code, str(DOC), "exec"), ns)
        ns["_cwd"] = Path.cwd()
    finally:
        os.chdir(here)
    return ns


def test_docs_example_runs_and_matches_the_statistics(doc_run: dict[str, Any]) -> None:
    ns = doc_run
    histories = read_csv(example_cohort_path())
    stats = cohort_statistics(histories).to_dict()
    summary = ns["summary"]
    for key in ("any_spread", "multi_limb", "generalized", "visceral"):
        row = summary.loc[key]
        want = stats[key]
        assert (row["count"], row["denominator"]) == (want["count"], want["denominator"])
        assert row["share"] == want["proportion"]
        assert (row["ci_low"], row["ci_high"]) == (want["ci_low"], want["ci_high"])
    for k, v in stats["maleki"].items():
        assert summary.loc[f"maleki.{k}", "count"] == v["count"]
    for t, d in stats["limb_patterns"]["by_trigger"].items():
        for k, v in d.items():
            assert summary.loc[f"limb_pattern.{t}.{k}", "denominator"] == v["denominator"]
    assert (ns["_cwd"] / "second-limb-km.png").stat().st_size > 1000
    km = second_limb_km(list(classify_all(histories)))
    assert ns["km"].median_days == km.to_dict()["median_days"]
    assert ns["km"].summary.loc["all", "events"] == km.overall.events  # type: ignore[union-attr]
    cox = fit_cox(list(classify_all(histories)), histories)
    assert ns["cox"].fitted == cox.fitted
    for k, t in cox.terms.items():
        assert ns["cox"].summary.loc[k, "hazard_ratio"] == t.hazard_ratio
    n_events = sum(len(c.events) for c in classify_all(histories))
    assert int(ns["events"]["pattern"].value_counts().sum()) == n_events


def test_cohort_is_exported_lazily() -> None:
    code = "import sys, crpsmap; assert 'crpsmap.analysis' not in sys.modules and 'pandas' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert crpsmap.Cohort is Cohort
    with pytest.raises(AttributeError):
        crpsmap.NoSuchThing  # noqa: B018


def test_classify_is_cached_and_ordered() -> None:
    histories = random_histories(30, seed=4)
    cohort = Cohort(histories)
    first = cohort.classify()
    assert first is cohort.classify()
    assert [c.patient_id for c in first] == [h.patient_id for h in histories]
    assert len(cohort) == 30


def test_km_plot_and_table() -> None:
    import matplotlib.pyplot as plt

    cohort = Cohort(random_histories(200, seed=8))
    fig, ax = plt.subplots()
    assert cohort.km.plot(ax=ax, groups=("all", "upper", "lower"), unit="days") is ax
    assert ax.get_xlabel() == "Time since onset (days)" and "second limb" in ax.get_ylabel()
    assert len(ax.get_legend().get_texts()) == 3
    plt.close(fig)
    ax2 = cohort.km.plot()
    assert ax2.get_xlabel() == "Time since onset (years)"
    plt.close(ax2.figure)
    table = cohort.km.table
    curve = cohort.statistics.km.overall
    assert curve is not None
    all_rows = table[table["group"] == "all"]
    assert np.array_equal(all_rows["time_days"].to_numpy(), np.asarray(curve.times))
    assert np.array_equal(all_rows["survival"].to_numpy(), np.asarray(curve.survival))
    assert int(all_rows["events"].sum()) == curve.events
    assert int(all_rows["events"].sum() + all_rows["censored"].sum()) == curve.n
    assert all_rows["at_risk"].iloc[0] == curve.n
    with pytest.raises(ValueError):
        cohort.km.plot(groups=("arms",))


def test_cox_summary_and_model() -> None:
    cohort = Cohort(random_histories(300, seed=9))
    s = cohort.cox.summary
    assert list(s.index) == list(cohort.statistics.cox.covariates)
    model = cohort.cox.model
    assert np.allclose(s["coef"].to_numpy(), np.asarray(model.params))
    assert np.allclose(s["se"].to_numpy(), np.asarray(model.bse))
    assert (s["ci_low"] < s["hazard_ratio"]).all() and (s["hazard_ratio"] < s["ci_high"]).all()
    assert set(cohort.cox.data.columns) >= {"id", "start", "stop", "event", "limbs_affected"}


def test_cox_not_fitted_has_an_empty_summary_and_a_note() -> None:
    cohort = Cohort(random_histories(5, seed=3, records_per_patient=2))
    assert not cohort.cox.fitted and cohort.cox.model is None
    assert cohort.cox.summary.empty
    assert cohort.cox.note and "not fitted" in cohort.cox.note
    assert cohort.cox.note in cohort._repr_html_()


def test_events_frame() -> None:
    cohort = Cohort(random_histories(50, seed=12))
    ev = cohort.events
    assert list(ev.columns) == [
        "patient_id",
        "date",
        "area",
        "pattern",
        "limb_pattern",
        "direction",
        "trigger",
    ]
    assert len(ev) == sum(len(c.events) for c in cohort.classify())
    assert pd.api.types.is_datetime64_any_dtype(ev["date"])


def test_empty_cohort() -> None:
    cohort = Cohort([])
    assert cohort.summary.loc["any_spread", "denominator"] == 0
    assert np.isnan(cohort.summary.loc["any_spread", "share"])
    assert cohort.km.table.empty and cohort.events.empty and cohort.cox.summary.empty
    assert "0 patients" in repr(cohort) and "0 patients" in cohort._repr_html_()


def _hostile(provenance: Provenance) -> PatientHistory:
    d = dt.date(2020, 1, 1)
    return PatientHistory(
        patient_id="<script>alert(1)</script>",
        provenance=provenance,
        records=(Record(date=d, kind=RecordKind.onset, regions=("hand_right",)),),
    )


def test_html_repr_is_escaped_and_shows_provenance() -> None:
    cohort = Cohort([_hostile(Provenance.model), _hostile(Provenance.synthetic)], name="<b>& 'x'")
    html = cohort._repr_html_()
    assert "<b>&" not in html and "&lt;b&gt;&amp;" in html
    assert "<script>" not in html
    assert "model output (virtual patient): 1" in html and "synthetic (made-up) data: 1" in html
    assert "Model output" in html
    assert "model output (virtual patient): 1" in repr(cohort)
    assert cohort.provenance == {Provenance.synthetic: 1, Provenance.model: 1}


def test_from_csv_reads_the_registry_export_format(tmp_path: Path) -> None:
    from crpsmap.io import write_csv

    histories = random_histories(20, seed=5)
    path = tmp_path / "export.csv"
    write_csv(histories, path)
    cohort = Cohort.from_csv(path)
    assert cohort.name == "export.csv" and len(cohort) == 20
    direct = Cohort(histories).summary
    pd.testing.assert_frame_equal(cohort.summary, direct)
