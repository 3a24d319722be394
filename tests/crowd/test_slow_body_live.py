"""Through a real server (uvicorn): a client that sends its headers and part of a body,
then nothing, is answered 408 and closed after ``OPENCALL_BODY_TIMEOUT_S``, and the one
place it held serves the next request."""

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
