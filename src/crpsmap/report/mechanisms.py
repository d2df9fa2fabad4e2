"""The report's "why" section: which explanation of spread the model favours for a data set, if any.

It shows the JSON of a mechanism comparison (`crpsmap calibrate --compare-mechanisms`, or the bundled
comparison for van Rijn 2011 made by scripts/compare_mechanisms.py), labelled model output, with its
uncertainty: the criterion's mean and SD over replicated held-out clinics and the share of clinics each
explanation wins, with and without the conversion constraint; whether the best explanation is told apart
from the next (`calibrate.mechanisms.separated`, recomputed here from the JSON's numbers, so a file cannot
claim a verdict its numbers do not carry) or the plain sentence that the data cannot tell them apart; the
model-recovery confusion matrix and the Markov baseline when the comparison has them. Its first sentence
names the data the comparison was fitted to, read from the comparison's own metadata (`targets.source`),
never from the file being reported: a comparison fitted to a published cohort says nothing about a
clinic's patients. It is shown only when the caller asks for it. Every label from the JSON is text for the
template to escape.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from crpsmap.report.view import Cell, Column, Figure, MechanismsView, Table

BUNDLED = "mechanisms-vanrijn2011.json"


def bundled_comparison() -> dict[str, Any] | None:
    """The comparison fitted to van Rijn 2011 that ships with crpsmap, if it has been made."""
    res = resources.files("crpsmap.calibrate").joinpath("fitted").joinpath(BUNDLED)
    if not res.is_file():
        return None
    return dict(json.loads(res.read_text(encoding="utf-8")))


def _num(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _int(v: Any) -> int | None:
    x = _num(v)
    return None if x is None else int(x)


def _fmt(v: float | None, spec: str = ".1f") -> str:
    return "–" if v is None else format(v, spec)


def short_source(source: str) -> str:
    """'van Rijn et al. 2011' from a full reference; a source without a year ('clinic registry') as is."""
    year = re.search(r"\b(19|20)\d{2}\b", source)
    if not year:
        return source.strip()
    words = source.split(",")[0].split(".")[0].split()
    if len(words) > 1 and words[-1].isupper():
        words = words[:-1]
    return f"{' '.join(words)} et al. {year.group(0)}"


def _structure_words(structure: Mapping[str, Any]) -> str:
    cols = "with" if structure.get("somatotopy") else "without"
    rule = (
        "CRPS judged on day 91 and at the first visit"
        if structure.get("diagnosis") == "screen_day"
        else "CRPS judged at the first visit"
    )
    return f"{cols} the somatotopic columns of the limb enlargements, {rule}"


def structure_sentence(d: Mapping[str, Any]) -> str:
    """Empty when the comparison was computed in today's default model structure (or does not say);
    otherwise the sentence that says it was not, so an old comparison is never read as today's model's."""
    made = d.get("structure")
    if not isinstance(made, Mapping):
        return ""
    from crpsmap.calibrate.fit import model_structure
    from crpsmap.model import Sim

    today = model_structure(Sim())
    if {k: made.get(k) for k in today} == today:
        return ""
    return (
        f"It was computed in an earlier structure of the model ({_structure_words(made)}), not in "
        f"today's default ({_structure_words(today)}), and has not yet been recomputed."
    )


def fitted_to_sentence(d: Mapping[str, Any], *, bundled: bool = False) -> str:
    """The section's first sentence: the data the comparison was fitted to, from its own metadata. For the
    bundled comparison (a published cohort) it adds that these are not the patients of the report."""
    targets = d.get("targets")
    targets = targets if isinstance(targets, Mapping) else {}
    source = targets.get("source")
    multi = targets.get("multi_limb")
    n = _int(multi.get("denominator")) if isinstance(multi, Mapping) else None
    if not isinstance(source, str) or not source.strip():
        return (
            "This comparison does not record the data it was fitted to, so it cannot be tied to any cohort, "
            "this one included."
        )
    size = f" ({n} patients)" if n else ""
    tail = ", a published cohort bundled with crpsmap, not the patients of this report" if bundled else ""
    return (
        f"This comparison was fitted to {short_source(source)}{size}, as the comparison itself records: the "
        "share of patients with more than one limb and the first-to-second-limb patterns of those "
        f"data{tail}."
    )


@dataclass(frozen=True)
class MechanismsSection(MechanismsView):
    """The "why" view with its further figures: model recovery and the phenomenological baseline."""

    extra: tuple[Figure, ...] = ()


def _spread(c: Mapping[str, Any], criterion: str) -> tuple[float, float, float, list[float]] | None:
    """(mean, SD, share best, values) of a candidate's criterion, or None when the JSON lacks them."""
    crit = c.get("criterion")
    block = crit.get(criterion) if isinstance(crit, Mapping) else None
    if not isinstance(block, Mapping):
        return None
    mean, sd, share = _num(block.get("mean")), _num(block.get("sd")), _num(block.get("share_best"))
    raw = block.get("values")
    values = [v for v in (_num(x) for x in raw) if v is not None] if isinstance(raw, list) else []
    if mean is None or sd is None:
        return None
    return mean, sd, share or 0.0, values


