"""A Python API for notebooks: one `Cohort` object with its figures, survival curve, Cox model and events.

Modelled on lifelines' fitters: build it, then read attributes that are pandas DataFrames or objects with
`.summary`, `.plot(ax=None)` and the fitted model underneath. Every number comes from the functions the
report uses (`crpsmap.stats`), computed once and cached::

    cohort = Cohort.from_csv("cohort.csv")      # or Cohort(histories), or a registry CSV export
    cohort.summary                               # figures: count, denominator, share, Wilson 95% CI
    cohort.km.plot()                             # Kaplan-Meier of time to a second limb
    cohort.cox.summary                           # hazard ratios; cohort.cox.model is the statsmodels fit
    cohort.events                                # one row per spread event
    cohort.prevalence                            # at the first time point: share per segment, area, limb
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from crpsmap.history import PROVENANCE_LABELS, PatientHistory, Provenance
from crpsmap.spread import DEFAULT_TRAUMA_WINDOW_DAYS, Classification, classify_all
from crpsmap.stats.cox import TERM_LABELS, CoxResult
from crpsmap.stats.cross_section import CrossSection, cross_section
from crpsmap.stats.proportions import Proportion
from crpsmap.stats.summary import CohortStatistics, cohort_statistics
from crpsmap.stats.survival import KMCurve, SecondLimbKM, km_estimate, second_limb_data

if TYPE_CHECKING:
    from matplotlib.axes import Axes

DAYS_PER_YEAR = 365.25
SUMMARY_COLUMNS = ["label", "count", "denominator", "share", "ci_low", "ci_high"]
PREVALENCE_COLUMNS = ["kind", "label", "count", "denominator", "share", "ci_low", "ci_high"]
EVENT_COLUMNS = ["patient_id", "date", "area", "pattern", "limb_pattern", "direction", "trigger"]
KM_GROUPS = {"all": "all", "upper": "upper limb onset", "lower": "lower limb onset"}


def _summary_rows(stats: CohortStatistics) -> list[tuple[str, str, Proportion]]:
    """(key, label, proportion) of every cohort figure, in the order of the report."""
    f = stats.figures
    rows = [
        ("any_spread", "Spread beyond the onset areas", f.any_spread),
        ("multi_limb", "More than one limb at last follow-up", f.multi_limb),
        ("generalized", "Generalized (four limbs and the trunk)", f.generalized),
        ("visceral", "Visceral involvement", f.visceral),
    ]
    rows += [(f"maleki.{k}", f"Any {k} spread (among patients who spread)", p) for k, p in f.maleki.items()]
    lp = f.limb_patterns
    rows += [(f"limb_pattern.{k}", f"Second limb {k}", p) for k, p in lp.overall.items()]
    for trigger, d in lp.by_trigger.items():
        rows += [
            (f"limb_pattern.{trigger}.{k}", f"Second limb {k}, {trigger} second limb", p)
            for k, p in d.items()
        ]
    rows += [
        (f"direction.{k}", f"New limb {k} (share of new-limb events)", p) for k, p in f.direction.items()
    ]
    return rows


class KaplanMeier:
    """Kaplan-Meier estimate of the time from onset to a second limb (overall and by onset girdle)."""

    def __init__(self, km: SecondLimbKM, durations: pd.DataFrame) -> None:
        self.result = km
        #: one row per patient in the analysis: patient_id, duration_days, observed, girdle
        self.data = durations

    @property
    def curves(self) -> dict[str, KMCurve]:
        """The fitted curves by group ("all", "upper", "lower"); a group without patients is absent."""
        out = {"all": self.result.overall} if self.result.overall is not None else {}
        out.update(self.result.by_girdle)
        return out

    @property
    def median_days(self) -> float | None:
        """Median time to a second limb (None when not reached or without patients)."""
        return self.result.overall.median_days if self.result.overall else None

    @property
    def excluded(self) -> dict[str, int]:
        r = self.result
        return {
            "no_onset": r.excluded_no_onset,
            "no_limb": r.excluded_no_limb,
            "ambiguous_first_limb": r.excluded_ambiguous_first_limb,
        }

    @property
    def summary(self) -> pd.DataFrame:
        """One row per group: patients, events, median time (days, years) with its 95% interval."""
        rows = []
        for key, c in self.curves.items():
            rows.append(
                {
                    "group": key,
                    "patients": c.n,
                    "events": c.events,
                    "median_days": c.median_days,
                    "median_ci_low_days": c.median_ci_low,
                    "median_ci_high_days": c.median_ci_high,
                    "median_years": None if c.median_days is None else c.median_days / DAYS_PER_YEAR,
                }
            )
        cols = ["group", "patients", "events", "median_days", "median_ci_low_days", "median_ci_high_days"]
        return pd.DataFrame(rows, columns=[*cols, "median_years"]).set_index("group")

    @property
    def table(self) -> pd.DataFrame:
        """The survival table: per group and time (days since onset), patients at risk, second limbs
        seen, censored, survival (share still without a second limb) and its 95% band."""
        frames = []
        for key in self.curves:
            sel = self.data if key == "all" else self.data[self.data["girdle"] == key]
            d = sel["duration_days"].to_numpy(dtype=float)
            e = sel["observed"].to_numpy(dtype=int)
            times, surv, lo, hi = km_estimate(d, e)
            idx = np.searchsorted(times, d)
            removed = np.bincount(idx, minlength=len(times))
            events = np.bincount(idx, weights=e, minlength=len(times)).astype(int)
            at_risk = len(d) - np.concatenate(([0], np.cumsum(removed)[:-1]))
            frames.append(
                pd.DataFrame(
                    {
                        "group": key,
                        "time_days": times,
                        "at_risk": at_risk,
                        "events": events,
                        "censored": removed - events,
                        "survival": surv,
                        "ci_low": lo,
                        "ci_high": hi,
                    }
                )
            )
        if not frames:
            cols = ["group", "time_days", "at_risk", "events", "censored", "survival", "ci_low", "ci_high"]
            return pd.DataFrame(columns=cols)
        return pd.concat(frames, ignore_index=True)

    def plot(
        self,
        ax: Axes | None = None,
        *,
        groups: Sequence[str] = ("all",),
        unit: str = "years",
        ci: bool = True,
    ) -> Axes:
        """Step plot of the share still without a second limb, with 95% bands; returns the Axes.

        `groups`: any of "all", "upper", "lower"; `unit`: "years" or "days" for the time axis."""
        import matplotlib.pyplot as plt

        if unit not in ("years", "days"):
            raise ValueError("unit must be 'years' or 'days'")
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        scale = DAYS_PER_YEAR if unit == "years" else 1.0
        curves = self.curves
        for g in groups:
            if g not in KM_GROUPS:
                raise ValueError(f"unknown group {g!r}; expected one of {', '.join(KM_GROUPS)}")
            c = curves.get(g)
            if c is None:
                continue
            t = np.asarray(c.times) / scale
            label = f"{KM_GROUPS[g]} (n={c.n})"
            (line,) = ax.step(t, c.survival, where="post", label=label)
            if ci:
                ax.fill_between(t, c.ci_low, c.ci_high, step="post", alpha=0.2, color=line.get_color())
        ax.set_xlabel(f"Time since onset ({unit})")
        ax.set_ylabel("Share without a second limb")
        ax.set_ylim(0, 1.02)
        ax.set_title("Time from onset to a second limb (Kaplan-Meier, 95% band)")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="lower left")
        return ax


class CoxModel:
    """The Cox model of time to the next limb (time-varying limbs affected; Efron ties)."""

    def __init__(self, result: CoxResult, rows: pd.DataFrame) -> None:
        self.result = result
        #: the counting-process rows the model was fitted on
        self.data = rows

    @property
    def fitted(self) -> bool:
        return self.result.fitted

    @property
    def note(self) -> str | None:
        """Why the model was not fitted, in plain words (None when fitted)."""
        return self.result.note

    @property
    def model(self) -> Any:
        """The fitted library object (statsmodels PHRegResults), or None when not fitted."""
        return self.result.model

    @property
    def summary(self) -> pd.DataFrame:
        """One row per covariate: coef, hazard ratio with 95% interval, standard error, p."""
        cols = ["label", "coef", "hazard_ratio", "ci_low", "ci_high", "se", "p"]
        if not self.fitted:
            return pd.DataFrame(columns=cols).rename_axis("covariate")
        se = self._standard_errors()
        rows = {
            k: {
                "label": TERM_LABELS.get(k, k),
                "coef": t.coef,
                "hazard_ratio": t.hazard_ratio,
                "ci_low": t.ci_low,
                "ci_high": t.ci_high,
                "se": se.get(k, np.nan),
                "p": t.p,
            }
            for k, t in self.result.terms.items()
        }
        return pd.DataFrame.from_dict(rows, orient="index", columns=cols).rename_axis("covariate")

    def _standard_errors(self) -> dict[str, float]:
        m = self.model
        if m is None:
            return {}
        if hasattr(m, "bse"):  # statsmodels
            return {c: float(v) for c, v in zip(self.result.covariates, m.bse, strict=True)}
        return {str(c): float(v) for c, v in m.summary["se(coef)"].items()}  # lifelines


class Cohort:
    """A cohort of patient histories: classification, figures, Kaplan-Meier, Cox model and events.

    Build it from histories (`Cohort(histories)`) or a CSV long-format file, the registry's CSV export
    included (`Cohort.from_csv(path)`). Results are computed on first use and cached.
    """

    def __init__(
        self,
        histories: Iterable[PatientHistory],
        *,
        name: str | None = None,
        trauma_window_days: int = DEFAULT_TRAUMA_WINDOW_DAYS,
    ) -> None:
        self.histories: tuple[PatientHistory, ...] = tuple(histories)
        self.name = name or "cohort"
        self.trauma_window_days = trauma_window_days
        self._results: list[Classification] | None = None

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str], *, name: str | None = None) -> Cohort:
        """Read a CSV long-format file (`crpsmap.io.read_csv`: a file with any problem is rejected with
        `HistoryImportError`). The registry's export (`crpsmap registry export`) is such a file."""
        from crpsmap.io import read_csv

        return cls(read_csv(Path(path)), name=name or Path(path).name)

    def __len__(self) -> int:
        return len(self.histories)

    def __repr__(self) -> str:
        prov = ", ".join(f"{PROVENANCE_LABELS[p]}: {n}" for p, n in self.provenance.items())
        return f"<Cohort {self.name!r}: {len(self)} patients ({prov or 'empty'})>"

    @property
    def provenance(self) -> dict[Provenance, int]:
        """Patients by where their records come from (clinic, synthetic, model output)."""
        counts = Counter(Provenance(h.provenance) for h in self.histories)
        return {p: counts[p] for p in Provenance if counts[p]}

    def classify(self) -> list[Classification]:
        """The spread classification of every patient, in the order of the histories (cached)."""
        if self._results is None:
            self._results = list(classify_all(self.histories, trauma_window_days=self.trauma_window_days))
        return self._results

    @cached_property
    def statistics(self) -> CohortStatistics:
        """Everything the report shows (`crpsmap.stats.cohort_statistics`), with the fitted Cox model."""
        return cohort_statistics(self.histories, self.classify(), keep_cox_model=True)

    @cached_property
    def summary(self) -> pd.DataFrame:
        """The cohort figures: count, denominator, share and Wilson 95% interval, one row per figure.

        The index names the figure as in the JSON of `crpsmap report --json` (`maleki.mirror`,
        `limb_pattern.trauma.diagonal`, ...)."""
        rows = {
            key: (label, p.count, p.denominator, p.proportion, p.ci_low, p.ci_high)
            for key, label, p in _summary_rows(self.statistics)
        }
        df = pd.DataFrame.from_dict(rows, orient="index", columns=SUMMARY_COLUMNS)
        df[["share", "ci_low", "ci_high"]] = df[["share", "ci_low", "ci_high"]].astype(float)
        return df.rename_axis("figure")

    @cached_property
    def km(self) -> KaplanMeier:
        """Kaplan-Meier of the time from onset to a second limb."""
        data, _ = second_limb_data(self.classify())
        durations = pd.DataFrame(
            {
                "patient_id": data.patient_ids,
                "duration_days": data.durations,
                "observed": data.observed,
                "girdle": data.girdle,
            }
        )
        return KaplanMeier(self.statistics.km, durations)

    @cached_property
    def cox(self) -> CoxModel:
        """The Cox model of time to the next limb; `.summary`, `.model`, `.note`."""
        from crpsmap.stats.cox import model_table

        rows, _, _, _ = model_table(self.classify(), self.histories)
        return CoxModel(self.statistics.cox, rows)

    @cached_property
    def cross_section(self) -> CrossSection:
        """The cohort at each patient's first time point (`crpsmap.stats.cross_section`): prevalence of
        every segment, area, limb and visceral system, number of areas and limbs, both sides of each
        body part. `.no_follow_up` says whether any patient has a second time point (else spread over
        time cannot be judged)."""
        cs = self.statistics.cross_section
        return cs if cs is not None else cross_section(self.histories)

    @cached_property
    def prevalence(self) -> pd.DataFrame:
        """At the first time point: one row per CHOIR segment, area, visceral system and limb (index: its
        slug or limb name), with `kind`, `label`, `count`, `denominator`, `share` and the Wilson 95%
        interval. The denominator is every patient with a body map."""
        from crpsmap.atlas import load_atlas
        from crpsmap.atlas.names import everyday_name, limb_name

        atlas = load_atlas()
        cs = self.cross_section
        rows: dict[str, tuple[Any, ...]] = {}
        groups: list[tuple[str, dict[str, Proportion]]] = [
            ("segment", cs.segments),
            ("area", cs.areas),
            ("visceral", cs.visceral),
            ("limb", cs.limbs),
        ]
        for kind, shares in groups:
            for key, p in shares.items():
                label = limb_name(key) if kind == "limb" else everyday_name(atlas, key)
                rows[key] = (kind, label, p.count, p.denominator, p.proportion, p.ci_low, p.ci_high)
        df = pd.DataFrame.from_dict(rows, orient="index", columns=PREVALENCE_COLUMNS)
        df[["share", "ci_low", "ci_high"]] = df[["share", "ci_low", "ci_high"]].astype(float)
        return df.rename_axis("region")

    @cached_property
    def events(self) -> pd.DataFrame:
        """One row per spread event (newly involved area): patient, date, area, Maleki pattern, limb
        pattern and direction (first area of a new limb only), trigger."""
        rows = [
            (c.patient_id, e.date, e.area, e.pattern, e.limb_pattern, e.direction, e.trigger)
            for c in self.classify()
            for e in c.events
        ]
        df = pd.DataFrame(rows, columns=EVENT_COLUMNS)
        df["date"] = pd.to_datetime(df["date"])
        return df

    def _repr_html_(self) -> str:
        from jinja2 import Environment

        env = Environment(autoescape=True)
        km = self.statistics.km.overall
        median = None
        if km is not None and km.median_days is not None:
            median = f"{km.median_days / DAYS_PER_YEAR:.1f} years (n={km.n})"
        cox = self.statistics.cox
        figures = [
            (label, p.percent(), p.count, p.denominator) for _, label, p in _summary_rows(self.statistics)
        ]
        return env.from_string(_HTML).render(
            name=self.name,
            n=len(self),
            provenance=[(PROVENANCE_LABELS[p], n) for p, n in self.provenance.items()],
            model_output=Provenance.model in self.provenance,
            figures=figures[:4],
            median=median,
            cox_note=cox.note,
            cox_terms=[(TERM_LABELS.get(k, k), t) for k, t in cox.terms.items()],
        )


