"""Columnar views of a cohort for the statistics: one pass over the patients, then numpy.

A million patients as Python objects (a `PatientHistory` or a `Classification` each) cost gigabytes and
every statistic that loops over them costs seconds. The statistics therefore read two flat tables:

- `PatientTable`: what is known of each patient besides the classification (sex, birth year, first HRV
  RMSSD, number of involvement records and of their dates, the body map at the first time point as bit
  masks). Built from histories, or straight from columns by a reader that never makes a
  `PatientHistory`.
- `ClassificationTable`: what the statistics need of each `Classification` (dates as days since
  1970-01-01, limbs as codes into `LIMBS`, areas as bit masks over the atlas's units). Built in one
  pass from any iterable, so classifications can be streamed into it and dropped.

Every figure, the Kaplan-Meier data and the Cox rows are computed from these tables; the functions that
take `Classification` lists build the table first (tests compare both with the per-object definitions).
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from functools import cache

import numpy as np

from crpsmap.atlas import LIMBS, load_atlas
from crpsmap.history import INVOLVEMENT_KINDS, PatientHistory, Sex
from crpsmap.spread import Classification

#: day number of a missing date
NO_DATE = np.iinfo(np.int32).min
_EPOCH = dt.date(1970, 1, 1).toordinal()

SEXES: tuple[Sex, ...] = tuple(Sex)  # sex codes: index into this tuple
FEMALE = SEXES.index(Sex.female)
MALE = SEXES.index(Sex.male)
UNKNOWN_SEX = SEXES.index(Sex.unknown)

#: Maleki patterns as bits of `ClassificationTable.patterns`
PATTERN_BITS = {"contiguous": 1, "independent": 2, "mirror": 4, "visceral": 8}
LIMB_PATTERN_CODES = {"contralateral": 0, "ipsilateral": 1, "diagonal": 2}
TRIGGER_CODES = {"spontaneous": 0, "trauma": 1}
DIRECTION_CODES = {"ascending": 0, "descending": 1, "lateral": 2}
#: `ClassificationTable.second_pattern` when no second-limb pattern applies / when none is identifiable
NOT_APPLICABLE, UNIDENTIFIABLE = -2, -1

LIMB_CODES = {lb: i for i, lb in enumerate(LIMBS)}
LOWER_LIMB = np.array([lb.split("_")[0] == "lower" for lb in LIMBS])


def day_number(d: dt.date | None) -> int:
    """Days since 1970-01-01 (`NO_DATE` for None)."""
    return NO_DATE if d is None else d.toordinal() - _EPOCH


def years_of(days: np.ndarray) -> np.ndarray:
    """Calendar year of each day number."""
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


#: `PatientTable.involvement_dates` of a patient whose records were not given (a table built from columns
#: without the baseline columns): the cross-section of such a table is not known
UNKNOWN_DATES = -1


@cache
def segment_slugs() -> tuple[str, ...]:
    """The atlas's CHOIR segments in the order of the bits of `PatientTable.baseline_segments`."""
    return tuple(s.slug for s in load_atlas().segments)


@cache
def segment_bytes() -> int:
    """Bytes per patient of `PatientTable.baseline_segments` (one bit per segment)."""
    return (len(load_atlas().segments) + 7) // 8


@cache
def _region_bits() -> dict[str, tuple[int, int]]:
    """Any region slug -> (its segment bit, its unit bit): a segment sets both (its area's unit), an area
    or a visceral system only its unit."""
    atlas = load_atlas()
    unit = atlas.unit_index
    out = {s: (0, 1 << i) for s, i in unit.items()}
    for i, seg in enumerate(atlas.segments):
        out[seg.slug] = (1 << i, 1 << unit[seg.area])
    return out