def _pm(mean: float, sd: float) -> str:
    from crpsmap.calibrate.mechanisms import mean_sd  # the one way a criterion's spread is written

    return mean_sd(mean, sd)


def _label(c: Mapping[str, Any]) -> str:
    return str(c.get("label") or c.get("name") or "unnamed")


def _verdict_sentences(
    cands: Sequence[Mapping[str, Any]], criterion: str, n_clinics: int | None
) -> tuple[str, bool] | None:
    """The favoured-or-not sentence for one criterion, and whether the best is told apart."""
    from crpsmap.calibrate.mechanisms import AIC_CLOSE, CANNOT_TELL_APART, DATA_FAVOUR, SPREAD_Z, separated

    scored = [(c, s) for c in cands if (s := _spread(c, criterion)) is not None]
    if not scored:
        return None
    scored.sort(key=lambda cs: cs[1][0])
    (best, (m, sd, share, vals)) = scored[0]
    n = n_clinics or len(vals)
    lowest = (
        f"has the lowest mean AIC ({_pm(m, sd)}, mean ± SD over {n} held-out clinics; lowest in "
        f"{share:.0%} of them)"
    )
    if len(scored) == 1:
        return f"“{_label(best)}” {lowest}; with a single candidate there is no ranking to judge.", False
    nxt, (m2, sd2, _, _) = scored[1]
    if separated((m, sd), (m2, sd2)):
        return (
            f"{DATA_FAVOUR} “{_label(best)}”: it {lowest}, and its interval (mean ± "
            f"{SPREAD_Z:g} SD) lies below that of the next, “{_label(nxt)}” ({_pm(m2, sd2)}).",
            True,
        )
    return (
        f"{CANNOT_TELL_APART} “{_label(best)}” {lowest}, but the next, “{_label(nxt)}” ({_pm(m2, sd2)}), "
        f"lies within the spread (intervals of mean ± {SPREAD_Z:g} SD overlap, or the means differ by less "
        f"than {AIC_CLOSE:g}).",
        False,
    )


def _recovery_figure(rec: Mapping[str, Any], labels: Mapping[str, str]) -> Figure | None:
    conf = rec.get("confusion")
    names = rec.get("candidates")
    if not isinstance(conf, Mapping) or not isinstance(names, list):
        return None
    block = conf.get("with_conversion")
    if not isinstance(block, Mapping):
        return None
    names = [str(n) for n in names]
    rows = []
    for t in names:
        row = block.get(t)
        row = row if isinstance(row, Mapping) else {}
        counts = [_int(row.get(w)) or 0 for w in names]
        total = sum(counts)
        right = (_int(row.get(t)) or 0) / total if total else None
        rows.append(
            (
                Cell(labels.get(t, t), header=True),
                *(Cell(str(k), num=True, strong=(w == t)) for k, w in zip(counts, names, strict=True)),
                Cell("–" if right is None else f"{right:.0%}", num=True),
            )
        )
    n, reps = _int(rec.get("n_patients")), _int(rec.get("replicates"))
    acc = rec.get("accuracy")
    acc_with = _num(acc.get("with_conversion")) if isinstance(acc, Mapping) else None
    acc_without = _num(acc.get("without_conversion")) if isinstance(acc, Mapping) else None
    caption = (
        f"Model recovery (model output): {reps} simulated clinics of {n} virtual patients from each "
        "explanation's fitted parameters; every explanation fitted to each clinic (the best of its own "
        "search bank) and the lowest AIC wins. Rows: the explanation that made the clinic; columns: the one "
        "that won."
        + (f" Right in {acc_with:.0%} of clinics" if acc_with is not None else "")
        + (f" ({acc_without:.0%} without the conversion constraint)." if acc_without is not None else ".")
        + " See docs/calibration.md."
    )
    table = Table(
        columns=(
            Column("simulated from"),
            *(Column(f"won: {w}", num=True) for w in names),
            Column("right", num=True),
        ),
        rows=tuple(rows),
        caption="Model recovery: confusion matrix",
        css_class="wide",
    )
    return Figure(
        heading="Can a clinic of this size tell them apart? Model recovery", table=table, caption=caption
    )


