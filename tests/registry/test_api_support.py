"""What the API tests share (no test here): the URL map with the API, a token per role, calls with a
token, the pseudonym key of research exports.

While the registry's `urls.py` does not include `crpsmap.registry.api.urls` yet, the tests serve this
module's URL map: the registry's URLs followed by the API's, exactly as the include adds them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import Resolver404, resolve

from crpsmap.registry import urls as registry_urls
from crpsmap.registry.api import urls as api_urls
from crpsmap.registry.api.tokens import issue_token
from crpsmap.registry.pseudonyms import KEY_ENV, KEY_FILE_ENV
from crpsmap.registry.roles import Role

ROLES: list[str | None] = [None, *(r.value for r in Role)]
KEY_HEX = "5" * 64  # a test-only pseudonym key (32 bytes)


def _registry_includes_api() -> bool:
    try:
        resolve("/api/openapi.json", urlconf=registry_urls)
    except Resolver404:
        return False
    return True


urlpatterns = list(registry_urls.urlpatterns)
if not _registry_includes_api():
    urlpatterns += api_urls.urlpatterns
handler403 = registry_urls.handler403
handler404 = registry_urls.handler404


@pytest.fixture(name="api_urls_served")
def api_urls_served_fixture(settings: Any) -> None:
    """The registry's URLs with the API's."""
    settings.ROOT_URLCONF = __name__


@pytest.fixture(name="research_key")
def research_key_fixture(monkeypatch: pytest.MonkeyPatch) -> str:
    """A pseudonym key in the environment (research exports are refused without one)."""
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.setenv(KEY_ENV, KEY_HEX)
    return KEY_HEX


@pytest.fixture(name="tokens")
def tokens_fixture(users: dict[str, User], api_urls_served: None) -> dict[str, str]:
    """One token per role (the users of conftest.py)."""
    return {role: issue_token(user, name=f"test {role}")[0] for role, user in users.items()}


Caller = Callable[..., Any]


def bearer(token: str | None) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}


@pytest.fixture(name="call")
def call_fixture(tokens: dict[str, str]) -> Iterator[Caller]:
    """call(method, path, role=None, body=None, token=None, query=None) -> response: one API call with the
    role's token (or `token`, or none), a JSON body for POST."""
    client = Client()

    def do(
        method: str,
        path: str,
        role: str | None = None,
        body: Any = None,
        token: str | None = None,
        query: dict[str, Any] | None = None,
    ) -> Any:
        headers = bearer(token or (tokens[role] if role else None))
        if method.upper() == "GET":
            return client.get(path, query or {}, **headers)
        data = body if isinstance(body, str | bytes) else json.dumps(body if body is not None else {})
        return client.generic(method.upper(), path, data, content_type="application/json", **headers)

    yield do
