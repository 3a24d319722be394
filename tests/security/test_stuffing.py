"""Credential stuffing spread thin (trialcrowd10): a list of stolen addresses and
passwords tried once each, every try from another address of another network. Each
account sees one failure, each address one: the per-account, per-address and
per-account-and-address counts never start their backoff, so the whole list was checked
as fast as the attacker sent it, and every stolen password still valid signed in.
Now the site counts the failed sign-ins of the last minute from browsers that are not a
known device of the account (``OPENCALL_LOGIN_GLOBAL_FAILURES_PER_MIN``, 60): beyond, such
sign-ins wait (429, unchecked: the right password too) until the count falls. The
owners on their own browsers are not counted and sign in at once."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from opencall.people import services
from opencall.web.security import DEVICE_COOKIE
from tests import factories as F
from tests.web.conftest import PASSWORD, Web, World, csrf

pytestmark = pytest.mark.filterwarnings("ignore")


def _attempt(c: TestClient, email: str, password: str, token: str | None = None) -> int:
    data = {"csrf_token": token or csrf(c), "email": email, "password": password}
    return c.post("/login", data=data).status_code


def test_a_stuffing_list_spread_over_networks_is_slowed_site_wide(
    web: Web, world: World, one_loop: None
) -> None:
    email = world.emails["pi"]
    laptop = web.client(address="192.0.2.10")
    assert _attempt(laptop, email, PASSWORD) == 303  # the owner's browser, last week
    assert laptop.cookies.get(DEVICE_COOKIE)
    laptop.post("/logout", data={"csrf_token": csrf(laptop, "/dashboard")})

    first = web.client()
    token = csrf(first)
    limit = web.settings.login_global_failures_per_min
    statuses = []
    for i in range(limit + 20):
        c = web.client(address=f"10.{i // 250}.{i % 250}.7")
        c.cookies.set("oc_session", first.cookies["oc_session"])
        statuses.append(_attempt(c, f"victim{i}@example.net", f"leaked password {i}", token))
    # one try an account and an address: no per-account or per-address count starts
    assert statuses[:limit] == [400] * limit
    # beyond the site's minute, unchecked: before the fix, all 400 (every one checked)
    assert statuses[limit:] == [429] * 20
    # a stolen password that is right, from yet another network, does not sign in now
    thief = web.client(address="198.51.100.77")
    c_token = csrf(thief)
    r = thief.post("/login", data={"csrf_token": c_token, "email": email, "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) <= 60
    assert thief.get("/dashboard", follow_redirects=False).status_code != 200
    # the owner on their own browser is not counted, and signs in at once
    assert _attempt(laptop, email, PASSWORD) == 303
    assert laptop.get("/dashboard").status_code == 200


def test_the_site_minute_passes_and_known_devices_never_count(db: Session) -> None:
    """The service with a pinned clock: 3 failures a minute allowed; the fourth try from
    a fifth network waits until the first failure is a minute old, then is checked.
    Failures on known devices (the owner's own typos) count for nothing site-wide."""
    F.user(db, email="owner@example.org")
    t0 = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC)

    def go(i: int, seconds: float, device: str = "") -> services.LoginResult:
        return services.authenticate(
            db,
            f"someone{i}@example.net" if not device else "owner@example.org",
            "not the password",
            max_attempts=5,
            window_s=900,
            client=f"203.0.113.{i}",
            device=device,
            global_per_min=3,
            now=t0 + dt.timedelta(seconds=seconds),
        )

    for i in range(5):  # the owner's typos on their own browser
        assert go(i, 1, device="laptop").error == "bad_credentials"
    assert [go(i, 10 + i).error for i in range(3)] == ["bad_credentials"] * 3
    late = go(4, 20)
    assert late.error == "throttled" and late.retry_after_s == 50
    assert go(5, 70.5).error == "bad_credentials"  # the first failure is a minute old
    # off: no site-wide limit
    assert (
        services.authenticate(
            db,
            "x@example.net",
            "nope",
            max_attempts=5,
            window_s=900,
            client="192.0.2.99",
            now=t0 + dt.timedelta(seconds=71),
        ).error
        == "bad_credentials"
    )