def _baseline_figure(base: Mapping[str, Any], cands: Sequence[Mapping[str, Any]]) -> Figure | None:
    aic = _num(base.get("aic"))
    k = _int(base.get("n_parameters"))
    if aic is None or k is None:
        return None
    trauma = base.get("heldout_trauma")
    t_aic = _num(trauma.get("aic")) if isinstance(trauma, Mapping) else None
    rows = [
        (
            Cell("Markov description of limb sets (no mechanism)", header=True),
            Cell(str(k), num=True),
            Cell(f"{aic:.1f}", num=True),
            Cell("–" if t_aic is None else f"{t_aic:.1f}", sub="one trauma share for all patterns", num=True),
        )
    ]
    for c in cands:
        s = _spread(c, "with_conversion")
        tr = c.get("heldout_trauma")
        pat = tr.get("pattern") if isinstance(tr, Mapping) else None
        raw = tr.get("as_predicted") if isinstance(tr, Mapping) else None
        pm, psd = (_num(pat.get("mean")), _num(pat.get("sd"))) if isinstance(pat, Mapping) else (None, None)
        rm, rsd = (_num(raw.get("mean")), _num(raw.get("sd"))) if isinstance(raw, Mapping) else (None, None)
        rows.append(
            (
                Cell(_label(c), header=True),
                Cell(str(_int(c.get("n_parameters")) or len(c.get("free") or [])), num=True),
                Cell("–" if s is None else _pm(s[0], s[1]), num=True),
                Cell(
                    "–" if pm is None or psd is None else _pm(pm + 2.0, psd),
                    sub=""
                    if rm is None or rsd is None
                    else f"as predicted (nothing fitted): G {_pm(rm, rsd)}",
                    num=True,
                ),
            )
        )
    table = Table(
        columns=(
            Column("model"),
            Column("parameters fitted", num=True),
            Column("AIC, fitted figures", num=True),
            Column("trauma before the second limb (held out): G + 2", num=True),
        ),
        rows=tuple(rows),
        caption="A phenomenological baseline against the explanations",
        css_class="wide",
    )
    observed = trauma.get("observed") if isinstance(trauma, Mapping) else None
    seen = ""
    if isinstance(observed, Mapping):
        shares = []
        for p, o in observed.items():
            k, n = (_int(o.get("trauma")), _int(o.get("of"))) if isinstance(o, Mapping) else (None, None)
            if k is not None and n:
                shares.append(f"{k} of {n} {p}")
        seen = f" ({', '.join(shares)})" if shares else ""
    caption = (
        "The baseline has one rate per first-to-second-limb transition (contralateral, ipsilateral, "
        "diagonal, two limbs at once): as many rates as fitted figures, so it reproduces them exactly "
        "(G = 0) and no explanation can beat it on them. The held-out figure, which no model was fitted "
        f"to, is the number of second limbs preceded by a new trauma{seen}. Each model gets one parameter "
        "fitted to it: the baseline one trauma share for every pattern, an explanation one common shift (log "
        "odds) of the shares its clinics predict, so what is judged is which patterns traumas precede; lower "
        "is better. Explanations: mean ± SD over the held-out clinics."
    )
    return Figure(heading="Does a mechanism beat a description? A baseline", table=table, caption=caption)


def _beats_baseline(base: Mapping[str, Any], cands: Sequence[Mapping[str, Any]]) -> list[str] | None:
    """The explanations whose held-out trauma criterion is told apart from (below) the baseline's, by the
    comparison's rule; None when the comparison has no held-out figure."""
    from crpsmap.calibrate.mechanisms import separated

    trauma = base.get("heldout_trauma")
    t_aic = _num(trauma.get("aic")) if isinstance(trauma, Mapping) else None
    if t_aic is None:
        return None
    out = []
    for c in cands:
        tr = c.get("heldout_trauma")
        pat = tr.get("pattern") if isinstance(tr, Mapping) else None
        if isinstance(pat, Mapping):
            m, sd = _num(pat.get("mean")), _num(pat.get("sd"))
            if m is not None and sd is not None and separated((m + 2.0, sd), (t_aic, 0.0)):
                out.append(_label(c))
    return out


