"""A database that cannot be reached for a moment (trialcrowd21): PostgreSQL refusing a
new connection because it already serves as many as it allows ("too many connections",
a crowd beside the site's own pool: a second server, the worker, a backup, a console),
restarting (connection refused), or not answering within OPENCALL_DB_CONNECT_TIMEOUT_S.
Nothing was done and a retry may succeed: the answer is 503 with ``Retry-After``, in
the reader's language on a page and JSON under ``/api/``, as for a pool or a lock that
could not be had in time. Before, each was an unhandled error: 500 "Something went wrong
on our side", without ``Retry-After``, and the log's ERROR with a traceback.

A sign-in form's page needs no database and still answers 200. Through a real server
(``opencall serve`` on PostgreSQL, a role allowed 3 connections): a crowd while other
clients hold all 3 gets 503s with ``Retry-After`` (before: 500s), and the same crowd once
connections are free again gets 200s (the server's pool recovers)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, make_url, text

from opencall.app import create_app
from opencall.db import make_engine
from opencall.settings import Settings
from opencall.web.serving import RETRY_AFTER_S
from tests.crowd import live

pytestmark = pytest.mark.filterwarnings("ignore")

SECRET = "s3cret"


@pytest.fixture
def refusing() -> Iterator[str]:
    """The URL of a PostgreSQL address that refuses every connection: a port bound here
    and never listened on (the kernel answers a connect with a reset)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"postgresql://opencall:{SECRET}@127.0.0.1:{sock.getsockname()[1]}/opencall"
    finally:
        sock.close()


