"""The layer that writes the session cookie and the security headers of every answer is a
plain ASGI middleware, not Starlette's ``BaseHTTPMiddleware`` (``@app.middleware``),
which runs the rest of the app in a task of its own and passes the answer back through a
memory stream: about 0.2 ms of CPU a request for nothing (docs/testing.md, speed14a and
speed15). What it writes is the same: the cookie when the session changed, the headers,
``Location`` made local, the 404 of an id no row can have, HSTS where cookies are
Secure. An answer under ``GZIP_MIN_BYTES`` now goes out as it is: the stream of
``BaseHTTPMiddleware`` sent every body in two parts, and Starlette's gzip layer
compresses any body sent in parts whatever its size (15 bytes of ``/healthz`` became
35, and a redirect's empty body 20)."""

from __future__ import annotations

import pytest
from starlette.middleware.base import BaseHTTPMiddleware

from opencall.app import create_app
from opencall.web.pages import GZIP_MIN_BYTES
from tests.conftest import RUN_ONCE
from tests.web.conftest import PASSWORD, Web, World, csrf, web_settings

pytestmark = pytest.mark.filterwarnings("ignore")


@RUN_ONCE
def test_no_middleware_runs_the_app_in_a_task_of_its_own(web: Web) -> None:
    assert [m.cls for m in web.app.user_middleware if m.cls is BaseHTTPMiddleware] == []


def test_the_cookie_and_the_headers_of_every_answer(web: Web, world: World) -> None:
    c = web.client()
    first = c.get("/login")
    assert first.status_code == 200
    assert "oc_session=" in first.headers["set-cookie"]
    assert (
        "HttpOnly" in first.headers["set-cookie"] and "SameSite=lax" in first.headers["set-cookie"]
    )
    for name in ("x-content-type-options", "x-frame-options", "referrer-policy"):
        assert first.headers[name]
    assert first.headers["content-security-policy"].startswith("default-src 'self'")
    assert first.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in first.headers
    # the same session: no new cookie (a public page, revalidated by its ETag)
    again = c.get("/calls")
    assert "set-cookie" not in again.headers and again.headers["cache-control"] == "no-cache"
    r = c.post(
        "/login", data={"csrf_token": csrf(c), "email": world.emails["pi"], "password": PASSWORD}
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/dashboard")
    assert "oc_session=" in r.headers["set-cookie"]
    # the router's redirect names the client's Host: made a path on this site
    r = c.get("/calls/", headers={"host": "evil.example"})
    assert r.status_code in (307, 308) and r.headers["location"] == "/calls"
    assert r.headers["x-frame-options"] == "DENY"
    # an id no row can have: not found, with the headers
    r = c.get("/proposals/99999999999")
    assert r.status_code == 404 and r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"
    r = c.get("/static/site.css")
    assert r.status_code == 200 and r.headers["cache-control"].startswith("public")


@RUN_ONCE
def test_only_answers_of_gzip_min_bytes_or_more_are_compressed(web: Web, world: World) -> None:
    c = web.client()
    small = c.get("/healthz", headers={"accept-encoding": "gzip"})
    assert small.json() == {"status": "ok"}
    assert "content-encoding" not in small.headers and small.headers["content-length"] == "15"
    redirect = c.get("/dashboard", headers={"accept-encoding": "gzip"})
    assert redirect.status_code == 303 and "content-encoding" not in redirect.headers
    large = c.get("/calls", headers={"accept-encoding": "gzip"})
    assert len(large.content) >= GZIP_MIN_BYTES
    assert large.headers["content-encoding"] == "gzip"
    assert large.headers["etag"].endswith('-gz"')


@RUN_ONCE
def test_hsts_where_cookies_are_secure(web: Web) -> None:
    settings = web_settings(web.app.state.engine, web.tmp, secure_cookies=True)
    app = create_app(settings)
    try:
        r = Web(app, settings, web.factory, web.tmp).client().get("/login")
        assert r.headers["strict-transport-security"].startswith("max-age=63072000")
        assert "Secure" in r.headers["set-cookie"]
    finally:
        app.state.engine.dispose()
