"""PatientHistory: a patient's dated records of involved body regions and events.

The one data type shared by the registry, the classifier, the statistics and the simulator. Regions are
stored as canonical atlas slugs (segments, areas or visceral systems), whatever name they were given in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crpsmap.atlas import load_atlas

MIN_BIRTH_YEAR = 1900


class Sex(StrEnum):
    female = "female"
    male = "male"
    other = "other"
    unknown = "unknown"


class CRPSType(StrEnum):
    I = "I"  # noqa: E741 - the clinical name of the type
    II = "II"
    unknown = "unknown"


class Provenance(StrEnum):
    """Where a patient's records come from. Reports say it; nothing guesses it from identifiers."""

    clinic = "clinic"  # recorded by a clinic about a real patient
    synthetic = "synthetic"  # made up by hand or by a generator (demo and test data)
    model = "model"  # a virtual patient: output of the simulator


#: how a provenance is named to readers (reports, the registry)
PROVENANCE_LABELS = {
    Provenance.clinic: "clinic data",
    Provenance.synthetic: "synthetic (made-up) data",
    Provenance.model: "model output (virtual patient)",
}


class RecordKind(StrEnum):
    onset = "onset"
    assessment = "assessment"
    trauma = "trauma"
    surgery = "surgery"
    infection = "infection"
    treatment_start = "treatment_start"
    treatment_end = "treatment_end"


#: record kinds from which involvement is read
INVOLVEMENT_KINDS = frozenset({RecordKind.onset, RecordKind.assessment})
#: record kinds that can trigger spread in the named regions
TRAUMA_KINDS = frozenset({RecordKind.trauma, RecordKind.surgery})

Pain = Annotated[float, Field(ge=0, le=10)]


class Record(BaseModel):
    """One dated observation or event. Optional values are those the clinic measured that day."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: dt.date
    kind: RecordKind
    regions: tuple[str, ...] = ()
    pain: Pain | None = None
    css: Annotated[int, Field(ge=0, le=17)] | None = Field(
        None, description="CRPS Severity Score, 0-17 points"
    )
    budapest_symptoms: Annotated[int, Field(ge=0, le=4)] | None = Field(
        None, description="Budapest: number of symptom categories reported (0-4)"
    )
    budapest_signs: Annotated[int, Field(ge=0, le=4)] | None = Field(
        None, description="Budapest: number of sign categories observed (0-4)"
    )
    hrv_rmssd: Annotated[float, Field(gt=0, le=500)] | None = Field(None, description="HRV RMSSD, ms")
    hrv_hf: Annotated[float, Field(ge=0, le=100000)] | None = Field(None, description="HRV HF power, ms^2")
    crp: Annotated[float, Field(ge=0, le=1000)] | None = Field(None, description="C-reactive protein, mg/L")
    treatment: Annotated[str, Field(max_length=200)] | None = None
    extra: dict[str, str] = Field(default_factory=dict, description="other columns, kept verbatim")

    @field_validator("regions", mode="before")
    @classmethod
    def _canonical_regions(cls, value: str | Iterable[str | int]) -> tuple[str, ...]:
        atlas = load_atlas()
        if isinstance(value, str):
            value = [v for v in value.split(";") if v.strip()]
        out: list[str] = []
        for name in value:
            slug = atlas.resolve(name)
            if slug not in out:
                out.append(slug)
        return tuple(out)

    @classmethod
    def trusted(cls, date: dt.date, kind: RecordKind, regions: tuple[str, ...] = (), **values: Any) -> Record:
        """A record built without validation, for code that produces canonical fields itself (the
        simulator, synthetic data): validating millions of machine-made records would dominate run time."""
        return cls.model_construct(date=date, kind=kind, regions=regions, **values)

    @model_validator(mode="after")
    def _onset_names_regions(self) -> Record:
        if self.kind is RecordKind.onset and not self.regions:
            raise ValueError("an onset record must name at least one region")
        return self


class PatientHistory(BaseModel):
    """A patient and their records in date order (stable for records of one date)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_id: Annotated[str, Field(min_length=1, max_length=64)]
    sex: Sex = Sex.unknown
    birth_year: Annotated[int, Field(ge=MIN_BIRTH_YEAR)] | None = None
    crps_type: CRPSType = CRPSType.unknown
    provenance: Provenance = Provenance.clinic
    records: tuple[Record, ...] = ()

    @field_validator("records")
    @classmethod
    def _sorted(cls, records: tuple[Record, ...]) -> tuple[Record, ...]:
        return tuple(sorted(records, key=lambda r: r.date))

    @model_validator(mode="after")
    def _dates_plausible(self) -> PatientHistory:
        today = dt.date.today()
        if self.birth_year is not None and self.birth_year > today.year:
            raise ValueError(f"birth_year {self.birth_year} is in the future")
        for r in self.records:
            if r.date > today:
                raise ValueError(f"record dated {r.date} is in the future")
            if self.birth_year is not None and r.date.year < self.birth_year:
                raise ValueError(f"record dated {r.date} is before birth year {self.birth_year}")
        return self

    @property
    def last_date(self) -> dt.date | None:
        """End of follow-up: the last record of any kind."""
        return self.records[-1].date if self.records else None

    def involvement_records(self) -> list[Record]:
        return [r for r in self.records if r.kind in INVOLVEMENT_KINDS]

    def mirrored(self) -> PatientHistory:
        """The same history with left and right swapped (a symmetry the classifier must respect)."""
        atlas = load_atlas()
        recs = tuple(
            r.model_copy(update={"regions": tuple(atlas.mirror_slug(s) for s in r.regions)})
            for r in self.records
        )
        return self.model_copy(update={"records": recs})
