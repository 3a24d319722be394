"""Overload: a busy database answers 503 with Retry-After (never 500) and changes nothing,
and an upload does not hold the database's write lock while its PDF is parsed.

The crowd test's sign-in 500 under load (tests/crowd/test_crowd_server.py) came from
both: each upload took SQLite's write lock (``BEGIN IMMEDIATE``, the whole database)
before rewriting its PDF in a child process (a second or more on a loaded machine), so
a quarter of the crowd uploading held every other writer in line; a sign-in that waited
past SQLite's 30 s busy timeout got ``database is locked``, answered 500.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from opencall.app import create_app
from opencall.people.models import LoginAttempt, UserSession
from opencall.proposals import pdfsafe, services
from opencall.proposals.models import Attachment, Proposal
from tests import factories as F
from tests.web.conftest import PASSWORD, Web, csrf, full_proposal, make_open, web_settings

AUDIT_LOCK = 7262001  # opencall.auditlog: the advisory lock of the chain's writers (PostgreSQL)


def _sqlite_path(engine: Engine) -> str:
    return str(engine.url.database)


def _write_lock_free(engine: Engine, proposal_id: int, call_id: int) -> bool:
    """Whether another connection could take, at once, what a write to the proposal takes:
    SQLite's write lock; PostgreSQL's lock on the proposal row and the call's row."""
    if engine.dialect.name == "sqlite":
        conn = sqlite3.connect(_sqlite_path(engine), timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            conn.close()
    with engine.connect() as conn:
        try:
            conn.execute(
                text("SELECT id FROM proposals WHERE id = :p FOR UPDATE NOWAIT"), {"p": proposal_id}
            )
            conn.execute(
                text("SELECT id FROM calls WHERE id = :c FOR NO KEY UPDATE NOWAIT"),
                {"c": call_id},
            )
            return True
        except Exception:  # noqa: BLE001 - LockNotAvailable, whatever its wrapper
            return False
        finally:
            conn.rollback()


def test_an_upload_rewrites_its_pdf_without_holding_the_write_lock(
    engine: Engine, factory: sessionmaker[Session], tmp_path: Path, monkeypatch: Any
) -> None:
    with factory() as s:
        call = F.fast_call(s, requires_pdf=False)
        make_open(call)
        pid = full_proposal(s, call, F.user(s, email="up@example.org")).id
        call_id = call.id
        s.commit()
    seen: list[bool] = []

    def clean(data: bytes, limits: Any = None) -> pdfsafe.Cleaned:
        seen.append(_write_lock_free(engine, pid, call_id))
        return pdfsafe.Cleaned(data, 1, ())

    monkeypatch.setattr(pdfsafe, "clean", clean)
    with factory() as s:
        p = s.get(Proposal, pid)
        assert p is not None
        services.add_attachment(
            s, p, b"%PDF-1.4 stand-in", "case.pdf", upload_dir=tmp_path, max_bytes=10**6
        )
        s.commit()
    assert seen == [True], "the PDF was rewritten while the write lock was held"
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Attachment)) == 1


@contextmanager
def _database_held(engine: Engine) -> Iterator[None]:
    """Another process's writer holding what a sign-in must write behind: SQLite's write
    lock; on PostgreSQL the audit chain's advisory lock."""
    if engine.dialect.name == "sqlite":
        conn = sqlite3.connect(_sqlite_path(engine), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    with engine.connect() as pg:
        pg.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK})
        try:
            yield
        finally:
            pg.rollback()


