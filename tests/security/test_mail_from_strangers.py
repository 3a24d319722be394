"""Nobody can use the site to mail strangers at will: registrations from one client are
limited per hour (each mails a verification link, or an "account exists" note, to the
address typed, with the typed name in its greeting), and a proposal's invitation mails
to one address are limited like the other mails to an address (invite, remove, invite
again... mailed the address every time)."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from opencall import jobs
from opencall.people.models import User
from opencall.proposals.models import Proposal
from tests.web.conftest import PASSWORD, Web, World, api_bearer, csrf, version_of

pytestmark = [
    pytest.mark.filterwarnings("ignore"),
    pytest.mark.parametrize("engine", ["sqlite"], indirect=True),  # the web layer's answer
]


def _users(web: Web) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count()).select_from(User)) or 0


def _register(c: TestClient, tok: str, email: str) -> object:
    return c.post(
        "/register",
        data={
            "csrf_token": tok,
            "email": email,
            "name": "Visit Spammer",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )


def test_registrations_from_one_client_are_limited(web: Web, world: World) -> None:
    limit = web.settings.register_throttle_per_hour
    c = web.client("fr", address="203.0.113.60")
    tok = csrf(c, "/register")
    for i in range(limit):
        # a known address counts as any other (the answer must not tell them apart)
        email = world.emails["pi"] if i == 0 else f"stranger{i}@example.org"
        r = _register(c, tok, email)
        assert r.status_code == 303, i
    users, mails = _users(web), len(web.mails())
    r = _register(c, tok, "one-more@example.org")
    assert r.status_code == 429, r.status_code
    assert 0 < int(r.headers["retry-after"]) <= 3600
    text = html.unescape(r.text)
    assert "Trop d'inscriptions depuis votre réseau" in text
    assert "one-more@example.org" in text  # the form keeps what was typed
    r = _register(c, tok, world.emails["coi"])  # the same answer for a known address
    assert r.status_code == 429
    assert (_users(web), len(web.mails())) == (users, mails)  # nothing created or mailed
    other = web.client(address="192.0.2.78")
    r = _register(other, csrf(other, "/register"), "one-more@example.org")
    assert r.status_code == 303
    assert _users(web) == users + 1


def test_invitation_mails_to_one_address_are_throttled(web: Web, world: World) -> None:
    c = web.login(world.emails["pi"])
    pid = world.ids["proposal"]
    victim = "victim@example.net"
    rounds = web.settings.mail_throttle_per_hour + 2
    for _ in range(rounds):
        r = c.post(
            f"/proposals/{pid}/team",
            data={
                "csrf_token": csrf(c, f"/proposals/{pid}"),
                "version": version_of(c, pid),
                "email": victim,
                "name": "Victim",
                "institution": "Somewhere",
                "country_iso3": "FRA",
            },
        )
        assert r.status_code == 303  # the invitation itself is made every time
        ids = re.findall(rf"/proposals/{pid}/team/(\d+)/remove", c.get(f"/proposals/{pid}").text)
        r = c.post(
            f"/proposals/{pid}/team/{max(int(x) for x in ids)}/remove",
            data={"csrf_token": csrf(c, f"/proposals/{pid}"), "version": version_of(c, pid)},
        )
        assert r.status_code == 303
    sent = [m for m in web.mails() if f"To: {victim}" in m]
    assert len(sent) == web.settings.mail_throttle_per_hour, len(sent)


def test_api_invitation_mails_to_one_address_are_throttled(web: Web, world: World) -> None:
    bearer = api_bearer(web, world.emails["pi"])
    c = web.client()
    pid = world.ids["proposal"]
    victim = "api-victim@example.net"
    with web.factory() as s:
        version = s.get(Proposal, pid).version  # type: ignore[union-attr]
    for _ in range(web.settings.mail_throttle_per_hour + 2):
        r = c.post(
            f"/api/v1/proposals/{pid}/members",
            headers=bearer,
            json={
                "version": version,
                "email": victim,
                "name": "Victim",
                "institution": "Somewhere",
                "country_iso3": "FRA",
            },
        )
        assert r.status_code == 201, r.text
        mid = next(m["id"] for m in r.json()["members"] if m["email"] == victim)
        r = c.delete(
            f"/api/v1/proposals/{pid}/members/{mid}",
            headers=bearer,
            params={"version": r.json()["version"]},
        )
        assert r.status_code == 200, r.text
        version = r.json()["version"]
    # the API queues its mails for the worker: run them
    jobs.run_pending(web.app.state.sessions, web.app.state.jobs)
    sent = [m for m in web.mails() if f"To: {victim}" in m]
    assert len(sent) == web.settings.mail_throttle_per_hour, len(sent)
