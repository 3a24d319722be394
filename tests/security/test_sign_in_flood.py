"""One account signing in again and again (trialcrowd16). Each successful sign-in wrote a
row of ``user_sessions`` (and one of ``login_attempts``), kept for good: the sign-in
throttle counts failures only, so a script holding one account's password grew both
tables at the pace of its requests (one argon2 verification each), a million rows a
day from one account. Now an account keeps at most
``people.services.MAX_SESSIONS`` session rows (the oldest ended ones go first, then the
oldest open one, which signs that browser out), and a successful sign-in replaces the
account's earlier success from the same client in ``login_attempts`` (the throttles read
only the latest success of an account and a client)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from opencall.people import services as people_services
from opencall.people.models import LoginAttempt, UserSession
from opencall.people.queries import user_by_email
from tests.web.conftest import PASSWORD, Web, World, csrf


def _rows(web: Web, email: str) -> tuple[int, int, int]:
    """(session rows, open session rows, successful sign-ins recorded) of ``email``."""
    with web.factory() as s:
        u = user_by_email(s, email)
        assert u is not None
        sessions = s.scalar(select(func.count()).where(UserSession.user_id == u.id)) or 0
        open_ = (
            s.scalar(
                select(func.count()).where(
                    UserSession.user_id == u.id, UserSession.revoked_at.is_(None)
                )
            )
            or 0
        )
        ok = (
            s.scalar(
                select(func.count()).where(LoginAttempt.email == email, LoginAttempt.ok.is_(True))
            )
            or 0
        )
        return sessions, open_, ok


def test_an_account_signing_in_without_end_keeps_a_bounded_number_of_rows(
    web: Web, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the fix: 45 sign-ins (the bound of 30, and 15 more) left 45 session rows
    and 45 successful attempts (the test failed at the first assertion). The bound is
    made small here to keep the test cheap."""
    monkeypatch.setattr(people_services, "MAX_SESSIONS", 6)
    email = world.emails["other"]
    bound = people_services.MAX_SESSIONS
    n = bound + 8
    with web.one_loop():
        first = web.login(email)
        # a browser signing in again and again (each ends the session it carried) ...
        again = web.login(email)
        for _ in range(3):
            r = again.post(
                "/login", data={"csrf_token": csrf(again), "email": email, "password": PASSWORD}
            )
            assert r.status_code == 303
        last = again
        for _ in range(n - 5):  # ... and new browsers
            last = web.login(email)
        sessions, open_, ok = _rows(web, email)
        assert sessions <= bound, sessions
        assert open_ <= bound
        assert ok == 2  # the latest success from the address, and from the known device
        # the newest browser is signed in; the oldest was signed out to make room
        assert last.get("/dashboard").status_code == 200
        r = first.get("/dashboard")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_ended_sessions_go_before_open_ones(
    web: Web, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sessions signed out are dropped before any open one: an account that signs in and
    out on one browser never signs its other browsers out."""
    monkeypatch.setattr(people_services, "MAX_SESSIONS", 6)
    email = world.emails["other"]
    with web.one_loop():
        kept = web.login(email)
        for _ in range(people_services.MAX_SESSIONS + 5):
            c = web.login(email)
            assert c.post("/logout", data={"csrf_token": csrf(c, "/account")}).status_code == 303
        assert kept.get("/dashboard").status_code == 200
        sessions, open_, _ok = _rows(web, email)
        assert sessions <= people_services.MAX_SESSIONS and open_ == 1
