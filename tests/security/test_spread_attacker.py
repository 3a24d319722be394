"""An attacker spread over many addresses.

- Guessing one account's password from 1,000 addresses: the account-wide backoff (after
  4 x OPENCALL_LOGIN_THROTTLE_ATTEMPTS failures, 5 s doubling to a minute) is renewed by
  every guess that lands when a wait ends, so an attacker who keeps sending holds the
  account in its wait, and the owner's right password was refused (429) wherever they
  signed in from. Now a browser the owner signed in on before (a known-device cookie) or
  set the password on with a reset link is counted on its own, per account and device,
  and signs in at once; a copied device cookie gives an attacker
  OPENCALL_LOGIN_THROTTLE_ATTEMPTS guesses, then the backoff; a reset voids it.
- X-Forwarded-For: believed only from the proxies named by ``--forwarded-allow-ips``
  (uvicorn's ProxyHeadersMiddleware, as ``opencall serve`` installs it), which takes the
  nearest address no trusted proxy vouches for: a client writing its own header gets no
  fresh budget per request, behind one proxy or two.
- Registrations with throwaway addresses from many networks that all name one victim
  mail the victim at most OPENCALL_MAIL_THROTTLE_PER_HOUR times an hour."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from opencall.people import services
from opencall.people.models import LoginAttempt
from opencall.web.security import DEVICE_COOKIE
from tests.web.conftest import PASSWORD, Web, World, csrf

pytestmark = pytest.mark.filterwarnings("ignore")


def _attempt(c: TestClient, email: str, password: str) -> int:
    r = c.post("/login", data={"csrf_token": csrf(c), "email": email, "password": password})
    return r.status_code


def _spread_guesses(web: Web, email: str, n: int) -> list[int]:
    """``n`` wrong passwords for ``email``, each from another address of another network
    (one anonymous session's cookie and CSRF token for all: one request a guess)."""
    first = web.client()
    token = csrf(first)
    out = []
    for i in range(n):
        c = web.client(address=f"10.{i // 250}.{i % 250}.9")
        c.cookies.set("oc_session", first.cookies["oc_session"])
        data = {"csrf_token": token, "email": email, "password": f"guess number {i}"}
        out.append(c.post("/login", data=data).status_code)
    return out


def test_guesses_from_a_thousand_addresses_do_not_stop_the_owner(
    web: Web, world: World, one_loop: None
) -> None:
    email = world.emails["pi"]
    laptop = web.client(address="192.0.2.10")
    assert _attempt(laptop, email, PASSWORD) == 303  # the owner's own browser, last week
    assert laptop.cookies.get(DEVICE_COOKIE)
    laptop.post("/logout", data={"csrf_token": csrf(laptop, "/dashboard")})

    statuses = _spread_guesses(web, email, 1000)
    free = 4 * web.settings.login_throttle_attempts
    # after the free failures, a guess is checked only when a wait ends (5 s, 10 s, ...
    # a minute): the rest are refused unchecked
    assert statuses[:free] == [400] * free and statuses.count(429) > 900
    # a browser that never signed in to the account waits like the guesses (at most a
    # minute, again and again while they go on)...
    assert _attempt(web.client(address="192.0.2.11"), email, PASSWORD) == 429
    # ...the owner's own browser signs in at once, from any network
    assert _attempt(laptop, email, PASSWORD) == 303
    assert laptop.get("/dashboard").status_code == 200

    # the device's own attempts are counted per account and device: a copied cookie
    # gives OPENCALL_LOGIN_THROTTLE_ATTEMPTS guesses, then the backoff
    stolen = web.client(address="203.0.113.99")
    stolen.cookies.set(DEVICE_COOKIE, laptop.cookies[DEVICE_COOKIE])
    tries = web.settings.login_throttle_attempts
    got = [_attempt(stolen, email, f"stolen guess {i}") for i in range(tries + 1)]
    assert got == [400] * tries + [429]

    # a reset link makes the browser it is used on a known device, and voids the others
    with web.factory() as s:
        found = services.request_password_reset(s, email)
        assert found is not None
        s.commit()
    phone = web.client(address="198.51.100.200")
    r = phone.post(
        f"/password/reset/{found[1]}",
        data={
            "csrf_token": csrf(phone, "/login"),
            "password": "a brand new password",
            "password2": "a brand new password",
        },
    )
    assert r.status_code == 303 and phone.cookies.get(DEVICE_COOKIE)
    _spread_guesses(web, email, 30)  # the guessing goes on
    assert _attempt(web.client(address="192.0.2.12"), email, "a brand new password") == 429
    assert _attempt(phone, email, "a brand new password") == 303
    assert _attempt(laptop, email, "a brand new password") == 429  # no longer known


def test_a_device_cookie_of_one_account_does_not_help_another(
    web: Web, world: World, one_loop: None
) -> None:
    """The attacker's own account's device cookie counts for that account alone: guesses
    at another account from that browser meet the account's and the client's backoff."""
    mine = web.client(address="203.0.113.5")
    assert _attempt(mine, world.emails["other"], PASSWORD) == 303
    _spread_guesses(web, world.emails["pi"], 4 * web.settings.login_throttle_attempts)
    assert _attempt(mine, world.emails["pi"], "one more guess") == 429


def _behind(app: Any, proxies: str, peer: str) -> TestClient:
    """A client whose connection comes from ``peer``, to the app as ``opencall serve
    --forwarded-allow-ips PROXIES`` runs it (uvicorn's proxy-headers middleware)."""
    wrapped = ProxyHeadersMiddleware(app, trusted_hosts=proxies)
    return TestClient(
        wrapped, base_url="http://testserver", follow_redirects=False, client=(peer, 40000)
    )


def test_a_forged_x_forwarded_for_gives_no_fresh_budget(web: Web, one_loop: None) -> None:
    free = 2 * web.settings.login_throttle_attempts

    def spray(proxies: str, peer: str, forwarded: str) -> list[int]:
        out = []
        for i in range(free + 1):
            c = _behind(web.app, proxies, peer)
            xff = forwarded.format(i=i)
            r = c.post(
                "/login",
                headers={"X-Forwarded-For": xff},
                data={
                    "csrf_token": csrf(c),
                    "email": f"sprayed{i}@example.org",
                    "password": "wrong password",
                },
            )
            out.append(r.status_code)
        return out

    # straight to the server (no trusted proxy): the header is ignored
    assert spray("127.0.0.1", "203.0.113.40", "10.9.{i}.1") == [400] * free + [429]
    # behind nginx on this machine, which appends the address it saw: the forged part
    # (on the left) is not believed
    assert spray("127.0.0.1", "127.0.0.1", "10.8.{i}.1, 203.0.113.41") == [400] * free + [429]
    # behind a national research network's proxy too (both named): the campus client
    # the network's proxy saw is the client, whatever it wrote before
    got = spray("127.0.0.1, 192.0.2.50", "127.0.0.1", "10.7.{i}.1, 198.51.100.23, 192.0.2.50")
    assert got == [400] * free + [429]
    with web.factory() as s:
        clients = set(s.scalars(select(LoginAttempt.client)))
    assert {"203.0.113.40", "203.0.113.41", "198.51.100.23"} <= clients
    assert not any(c.startswith("10.") for c in clients)


def test_throwaway_registrations_from_many_networks_do_not_mail_bomb_a_victim(
    web: Web, one_loop: None
) -> None:
    victim = "victim@example.org"
    for i in range(40):
        c = web.client(address=f"100.64.{i}.1")
        data = {"csrf_token": csrf(c, "/register"), "name": "Throw Away", "email": victim}
        data |= {"password": "throwaway pw 1", "password2": "throwaway pw 1"}
        assert c.post("/register", data=data).status_code == 303
    to_victim = [m for m in web.mails() if f"To: {victim}" in m]
    assert 1 <= len(to_victim) <= web.settings.mail_throttle_per_hour
