"""Through a real server (uvicorn): a client that asks for a large answer and never reads
it holds no place (trialcrowd23). The answer is made, handed to the connection, and the
place serves the next request while the answer waits in the connection's buffers. Before,
the place was held until the client had read the whole answer: one such client per place
(a few sockets with a small receive buffer asking for the 340 kB API description, which
anyone may read) left every other visitor of the process waiting, for as long as those
sockets stayed open."""

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

#: anyone's, 340 kB
LARGE = "/api/v1/openapi.json"
#: requests sent at once on each connection: more than its buffers take unread (64 kB in
#: uvicorn's transport; the kernel's send buffer grows to 4 MB on Linux)
PIPELINED = 24


def _slow_reader(port: int) -> socket.socket:
    """A connection asking :data:`PIPELINED` times for :data:`LARGE`, unzipped, that
    reads nothing."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    ask = f"GET {LARGE} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: identity\r\n\r\n"
    s.sendall(ask.encode() * PIPELINED)
    return s


def test_a_client_that_reads_nothing_holds_no_place(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'read.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    with live.ServerProcess(url, tmp_path, concurrency=2) as server:
        with httpx.Client(base_url=server.base, timeout=30) as c:
            whole = c.get(LARGE, headers={"accept-encoding": "identity"})
            assert whole.status_code == 200 and len(whole.content) > 300_000
            readers = [_slow_reader(server.port) for _ in range(4)]  # twice the places
            try:
                time.sleep(5.0)  # their answers are made and wait to be read
                try:
                    r = c.get("/calls")
                    answered = r.status_code
                except httpx.TimeoutException as exc:
                    answered = f"no answer in 30 s ({type(exc).__name__})"
                assert answered == 200, answered
                # and each slow reader still gets its whole answers when it reads
                for s in readers:
                    got = bytearray()
                    while len(got) < PIPELINED * len(whole.content) or not got.endswith(b"}"):
                        chunk = s.recv(1 << 20)
                        if not chunk:
                            break
                        got += chunk
                    assert got.count(whole.content) == PIPELINED, len(got)
            finally:
                for s in readers:
                    s.close()