def mechanisms_view(d: Mapping[str, Any], *, bundled: bool = False) -> MechanismsView:
    """The section's view model: fitted-to sentence, scope, verdict with its uncertainty, table, recovery and
    baseline. `bundled`: the comparison is the one shipped with crpsmap (fitted to van Rijn 2011)."""
    raw = d.get("candidates")
    cands = [c for c in raw if isinstance(c, Mapping)] if isinstance(raw, list) else []
    scope = (
        "It compares explanations of spread inside one hypothesis: crpsmap's simulator, which encodes "
        "one clinic's account of CRPS (spinal glia and cytokines, brain, blood and the vagal reflex). It "
        "does not show that any mechanism operates in patients."
    )
    fitted_to = fitted_to_sentence(d, bundled=bundled)
    scope = " ".join(x for x in (scope, structure_sentence(d)) if x)
    if not cands:
        return MechanismsSection(
            fitted_to, scope, "The comparison holds no candidate explanation.", "", _table(()), ""
        )
    if all(_spread(c, "with_conversion") is None for c in cands):
        return _legacy_view(d, cands, fitted_to, scope)
    raw_budget = d.get("budget")
    budget: Mapping[str, Any] = raw_budget if isinstance(raw_budget, Mapping) else {}
    n_clinics = _int(budget.get("heldout_seeds"))
    with_ = _verdict_sentences(cands, "with_conversion", n_clinics)
    without = _verdict_sentences(cands, "without_conversion", n_clinics)
    favoured = with_[0] if with_ else "The comparison records no criterion."
    parts = []
    if without:
        parts.append(f"Without the conversion constraint: {without[0]}")
    rec = d.get("recovery")
    labels = {str(c.get("name")): _label(c) for c in cands}
    if isinstance(rec, Mapping):
        acc = rec.get("accuracy")
        a = _num(acc.get("with_conversion")) if isinstance(acc, Mapping) else None
        if a is not None:
            parts.append(
                f"In the model-recovery check the explanation that made a simulated clinic won {a:.0%} of "
                "the time (table below): "
                + (
                    "most clinics of this size are attributed correctly."
                    if a >= 0.8
                    else "a clinic of this size "
                    "often points to the wrong explanation, so a verdict on the real one is weak too."
                )
            )
    base = d.get("baseline")
    if isinstance(base, Mapping) and _num(base.get("aic")) is not None:
        parts.append(
            f"A Markov description with {_int(base.get('n_parameters'))} rates and no mechanism reproduces "
            f"the fitted figures exactly (AIC {_num(base.get('aic')):.1f}); only a figure that was not "
            "fitted can favour a mechanism over it (second table below)."
        )
        beat = _beats_baseline(base, cands)
        if beat is not None:
            parts.append(
                "On the held-out trauma figure "
                + (
                    ", ".join(f"“{b}”" for b in beat)
                    + (" beats" if len(beat) == 1 else " beat")
                    + " the description."
                    if beat
                    else "no explanation beats the description."
                )
            )
    parts.append(
        "The spread measures simulation noise and search luck at the sizes stated below; no interval "
        "includes doubt about the model itself or about the parameters it holds fixed."
    )
    rows = []
    for c in sorted(cands, key=lambda c: s[0] if (s := _spread(c, "with_conversion")) else math.inf):
        w, wo = _spread(c, "with_conversion"), _spread(c, "without_conversion")
        free = c.get("free")
        k = _int(c.get("n_parameters"))
        tuned = c.get("tuned_parameters")
        rows.append(
            (
                Cell(_label(c)),
                Cell(
                    ", ".join(str(x) for x in free) if isinstance(free, list) else "",
                    sub=(f"{k} fitted" if k is not None else "")
                    + (f"; {len(tuned)} adjusted to these data in all" if isinstance(tuned, list) else ""),
                ),
                Cell("–" if w is None else _pm(w[0], w[1]), num=True, strong=True),
                Cell("–" if w is None else f"{w[2]:.0%}", num=True),
                Cell("–" if wo is None else _pm(wo[0], wo[1]), num=True),
                Cell("–" if wo is None else f"{wo[2]:.0%}", num=True),
            )
        )
    extra = []
    if isinstance(rec, Mapping) and (fig := _recovery_figure(rec, labels)) is not None:
        extra.append(fig)
    if isinstance(base, Mapping) and (fig := _baseline_figure(base, cands)) is not None:
        extra.append(fig)
    return MechanismsSection(
        fitted_to=fitted_to,
        scope=scope,
        favoured=favoured,
        uncertainty=" ".join(parts),
        table=_table(tuple(rows)),
        caption=_caption(d, budget),
        extra=tuple(extra),
    )