_HTML = """<div class="crpsmap-cohort">
<strong>Cohort {{ name }}</strong>: {{ n }} patients
{%- if provenance %} ({% for label, k in provenance %}{{ label }}: {{ k }}{% if not loop.last %}, {% endif %}
{%- endfor %}){% endif %}.
{%- if model_output %} <em>Model output: virtual patients of a hypothesis, not observations.</em>{% endif %}
<table>
<thead><tr><th>figure</th><th>share (95% CI)</th><th>count</th><th>of</th></tr></thead>
<tbody>
{%- for label, pct, k, d in figures %}
<tr><td>{{ label }}</td><td>{{ pct }}</td><td>{{ k }}</td><td>{{ d }}</td></tr>
{%- endfor %}
<tr><td>Median time to a second limb</td><td colspan="3">{{ median or "not reached" }}</td></tr>
</tbody></table>
{%- if cox_note %}
<p>{{ cox_note }}</p>
{%- else %}
<p>Cox model, hazard ratios of a new limb (95% CI):
{%- for label, t in cox_terms %} {{ label }} {{ "%.2f"|format(t.hazard_ratio) }}
({{ "%.2f"|format(t.ci_low) }}&ndash;{{ "%.2f"|format(t.ci_high) }}){{ ";" if not loop.last else "." }}
{%- endfor %}</p>
{%- endif %}
</div>"""


__all__ = ["Cohort", "CoxModel", "KaplanMeier"]
