"""A user sees their own signed-in sessions and ends the others (ASVS 7.5.2); never anyone else's."""

from __future__ import annotations

import pytest
from django.test import Client

from crpsmap.registry.models import AuditEvent
from crpsmap.registry.own_sessions import session_id
from crpsmap.registry.roles import Role
from registry_support import make_user

PASSWORD = "a long enough passphrase 7"
pytestmark = pytest.mark.django_db


def _signed_in(name: str) -> Client:
    c = Client()
    assert c.post("/login/", {"username": name, "password": PASSWORD}).status_code == 302
    return c


def _user(name: str, role: Role) -> None:
    user = make_user(name, role)
    user.set_password(PASSWORD)
    user.save()


def test_list_and_end_own_sessions() -> None:
    _user("alice", Role.clinician)
    _user("bob", Role.researcher)
    here, ward, home = _signed_in("alice"), _signed_in("alice"), _signed_in("alice")
    bob = _signed_in("bob")
    page = here.get("/account/sessions/").content.decode()
    keys = [c.cookies["sessionid"].value for c in (here, ward, home, bob)]
    assert page.count("this session") == 1 and page.count('name="end" value="') == 3  # 2 others + all
    assert "127.0.0.1" in page and " UTC" in page
    assert all(k not in page for k in keys)  # a session is named by a digest, never by its key
    assert session_id(keys[3]) not in page  # nor is anyone else's listed
    # end the ward's session: it is signed out, the others go on
    assert here.post("/account/sessions/", {"end": session_id(keys[1])}).status_code == 302
    assert ward.get("/patients/").status_code == 302
    assert home.get("/patients/").status_code == 200 and here.get("/patients/").status_code == 200
    # another user's session cannot be ended from here, even by its name
    here.post("/account/sessions/", {"end": session_id(keys[3])})
    assert bob.get("/patients/").status_code == 200
    # all others at once; this one stays
    assert here.post("/account/sessions/", {"end": "others"}).status_code == 302
    assert home.get("/patients/").status_code == 302 and here.get("/patients/").status_code == 200
    ended = [e.detail["ended"] for e in AuditEvent.objects.filter(action="end_own_sessions").order_by("id")]
    assert ended == [1, 0, 1]
