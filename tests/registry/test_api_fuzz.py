"""Schemathesis against the API, from its own OpenAPI document, in this process (WSGI), as each role and
as an anonymous caller: no server error, every answer documented and matching its schema (status, media
type, body, headers), invalid input refused, and no operation answering a caller the permission table
refuses (401 without a token, 403 for a role without the action). Every operation is fuzzed with
generated and with invalid data, and, where the path names a patient, with the registry's patient too.

Deterministic (Hypothesis derandomized, no example database) and small, so that CI is reproducible and
quick: EXAMPLES cases per operation for a caller it admits, REFUSED for one it refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from crpsmap.registry.models import Patient
from registry.test_api_support import (  # noqa: F401 - fixtures
    ROLES,
    api_urls_served_fixture,
    research_key_fixture,
    tokens_fixture,
)

pytestmark = pytest.mark.django_db
EXAMPLES = 50
REFUSED = 5


@pytest.fixture
def application(api_urls_served: None) -> Iterator[WSGIHandler]:
    """The registry as a WSGI application. As Django's test client does, a request must not close the
    database connection at its start or end: the test's transaction holds the test data."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def access_check(role: str | None, roles: list[str], header: str | None) -> Callable[..., None]:
    """Whoever the table in roles.py refuses is refused, whatever they send; whoever it admits is not.
    A case that did not carry the role's token (a negative case may drop or change the header, and the
    anonymous caller sends generated ones) must get 401."""

    def expected_access(ctx: Any, response: Any, case: Any) -> None:
        status = response.status_code
        if role is None or response.request.headers.get("Authorization") != header:
            assert status == 401, f"a call without {role}'s token got {status}, not 401"
        elif role not in roles:
            assert status == 403, f"{role} got {status}, not 403 (allowed: {roles})"
        else:
            assert status not in (401, 403), f"{role} was refused ({status}) but may call it"

    return expected_access


def invalid_body_refused(ctx: Any, response: Any, case: Any) -> bool | None:
    """A body that breaks the schema is refused (4xx). Only bodies: query and path values travel as text,
    so a generated "invalid" value (a number, or a list of one item, for a text field) arrives as valid
    text, and accepting it is right."""
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY):
        return negative_data_rejection(ctx, response, case)
    return None


def fuzzer(strategy: Any, checks: list[Any], headers: dict[str, str], examples: int) -> Callable[[], None]:
    """A deterministic Hypothesis test of one operation: call it, then run the checks on the answer."""

    @given(case=strategy)
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],  # shrinking only runs after a failure
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=checks, headers=headers)

    return fuzz


@pytest.mark.parametrize("role", ROLES)
def test_fuzz_api_as(
    role: str | None, patient: Patient, tokens: dict[str, str], research_key: str, application: Any
) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    header = f"Bearer {tokens[role]}" if role else None
    headers = {"Authorization": header} if header else {}
    for op in operations:
        roles = op.definition.raw["x-roles"]
        strategies = [op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE)]
        if "{code}" in op.path:  # the registry's patient, so that reads and writes find it
            strategies.append(op.as_strategy(GenerationMode.POSITIVE, path_parameters={"code": patient.code}))
        checks = [
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            response_headers_conformance,
            invalid_body_refused,
            access_check(role, roles, header),
        ]
        fuzzer(st.one_of(strategies), checks, headers, EXAMPLES if role in roles else REFUSED)()
