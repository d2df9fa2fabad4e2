"""The synthetic demo clinic of `make run`: the bundled example cohort and a simulated clinic, both
labelled as made up (provenance synthetic / model), plus one demo login per role with a fresh password."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from crpsmap.registry.accounts import create_user, generate_password
from crpsmap.registry.histories import import_histories
from crpsmap.registry.models import Patient, PatientIdentity, Provenance
from crpsmap.registry.roles import Role

EXAMPLE_SITE = "Example clinic (synthetic)"
VIRTUAL_SITE = "Virtual clinic (model output)"
DEMO_USERS = {role: f"demo-{role.value}" for role in Role}


@dataclass(frozen=True)
class DemoLoad:
    example_patients: int
    virtual_patients: int
    already_loaded: bool


def load_demo(
    virtual_patients: int = 300,
    *,
    seed: int = 11,
    years: float = 5.0,
    progress: Callable[[str], None] | None = None,
) -> DemoLoad:
    """Load the demo clinic once (a second call finds it and loads nothing)."""
    say = progress or (lambda _m: None)
    if Patient.objects.filter(site__in=[EXAMPLE_SITE, VIRTUAL_SITE]).exists():
        return DemoLoad(
            Patient.objects.filter(site=EXAMPLE_SITE).count(),
            Patient.objects.filter(site=VIRTUAL_SITE).count(),
            True,
        )
    from crpsmap.data import example_cohort_path
    from crpsmap.io import read_csv

    example = read_csv(example_cohort_path())
    virtual = []
    if virtual_patients > 0:
        from crpsmap.model import Sim

        say(f"simulating a virtual clinic of {virtual_patients} patients (model output) ...")
        virtual = list(Sim(years=years, seed=seed).clinic(virtual_patients).histories)
    with transaction.atomic():
        import_histories(
            example, site=EXAMPLE_SITE, provenance=Provenance.synthetic, source_name="example cohort"
        )
        for p in Patient.objects.filter(site=EXAMPLE_SITE).order_by("id"):
            PatientIdentity.objects.create(
                patient=p, name=f"Synthetic Person {p.code}", record_number=f"DEMO-{p.id:05d}"
            )
        if virtual:
            import_histories(virtual, site=VIRTUAL_SITE, provenance=Provenance.model, source_name="simulator")
    return DemoLoad(len(example), len(virtual), False)


def reset_demo_users() -> dict[Role, tuple[str, str]]:
    """Create (or re-key) one demo user per role with a freshly generated password."""
    out: dict[Role, tuple[str, str]] = {}
    for role, name in DEMO_USERS.items():
        password = generate_password()
        create_user(name, role, password, replace_password=True)
        out[role] = (name, password)
    return out
