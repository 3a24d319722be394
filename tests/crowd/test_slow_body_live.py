"""Through a real server (uvicorn): a client that sends its headers and part of a body,
then nothing, is answered 408 and closed after ``OPENCALL_BODY_TIMEOUT_S``, and the one
place serves the next request meanwhile; a body that keeps coming, slower in all than
that limit, is answered by its route (before: 408 and the connection closed)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from opencall import migrate
from opencall.db import make_engine
from tests.crowd import live

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_a_stalled_body_is_cut_and_its_place_freed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'slow.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    env = {"OPENCALL_BODY_TIMEOUT_S": "1.5"}
    with live.ServerProcess(url, tmp_path, concurrency=1, extra_env=env) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as slow:
            slow.sendall(
                b"POST /password/forgot HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 100\r\n\r\nemail=some"
            )
            time.sleep(0.3)  # the slow client holds the only place
            began = time.monotonic()
            with httpx.Client(base_url=server.base, timeout=30) as c:
                r = c.get("/login")
            waited = time.monotonic() - began
            answer = b""
            while chunk := slow.recv(65536):  # the server closes the connection
                answer += chunk
        assert r.status_code == 200
        assert waited < 10  # freed by the deadline, not by the client giving up
        assert answer.startswith(b"HTTP/1.1 408")


def test_a_slow_steady_upload_is_not_cut_and_holds_no_place(tmp_path: Path) -> None:
    """One place, a pause limit of 1 s: a form sent in pieces 0.4 s apart for about 4 s
    (past the limit taken as a whole) is answered by its route, not 408, and a page asked
    for meanwhile is answered while the form is still coming."""
    url = f"sqlite:///{tmp_path / 'steady.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    env = {"OPENCALL_BODY_TIMEOUT_S": "1"}
    body = b"email=someone%40example.org&padding=" + b"p" * 64
    pieces = [body[i : i + 10] for i in range(0, len(body), 10)]
    with live.ServerProcess(url, tmp_path, concurrency=1, extra_env=env) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as slow:
            slow.sendall(
                b"POST /password/forgot HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
            )
            began = time.monotonic()
            with httpx.Client(base_url=server.base, timeout=30) as c:
                for piece in pieces[:3]:
                    slow.sendall(piece)
                    time.sleep(0.4)
                r = c.get("/login")  # while the form is still coming
                answered_at = time.monotonic() - began
            for piece in pieces[3:]:
                slow.sendall(piece)
                time.sleep(0.4)
            sent_at = time.monotonic() - began
            answer = slow.recv(65536)
    assert r.status_code == 200 and answered_at < sent_at
    assert sent_at > 2  # longer than the pause limit, taken as a whole
    assert answer.startswith(b"HTTP/1.1 403")  # its route's answer: no CSRF token
