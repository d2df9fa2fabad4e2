"""The optional TOTP second factor (django-otp): enrolment, the code after the password, wrong and
replayed codes refused, throttling, the per-role requirement on every page, resets, and API tokens left
alone. Codes are computed here with an independent RFC 6238 implementation from the key that the
enrolment page shows, on a clock the test controls."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, get_resolver
from django_otp.plugins.otp_totp import models as totp_models
from django_otp.plugins.otp_totp.models import TOTPDevice

from crpsmap.registry.api.tokens import issue_token
from crpsmap.registry.models import AuditEvent, Patient, RoleSecurityPolicy
from crpsmap.registry.roles import Role
from registry_support import make_user

PASSWORD = "long-enough-and-not-common-7"
T0 = 1_800_000_000  # a multiple of 30: the start of a time step


def totp(key: bytes, now: float, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 (HOTP of RFC 4226 over the time-step counter, HMAC-SHA1, dynamic truncation)."""
    mac = hmac.new(key, struct.pack(">Q", int(now // step)), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return f"{value:0{digits}d}"


def test_rfc6238_reference_vectors() -> None:
    """The implementation above against RFC 6238 appendix B (SHA-1, 8 digits)."""
    key = b"12345678901234567890"
    assert totp(key, 59, digits=8) == "94287082"
    assert totp(key, 1111111109, digits=8) == "07081804"
    assert totp(key, 20000000000, digits=8) == "65353130"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, settings: Any) -> list[float]:
    """django-otp's clock, set by the test; no throttling delay unless a test asks for it."""
    now = [float(T0)]
    monkeypatch.setattr(totp_models, "time", SimpleNamespace(time=lambda: now[0]))
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    return now


def _user(name: str, role: Role) -> User:
    user = make_user(name, role)
    user.set_password(PASSWORD)
    user.save()
    return user


def _login(c: Client, name: str) -> Any:
    return c.post("/login/", {"username": name, "password": PASSWORD})


def _enrol(c: Client) -> bytes:
    """Enrol from the page as the user would: the password again, then read the otpauth:// URI (and
    answer with the current code)."""
    first = c.get("/account/second-factor/").content.decode()
    assert "otpauth://" not in first and 'name="password"' in first  # no key before the password
    r = c.post("/account/second-factor/", {"password": PASSWORD})
    assert r.status_code == 302, r.content.decode()[-1500:]
    page = c.get(r["Location"]).content.decode()
    uri = re.search(r'value="(otpauth://totp/[^"]+)"', page)
    assert uri is not None, page[-2000:]
    query = parse_qs(urlsplit(unquote(uri.group(1).replace("&amp;", "&"))).query)
    assert query["digits"] == ["6"] and query.get("period", ["30"]) == ["30"]
    assert query["issuer"] == ["crpsmap registry"]
    secret = query["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    assert secret in page  # also shown as text to type in; no QR image (no QR library installed)
    assert "<img" not in page.split("<main", 1)[-1]
    return key


def _now(clock: list[float]) -> float:
    return clock[0]


@pytest.mark.django_db
def test_enrol_then_login_asks_for_the_code(clock: list[float]) -> None:
    _user("alice", Role.clinician)
    c = Client()
    assert _login(c, "alice")["Location"] == "/"  # no device yet: the password is enough
    key = _enrol(c)
    wrong = totp(key, clock[0] + 300)
    r = c.post("/account/second-factor/", {"token": wrong})
    assert r.status_code == 200 and "wrong or already used code" in r.content.decode()
    assert not TOTPDevice.objects.filter(confirmed=True).exists()
    first = totp(key, clock[0])
    r = c.post("/account/second-factor/", {"token": first, "next": "/patients/"})
    assert r.status_code == 302 and r["Location"] == "/patients/"
    assert TOTPDevice.objects.filter(user__username="alice", confirmed=True).count() == 1
    assert c.get("/patients/").status_code == 200  # this session is verified by the enrolment
    assert c.post("/logout/").status_code == 302

    # the password alone no longer opens anything
    r = _login(c, "alice")
    assert r.status_code == 302 and r["Location"] == "/login/"
    r = c.get("/patients/")
    assert r.status_code == 302 and r["Location"] == "/login/?next=/patients/"
    assert "Second factor" in c.get("/login/?next=/patients/").content.decode()
    # the code used for enrolment, replayed in the same time step: refused
    r = c.post("/login/", {"token": first, "next": "/patients/"})
    assert r.status_code == 200 and "wrong or already used code" in r.content.decode()
    clock[0] += 30
    r = c.post("/login/", {"token": totp(key, clock[0] + 300), "next": "/patients/"})  # wrong
    assert r.status_code == 200
    assert c.get("/patients/").status_code == 302
    code = totp(key, clock[0])
    r = c.post("/login/", {"token": code, "next": "/patients/"})
    assert r.status_code == 302 and r["Location"] == "/patients/"
    assert c.get("/patients/").status_code == 200
    # the same code again in another session: refused (django-otp keeps the last time step used)
    other = Client()
    _login(other, "alice")
    assert other.post("/login/", {"token": code}).status_code == 200
    assert other.get("/patients/").status_code == 302
    actions = list(AuditEvent.objects.filter(username="alice").values_list("action", flat=True))
    assert actions.count("otp_enrol") == 1 and actions.count("otp_verified") == 1
    assert actions.count("otp_failed") == 4  # wrong at enrolment, replay, wrong, replay in another session


@pytest.mark.django_db
def test_wrong_codes_are_throttled(clock: list[float], settings: Any) -> None:
    _user("alice", Role.clinician)
    c = Client()
    _login(c, "alice")
    key = _enrol(c)
    assert c.post("/account/second-factor/", {"token": totp(key, clock[0])}).status_code == 302
    c.post("/logout/")
    _login(c, "alice")
    settings.OTP_TOTP_THROTTLE_FACTOR = 1
    clock[0] += 30
    assert (
        c.post("/login/", {"token": "000000" if totp(key, clock[0]) != "000000" else "111111"}).status_code
        == 200
    )
    r = c.post("/login/", {"token": totp(key, clock[0])})  # right, but too soon after a wrong one
    assert r.status_code == 200 and "too many wrong codes" in r.content.decode()
    TOTPDevice.objects.get(user__username="alice").throttle_reset()  # what the delay's end does
    assert c.post("/login/", {"token": totp(key, clock[0])}).status_code == 302


def _pages(code: str) -> list[str]:
    """Every GET page of the URL map, ids filled in (the pages need not exist: the answer comes first)."""
    urls = []
    for p in get_resolver().url_patterns:
        if isinstance(p, URLPattern):
            route = str(p.pattern).replace("<str:code>", code).replace("<int:pk>", "1")
            urls.append("/" + route)
    return urls + ["/users/tokens/", "/no-such-page/"]


@pytest.mark.django_db
def test_role_requirement_enforced_on_every_page(clock: list[float], patient: Patient) -> None:
    admin = Client()
    admin.force_login(_user("root", Role.admin))
    r = admin.post("/users/security/", {"totp-clinician": "on"})
    assert r.status_code == 302
    assert RoleSecurityPolicy.objects.get(role="clinician").require_totp is True
    line = AuditEvent.objects.get(action="change_security_policy")
    assert line.username == "root" and line.detail == {"role": "clinician", "require_totp": True}

    _user("carol", Role.clinician)
    _user("rita", Role.researcher)
    c = Client()
    r = _login(c, "carol")
    assert r.status_code == 302 and r["Location"] == "/account/second-factor/"
    open_pages = ("/login/", "/healthz", "/account/second-factor/", "/logout/")
    checked = 0
    for url in _pages(patient.code):
        if url in open_pages or url.startswith("/api/"):
            continue
        r = c.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/account/second-factor/"), (
            url,
            r.status_code,
        )
        checked += 1
    assert checked >= 25
    assert c.post(f"/patients/{patient.code}/edit/", {"code": "X", "sex": "male"}).status_code == 302
    assert Patient.objects.get(pk=patient.pk).code == patient.code  # nothing written
    r = c.get("/login/")
    assert r.status_code == 302 and r["Location"].startswith("/account/second-factor/")
    assert c.get("/healthz").status_code == 200
    # a researcher's role requires nothing
    res = Client()
    assert _login(res, "rita")["Location"] == "/"
    assert res.get("/patients/").status_code == 200
    # enrolled: everything the role allows opens again
    key = _enrol(c)
    assert c.post("/account/second-factor/", {"token": totp(key, clock[0])}).status_code == 302
    assert c.get("/patients/").status_code == 200
    assert c.get(f"/patients/{patient.code}/").status_code == 200

    # an admin resets a lost device: the role still requires one, so enrolment again
    carol = User.objects.get(username="carol")
    assert admin.post("/users/security/", {"reset": str(carol.pk)}).status_code == 302
    assert not TOTPDevice.objects.filter(user=carol).exists()
    assert AuditEvent.objects.filter(action="otp_reset", detail__username="carol").exists()
    again = Client()
    assert _login(again, "carol")["Location"] == "/account/second-factor/"
    # the requirement lifted: the password is enough again
    assert admin.post("/users/security/", {}).status_code == 302
    assert AuditEvent.objects.filter(action="change_security_policy").count() == 2
    assert again.get("/patients/").status_code == 200


@pytest.mark.django_db
def test_device_user_with_a_fresh_session_must_give_the_code(clock: list[float], patient: Patient) -> None:
    user = _user("dave", Role.clinician)
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    c = Client()
    c.force_login(user)  # a session that never gave a code
    for url in ("/patients/", f"/patients/{patient.code}/", "/export/cohort.csv", "/users/security/"):
        r = c.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/login/?next="), url


@pytest.mark.django_db
def test_api_tokens_are_not_affected(clock: list[float], patient: Patient) -> None:
    RoleSecurityPolicy.objects.create(role="clinician", require_totp=True)
    user = _user("erin", Role.clinician)
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    token, _ = issue_token(user)
    r = Client().get("/api/patients", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 200 and patient.code in r.content.decode()


@pytest.mark.django_db
def test_only_admins_set_the_policy(client_for: Any) -> None:
    for role in ("clinician", "researcher", "auditor"):
        assert client_for(role).post("/users/security/", {"totp-clinician": "on"}).status_code == 403
    assert not RoleSecurityPolicy.objects.exists()


@pytest.mark.django_db
def test_second_factor_set_up_only_after_the_password_again(clock: list[float]) -> None:
    _user("dora", Role.clinician)
    c = Client()
    assert _login(c, "dora")["Location"] == "/"
    for _ in range(4):
        r = c.post("/account/second-factor/", {"password": "not her password"})
        assert r.status_code == 200 and "wrong password" in r.content.decode()
        assert "otpauth://" not in r.content.decode()
    lines = AuditEvent.objects.filter(action="reauthentication_failed").order_by("id")
    assert [e.detail["failures"] for e in lines] == [1, 2, 3, 4]
    # the fifth wrong password ends the session
    r = c.post("/account/second-factor/", {"password": "not her password"})
    assert r.status_code == 302 and r["Location"] == "/login/"
    assert c.get("/patients/").status_code == 302
    assert not TOTPDevice.objects.filter(user__username="dora").exists()
    # signed in again: the password opens the set-up for a while, then it is asked again
    c = Client()
    _login(c, "dora")
    key = _enrol(c)
    assert AuditEvent.objects.filter(action="reauthenticated", username="dora").count() == 1
    from crpsmap.registry.views import otp as otp_views

    session = c.session
    session[otp_views.REAUTH_AT] = session[otp_views.REAUTH_AT] - otp_views.REAUTH_SECONDS - 1
    session.save()
    page = c.get("/account/second-factor/").content.decode()
    assert "otpauth://" not in page and 'name="password"' in page
    assert c.post("/account/second-factor/", {"token": totp(key, clock[0])}).status_code == 200
    assert not TOTPDevice.objects.filter(user__username="dora", confirmed=True).exists()
