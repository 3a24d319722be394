"""The server process of the concurrency tests (tests.crowd.live.ServerProcess) moves to
another port when the free port it chose was taken before it could bind it (another
test's server or client took it meanwhile), instead of failing the test that needed it."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from opencall import migrate
from opencall.db import make_engine
from tests.crowd import live

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_a_port_taken_meanwhile_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'port.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        taken_port = int(taken.getsockname()[1])
        chosen = iter([taken_port])
        choose = live.free_port
        monkeypatch.setattr(live, "free_port", lambda: next(chosen, 0) or choose())
        with live.ServerProcess(url, tmp_path) as server:
            assert server.port != taken_port
            assert httpx.get(server.base + "/healthz", timeout=30).status_code == 200
            assert live.port_taken((tmp_path / f"server-{taken_port}.log").read_text())
