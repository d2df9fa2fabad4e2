"""The security baseline, one test (or a few) per item, through the real app: password hashing and rules,
login throttling, session cookies, expiry and logout, CSRF on every form, security headers and inline
script, HSTS over TLS, and no patient data in the log. docs/security.md maps each to its ASVS line."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from crpsmap.registry import accounts
from crpsmap.registry import settings as production
from crpsmap.registry.models import AuditEvent, Patient, PatientIdentity, Visit
from crpsmap.registry.roles import Role
from registry_support import IDENTITY_NAME, IDENTITY_RECORD, make_user

PASSWORD = "long-enough-and-not-common-7"


def _login(username: str, password: str = PASSWORD, client: Client | None = None) -> Any:
    c = client or Client()
    return c.post("/login/", {"username": username, "password": password})


@pytest.fixture
def alice(db: None) -> User:
    user = make_user("alice", Role.clinician)
    user.set_password(PASSWORD)
    user.save()
    return user


# --- passwords -----------------------------------------------------------------------------------------


def test_production_hashes_passwords_with_argon2id() -> None:
    """The test run hashes with MD5 for speed; the registry's own settings use Argon2 (argon2id)."""
    assert production.PASSWORD_HASHERS == ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    with override_settings(PASSWORD_HASHERS=production.PASSWORD_HASHERS):
        encoded = make_password(PASSWORD)
        assert encoded.startswith("argon2$argon2id$"), encoded
        assert identify_hasher(encoded).algorithm == "argon2"
        assert check_password(PASSWORD, encoded) and not check_password(PASSWORD + "x", encoded)
        assert make_password(PASSWORD) != encoded  # salted


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("bob", "short-pw-1", "too short"),
        ("bob", "password1234", "too common"),
        ("jonathanharker", "jonathanharker!", "too similar"),
        ("bob", "481516234208", "entirely numeric"),
    ],
)
def test_password_rules_on_the_command_line_and_the_users_page(
    username: str, password: str, message: str, client_for: Any
) -> None:
    with pytest.raises(ValueError, match=message):
        accounts.create_user(username, Role.clinician, password)
    r = client_for("admin").post(
        "/users/new/", {"username": username, "role": "clinician", "password": password}
    )
    assert r.status_code == 200 and message in r.content.decode()
    assert not User.objects.filter(username=username).exists()
    # a good password passes both ways
    accounts.create_user(username, Role.clinician, PASSWORD)
    assert User.objects.filter(username=username).exists()


# --- login throttling ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_five_failures_lock_the_account_until_reset(alice: User) -> None:
    from axes.utils import reset

    for _ in range(4):
        assert _login("alice", "wrong-password-xx").status_code == 200
    assert _login("alice").status_code == 302  # a success before the limit resets the count
    for _ in range(5):
        _login("alice", "wrong-password-xx")
    locked = _login("alice")  # the right password, now refused
    assert locked.status_code in (403, 429) and "_auth_user_id" not in Client().session
    assert "sessionid" not in locked.cookies
    assert reset(username="alice") >= 1  # an admin's `axes_reset_username alice` (or the cool-off)
    assert _login("alice").status_code == 302
    assert production.AXES_FAILURE_LIMIT == 5 and production.AXES_COOLOFF_TIME == 0.25  # 15 minutes


# --- sessions ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_session_cookie_flags_and_expiry(alice: User) -> None:
    c = Client()
    assert _login("alice", client=c).status_code == 302
    cookie = c.cookies["sessionid"]
    assert cookie["httponly"] is True and cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # plain HTTP without CRPSMAP_HTTPS: see the HTTPS test below
    assert cookie["max-age"] == "" and cookie["expires"] == ""  # ends when the browser closes
    assert production.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert production.SESSION_COOKIE_AGE == 8 * 3600
    assert c.cookies["csrftoken"]["httponly"] is True
    # on the server the session ends after SESSION_COOKIE_AGE, whatever the browser keeps
    s = Session.objects.get(session_key=cookie.value)
    age = (s.expire_date - timezone.now()).total_seconds()
    assert 8 * 3600 - 60 < age <= 8 * 3600
    assert c.get("/patients/").status_code == 200
    Session.objects.filter(pk=s.pk).update(expire_date=timezone.now() - timezone.timedelta(seconds=1))
    r = c.get("/patients/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")