def _impatient(app: Any) -> None:
    """The app's connections give up on a held lock after 0.2 s instead of 30 s."""
    eng: Engine = app.state.engine

    @event.listens_for(eng, "connect")
    def short_wait(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        if eng.dialect.name == "sqlite":
            cur.execute("PRAGMA busy_timeout = 200")
        else:
            cur.execute("SET lock_timeout = '200ms'")
            dbapi_conn.commit()
        cur.close()


def _counts(factory: sessionmaker[Session]) -> tuple[int, int]:
    with factory() as s:
        return (
            s.scalar(select(func.count()).select_from(LoginAttempt)) or 0,
            s.scalar(select(func.count()).select_from(UserSession)) or 0,
        )


def test_a_sign_in_behind_a_held_lock_answers_503_and_changes_nothing(
    engine: Engine, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with factory() as s:
        email = F.user(s, email="busy@example.org").email
        s.commit()
    app = create_app(web_settings(engine, tmp_path))
    _impatient(app)
    web = Web(app, app.state.settings, factory, tmp_path)
    try:
        c = web.client()
        token = csrf(c)
        form = {"csrf_token": token, "email": email, "password": PASSWORD}
        before = _counts(factory)
        with _database_held(engine):
            r = c.post("/login", data=form)
            page = c.get("/login")  # reads go on meanwhile
        assert r.status_code == 503, r.text[:1000]
        assert r.headers["retry-after"] == "5"
        assert "try again in a few seconds" in r.text
        assert page.status_code == 200
        assert _counts(factory) == before  # nothing recorded, no session
        r = c.post("/login", data=form)  # the retry, the lock gone
        assert r.status_code == 303
        assert _counts(factory) == (before[0] + 1, before[1] + 1)
    finally:
        app.state.engine.dispose()


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the web layer's answer
def test_a_busy_api_answers_json_503(engine: Engine, tmp_path: Path) -> None:
    """Under /api/ the 503 is JSON; any other error of the database stays a 500."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    app = create_app(web_settings(engine, tmp_path))
    errors = {
        "locked": OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked")),
        "pool": PoolTimeout("QueuePool limit of size 1 overflow 0 reached"),
        "other": OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x")),
    }

    @app.get("/api/v1/fail-for-the-test/{kind}")
    def fail(kind: str) -> None:
        raise errors[kind]

    try:
        c = Web(app, app.state.settings, None, tmp_path).client()  # type: ignore[arg-type]
        got = {k: c.get(f"/api/v1/fail-for-the-test/{k}") for k in errors}
        assert got["locked"].status_code == got["pool"].status_code == 503
        assert got["pool"].json() == {"detail": "server busy, retry later"}
        assert got["pool"].headers["retry-after"] == "5"
        assert got["other"].status_code == 500
        assert "retry-after" not in got["other"].headers
    finally:
        app.state.engine.dispose()


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # SQLite's one write lock
def test_an_idempotency_key_not_claimed_in_time_answers_503(
    engine: Engine, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """The Idempotency-Key layer claims the key (a write) before the request runs: a claim
    that could not get the lock in time answers the same 503 (Retry-After, no-store, the
    security headers) as a write without a key, and the retry with the same key runs.
    Before the fix the layer sat outside the one that answers busy requests, with its own
    copy of the 503: no Cache-Control, no security headers."""
    from opencall.people import services as people_services

    with factory() as s:
        _t, raw = people_services.create_api_token(s, F.user(s, email="k@example.org"), "k")
        s.commit()
    app = create_app(web_settings(engine, tmp_path))
    _impatient(app)
    try:
        c = Web(app, app.state.settings, factory, tmp_path).client()
        auth = {"Authorization": f"Bearer {raw}"}
        keyed = {**auth, "Idempotency-Key": "busy-1"}
        body = {"title": "Pulsar timing"}
        with _database_held(engine):
            r = c.post("/api/v1/proposals", json={}, headers=keyed)
            plain = c.post("/api/v1/me/publications", json=body, headers=auth)
            keyed_pub = c.post(
                "/api/v1/me/publications", json=body, headers={**auth, "Idempotency-Key": "b2"}
            )
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "5"
        assert r.json() == {"detail": "server busy, retry later"}
        assert plain.status_code == keyed_pub.status_code == 503
        assert keyed_pub.json() == plain.json()
        varying = {"date", "x-request-id"}
        assert {k: v for k, v in keyed_pub.headers.items() if k not in varying} == {
            k: v for k, v in plain.headers.items() if k not in varying
        }
        again = c.post("/api/v1/proposals", json={}, headers=keyed)
        # the request itself ran (refused for its own reasons, not for the key)
        assert again.status_code in (400, 401, 403, 422) and "Idempotency" not in again.text
    finally:
        app.state.engine.dispose()