def _table(rows: tuple[tuple[Cell, ...], ...]) -> Table:
    return Table(
        columns=(
            Column("explanation (mechanisms switched on)"),
            Column("fitted parameters"),
            Column("AIC, with conversion constraint (mean ± SD)", num=True),
            Column("lowest in", num=True),
            Column("AIC, without (mean ± SD)", num=True),
            Column("lowest in", num=True),
        ),
        rows=rows,
        caption="Candidate explanations: held-out AIC over replicated clinics",
        css_class="wide",
    )


def _caption(d: Mapping[str, Any], budget: Mapping[str, Any]) -> str:
    starts, trials = _int(budget.get("starts")), _int(budget.get("trials"))
    n_fit, seeds, n_held = (
        _int(budget.get("patients")),
        _int(budget.get("heldout_seeds")),
        _int(budget.get("heldout_patients")),
    )
    years = _num(d.get("years"))
    size = (
        f"Every explanation had the same budget: {starts} searches of {trials} simulated clinics of {n_fit} "
        f"virtual patients"
        + (f" ({years:g} years)" if years is not None else "")
        + f", then {seeds} held-out clinics of {n_held} new virtual patients at its chosen parameters. "
        if None not in (starts, trials, n_fit, seeds, n_held)
        else ""
    )
    return (
        "Each explanation was fitted to the multi-limb share, the identifiable share and the "
        "first-to-second-limb patterns. "
        + size
        + _failed_sentence(d, budget)
        + "AIC = G + 2 × fitted parameters, G the deviance of the observed counts at a held-out clinic; with "
        "the constraint the implausible-conversion penalty is added (and the search chose by it); "
        "“lowest in”: share of held-out clinics (the same for every explanation) where it had the lowest "
        "AIC. See docs/calibration.md."
    )


def _legacy_view(
    d: Mapping[str, Any], cands: Sequence[Mapping[str, Any]], fitted_to: str, scope: str
) -> MechanismsView:
    """A comparison written before the criterion was replicated: its table, and the plain statement that
    its uncertainty is unknown."""
    from crpsmap.calibrate.mechanisms import CANNOT_TELL_APART

    aics = [_num(c.get("aic")) for c in cands]
    order = sorted(range(len(cands)), key=lambda i: (aics[i] is None, aics[i] or 0.0))
    rows = tuple(
        (
            Cell(_label(cands[i])),
            Cell(", ".join(str(x) for x in f) if isinstance(f := cands[i].get("free"), list) else ""),
            Cell(_fmt(_num(cands[i].get("heldout_deviance"))), num=True),
            Cell(_fmt(aics[i]), num=True),
            Cell("–", num=True),
            Cell("–", num=True),
        )
        for i in order
    )
    table = Table(
        columns=(
            Column("explanation (mechanisms switched on)"),
            Column("fitted parameters"),
            Column("G (one held-out clinic)", num=True),
            Column("AIC", num=True),
            Column("spread", num=True),
            Column("lowest in", num=True),
        ),
        rows=rows,
        caption="Candidate explanations (one held-out clinic each)",
        css_class="wide",
    )
    return MechanismsSection(
        fitted_to=fitted_to,
        scope=scope,
        favoured=(
            f"{CANNOT_TELL_APART} This comparison records one held-out clinic per explanation, not the "
            "spread of its criterion over replicated clinics, so it cannot show that any explanation is "
            "better than the next."
        ),
        uncertainty="",
        table=table,
        caption="AIC = G + 2 × fitted parameters on one held-out simulation. See docs/calibration.md.",
    )


def _failed_sentence(d: Mapping[str, Any], budget: Mapping[str, Any]) -> str:
    """How the search clinics that converted under the floor were counted: replaced (a budget of scored
    clinics, files with `ask_limit_per_start`) or not (older files, whose budget was of clinics asked)."""
    raw = d.get("candidates")
    failed = [
        (str(c.get("name", "?")), n)
        for c in (raw if isinstance(raw, list) else [])
        if isinstance(c, Mapping) and (n := _int(c.get("failed_trials"))) is not None
    ]
    if not any(n for _, n in failed):
        return ""
    counts = ", ".join(f"{name} {n}" for name, n in failed)
    floor = _num(d.get("failed_below_conversion"))
    few = f"fewer than {floor:.1%}" if floor is not None else "too few"
    if budget.get("ask_limit_per_start") is not None:
        return (
            f"Search clinics in which {few} of injuries became CRPS failed and were replaced by further "
            f"trials ({counts}). "
        )
    return (
        f"Search clinics in which {few} of injuries became CRPS failed and were not replaced ({counts}), "
        "so the explanations had unequal numbers of scored clinics. "
    )
