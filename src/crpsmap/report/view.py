"""View models of the cohort report: what the template shows, computed in Python.

Every field is plain text or a number (escaped by the template) except fields typed `Markup`, which hold
SVG that crpsmap's plotting code built from numbers and escaped labels.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup


@dataclass(frozen=True)
class Cell:
    """One table cell: a main text, an optional small second line, right-aligned when numeric."""

    text: str
    sub: str = ""
    num: bool = False
    strong: bool = False
    header: bool = False  # a row header (<th scope="row">)
    background: str = ""  # a fill colour computed by the code (limb-order matrix)
    dark: bool = False  # light text on a dark fill
    muted: bool = False


@dataclass(frozen=True)
class Column:
    label: str
    num: bool = False


@dataclass(frozen=True)
class Table:
    """A table: one header row, then rows of cells. The template wraps it in a horizontal scroller."""

    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    css_class: str = ""
    caption: str = ""  # a visually hidden <caption> for screen readers


@dataclass(frozen=True)
class Card:
    value: str
    label: str
    detail: str


@dataclass(frozen=True)
class Figure:
    """A heading with a plot, a caption, a table, or a plain sentence when there is nothing to show."""

    heading: str = ""
    svg: Markup | None = None
    caption: str = ""
    table: Table | None = None
    empty: str = ""
    side_by_side: tuple[Figure, ...] = ()


@dataclass(frozen=True)
class BodyMap:
    caption: str
    svg: Markup


@dataclass(frozen=True)
class WhereView:
    empty: str = ""
    caption: str = ""
    maps: tuple[BodyMap, ...] = ()
    legend: Markup | None = None
    legend_note: str = ""
    visceral: Table | None = None


@dataclass(frozen=True)
class CrossSectionView:
    """The body map at one time point (a cohort without follow-up): a map shaded by segment with its
    legend and the most often marked areas beside it, then figures (every area with both sides, number of
    areas and of limbs, each limb, internal organs when any is involved)."""

    caption: str
    map: BodyMap
    legend: Markup
    legend_note: str
    top: Figure  # beside the map: the most often marked areas
    figures: tuple[Figure, ...]


@dataclass(frozen=True)
class KMView:
    empty: str = ""
    lead: str = ""
    svg: Markup | None = None
    caption: str = ""
    table: Table | None = None


@dataclass(frozen=True)
class LiteratureView:
    empty: str = ""
    caption: str = ""
    table: Table | None = None
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class CoxView:
    empty: str = ""  # the plain sentence when the model was not fitted
    caption: str = ""
    table: Table | None = None


@dataclass(frozen=True)
class MechanismsView:
    """The model's "why" section. `fitted_to` is its first sentence: the data the comparison was fitted to,
    from the comparison's own metadata. `extra`: further figures (model recovery, the baseline), which the
    template reads from every view."""

    fitted_to: str
    scope: str
    favoured: str
    uncertainty: str
    table: Table
    caption: str
    extra: tuple[Figure, ...] = ()


@dataclass(frozen=True)
class MethodsView:
    """The constants the methods text states, taken from the code that applies them."""

    trauma_window_days: int
    cox_min_events: int
    hrv_min_share: str
    confidence: int
    days_per_year: str
    cross_sectional: bool = False  # the methods of the cross-section, not those of spread
    arm_areas: str = ""
    leg_areas: str = ""
    spread_not_judged: str = ""


@dataclass(frozen=True)
class ReportView:
    title: str
    meta: str
    notes: tuple[str, ...]
    headline: str
    css: Markup
    cards: tuple[Card, ...] = ()
    cross_section: CrossSectionView | None = None
    spread_not_judged: str = ""  # shown instead of the spread sections (cohort without follow-up)
    where: WhereView | None = None
    km: KMView | None = None
    patterns: tuple[Figure, ...] = ()
    literature: LiteratureView | None = None
    cox: CoxView | None = None
    mechanisms: MechanismsView | None = None
    methods: MethodsView | None = None
    attribution: str = ""
