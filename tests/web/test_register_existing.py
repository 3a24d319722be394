"""Registering with an address that has an account answers like a new registration
(the form does not tell who has an account); the owner is told by e-mail."""

import html
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from opencall import jobs
from opencall.people import services
from opencall.people.models import User
from tests.web.conftest import Web, World, csrf

CSRF_VALUE = re.compile(r'name="csrf_token" value="[^"]*"')


def test_existing_address_is_not_revealed(web: Web, world: World) -> None:
    c = web.client("fr")
    tok = csrf(c, "/register")
    data = {
        "csrf_token": tok,
        "name": "Someone Else",
        "email": world.emails["pi"],
        "password": "another long password",
        "password2": "another long password",
        "language": "fr",
    }
    with web.factory() as s:
        n = s.scalar(select(func.count(User.id)))
    r = c.post("/register", data=data)
    fresh = c.post("/register", data={**data, "email": "brand-new@example.org"})
    assert r.status_code == fresh.status_code == 303
    assert r.headers["location"] == fresh.headers["location"]
    with web.factory() as s:
        assert s.scalar(select(func.count(User.id))) == n + 1  # only the new address
    mails = [m for m in web.mails() if f"To: {world.emails['pi']}" in m]
    assert any("/forgot" in m for m in mails)


def _register(web: Web, data: dict[str, str]) -> tuple[int, str, str, list[str]]:
    """One ``POST /register`` from a fresh client: its status, redirect, page (with the
    typed address blanked out) and the names of the cookies it sets."""
    c = web.client("fr")
    r = c.post("/register", data={**data, "csrf_token": csrf(c, "/register")})
    body = html.unescape(r.text).replace(data["email"], "EMAIL")
    body = CSRF_VALUE.sub("", body)
    cookies = sorted(h.split("=", 1)[0] for h in r.headers.get_list("set-cookie"))
    return r.status_code, r.headers.get("location", ""), body, cookies


def test_both_paths_do_the_same_argon2_work_and_answer_alike(
    web: Web, world: World, monkeypatch: Any
) -> None:
    """A new address and one with an account: one argon2 hash of the typed password each,
    one e-mail each, the same answer (the time does not tell who has an account)."""
    hashed: list[str] = []
    real = services.hash_password

    def hash_(password: str) -> str:
        hashed.append(password)
        return real(password)

    monkeypatch.setattr(services, "hash_password", hash_)
    data = {
        "name": "Someone Else",
        "password": "another long password",
        "password2": "another long password",
        "language": "fr",
        "institution": "University of Mumbai",
        "country_iso3": "IND",
    }
    answers = []
    for email in (world.emails["pi"], "brand-new-2@example.org"):
        hashed.clear()
        before = len([m for m in web.mails() if f"To: {email}" in m])
        answers.append(_register(web, {**data, "email": email}))
        assert hashed == ["another long password"], email
        assert len([m for m in web.mails() if f"To: {email}" in m]) == before + 1, email
    assert answers[0] == answers[1]
    assert answers[0][:2] == (303, "/login?m=registered")


@pytest.mark.parametrize(
    "bad",
    [
        {"country_iso3": "ZZZ"},  # no such country
        {"institution": "Somewhere University", "country_iso3": ""},  # no country
    ],
)
def test_bad_input_gets_the_same_error_whether_or_not_the_address_has_an_account(
    web: Web, world: World, bad: dict[str, str]
) -> None:
    """Before the fix the address with an account was checked first: it answered 303
    (as a new registration) where a new address got the form's error (400)."""
    data = {
        "name": "Someone Else",
        "password": "another long password",
        "password2": "another long password",
        "language": "fr",
        **bad,
    }
    with web.factory() as s:
        n = s.scalar(select(func.count(User.id)))
        jobs_before = s.scalar(select(func.count(jobs.Job.id)))
    known = _register(web, {**data, "email": world.emails["pi"]})
    new = _register(web, {**data, "email": "brand-new-3@example.org"})
    assert known == new
    assert known[0] == 400 and "pays" in known[2].lower()
    with web.factory() as s:  # nothing written, nothing queued
        assert s.scalar(select(func.count(User.id))) == n
        assert s.scalar(select(func.count(jobs.Job.id))) == jobs_before
