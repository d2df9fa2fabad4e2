"""The client's address behind a reverse proxy: one rule for the audit trail and the login lockout.

Behind a TLS proxy every request comes from the proxy's address. `X-Forwarded-For` says where it came
from, but a client can write that header too, so it is believed only from the proxies named in
`$CRPSMAP_TRUSTED_PROXIES` (comma-separated addresses, e.g. `127.0.0.1`; empty by default: the header is
ignored): the client is the right-most address of the header that is not one of those proxies (a
proxy appends the address it saw; what a client put in front of it is never taken).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest | None) -> str | None:
    """The client's IP address: the peer's, or, when the peer is a trusted proxy, the last address in
    X-Forwarded-For that is not a trusted proxy."""
    if request is None:
        return None
    peer = request.META.get("REMOTE_ADDR") or None
    trusted = frozenset(getattr(settings, "CRPSMAP_TRUSTED_PROXIES", ()))
    if peer is None or peer not in trusted:
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for part in reversed(forwarded.split(",")):
        address = _address(part)
        if address is None:
            return peer  # a malformed header: fall back to what is known
        if address not in trusted:
            return address
    return peer