@dataclass(frozen=True, eq=False)
class PatientTable:
    """Per-patient facts the statistics read besides the classification, as arrays of equal length.

    `sex` holds codes into `SEXES`; `birth_year` and `first_hrv_rmssd` are NaN when unknown;
    `involvement_records` counts onset and assessment records, `involvement_dates` their distinct dates
    (`UNKNOWN_DATES` when not known). The *baseline* is the patient's first time point: every onset or
    assessment record of the earliest date that has one. `baseline_segments` holds its CHOIR segments as
    bits (segment i of `segment_slugs()` is bit i % 8 of byte i // 8), `baseline_units` its areas and
    visceral systems as bits over the atlas's units (a segment sets its area; an area named whole sets
    the area and no segment).
    """

    patient_id: np.ndarray  # object (str)
    sex: np.ndarray  # int8
    birth_year: np.ndarray  # float64
    first_hrv_rmssd: np.ndarray  # float64
    involvement_records: np.ndarray  # int32
    involvement_dates: np.ndarray  # int32
    baseline_segments: np.ndarray  # uint8 (n, segment_bytes())
    baseline_units: np.ndarray  # uint64

    def __post_init__(self) -> None:
        n = len(self.patient_id)
        for name in (
            "sex",
            "birth_year",
            "first_hrv_rmssd",
            "involvement_records",
            "involvement_dates",
            "baseline_segments",
            "baseline_units",
        ):
            if len(getattr(self, name)) != n:
                raise ValueError(f"PatientTable.{name} has {len(getattr(self, name))} entries, not {n}")
        if self.baseline_segments.ndim != 2 or self.baseline_segments.shape[1] != segment_bytes():
            raise ValueError(f"PatientTable.baseline_segments must have {segment_bytes()} bytes per patient")

    def __len__(self) -> int:
        return len(self.patient_id)

    @classmethod
    def from_columns(
        cls,
        patient_id: Sequence[str] | np.ndarray,
        sex: Sequence[str | Sex] | np.ndarray,
        birth_year: Sequence[float | None] | np.ndarray,
        first_hrv_rmssd: Sequence[float | None] | np.ndarray,
        involvement_records: Sequence[int] | np.ndarray,
        *,
        involvement_dates: Sequence[int] | np.ndarray | None = None,
        baseline_segments: np.ndarray | None = None,
        baseline_units: Sequence[int] | np.ndarray | None = None,
    ) -> PatientTable:
        """From plain columns (sex as names or codes; None for unknown values): for columnar readers.

        The baseline columns (see the class) are optional; without `involvement_dates` the table does
        not know who was seen more than once, and its cross-section is not computed."""
        n = len(patient_id)
        dates = np.full(n, UNKNOWN_DATES, np.int32) if involvement_dates is None else involvement_dates
        segs = np.zeros((n, segment_bytes()), np.uint8) if baseline_segments is None else baseline_segments
        units = np.zeros(n, np.uint64) if baseline_units is None else baseline_units
        sex_arr = np.asarray(sex)
        if sex_arr.dtype.kind in "iu":
            codes = sex_arr.astype(np.int8)
        else:
            lookup = {s.value: i for i, s in enumerate(SEXES)}
            codes = np.fromiter((lookup[str(s)] for s in sex_arr), dtype=np.int8, count=len(sex_arr))
        return cls(
            np.asarray(patient_id, dtype=object),
            codes,
            np.asarray(birth_year, dtype=float),
            np.asarray(first_hrv_rmssd, dtype=float),
            np.asarray(involvement_records, dtype=np.int32),
            np.asarray(dates, dtype=np.int32),
            np.asarray(segs, dtype=np.uint8).reshape(n, segment_bytes()),
            np.asarray(units, dtype=np.uint64),
        )

    @classmethod
    def from_histories(cls, histories: Iterable[PatientHistory]) -> PatientTable:
        ids: list[str] = []
        sex = array("b")
        birth = array("d")
        hrv = array("d")
        inv = array("i")
        n_dates = array("i")
        segs = bytearray()
        units = array("Q")
        code = {s: i for i, s in enumerate(SEXES)}
        nan = float("nan")
        kinds = INVOLVEMENT_KINDS
        bits = _region_bits()
        width = segment_bytes()
        for h in histories:
            ids.append(h.patient_id)
            sex.append(code[h.sex])
            birth.append(nan if h.birth_year is None else float(h.birth_year))
            first = nan
            k = 0
            dates: set[dt.date] = set()
            base: dt.date | None = None
            seg_mask = unit_mask = 0
            for r in h.records:
                if r.kind in kinds:
                    k += 1
                    d = r.date
                    dates.add(d)
                    if base is None or d < base:  # (records come in date order; a stray one resets)
                        base, seg_mask, unit_mask = d, 0, 0
                    if d == base:
                        for region in r.regions:
                            sb, ub = bits.get(region, (0, 0))
                            seg_mask |= sb
                            unit_mask |= ub
                if first != first and r.hrv_rmssd is not None:  # first is NaN until set
                    first = float(r.hrv_rmssd)
            hrv.append(first)
            inv.append(k)
            n_dates.append(len(dates))
            segs += seg_mask.to_bytes(width, "little")
            units.append(unit_mask)
        n = len(ids)
        return cls(
            np.array(ids, dtype=object),
            np.frombuffer(sex, dtype=np.int8).copy(),
            np.frombuffer(birth, dtype=np.float64).copy(),
            np.frombuffer(hrv, dtype=np.float64).copy(),
            np.frombuffer(inv, dtype=np.int32).copy(),
            np.frombuffer(n_dates, dtype=np.int32).copy(),
            np.frombuffer(bytes(segs), dtype=np.uint8).reshape(n, width).copy(),
            np.frombuffer(units, dtype=np.uint64).copy(),
        )

    @classmethod
    def concat(cls, tables: Sequence[PatientTable]) -> PatientTable:
        """One table of several (e.g. the pieces of a file read in chunks), in order."""
        return cls(*(_concat([getattr(t, f.name) for t in tables], f.name) for f in fields(cls)))

    def aligned_to(self, patient_id: np.ndarray) -> PatientTable:
        """This table in the order of `patient_id` (unknown patients: unknown sex, birth year and HRV,
        no involvement record, no baseline); the last entry wins for a duplicated id."""
        if len(patient_id) == len(self) and np.array_equal(patient_id, self.patient_id):
            return self
        pos = {pid: i for i, pid in enumerate(self.patient_id)}
        idx = np.fromiter((pos.get(p, -1) for p in patient_id), dtype=np.int64, count=len(patient_id))
        missing = idx < 0
        idx[missing] = 0

        def take(a: np.ndarray, fill: float | int) -> np.ndarray:
            out = a[idx] if len(a) else np.zeros((len(idx), *a.shape[1:]), dtype=a.dtype)
            out[missing] = fill
            return out

        return PatientTable(
            np.asarray(patient_id, dtype=object),
            take(self.sex, UNKNOWN_SEX),
            take(self.birth_year, np.nan),
            take(self.first_hrv_rmssd, np.nan),
            take(self.involvement_records, 0),
            take(self.involvement_dates, 0),
            take(self.baseline_segments, 0),
            take(self.baseline_units, 0),
        )


