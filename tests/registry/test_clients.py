"""The client's address behind a reverse proxy (registry/clients.py): X-Forwarded-For is believed only
from trusted proxies and only its right-most untrusted address is taken; the login lockout and the audit
trail both use it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, RequestFactory, override_settings

from crpsmap.registry.clients import client_address
from crpsmap.registry.models import AuditEvent

PROXY = "127.0.0.1"


def _request(peer: str, forwarded: str | None = None) -> Any:
    meta = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "expected"),
    [
        ((), PROXY, "203.0.113.7", PROXY),  # no trusted proxy: the header is ignored
        ((PROXY,), PROXY, "203.0.113.7", "203.0.113.7"),
        ((PROXY,), PROXY, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # what the client wrote in front: ignored
        ((PROXY,), "198.51.100.9", "203.0.113.7", "198.51.100.9"),  # not from the proxy: its own address
        ((PROXY, "10.0.0.2"), PROXY, "203.0.113.7, 10.0.0.2", "203.0.113.7"),  # two proxies in a row
        ((PROXY,), PROXY, "not-an-address", PROXY),  # malformed: the peer
        ((PROXY,), PROXY, None, PROXY),
        ((PROXY,), PROXY, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_client_address(trusted: tuple[str, ...], peer: str, forwarded: str | None, expected: str) -> None:
    with override_settings(CRPSMAP_TRUSTED_PROXIES=trusted):
        assert client_address(_request(peer, forwarded)) == expected


@pytest.mark.django_db
@override_settings(CRPSMAP_TRUSTED_PROXIES=(PROXY,))
def test_behind_the_proxy_one_client_cannot_lock_out_another(users: dict[str, Any]) -> None:
    """Five wrong passwords from one client (through the proxy) lock that client out for that user name;
    the same user logging in from another client through the same proxy is not locked out."""
    name = users["clinician"].get_username()
    attacker = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.66")
    for _ in range(6):
        attacker.post("/login/", {"username": name, "password": "wrong password!"})
    users["clinician"].set_password("the right password 42")
    users["clinician"].save()
    locked = attacker.post("/login/", {"username": name, "password": "the right password 42"})
    assert locked.status_code in (403, 429) and "sessionid" not in locked.cookies
    other = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.20")
    r = other.post("/login/", {"username": name, "password": "the right password 42"})
    assert r.status_code == 302 and "/login/" not in r["Location"], r.status_code
    addresses = set(AuditEvent.objects.exclude(address=None).values_list("address", flat=True))
    assert {"203.0.113.66", "198.51.100.20"} <= addresses and PROXY not in addresses
