"""trialop23: rotating OPENCALL_SECRET_KEY signed everybody out at once, an applicant in the
last hour before a deadline included (every session cookie stopped verifying). The key
before is now given in OPENCALL_SECRET_KEY_PREVIOUS while the new one signs: cookies
signed with the old key are still read, and the site's new cookies are signed with the new
key; once the sessions have turned over, the previous key is dropped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from opencall.app import create_app
from tests import factories as F
from tests.web.conftest import Web, session_cookie, web_settings

OLD = "the-secret-key-before-the-rotation-" + "o" * 16
NEW = "the-secret-key-after-the-rotation-" + "n" * 16


def _web(engine: Engine, factory: sessionmaker[Session], tmp: Path, **kw: Any) -> Web:
    settings = web_settings(engine, tmp, **kw)
    return Web(create_app(settings), settings, factory, tmp)


def _dashboard(web: Web, cookie: str) -> int:
    client = TestClient(web.app, base_url="http://testserver", follow_redirects=False)
    client.cookies.set("oc_session", cookie)
    return client.get("/dashboard").status_code


def test_sessions_signed_with_the_previous_key_are_kept(
    engine: Engine, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with factory() as s:
        F.user(s, email="applicant@example.org")
        s.commit()
    before = _web(engine, factory, tmp_path)
    before.settings = before.settings.model_copy(update={"secret_key": OLD})
    before.app.state.settings = before.settings
    cookie = session_cookie(before, "applicant@example.org", "csrf-token-of-the-page")
    assert _dashboard(before, cookie) == 200

    rotated = _web(engine, factory, tmp_path, secret_key_previous=OLD)
    rotated.settings = rotated.settings.model_copy(update={"secret_key": NEW})
    rotated.app.state.settings = rotated.settings
    assert _dashboard(rotated, cookie) == 200  # still signed in
    fresh = session_cookie(rotated, "applicant@example.org", "csrf-token-of-the-page")
    assert _dashboard(rotated, fresh) == 200

    dropped = _web(engine, factory, tmp_path)
    dropped.settings = dropped.settings.model_copy(update={"secret_key": NEW})
    dropped.app.state.settings = dropped.settings
    assert _dashboard(dropped, fresh) == 200  # signed with the new key
    assert _dashboard(dropped, cookie) != 200  # the old key's cookie: signed out
    for w in (before, rotated, dropped):
        w.app.state.engine.dispose()
