"""The one crossing between registry rows and the core's `PatientHistory` (both directions).

A visit is an `onset` or `assessment` record, a clinical event a `trauma`, `surgery` or `infection`
record, a treatment its `treatment_start` and `treatment_end` records. Records are ordered by (date,
seq), so same-day records keep their order and a file that crpsmap wrote comes back byte-identical after
import then export. Free-text notes and identity never enter a history.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from simple_history.utils import bulk_create_with_history

from crpsmap.history import CRPSType, PatientHistory, Record, RecordKind, Sex
from crpsmap.io import HistoryImportError
from crpsmap.io.csv_long import VALUE_COLUMNS
from crpsmap.io.problems import ImportProblem
from crpsmap.registry.models import CODE_RE, ClinicalEvent, Patient, Provenance, Treatment, Visit

#: record values that a visit keeps in its own columns (the rest go to `other_values`)
VISIT_VALUE_COLUMNS = ("pain", "css", "budapest_symptoms", "budapest_signs", "hrv_rmssd", "hrv_hf", "crp")
EVENT_KINDS = frozenset({RecordKind.trauma, RecordKind.surgery, RecordKind.infection})


def _values(r: Record, keep: Sequence[str] = ()) -> dict[str, Any]:
    return {c: getattr(r, c) for c in VALUE_COLUMNS if c not in keep and getattr(r, c) is not None}


def _extra_pairs(r: Record) -> list[list[str]]:
    return [[k, v] for k, v in r.extra.items()]


def _record(
    date: dt.date, kind: RecordKind, regions: Iterable[str], extra: list[list[str]], **values: Any
) -> Record:
    clean = {k: v for k, v in values.items() if v is not None}
    return Record.trusted(date, kind, tuple(regions), extra={k: v for k, v in extra}, **clean)


def history_of(
    patient: Patient,
    visits: Iterable[Visit],
    events: Iterable[ClinicalEvent],
    treatments: Iterable[Treatment],
) -> PatientHistory:
    """A patient's rows as a PatientHistory (rows were validated when written)."""
    keyed: list[tuple[dt.date, int, Record]] = []
    for v in visits:
        vals = {c: getattr(v, c) for c in VISIT_VALUE_COLUMNS}
        rec = _record(v.date, RecordKind(v.kind), v.regions, v.extra, **vals, **v.other_values)
        keyed.append((v.date, v.seq, rec))
    for e in events:
        keyed.append(
            (e.date, e.seq, _record(e.date, RecordKind(e.kind), e.regions, e.extra, **e.other_values))
        )
    for t in treatments:
        name = t.name or None
        if t.start is not None:
            rec = _record(
                t.start, RecordKind.treatment_start, t.regions, t.extra, treatment=name, **t.other_values
            )
            keyed.append((t.start, t.start_seq or 0, rec))
        if t.end is not None:
            rec = _record(
                t.end, RecordKind.treatment_end, t.regions, t.end_extra, treatment=name, **t.end_other_values
            )
            keyed.append((t.end, t.end_seq or 0, rec))
    keyed.sort(key=lambda x: (x[0], x[1]))
    return PatientHistory.model_construct(
        patient_id=patient.code,
        sex=Sex(patient.sex),
        birth_year=patient.birth_year,
        crps_type=CRPSType(patient.crps_type),
        provenance=Provenance(patient.provenance),
        records=tuple(r for _, _, r in keyed),
    )


def patient_history(patient: Patient) -> PatientHistory:
    return history_of(
        patient,
        Visit.objects.filter(patient=patient),
        ClinicalEvent.objects.filter(patient=patient),
        Treatment.objects.filter(patient=patient),
    )


def load_histories(patients: QuerySet[Patient] | None = None) -> list[PatientHistory]:
    """Histories of many patients in patient order, with one query per table."""
    qs = (patients if patients is not None else Patient.objects.all()).order_by("id")
    plist = list(qs)
    ids = [p.id for p in plist]
    by: dict[str, dict[int, list[Any]]] = {
        "v": defaultdict(list),
        "e": defaultdict(list),
        "t": defaultdict(list),
    }
    restrict = {} if patients is None else {"patient_id__in": ids}
    for key, model in (("v", Visit), ("e", ClinicalEvent), ("t", Treatment)):
        for row in model.objects.filter(**restrict).order_by():
            by[key][row.patient_id].append(row)
    return [history_of(p, by["v"][p.id], by["e"][p.id], by["t"][p.id]) for p in plist]


@dataclass(frozen=True)
class ImportResult:
    patients: int
    visits: int
    events: int
    treatments: int
    #: what the reader warned of (rows kept but worth a look) and the encoding it assumed
    warnings: tuple[str, ...] = ()
    encoding: str = "utf-8"