@pytest.fixture
def silent() -> Iterator[str]:
    """The URL of a PostgreSQL 'server' that accepts the connection and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"postgresql://opencall:{SECRET}@127.0.0.1:{sock.getsockname()[1]}/opencall"
    finally:
        sock.close()


def _app(url: str, tmp: Path) -> TestClient:
    settings = Settings(
        database_url=url,
        db_connect_timeout_s=2,
        secret_key="test-secret",
        secure_cookies=False,
        mail_dir=tmp / "mail",
        upload_dir=tmp / "uploads",
    )
    return TestClient(create_app(settings), raise_server_exceptions=False)


def _assert_busy(client: TestClient) -> None:
    """A page (in the reader's language) and the API answer 503 with Retry-After."""
    client.cookies.set("oc_lang", "fr")
    page = client.get("/calls")
    assert (page.status_code, page.headers.get("retry-after")) == (503, str(RETRY_AFTER_S))
    assert page.headers["content-type"].startswith("text/html")
    assert 'lang="fr"' in page.text or "lang='fr'" in page.text
    api = client.get("/api/v1/calls")
    assert (api.status_code, api.headers.get("retry-after")) == (503, str(RETRY_AFTER_S))
    assert api.json() == {"detail": "server busy, retry later"}
    for r in (page, api):
        assert SECRET not in r.text and "127.0.0.1" not in r.text
    assert client.get("/login").status_code == 200  # no database needed


@pytest.mark.parametrize("database", ["refusing", "silent"])
def test_a_database_refusing_or_not_answering_answers_503(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    client = _app(request.getfixturevalue(database), tmp_path)
    try:
        _assert_busy(client)
    finally:
        client.app.state.engine.dispose()  # type: ignore[attr-defined]


def _role(engine: Engine, limit: int, suffix: str) -> Iterator[str]:
    """The URL of the test's PostgreSQL database for a new role that may open ``limit``
    connections at once and use every table: the next connect is refused with "too many
    connections", as every connect is once PostgreSQL serves ``max_connections``."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's connection limits")
    role = f"opencall_{suffix}_{os.getpid()}"

    def drop(conn: Any) -> None:
        if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
            conn.execute(text(f'DROP OWNED BY "{role}"'))  # its grants on this database
            conn.execute(text(f'DROP ROLE "{role}"'))

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        drop(conn)
        # a password, for a server that asks for one (trust ignores it)
        conn.execute(
            text(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{role}' CONNECTION LIMIT {limit}")
        )
        conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        conn.execute(text(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"'))
        conn.execute(text(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))
    url = engine.url.set(username=role, password=role)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            drop(conn)


@pytest.fixture
def limited_role(engine: Engine) -> Iterator[str]:
    """A role that may open no connection at all (``CONNECTION LIMIT 0``)."""
    yield from _role(engine, 0, "none")


@pytest.fixture
def role_of_three(engine: Engine) -> Iterator[str]:
    """A role that may open 3 connections at once."""
    yield from _role(engine, 3, "three")


def test_too_many_connections_answers_503(limited_role: str, tmp_path: Path) -> None:
    # the refusal this test is about, as the driver says it (not a password refused)
    probe = make_engine(limited_role)
    with pytest.raises(Exception, match="too many connections") as refused:
        probe.connect()
    probe.dispose()
    assert isinstance(refused.value.__cause__ or refused.value, psycopg.OperationalError)
    client = _app(limited_role, tmp_path)
    try:
        _assert_busy(client)
    finally:
        client.app.state.engine.dispose()  # type: ignore[attr-defined]


def test_an_error_on_a_connection_that_was_made_is_not_busy(engine: Engine) -> None:
    """A connection lost after it was made (its server process ended, as a restart ends
    it) may have been lost during a commit: that is not "nothing was done", and stays an
    error (500), as does an error of a statement."""
    from sqlalchemy.exc import DBAPIError

    from opencall.db import no_connection

    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's connections")
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with pytest.raises(DBAPIError) as bad:
            conn.execute(text("SELECT no_such_column FROM pg_class"))
        assert not no_connection(bad.value)
    killed = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with killed.connect() as victim:
            pid = victim.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with engine.connect() as conn:
                assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
            with pytest.raises(DBAPIError) as lost:
                victim.execute(text("SELECT 1"))
        assert not no_connection(lost.value)
    finally:
        killed.dispose()


CROWD = 24


async def _crowd(base: str) -> list[tuple[int, str | None, str]]:
    """CROWD requests at once, pages and the API alternately: (status, Retry-After,
    content type) of each."""
    async with live.async_client(base, timeout=120) as c:
        answers = await asyncio.gather(
            *(c.get("/api/v1/calls" if i % 2 else "/calls") for i in range(CROWD))
        )
    return [
        (r.status_code, r.headers.get("retry-after"), r.headers.get("content-type", ""))
        for r in answers
    ]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_crowd_on_a_full_database_through_a_real_server(
    engine: Engine, role_of_three: str, tmp_path: Path
) -> None:
    server = live.ServerProcess(role_of_three, tmp_path, concurrency=8)
    with server, ExitStack() as held:
        # the role's 3 connections taken by others (the server holds none between requests)
        conninfo = make_url(role_of_three).set(drivername="postgresql")
        dsn = conninfo.render_as_string(hide_password=False)
        for _ in range(3):
            held.enter_context(psycopg.connect(dsn))
        with pytest.raises(psycopg.OperationalError, match="too many connections"):
            psycopg.connect(dsn)
        full = asyncio.run(_crowd(server.base))
        log = server.log.read_text(errors="replace")[-3000:]
        assert {(s, r) for s, r, _ct in full} == {(503, str(RETRY_AFTER_S))}, (full, log)
        assert all(ct.startswith("application/json") for _s, _r, ct in full[1::2])
        assert all(ct.startswith("text/html") for _s, _r, ct in full[::2])
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            role = make_url(role_of_three).username
            conn.execute(text(f'ALTER ROLE "{role}" CONNECTION LIMIT -1'))
        held.close()
        again = asyncio.run(_crowd(server.base))
        log = server.log.read_text(errors="replace")[-3000:]
        assert {s for s, _r, _ct in again} == {200}, (again, log)
    assert "unhandled error" not in server.log.read_text(errors="replace")


def test_a_worker_outlives_a_full_database(engine: Engine, factory: Any, limited_role: str) -> None:
    """The worker (``opencall worker``, one process by default: nobody restarts it) whose
    database refuses it a connection waits and tries again, saying so, and runs the job
    queued meanwhile once it may connect. Before, the first refusal ended the worker
    (its loop raised): receipts and reset links queued after it were never sent."""
    import threading

    from opencall import jobs, worker

    ran = threading.Event()

    def registry(_settings: Settings) -> jobs.JobRegistry:
        r = jobs.JobRegistry()
        r.register("full.test", lambda s, job, progress: ran.set())
        return r

    said: list[str] = []
    died: list[BaseException] = []
    stop = threading.Event()

    def run() -> None:
        try:
            worker.work(
                Settings(database_url=limited_role),
                poll=0.05,
                registry_factory=registry,
                stop=stop,
                report=said.append,
            )
        except BaseException as exc:  # noqa: BLE001 - what ended the worker, for the assert
            died.append(exc)

    with factory() as s:
        jobs.enqueue(s, "full.test", {})
        s.commit()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        for _ in range(6000):  # until it has said it waits twice, or has ended
            if len(said) >= 2 or not t.is_alive():
                break
            stop.wait(0.01)
        assert t.is_alive(), f"the worker ended: {died}"
        assert "database" in said[0] and "too many connections" in said[0]
        assert not ran.is_set()
        role = make_url(limited_role).username
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'ALTER ROLE "{role}" CONNECTION LIMIT -1'))
        assert ran.wait(60), "the job queued while the database was full never ran"
    finally:
        stop.set()
        t.join(60)
    assert not died