@dataclass(frozen=True)
class _Units:
    bit: dict[str, int]  # unit slug -> 1 << unit index
    hand_mask: int
    area_limb: dict[str, int]  # area slug -> limb code (areas of a limb only)


@cache
def _units() -> _Units:
    atlas = load_atlas()
    bit = {s: 1 << i for i, s in enumerate(atlas.unit_slugs)}
    hand = 0
    for s, b in bit.items():
        if s.startswith("hand_"):
            hand |= b
    area_limb = {a.slug: LIMB_CODES[a.limb] for a in atlas.areas if a.limb}
    return _Units(bit, hand, area_limb)


def unit_slugs() -> tuple[str, ...]:
    return load_atlas().unit_slugs


@dataclass(frozen=True, eq=False)
class ClassificationTable:
    """What the statistics read of each `Classification`, one entry per patient.

    Dates are day numbers (`NO_DATE` when missing); `limb`/`limb_date` hold the limbs in order of
    involvement (code into `LIMBS`, -1 when fewer than four); `patterns` has a `PATTERN_BITS` bit for each
    Maleki pattern among the events; `onset_mask`/`last_mask` have bit i set when unit i of the atlas is
    involved at onset / at the last follow-up; `second_pattern` is the `LIMB_PATTERN_CODES` code of the
    event that brought the second limb (`NOT_APPLICABLE` without an identifiable first limb and a second
    limb, `UNIDENTIFIABLE` when no such event can be named), `second_trigger` its trigger code;
    `directions` counts new-limb events per `DIRECTION_CODES` direction; `hand_at_onset` says a hand area
    was involved at onset.
    """

    patient_id: np.ndarray  # object (str)
    onset: np.ndarray  # int32 day number
    last: np.ndarray  # int32 day number
    spread: np.ndarray  # bool
    n_limbs: np.ndarray  # int8
    limb: np.ndarray  # int8 (n, 4)
    limb_date: np.ndarray  # int32 (n, 4)
    first_limb: np.ndarray  # int8, -1 when none or ambiguous
    generalized: np.ndarray  # bool
    visceral: np.ndarray  # bool
    patterns: np.ndarray  # uint8 bits
    second_pattern: np.ndarray  # int8
    second_trigger: np.ndarray  # int8
    directions: np.ndarray  # int16 (n, 3)
    onset_mask: np.ndarray  # uint64
    last_mask: np.ndarray  # uint64
    hand_at_onset: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.patient_id)

    @classmethod
    def concat(cls, tables: Sequence[ClassificationTable]) -> ClassificationTable:
        """One table of several (e.g. of the chunks of a cohort classified piece by piece), in order."""
        return cls(*(_concat([getattr(t, f.name) for t in tables], f.name) for f in fields(cls)))

    @property
    def has_onset(self) -> np.ndarray:
        return self.onset != NO_DATE

    @classmethod
    def from_classifications(cls, results: Iterable[Classification]) -> ClassificationTable:
        """One pass over `results` (any iterable: a generator is consumed and nothing of it is kept)."""
        u = _units()
        bit_of, area_limb, hand_mask = u.bit, u.area_limb, u.hand_mask
        limb_code = LIMB_CODES
        pbits, lpc, trc, drc = PATTERN_BITS, LIMB_PATTERN_CODES, TRIGGER_CODES, DIRECTION_CODES
        ids: list[str] = []
        onset_a, last_a, ldate_a = array("i"), array("i"), array("i")
        small = array("b")  # per patient: spread, n_limbs, limb x4, first_limb, generalized, visceral,
        #                     patterns, second_pattern, second_trigger, hand_at_onset (13 values)
        dirs = array("h")
        masks = array("Q")
        epoch = _EPOCH
        for c in results:
            ids.append(c.patient_id)
            od = c.onset_date
            onset_a.append(NO_DATE if od is None else od.toordinal() - epoch)
            ld = c.last_date
            last_a.append(NO_DATE if ld is None else ld.toordinal() - epoch)
            limbs = c.limbs
            nl = len(limbs)
            codes = [limb_code[lb] for lb in limbs] + [-1] * (4 - nl)
            ldates = [d.toordinal() - epoch for d in c.limb_dates] + [NO_DATE] * (4 - nl)
            ldate_a.extend(ldates)
            om = 0
            hand = False
            for a in c.onset_areas:
                b = bit_of.get(a)
                if b is None:
                    hand = hand or a.startswith("hand_")
                else:
                    om |= b
            lm = om
            pat = 0
            da = de = dl = 0
            for e in c.events:
                b = bit_of.get(e.area)
                if b is not None:
                    lm |= b
                pat |= pbits[e.pattern]
                dr = e.direction
                if dr is not None:
                    k = drc[dr]
                    if k == 0:
                        da += 1
                    elif k == 1:
                        de += 1
                    else:
                        dl += 1
            second = NOT_APPLICABLE
            trig = -1
            fl = c.first_limb
            if fl is not None and nl >= 2:
                second = UNIDENTIFIABLE
                if not (nl >= 3 and c.limb_dates[2] == c.limb_dates[1]):
                    want = codes[1]
                    for e in c.events:
                        if e.limb_pattern is not None and area_limb.get(e.area, -1) == want:
                            second = lpc[e.limb_pattern]
                            trig = trc[e.trigger]
                            break
            small.extend(
                (
                    c.spread,
                    nl,
                    *codes,
                    -1 if fl is None else limb_code[fl],
                    c.generalized_date is not None,
                    c.visceral_date is not None,
                    pat,
                    second,
                    trig,
                    hand or bool(om & hand_mask),
                )
            )
            dirs.extend((da, de, dl))
            masks.append(om)
            masks.append(lm)
        n = len(ids)
        s = np.frombuffer(small, dtype=np.int8).reshape(n, 13) if n else np.zeros((0, 13), np.int8)
        m = np.frombuffer(masks, dtype=np.uint64).reshape(n, 2) if n else np.zeros((0, 2), np.uint64)
        return cls(
            patient_id=np.array(ids, dtype=object),
            onset=np.frombuffer(onset_a, dtype=np.int32).copy(),
            last=np.frombuffer(last_a, dtype=np.int32).copy(),
            spread=s[:, 0].astype(bool),
            n_limbs=s[:, 1].copy(),
            limb=s[:, 2:6].copy(),
            limb_date=np.frombuffer(ldate_a, dtype=np.int32).reshape(n, 4).copy()
            if n
            else np.zeros((0, 4), np.int32),
            first_limb=s[:, 6].copy(),
            generalized=s[:, 7].astype(bool),
            visceral=s[:, 8].astype(bool),
            patterns=s[:, 9].astype(np.uint8),
            second_pattern=s[:, 10].copy(),
            second_trigger=s[:, 11].copy(),
            directions=np.frombuffer(dirs, dtype=np.int16).reshape(n, 3).copy()
            if n
            else np.zeros((0, 3), np.int16),
            onset_mask=m[:, 0].copy(),
            last_mask=m[:, 1].copy(),
            hand_at_onset=s[:, 12].astype(bool),
        )


def _concat(arrays: list[np.ndarray], name: str) -> np.ndarray:
    if not arrays:
        raise ValueError(f"nothing to concatenate ({name})")
    return np.concatenate(arrays)


def unit_counts(masks: np.ndarray) -> np.ndarray:
    """For each unit of the atlas, the number of masks with its bit set."""
    n_units = len(unit_slugs())
    if len(masks) == 0:
        return np.zeros(n_units, dtype=np.int64)
    bits = np.unpackbits(masks.astype("<u8").view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    return bits[:, :n_units].sum(axis=0, dtype=np.int64)


def as_table(results: Iterable[Classification] | ClassificationTable) -> ClassificationTable:
    return (
        results
        if isinstance(results, ClassificationTable)
        else ClassificationTable.from_classifications(results)
    )


__all__ = [
    "NO_DATE",
    "SEXES",
    "UNKNOWN_DATES",
    "ClassificationTable",
    "PatientTable",
    "as_table",
    "day_number",
    "segment_bytes",
    "segment_slugs",
    "unit_counts",
    "years_of",
]