def _rows_of(h: PatientHistory, patient: Patient) -> tuple[list[Visit], list[ClinicalEvent], list[Treatment]]:
    visits: list[Visit] = []
    events: list[ClinicalEvent] = []
    treatments: list[Treatment] = []
    open_treatments: list[Treatment] = []
    for seq, r in enumerate(h.records):
        regions = list(r.regions)
        dated = {"patient": patient, "date": r.date, "kind": r.kind.value, "seq": seq, "regions": regions}
        if r.kind in (RecordKind.onset, RecordKind.assessment):
            own = {c: getattr(r, c) for c in VISIT_VALUE_COLUMNS}
            visits.append(
                Visit(**dated, extra=_extra_pairs(r), other_values=_values(r, VISIT_VALUE_COLUMNS), **own)
            )
        elif r.kind in EVENT_KINDS:
            events.append(ClinicalEvent(**dated, extra=_extra_pairs(r), other_values=_values(r)))
        elif r.kind is RecordKind.treatment_start:
            t = Treatment(
                patient=patient,
                name=r.treatment or "",
                start=r.date,
                start_seq=seq,
                regions=regions,
                extra=_extra_pairs(r),
                other_values=_values(r, ("treatment",)),
            )
            treatments.append(t)
            open_treatments.append(t)
        else:  # treatment_end: closes the earliest open treatment of that name and regions
            match = next(
                (t for t in open_treatments if t.name == (r.treatment or "") and t.regions == regions), None
            )
            if match is not None:
                open_treatments.remove(match)
                match.end, match.end_seq = r.date, seq
                match.end_extra, match.end_other_values = _extra_pairs(r), _values(r, ("treatment",))
            else:
                treatments.append(
                    Treatment(
                        patient=patient,
                        name=r.treatment or "",
                        end=r.date,
                        end_seq=seq,
                        regions=regions,
                        end_extra=_extra_pairs(r),
                        end_other_values=_values(r, ("treatment",)),
                    )
                )
    return visits, events, treatments


def _nul_problems(histories: Sequence[PatientHistory], source_name: str) -> list[ImportProblem]:
    """Text with a NUL character, which PostgreSQL cannot store (one problem per patient and column)."""
    out: list[ImportProblem] = []
    for h in histories:
        bad = {k for r in h.records for k, v in r.extra.items() if "\x00" in k or "\x00" in v}
        if any(r.treatment and "\x00" in r.treatment for r in h.records):
            bad.add("treatment")
        out += [
            ImportProblem(source_name, None, c, f"patient {h.patient_id!r}: a NUL character is not allowed")
            for c in sorted(bad)
        ]
    return out


def import_histories(
    histories: Sequence[PatientHistory],
    *,
    user: Any = None,
    site: str = "",
    provenance: Provenance | str | None = None,
    source_name: str = "<import>",
    first_row: dict[str, int] | None = None,
) -> ImportResult:
    """Add new patients with all their records in one transaction (all or nothing); every row's history
    names `user`; `provenance` overrides the histories' own (None keeps theirs). A patient code already
    in the registry, or one that the registry cannot hold (its pages and URLs take letters, digits, '.',
    '_' and '-'), is a problem (nothing is written)."""
    codes = [h.patient_id for h in histories]
    rows = first_row or {}
    malformed = [c for c in codes if not re.fullmatch(CODE_RE, c)]
    if malformed:
        raise HistoryImportError(
            [
                ImportProblem(
                    source_name,
                    rows.get(c),
                    "patient_id",
                    f"patient code {c!r} is not allowed: letters, digits, '.', '_' and '-' only, "
                    "starting with a letter or digit, up to 64 characters",
                )
                for c in malformed
            ][:50]
        )
    nul = _nul_problems(histories, source_name)
    if nul:
        raise HistoryImportError(nul[:50], truncated=len(nul) > 50)
    existing = set(Patient.objects.filter(code__in=codes).values_list("code", flat=True))
    if existing:
        raise HistoryImportError(
            [
                ImportProblem(
                    source_name, rows.get(c), "patient_id", f"patient {c!r} is already in the registry"
                )
                for c in codes
                if c in existing
            ][:50]
        )
    with transaction.atomic():
        patients = [
            Patient(
                code=h.patient_id,
                sex=h.sex.value,
                birth_year=h.birth_year,
                crps_type=h.crps_type.value,
                site=site,
                provenance=Provenance(provenance or h.provenance).value,
            )
            for h in histories
        ]
        patients = bulk_create_with_history(patients, Patient, default_user=user)
        if any(p.pk is None for p in patients):  # a backend that does not return keys
            got = dict(Patient.objects.filter(code__in=codes).values_list("code", "id"))
            for p in patients:
                p.pk = p.id = got[p.code]
        visits: list[Visit] = []
        events: list[ClinicalEvent] = []
        treatments: list[Treatment] = []
        for h, p in zip(histories, patients, strict=True):
            v, e, t = _rows_of(h, p)
            visits += v
            events += e
            treatments += t
        for model, objs in ((Visit, visits), (ClinicalEvent, events), (Treatment, treatments)):
            if objs:
                bulk_create_with_history(objs, model, default_user=user, batch_size=2000)
    return ImportResult(len(patients), len(visits), len(events), len(treatments))
