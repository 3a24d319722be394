"""Issue 13 item 4: sessions that can be revoked, scoped and expiring API tokens,
one reset link at a time, login backoff per account and per client address (no
lock a stranger can trigger), e-mail throttle, cookie flags and headers,
cross-site refusal and the resume page."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from opencall.app import create_app
from opencall.auditlog import AuditEvent
from opencall.db import utcnow
from opencall.people import services
from opencall.people.models import ApiToken, User
from opencall.people.queries import user_by_email
from opencall.proposals.models import Proposal
from opencall.settings import Settings, cookies_secure, production_problems
from tests.review_cycle import Cycle
from tests.web.conftest import PASSWORD, Web, World, csrf, version_of, web_settings

pytestmark = pytest.mark.filterwarnings("ignore")


def _client(web: Web, address: str) -> TestClient:
    return TestClient(
        web.app, base_url="http://testserver", follow_redirects=False, client=(address, 40000)
    )


def _login(web: Web, email: str, password: str = PASSWORD, address: str = "10.0.0.1") -> Any:
    c = _client(web, address)
    r = c.post("/login", data={"csrf_token": csrf(c), "email": email, "password": password})
    return c, r


# ---------------------------------------------------------------- sessions


def test_logout_ends_the_session_even_for_a_copied_cookie(web: Web, world: World) -> None:
    c, r = _login(web, world.emails["pi"])
    assert r.status_code == 303
    thief = web.client()
    thief.cookies.set("oc_session", c.cookies["oc_session"])
    assert thief.get("/dashboard").status_code == 200
    assert c.post("/logout", data={"csrf_token": csrf(c, "/dashboard")}).status_code == 303
    assert c.get("/dashboard").status_code == 303
    assert thief.get("/dashboard").status_code == 303  # the copied cookie is dead too


def test_an_administrator_ends_every_session(
    web: Web, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = _login(web, world.emails["pi"])
    b, _ = _login(web, world.emails["pi"], address="10.0.0.2")
    other, _ = _login(web, world.emails["coi"])
    from typer.testing import CliRunner

    from opencall.cli import app as cli_app

    monkeypatch.setenv("OPENCALL_DATABASE_URL", web.settings.database_url)
    r = CliRunner().invoke(cli_app, ["revoke-sessions", world.emails["pi"], "--tokens"])
    assert r.exit_code == 0 and "2 sessions ended" in r.output, r.output
    assert a.get("/dashboard").status_code == 303
    assert b.get("/dashboard").status_code == 303
    assert other.get("/dashboard").status_code == 200  # someone else's session is untouched
    with web.factory() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "user.sessions_revoked"))
        assert [e.data["reason"] for e in ev] == ["admin"]


def test_password_reset_ends_sessions_and_tokens(web: Web, world: World) -> None:
    other_device, _ = _login(web, world.emails["pi"])
    with web.factory() as s:
        u = user_by_email(s, world.emails["pi"])
        assert u is not None
        _tok, raw = services.create_api_token(s, u, "script")
        found = services.request_password_reset(s, u.email)
        assert found is not None
        s.commit()
    api = web.client()
    bearer = {"Authorization": f"Bearer {raw}"}
    assert api.get("/api/v1/me", headers=bearer).status_code == 200
    c = web.client()
    r = c.post(
        f"/password/reset/{found[1]}",
        data={
            "csrf_token": csrf(c),
            "password": "brand new password",
            "password2": "brand new password",
        },
    )
    assert r.status_code == 303
    assert other_device.get("/dashboard").status_code == 303
    assert api.get("/api/v1/me", headers=bearer).status_code == 401


# ---------------------------------------------------------------- tokens


def _token(web: Web, email: str, **kw: Any) -> str:
    with web.factory() as s:
        u = user_by_email(s, email)
        assert u is not None
        _tok, raw = services.create_api_token(s, u, "t", **kw)
        s.commit()
    return raw


def test_token_scopes_are_enforced(web: Web, cycle: Cycle) -> None:
    c = web.client()
    read = {"Authorization": f"Bearer {_token(web, cycle.emails['chair'], scopes=['read'])}"}
    manage = {"Authorization": f"Bearer {_token(web, cycle.emails['chair'], scopes=['manage'])}"}
    assert c.get("/api/v1/me", headers=read).status_code == 200
    r = c.get(f"/api/v1/calls/{cycle.slug}/proposals", headers=read)
    assert r.status_code == 403 and r.json() == {"detail": "this token lacks the 'manage' scope"}
    assert c.get(f"/api/v1/calls/{cycle.slug}/proposals", headers=manage).status_code == 200
    assert c.get(f"/api/v1/calls/{cycle.slug}/ranking", headers=read).status_code == 403
    # reviewing needs the review scope
    aid = cycle.ids["assignment"]
    body = {"grade": 2.0, "comments_to_applicants": "Fine.", "final": False}
    ro = {"Authorization": f"Bearer {_token(web, cycle.emails['assigned'], scopes=['read'])}"}
    rv = {"Authorization": f"Bearer {_token(web, cycle.emails['assigned'], scopes=['review'])}"}
    r = c.post(f"/api/v1/assignments/{aid}/review", headers=ro, json=body)
    assert r.status_code == 403
    r = c.post(f"/api/v1/assignments/{aid}/review", headers=rv, json=body)
    assert r.status_code == 200, r.text
    with web.factory() as s:
        scopes = {t.scopes for t in s.scalars(select(ApiToken))}
        assert {"read", "read manage", "read review"} <= scopes


def test_tokens_expire_and_bad_scopes_are_refused(web: Web, world: World) -> None:
    raw = _token(web, world.emails["pi"], days=30)
    c = web.client()
    bearer = {"Authorization": f"Bearer {raw}"}
    assert c.get("/api/v1/me", headers=bearer).status_code == 200
    with web.factory() as s:
        for t in s.scalars(select(ApiToken)):
            t.expires_at = utcnow() - dt.timedelta(seconds=1)
        s.commit()
    assert c.get("/api/v1/me", headers=bearer).status_code == 401
    with web.factory() as s:
        u = user_by_email(s, world.emails["pi"])
        with pytest.raises(services.DomainError):
            services.create_api_token(s, u, "x", scopes=["admin"])  # type: ignore[arg-type]
        with pytest.raises(services.DomainError):
            services.create_api_token(s, u, "x", days=10000)  # type: ignore[arg-type]


def test_token_page_creates_scoped_tokens(web: Web, world: World) -> None:
    c = web.login(world.emails["pi"])
    tok = csrf(c, "/account/tokens")
    r = c.post(
        "/account/tokens",
        data={"csrf_token": tok, "name": "ci", "scope_review": "1", "days": "30"},
    )
    assert r.status_code == 200
    raw = re.search(r'id="new-token">([^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    with web.factory() as s:
        t = s.scalars(select(ApiToken).where(ApiToken.name == "ci")).one()
        assert t.scopes == "read review"
        assert t.expires_at is not None
        assert dt.timedelta(days=29) < t.expires_at - t.created_at <= dt.timedelta(days=30)
    assert (
        web.client().get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code
        == 200
    )
    r = c.post("/account/tokens", data={"csrf_token": tok, "name": "ci2", "days": "7"})
    assert r.status_code == 400


# ---------------------------------------------------------------- reset links


def test_one_reset_link_at_a_time(web: Web, world: World) -> None:
    c = web.client()
    tok = csrf(c, "/password/forgot")
    for _ in range(2):
        r = c.post("/password/forgot", data={"csrf_token": tok, "email": world.emails["pi"]})
        assert r.status_code == 303
    links = [
        "/password/reset/" + m.split("/password/reset/")[1].split()[0]
        for m in web.mails()
        if "/password/reset/" in m
    ]
    assert len(links) == 2
    # (mail files sort by second, so find which is which by asking)
    older, newer = sorted(links, key=lambda link: c.get(link).status_code == 200)
    assert c.get(older).status_code == 404  # the newer link retired it
    assert c.get(newer).status_code == 200
    new = {"csrf_token": tok, "password": "another good one", "password2": "another good one"}
    assert c.post(newer, data=new).status_code == 303
    new["csrf_token"] = csrf(c)  # a password change starts a fresh anonymous session
    assert c.post(older, data=new).status_code == 404
    assert c.post(newer, data=new).status_code == 404


# ---------------------------------------------------------------- login backoff


def test_backoff_per_account_and_address_never_locks_the_owner_out(web: Web, world: World) -> None:
    email = world.emails["pi"]
    n = web.settings.login_throttle_attempts
    for _ in range(n):
        _c, r = _login(web, email, "wrong password!", address="203.0.113.9")
        assert r.status_code == 400
    _c, r = _login(web, email, address="203.0.113.9")  # even the right password waits
    assert r.status_code == 429
    # how long to wait, for a client (or a crowd's retry logic) that reads the header
    assert 0 < int(r.headers["Retry-After"]) <= web.settings.login_throttle_window_s
    _c, r = _login(web, email, address="198.51.100.7")  # the owner elsewhere signs in
    assert r.status_code == 303


def test_many_addresses_slow_an_account_for_a_minute_at_most(db: Any) -> None:
    from tests import factories as F

    u = F.user(db, email="owner@example.org", password=PASSWORD)
    u.email_verified_at = utcnow()
    now = utcnow()
    kw = {"max_attempts": 5, "window_s": 900}
    for i in range(24):  # a botnet: 24 addresses, 24 guesses
        t = now + dt.timedelta(seconds=i)
        res = services.authenticate(db, u.email, "guess", client=f"198.18.0.{i}", now=t, **kw)
        assert res.error in ("bad_credentials", "throttled")
    last = now + dt.timedelta(seconds=23)
    res = services.authenticate(db, u.email, PASSWORD, client="192.0.2.1", now=last, **kw)
    assert res.error == "throttled" and res.retry_after_s <= 60
    later = last + dt.timedelta(seconds=61)
    res = services.authenticate(db, u.email, PASSWORD, client="192.0.2.1", now=later, **kw)
    assert res.user is not None


def test_a_client_spraying_many_accounts_is_slowed(db: Any) -> None:
    now = utcnow()
    kw = {"max_attempts": 5, "window_s": 900}
    results = [
        services.authenticate(
            db, f"victim{i}@example.org", "Winter2026!", client="203.0.113.66", now=now, **kw
        ).error
        for i in range(14)
    ]
    assert results[:10] == ["bad_credentials"] * 10
    assert set(results[10:]) == {"throttled"}
    # another client is not affected
    other = services.authenticate(db, "victim1@example.org", "x", client="192.0.2.5", now=now, **kw)
    assert other.error == "bad_credentials"


# ---------------------------------------------------------------- e-mail throttle


def test_mail_to_one_address_is_throttled(web: Web, world: World) -> None:
    for i in range(16):  # from many client addresses (each has its own limit of requests)
        c = _client(web, f"198.51.100.{i}")
        tok = csrf(c, "/password/forgot")
        r = c.post("/password/forgot", data={"csrf_token": tok, "email": world.emails["pi"]})
        assert r.status_code == 303  # the same answer every time
    resets = [m for m in web.mails() if "/password/reset/" in m]
    assert len(resets) == web.settings.mail_throttle_per_hour
    # the last link sent still works: refused requests issue no new link
    links = ["/password/reset/" + m.split("/password/reset/")[1].split()[0] for m in resets]
    assert sorted(c.get(link).status_code for link in links) == [200, 404, 404]
    tok = csrf(c, "/register")
    for _ in range(web.settings.mail_throttle_per_hour + 2):
        c.post(
            "/register",
            data={
                "csrf_token": tok,
                "name": "Someone",
                "email": world.emails["coi"],
                "password": "long enough pw",
                "password2": "long enough pw",
            },
        )
    exists = [m for m in web.mails() if world.emails["coi"] in m]
    assert len(exists) == web.settings.mail_throttle_per_hour


# ---------------------------------------------------------------- cookies and headers


def test_secure_cookies_and_hsts_by_default_outside_localhost(engine: Any, tmp_path: Any) -> None:
    assert not cookies_secure(Settings(base_url="http://127.0.0.1:8000"))
    assert not cookies_secure(Settings(base_url="http://localhost:8000"))
    assert cookies_secure(Settings(base_url="https://calls.example.org"))
    assert cookies_secure(Settings(base_url="http://calls.example.org"))
    assert not cookies_secure(Settings(base_url="https://calls.example.org", secure_cookies=False))
    settings = web_settings(engine, tmp_path, secure_cookies=None)
    settings.base_url = "https://calls.example.org"
    app = create_app(settings)
    r = TestClient(app, base_url="https://calls.example.org").get("/login")
    assert "Secure" in r.headers["set-cookie"]
    assert r.headers["strict-transport-security"].startswith("max-age=")
    assert "camera=()" in r.headers["permissions-policy"]
    app.state.engine.dispose()


def test_local_site_has_permissions_policy_and_no_hsts(web: Web) -> None:
    r = web.client().get("/login")
    assert "geolocation=()" in r.headers["permissions-policy"]
    assert "strict-transport-security" not in r.headers


def test_production_refuses_the_default_secret_and_insecure_cookies() -> None:
    bad = Settings(env="production", base_url="http://127.0.0.1:8000")
    problems = " ".join(production_problems(bad))
    assert "OPENCALL_SECRET_KEY" in problems and "OPENCALL_SECURE_COOKIES" in problems
    with pytest.raises(RuntimeError, match="OPENCALL_SECRET_KEY"):
        create_app(bad)
    good = Settings(
        env="production",
        base_url="https://calls.example.org",
        secret_key="s" * 40,
        audit_key="a" * 40,
    )
    assert production_problems(good) == []
    assert production_problems(Settings()) == []  # development starts as before


# ---------------------------------------------------------------- cross-site requests


def _edit(world: World, c: Any, **headers: str) -> Any:
    with_token = csrf(c, f"/proposals/{world.ids['proposal']}")
    with c:
        pass
    return c.post(
        f"/proposals/{world.ids['proposal']}",
        headers=headers,
        data={
            "csrf_token": with_token,
            "version": version_of(c, world.ids["proposal"]),
            "title": "Hijacked title",
            "abstract": "x",
            "science_case": "y",
        },
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://sub.testserver"},
    ],
)
def test_cross_site_posts_are_refused(web: Web, world: World, headers: dict[str, str]) -> None:
    c = web.login(world.emails["pi"])
    r = _edit(world, c, **headers)
    assert r.status_code == 403
    assert "Cross-site request refused" in r.text
    assert "Send again" not in r.text and "Hijacked" not in r.text
    with web.factory() as s:
        assert s.get(Proposal, world.ids["proposal"]).title != "Hijacked title"  # type: ignore[union-attr]
    # the same request from our own page goes through, also with the origin hidden (a
    # page or an extension asking for no referrer) where the browser says same-origin
    r = _edit(world, c, Origin="http://testserver", **{"Sec-Fetch-Site": "same-origin"})
    assert r.status_code in (303, 400)
    r = _edit(world, c, Origin="null", **{"Sec-Fetch-Site": "same-origin"})
    assert r.status_code in (303, 400)
    r = web.client().post(
        "/api/v1/assignments/1/review",
        json={"grade": 1},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403 and "Cross-site" in r.json()["detail"]


def test_resume_page_names_the_action_and_resends_only_our_own_forms(
    web: Web, world: World
) -> None:
    c = web.login(world.emails["pi"])
    pid = world.ids["proposal"]
    data = {"csrf_token": "stale", "title": "Kept title", "abstract": "a", "science_case": "b"}
    # no provenance header (an old browser, or a crafted request): shown, never offered again
    r = c.post(f"/proposals/{pid}", data=data)
    assert r.status_code == 403
    text = html.unescape(r.text)
    # the action is named in words, not its path (trialapp23)
    assert "The form was for: the text of your proposal." in text and "Kept title" in text
    assert f"POST /proposals/{pid}" not in text
    assert f'action="/proposals/{pid}"' not in r.text and "Send again" not in r.text
    # our own page (the browser says so): offered again, with the action named
    r = c.post(f"/proposals/{pid}", data=data, headers={"Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 403
    assert f'action="/proposals/{pid}"' in r.text and "Send again" in r.text
    assert "The form was for: the text of your proposal." in html.unescape(r.text)


# ---------------------------------------------------------------- audit


def test_sign_in_events_are_audited_without_secrets(web: Web, world: World) -> None:
    _c, r = _login(web, world.emails["pi"], "not the password")
    assert r.status_code == 400
    c, r = _login(web, world.emails["pi"])
    assert r.status_code == 303
    c.post("/logout", data={"csrf_token": csrf(c, "/dashboard")})
    tok = csrf(c, "/password/forgot")
    c.post("/password/forgot", data={"csrf_token": tok, "email": world.emails["pi"]})
    link = [m for m in web.mails() if "/password/reset/" in m][-1]
    raw_link = link.split("/password/reset/")[1].split()[0]
    c.post(
        f"/password/reset/{raw_link}",
        data={"csrf_token": tok, "password": "a new password!", "password2": "a new password!"},
    )
    raw_token = _token(web, world.emails["coi"])
    with web.factory() as s:
        u = s.scalar(select(User).where(User.email == world.emails["coi"]))
        t = s.scalars(select(ApiToken).where(ApiToken.user_id == u.id)).one()  # type: ignore[union-attr]
        services.revoke_api_token(s, u, t.id)  # type: ignore[arg-type]
        s.commit()
        events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    actions = [e.action for e in events]
    for action in (
        "user.login_failed",
        "user.login",
        "user.logout",
        "user.password_reset_requested",
        "user.password_reset",
        "user.sessions_revoked",
        "api_token.created",
        "api_token.revoked",
        "role.granted",
    ):
        assert action in actions, action
    blob = json.dumps([[e.action, e.reason, e.data, e.entity_id] for e in events])
    for secret in ("not the password", PASSWORD, "a new password!", raw_link, raw_token):
        assert secret not in blob