@pytest.mark.django_db
def test_idle_session_ends_and_signed_in_pages_are_not_cached(alice: User) -> None:
    import time

    from crpsmap.registry.config import DEFAULT_IDLE_MINUTES
    from crpsmap.registry.idle import LAST_SEEN, TOUCH_EVERY

    c = Client()
    assert _login("alice", client=c).status_code == 302
    r = c.get("/patients/")
    assert r.status_code == 200 and "no-store" in r["Cache-Control"]

    def last_seen(seconds_ago: int) -> None:
        session = c.session
        session[LAST_SEEN] = int(time.time()) - seconds_ago
        session.save()

    limit = DEFAULT_IDLE_MINUTES * 60
    last_seen(limit - 30)  # active within the limit: the session goes on, its moment is renewed
    assert c.get("/patients/").status_code == 200
    assert int(time.time()) - c.session[LAST_SEEN] < TOUCH_EVERY
    key = c.cookies["sessionid"].value
    last_seen(limit + 1)
    r = c.get("/patients/?site=North")
    assert r.status_code == 302 and r["Location"].startswith("/login/?next=/patients/")
    assert not Session.objects.filter(session_key=key).exists()
    assert c.get("/patients/").status_code == 302  # and stays ended
    line = AuditEvent.objects.filter(action="session_idle_timeout").get()
    assert line.username == "alice" and line.detail["idle_seconds"] > limit


