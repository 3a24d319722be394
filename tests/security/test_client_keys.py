"""Throttles count a client, not one of its addresses: an IPv6 client holds a whole /64
network (2**64 addresses it may send from), so the sign-in and reset-request limits per
client count the /64; an IPv4 address seen as IPv4-mapped IPv6 is the same client. And a
sign-in on a browser that is already signed in ends the session it replaces."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from opencall.people.models import UserSession
from opencall.people.queries import user_by_email
from opencall.web.security import client_key
from tests.web.conftest import PASSWORD, Web, World, csrf

pytestmark = pytest.mark.filterwarnings("ignore")
# the web layer's answer: one backend
sqlite_only = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def _client(web: Web, address: str) -> TestClient:
    return TestClient(
        web.app, base_url="http://testserver", follow_redirects=False, client=(address, 40000)
    )


def test_client_keys() -> None:
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff:ffff:ffff:ffff")
    assert client_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.1") == client_key("192.0.2.1") == "192.0.2.1"
    assert client_key("192.0.2.1") != client_key("192.0.2.2")
    assert client_key("testclient") == "testclient"  # not an address: kept as it is
    assert client_key("") == ""


@sqlite_only
def test_a_client_rotating_its_ipv6_addresses_is_one_client(web: Web, world: World) -> None:
    """Spraying sign-ins over many accounts, each from another address of one /64: the
    per-client backoff starts after 2 x OPENCALL_LOGIN_THROTTLE_ATTEMPTS failures, as
    from one address (without the /64 key every attempt answered 400, never 429)."""
    free = 2 * web.settings.login_throttle_attempts
    statuses = []
    for i in range(free + 1):
        c = _client(web, f"2001:db8:77:1::{i + 1:x}")
        r = c.post(
            "/login",
            data={"csrf_token": csrf(c), "email": f"spray{i}@example.org", "password": "x" * 12},
        )
        statuses.append(r.status_code)
    assert statuses == [400] * free + [429], statuses
    # another /64 is another client, and signs in
    c = _client(web, "2001:db8:77:2::1")
    r = c.post(
        "/login", data={"csrf_token": csrf(c), "email": world.emails["pi"], "password": PASSWORD}
    )
    assert r.status_code == 303


@sqlite_only
def test_reset_requests_from_one_ipv6_network_share_the_limit(web: Web) -> None:
    limit = web.settings.reset_throttle_per_hour
    statuses = []
    for i in range(limit + 1):
        c = _client(web, f"2001:db8:88:1:{i + 1:x}::1")
        r = c.post(
            "/password/forgot",
            data={"csrf_token": csrf(c, "/password/forgot"), "email": f"v{i}@example.org"},
        )
        statuses.append(r.status_code)
    assert statuses == [303] * limit + [429], statuses
    c = _client(web, "::ffff:198.51.100.9")  # the same client as 198.51.100.9
    for _ in range(limit):
        r = c.post(
            "/password/forgot",
            data={"csrf_token": csrf(c, "/password/forgot"), "email": "w@example.org"},
        )
        assert r.status_code == 303
    c = _client(web, "198.51.100.9")
    r = c.post(
        "/password/forgot", data={"csrf_token": csrf(c, "/password/forgot"), "email": "w@x.org"}
    )
    assert r.status_code == 429


@sqlite_only
def test_signing_in_again_ends_the_replaced_session(web: Web, world: World) -> None:
    """A browser signed in as one person signs in as another (or again): the session
    its cookie carried is ended on the server, wherever that cookie was copied to."""
    c = web.login(world.emails["pi"])
    copied = web.client()
    copied.cookies.set("oc_session", c.cookies["oc_session"])
    assert copied.get("/dashboard").status_code == 200
    r = c.post(
        "/login",
        data={"csrf_token": csrf(c), "email": world.emails["other"], "password": PASSWORD},
    )
    assert r.status_code == 303
    assert c.get("/dashboard").status_code == 200  # the new session works
    r = copied.get("/dashboard")
    assert r.status_code == 303 and r.headers["location"].startswith("/login"), r.status_code
    with web.factory() as s:
        pi = user_by_email(s, world.emails["pi"])
        assert pi is not None
        reasons = s.scalars(select(UserSession.revoked_reason).where(UserSession.user_id == pi.id))
        assert "replaced" in set(reasons)
    # a refused sign-in leaves the current session alone
    r = c.post("/login", data={"csrf_token": csrf(c), "email": world.emails["pi"], "password": "x"})
    assert r.status_code == 400
    assert c.get("/dashboard").status_code == 200


@sqlite_only
def test_accepting_a_role_starts_a_new_session(web: Web, world: World) -> None:
    """A privilege gained in a session (accepting an invitation to a role) comes with a
    new session id: a copy of the cookie taken before does not carry the new role."""
    from opencall.calls.queries import call_by_slug
    from opencall.people import services as people_services
    from tests import factories as F

    with web.factory() as s:
        call = call_by_slug(s, world.slugs["call"])
        assert call is not None
        _g, inv, raw = people_services.invite_to_role(
            s, email="new-chair@example.org", role="chair", provider_id=call.provider_id
        )
        assert inv is not None and raw is not None
        F.user(s, email="new-chair@example.org")
        s.commit()
    c = web.login("new-chair@example.org")
    before = c.cookies["oc_session"]
    copied = web.client()
    copied.cookies.set("oc_session", before)
    assert copied.get("/dashboard").status_code == 200
    page = f"/roles/invitations/{raw}"
    r = c.post(page, data={"csrf_token": csrf(c, page)})
    assert r.status_code == 303, r.text[:2000]
    assert c.cookies["oc_session"] != before
    assert c.get("/manage").status_code == 200  # the new session, with the role
    r = copied.get("/manage")
    assert r.status_code == 303 and r.headers["location"].startswith("/login"), r.status_code
    with web.factory() as s:
        u = user_by_email(s, "new-chair@example.org")
        assert u is not None
        reasons = s.scalars(select(UserSession.revoked_reason).where(UserSession.user_id == u.id))
        assert "privilege" in set(reasons)
