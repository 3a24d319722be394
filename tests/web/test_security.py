"""Sessions, cookies, CSRF, expired sessions that keep what was typed, headers."""

from __future__ import annotations

import html
import re
import time

import pytest

from opencall.proposals.models import Proposal
from opencall.proposals.services import add_attachment
from opencall.web.security import MAX_AGE_S
from tests.authz.test_matrix import pdf_bytes
from tests.conftest import RUN_ONCE
from tests.web.conftest import PASSWORD, Web, World, csrf, session_cookie, web_settings

pytestmark = pytest.mark.filterwarnings("ignore")


@RUN_ONCE
def test_cookie_flags_and_headers(web: Web, world: World) -> None:
    c = web.client()
    r = c.get("/login")
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in r.headers["content-security-policy"]


@RUN_ONCE
def test_secure_cookie_when_configured(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from opencall.app import create_app

    app = create_app(web_settings(engine, tmp_path, secure_cookies=True))
    r = TestClient(app).get("/login")
    assert "Secure" in r.headers["set-cookie"]
    app.state.engine.dispose()


def test_login_logout_and_session_fixation(web: Web, world: World) -> None:
    c = web.client()
    before = csrf(c)
    r = c.post(
        "/login", data={"csrf_token": before, "email": world.emails["pi"], "password": PASSWORD}
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/dashboard")
    after = csrf(c, "/dashboard")
    assert after != before  # a fresh session (and token) at sign-in
    assert c.get("/dashboard").status_code == 200
    assert c.post("/logout", data={"csrf_token": after}).status_code == 303
    assert c.get("/dashboard").status_code == 303


@RUN_ONCE
def test_next_is_local_only(web: Web, world: World) -> None:
    c = web.client()
    tok = csrf(c)
    r = c.post(
        "/login",
        data={
            "csrf_token": tok,
            "email": world.emails["pi"],
            "password": PASSWORD,
            "next": "//evil.example/x",
        },
    )
    assert r.headers["location"].startswith("/dashboard")


def test_password_reset_ends_other_sessions(web: Web, world: World) -> None:
    other_device = web.login(world.emails["pi"])
    c = web.client()
    tok = csrf(c, "/password/forgot")
    assert (
        c.post(
            "/password/forgot", data={"csrf_token": tok, "email": world.emails["pi"]}
        ).status_code
        == 303
    )
    mail = [m for m in web.mails() if world.emails["pi"] in m][-1]
    path = "/password/reset/" + mail.split("/password/reset/")[1].split()[0]
    assert c.get(path).status_code == 200
    r = c.post(
        path,
        data={
            "csrf_token": tok,
            "password": "brand new password",
            "password2": "brand new password",
        },
    )
    assert r.status_code == 303
    assert other_device.get("/dashboard").status_code == 303  # signed out
    tok = csrf(c)
    assert (
        c.post(
            path, data={"csrf_token": tok, "password": "x" * 12, "password2": "x" * 12}
        ).status_code
        == 404
    )
    c2 = web.client()
    r = c2.post(
        "/login",
        data={
            "csrf_token": csrf(c2),
            "email": world.emails["pi"],
            "password": "brand new password",
        },
    )
    assert r.status_code == 303


def test_expired_session_keeps_the_typed_text(web: Web, world: World) -> None:
    """The session expires while the PI writes; after signing in again, the text
    comes back in a form with a fresh token, and sending it saves it."""
    with web.factory() as s:
        version = s.get(Proposal, world.ids["proposal"]).version  # type: ignore[union-attr]
    c = web.client("fr")
    pid = world.ids["proposal"]
    # a cookie signed longer ago than MAX_AGE_S: simulate by freezing the signer's clock
    import itsdangerous.timed as timed

    real = timed.TimestampSigner.get_timestamp
    timed.TimestampSigner.get_timestamp = lambda self: int(time.time()) - MAX_AGE_S - 60  # type: ignore[method-assign]
    try:
        stale = session_cookie(web, world.emails["pi"], "tok", issued=0)
    finally:
        timed.TimestampSigner.get_timestamp = real  # type: ignore[method-assign]
    c.cookies.set("oc_session", stale)
    words = "Des mots écrits pendant une heure <b>sans</b> perte"
    r = c.post(
        f"/proposals/{pid}",
        headers={"Origin": "http://testserver"},  # what a browser sends from our own page
        data={
            "csrf_token": "tok",
            "title": "Pulsar timing with FAST",
            "abstract": words,
            "science_case": "S",
            "keywords": "",
            "version": str(version),
        },
    )
    assert r.status_code in (401, 403)
    text = html.unescape(r.text)
    assert "Votre session a expiré" in text and words in text
    assert "<b>sans</b>" not in r.text  # escaped, never markup
    tok = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    carried = dict(re.findall(r'name="(carry\.[^"]+|carry_to)" value="([^"]*)"', r.text))
    carried = {k: html.unescape(v) for k, v in carried.items()}
    r = c.post(
        "/login",
        headers={"Origin": "http://testserver"},
        data={"csrf_token": tok, "email": world.emails["pi"], "password": PASSWORD, **carried},
    )
    assert r.status_code == 200 and words in html.unescape(r.text)
    fields = {
        k: html.unescape(v)
        for k, v in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', r.text)
    }
    assert fields["abstract"] == words
    action = re.search(r'<form method="post" action="(/proposals/\d+)">', r.text).group(1)  # type: ignore[union-attr]
    r = c.post(action, data=fields)
    assert r.status_code == 303
    with web.factory() as s:
        assert s.get(Proposal, pid).abstract == words  # type: ignore[union-attr]


def test_download_headers_and_access(web: Web, world: World) -> None:
    with web.factory() as s:
        p = s.get(Proposal, world.ids["proposal"])
        a = add_attachment(
            s,
            p,
            pdf_bytes(),
            'we"ird<name>.pdf',
            upload_dir=web.settings.upload_dir,
            max_bytes=10**6,
        )  # type: ignore[arg-type]
        s.commit()
        aid, digest = a.id, a.sha256
    assert (web.settings.upload_dir / digest[:2] / f"{digest}.pdf").is_file()
    c = web.login(world.emails["coi"])
    r = c.get(f"/proposals/{world.ids['proposal']}/attachments/{aid}")
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert "<" not in r.headers["content-disposition"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "private, no-store"
    assert web.client().get(f"/static/../uploads/{digest[:2]}/{digest}.pdf").status_code == 404
    assert (
        web.login(world.emails["other"])
        .get(f"/proposals/{world.ids['proposal']}/attachments/{aid}")
        .status_code
        == 404
    )
