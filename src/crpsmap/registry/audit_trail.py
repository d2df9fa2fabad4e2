"""The audit trail as one list, newest first: writes (row history: who, when, before and after, reason)
and audit events (reads, exports, imports, logins, refusals)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model

from crpsmap.registry.models import AuditEvent, ClinicalEvent, Patient, PatientIdentity, Treatment, Visit

WRITE_MODELS: tuple[type[Model], ...] = (Patient, PatientIdentity, Visit, ClinicalEvent, Treatment)
HISTORY_TYPES = {"+": "create", "~": "change", "-": "delete"}
SKIP_FIELDS = {"history_id", "history_date", "history_change_reason", "history_type", "history_user"}


@dataclass
class Entry:
    at: dt.datetime
    username: str
    action: str  # create / change / delete (of a table), or an audit event's action
    table: str
    patient_code: str
    detail: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (field, before, after)
    _record: Any = None

    def load_changes(self) -> None:
        """Fill `changes` from the row history (the full row before and after)."""
        h = self._record
        if h is None or self.changes:
            return
        prev = h.prev_record
        if prev is None:
            self.changes = [
                (f.attname, "", _fmt(getattr(h, f.attname)))
                for f in h.instance_type._meta.fields
                if f.attname not in SKIP_FIELDS
            ]
            return
        delta = h.diff_against(prev)
        self.changes = [(c.field, _fmt(c.old), _fmt(c.new)) for c in delta.changes]


def _fmt(v: Any) -> str:
    return "" if v is None else str(v)[:300]


def trail(*, patient_code: str = "", username: str = "", limit: int = 5000) -> list[Entry]:
    codes = dict(Patient.objects.values_list("id", "code"))
    entries: list[Entry] = []
    ev = AuditEvent.objects.all()
    if patient_code:
        ev = ev.filter(patient_code=patient_code)
    if username:
        ev = ev.filter(username=username)
    for e in ev.order_by("-at", "-id")[:limit]:
        entries.append(Entry(e.at, e.username or "(anonymous)", e.action, "", e.patient_code, dict(e.detail)))
    for model in WRITE_MODELS:
        hs = model.history.select_related("history_user")
        if patient_code:
            pid = next((i for i, c in codes.items() if c == patient_code), None)
            hs = hs.filter(code=patient_code) if model is Patient else hs.filter(patient_id=pid)
        if username:
            hs = hs.filter(history_user__username=username)
        for h in hs.order_by("-history_date", "-history_id")[:limit]:
            code = h.code if model is Patient else codes.get(h.patient_id, "")
            user = h.history_user.get_username() if h.history_user else "(system)"
            entries.append(
                Entry(
                    h.history_date,
                    user,
                    HISTORY_TYPES.get(h.history_type, h.history_type),
                    model._meta.verbose_name,
                    code,
                    {},
                    h.history_change_reason or "",
                    [],
                    h,
                )
            )
    entries.sort(key=lambda x: x.at, reverse=True)
    return entries[:limit]