def test_idle_limit_from_the_environment(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    from crpsmap.registry.config import IDLE_ENV, SettingsError, idle_limit_seconds

    monkeypatch.setenv(IDLE_ENV, "15")
    assert idle_limit_seconds() == 900
    for bad in ("0", "-5", "ten", "1.5"):
        monkeypatch.setenv(IDLE_ENV, bad)
        with pytest.raises(SettingsError, match=IDLE_ENV):
            idle_limit_seconds()
    # a command that starts the registry says so, exit 2, no traceback
    cmd = [sys.executable, "-m", "crpsmap", "registry", "migrate"]
    r = subprocess.run(cmd, env={**env, IDLE_ENV: "ten"}, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "$CRPSMAP_IDLE_MINUTES='ten'" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.django_db
def test_logout_is_post_only_and_revokes_the_session(alice: User) -> None:
    c = Client()
    assert _login("alice", client=c).status_code == 302
    old = c.cookies["sessionid"].value
    assert c.get("/logout/").status_code == 405  # no logout by a link or an image on another page
    assert c.get("/patients/").status_code == 200
    assert c.post("/logout/").status_code == 302
    assert not Session.objects.filter(session_key=old).exists()
    replay = Client()
    replay.cookies["sessionid"] = old  # whoever kept a copy of the cookie
    r = replay.get("/patients/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")


# --- CSRF ----------------------------------------------------------------------------------------------


def _site_urls(ids: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(name, url) of every registry page (not the token-only API), with real ids filled in."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "api":
                    continue
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                for k in ("code", "pk"):
                    v = ids["code"] if k == "code" else ids.get(p.name or "", ids["visit"])
                    route = route.replace(f"<str:{k}>", str(v)).replace(f"<int:{k}>", str(v))
                yield p.name or route, "/" + route

    return walk(get_resolver().url_patterns, "")


@pytest.fixture
def ids(patient: Patient, users: dict[str, User]) -> dict[str, Any]:
    v = Visit.objects.filter(patient=patient).first()
    assert v is not None
    return {"code": patient.code, "visit": v.pk, "user_edit": users["researcher"].pk}


@pytest.mark.django_db
def test_every_post_without_a_csrf_token_is_refused(users: dict[str, User], ids: dict[str, Any]) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(users["admin"])
    urls = list(_site_urls(ids))
    assert len(urls) >= 30
    for name, url in urls:
        assert not getattr(get_resolver().resolve(url).func, "csrf_exempt", False), name
        r = strict.post(url, {"x": "1"})
        assert r.status_code == 403 and b"CSRF verification failed" in r.content, (name, url, r.status_code)
    assert Client(enforce_csrf_checks=True).post("/login/", {"username": "u-admin"}).status_code == 403
    # the check can fail: with its token the same kind of request goes through
    assert strict.get("/users/security/").status_code == 200
    token = strict.cookies["csrftoken"].value
    r = strict.post("/users/security/", {"csrfmiddlewaretoken": token})
    assert r.status_code == 302


# --- headers and inline script -------------------------------------------------------------------------


class _InlineScriptFinder(HTMLParser):
    """Inline script bodies, on* event-handler attributes, javascript: links and POST forms without
    the CSRF token in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.scripts = 0
        self.post_forms = 0
        self._in_script = False
        self._form_token: bool | None = None  # inside a POST form: has its token been seen

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self.post_forms += 1
            self._form_token = False
        if tag == "input" and a.get("name") == "csrfmiddlewaretoken" and a.get("value"):
            self._form_token = True if self._form_token is not None else None
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:...>")
        if tag == "script":
            self.scripts += 1
            self._in_script = dict(attrs).get("type") != "application/json"  # a data block runs nothing
            if self._in_script and not dict(attrs).get("src"):
                self.problems.append("<script> without src")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False
        if tag == "form" and self._form_token is not None:
            if not self._form_token:
                self.problems.append("POST form without csrfmiddlewaretoken")
            self._form_token = None

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"inline script body {data.strip()[:40]!r}")


def _pages(patient: Patient) -> list[tuple[str, str]]:
    v = patient.visit_set.first()
    e = patient.clinicalevent_set.first()
    assert v is not None and e is not None
    code = patient.code
    clinician = [
        "/patients/",
        "/patients/?spread=yes&limbs=2",
        "/patients/new/",
        f"/patients/{code}/",
        f"/patients/{code}/edit/",
        f"/patients/{code}/identity/",
        f"/patients/{code}/visits/new/",
        f"/patients/{code}/visits/{v.pk}/edit/",
        f"/patients/{code}/events/new/?kind=surgery",
        f"/patients/{code}/events/{e.pk}/edit/",
        f"/patients/{code}/treatments/new/",
        "/dashboard/",
        "/dashboard/report/",
        "/import/",
        "/export/",
        "/export/cohort.csv",
        "/account/second-factor/",
        "/api/docs",
    ]
    admin = ["/audit/", "/users/", "/users/new/", "/users/security/", "/users/tokens/"]
    return [("clinician", u) for u in clinician] + [("admin", u) for u in admin] + [(None, "/login/")]


@pytest.mark.django_db
def test_security_headers_and_no_inline_script_on_every_page(client_for: Any, patient: Patient) -> None:
    clients = {role: client_for(role) for role in ("clinician", "admin", None)}
    html_pages = post_forms = 0
    for role, url in _pages(patient):
        r = clients[role].get(url)
        assert r.status_code == 200, (url, r.status_code)
        assert r["X-Content-Type-Options"] == "nosniff", url
        assert r["Referrer-Policy"] == "same-origin", url
        assert r["Cross-Origin-Opener-Policy"] == "same-origin", url
        assert r["X-Frame-Options"] in ("DENY", "SAMEORIGIN"), url
        assert "Strict-Transport-Security" not in r, url  # plain HTTP: see the HTTPS test
        csp = {
            d.split()[0]: d.split()[1:]
            for d in (x.strip() for x in r["Content-Security-Policy"].split(";"))
            if d
        }
        assert csp["script-src"] == ["'self'"], url
        assert csp["frame-ancestors"] in (["'self'"], ["'none'"]), url
        assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"], url
        # the embedded report has its own inline style sheet, Swagger UI sets styles from its script
        if url not in ("/dashboard/report/", "/api/docs"):
            assert "'unsafe-inline'" not in csp.get("style-src", []), url
        if r["Content-Type"].startswith("text/html"):
            html_pages += 1
            finder = _InlineScriptFinder()
            finder.feed(r.content.decode())
            assert not finder.problems, (url, finder.problems)
            post_forms += finder.post_forms
    assert html_pages >= 20 and post_forms >= 20


def _https_settings() -> dict[str, Any]:
    """The registry's settings as they are with CRPSMAP_HTTPS=1 (read in a fresh interpreter)."""
    names = [
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_NAME",
        "CSRF_COOKIE_NAME",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    ]
    code = (
        "import json, crpsmap.registry.settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {names!r}}}))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["CRPSMAP_HTTPS"] = "1"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    values: dict[str, Any] = json.loads(out.stdout)
    return values


@pytest.mark.django_db
def test_over_tls_cookies_are_secure_and_hsts_is_sent(alice: User) -> None:
    tls = _https_settings()
    assert tls["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600 and tls["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert production.SECURE_HSTS_SECONDS == 0 and not production.SESSION_COOKIE_SECURE  # HTTP: none
    with override_settings(**tls):
        c = Client()
        r = c.post("/login/", {"username": "alice", "password": PASSWORD}, secure=True)
        assert r.status_code == 302
        cookie = c.cookies["__Host-sessionid"]
        assert cookie["secure"] is True and cookie["httponly"] is True and cookie["path"] == "/"
        assert not cookie["domain"]  # the __Host- prefix: Secure, Path=/, no Domain
        assert c.cookies["__Host-csrftoken"]["secure"] is True
        r = c.get("/patients/", secure=True)
        assert r.status_code == 200
        assert r["Strict-Transport-Security"] == f"max-age={tls['SECURE_HSTS_SECONDS']}; includeSubDomains"
        assert "Strict-Transport-Security" not in Client().get("/login/")  # never over plain HTTP


# --- no patient data in the log ------------------------------------------------------------------------


@pytest.fixture
def log_text() -> Iterator[io.StringIO]:
    """Everything every logger writes at DEBUG and above, through the registry's own log handler (and
    its filter), instead of the console."""
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler) and h.filters]
    assert handlers, "the registry's LOGGING puts its handler on the root logger"
    handler = handlers[0]
    buf = io.StringIO()
    old_stream = handler.stream  # (not setStream: it flushes the old one, which pytest may have closed)
    handler.stream = buf
    levels = {
        name: lg.level
        for name, lg in logging.root.manager.loggerDict.items()
        if isinstance(lg, logging.Logger)
    }
    root_level = logging.getLogger().level
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        yield buf
    finally:
        handler.stream = old_stream
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        logging.getLogger().setLevel(root_level)


@pytest.mark.django_db
def test_no_patient_data_in_the_log(client_for: Any, users: dict[str, User], log_text: io.StringIO) -> None:
    code, note, region = "ZQ-LOG-4711", "Told us about her sister Wilhelmina", "ankle_left"
    clin, res = client_for("clinician"), client_for("researcher")
    csv = f"patient_id,date,kind,regions\n{code},2020-01-01,onset,{region}\n".encode()
    r = clin.post("/import/", {"file": SimpleUploadedFile("in.csv", csv, "text/csv")})
    assert "Imported 1 patients" in r.content.decode()
    PatientIdentity.objects.create(
        patient=Patient.objects.get(code=code), name=IDENTITY_NAME, record_number=IDENTITY_RECORD
    )
    visit = {
        "kind": "assessment",
        "date": "2021-03-01",
        "segments": ["hand_palm_left"],
        "pain": "5",
        "note": note,
    }
    assert clin.post(f"/patients/{code}/visits/new/", visit).status_code == 302
    assert Visit.objects.filter(patient__code=code, note=note).exists()
    Client().post("/login/", {"username": IDENTITY_NAME, "password": "wrong-password"})  # failed login
    assert res.get(f"/patients/{code}/identity/").status_code == 403  # Django logs refused paths
    assert clin.get(f"/patients/{code}-missing/").status_code == 404
    assert clin.get(f"/patients/?q={IDENTITY_NAME.split()[0]}").status_code == 200
    assert clin.get(f"/api/patients/{code}/history").status_code in (401, 403, 404)  # no token
    text = log_text.getvalue()
    assert "Forbidden" in text and "/patients/[code]/identity/" in text  # the log did see the requests
    for secret in (
        code,
        IDENTITY_NAME,
        IDENTITY_NAME.split()[0],
        IDENTITY_RECORD,
        note,
        "Wilhelmina",
        region,
    ):
        assert secret not in text, (secret, text[-2000:])


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "PUT", "DELETE", "PATCH"])
def test_pages_answer_only_get_head_and_post(method: str, client_for: Any) -> None:
    """Every page (the URL map, included ones, not the API) refuses other methods with 405 and an Allow
    header, before any view runs, logged in or not (found by the dynamic scan)."""
    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(patterns: list[Any], prefix: str) -> list[str]:
        out: list[str] = []
        for p in patterns:
            if isinstance(p, URLPattern):
                out.append(prefix + str(p.pattern))
            elif isinstance(p, URLResolver) and p.namespace != "api":
                out.extend(walk(p.url_patterns, prefix + str(p.pattern)))
        return out

    routes = [
        "/" + r.replace("<str:code>", "P001").replace("<int:pk>", "1")
        for r in walk(get_resolver().url_patterns, "")
    ]
    assert len(routes) > 20
    for role in (None, "clinician"):
        client = client_for(role)
        for url in routes:
            r = client.generic(method, url)
            assert r.status_code == 405, (role, method, url, r.status_code)
            assert r["Allow"] == "GET, HEAD, POST"
    # the API answers methods itself (JSON), and GET still works for pages
    assert client_for("clinician").generic(method, "/api/patients").status_code != 200
    assert client_for("clinician").get("/patients/").status_code == 200
