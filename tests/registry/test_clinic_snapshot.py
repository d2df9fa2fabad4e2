"""The clinic snapshot, updated patient by patient after writes, always equals a full rebuild."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from crpsmap.data.synthetic import random_histories
from crpsmap.registry import clinic
from crpsmap.registry.histories import import_histories
from crpsmap.registry.models import ClinicalEvent, Patient, Treatment, Visit

FULL_BUILD = clinic._build


def _same_as_rebuild() -> None:
    snap = clinic.snapshot()
    full = FULL_BUILD(clinic.data_version())
    assert snap.version == full.version
    assert snap.histories == full.histories
    assert {k: v.to_dict() for k, v in snap.classifications.items()} == {
        k: v.to_dict() for k, v in full.classifications.items()
    }
    assert snap.like_this == full.like_this
    assert snap.codes == full.codes


@pytest.mark.django_db
def test_incremental_snapshot_equals_full_rebuild_after_random_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import_histories(random_histories(40, seed=5))
    clinic._snapshot = None
    _same_as_rebuild()
    rebuilds: list[object] = []
    monkeypatch.setattr(clinic, "_build", lambda v: rebuilds.append(v) or FULL_BUILD(v))
    rng = random.Random(7)
    patients = list(Patient.objects.all())
    for step in range(30):
        p = rng.choice(patients)
        kind = step % 5
        day = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(600))
        if kind == 0:
            Visit.objects.create(
                patient=p,
                date=day,
                kind="assessment",
                seq=100 + step,
                regions=[rng.choice(["hand_left", "foot_right", "knee_left", "visceral_bladder"])],
            )
        elif kind == 1:
            v = Visit.objects.filter(patient=p).order_by("?").first()
            assert v is not None
            v.regions = v.regions + ["shoulder_right"] if "shoulder_right" not in v.regions else v.regions[:1]
            v.save()
        elif kind == 2:
            ClinicalEvent.objects.create(
                patient=p, date=day, kind="trauma", seq=100 + step, regions=["ankle_left"]
            )
        elif kind == 3:
            Treatment.objects.create(patient=p, name="x", start=day, start_seq=100 + step)
        else:
            p.code = f"{p.code}-{step}"
            p.save()
        _same_as_rebuild()
    assert rebuilds == []  # every refresh was patient by patient


@pytest.mark.django_db
def test_exports_from_the_snapshot_equal_a_read_of_the_rows() -> None:
    """A server worker exports from its snapshot (no reading of every row); what it exports is what
    reading the rows gives, in the same order, also after writes since the snapshot was made."""
    from crpsmap.registry.histories import load_histories

    import_histories(random_histories(30, seed=11))
    clinic._snapshot = None
    assert clinic.current_histories() == load_histories()  # no snapshot: read from the rows
    clinic.snapshot()
    import_histories(random_histories(3, seed=12, prefix="NEW"))
    v = Visit.objects.order_by("id").first()
    assert v is not None
    v.pain = 9.5
    v.save()
    got = clinic.current_histories()
    assert got == load_histories() and [h.patient_id for h in got][-3:] == [
        "NEW000001",
        "NEW000002",
        "NEW000003",
    ]
