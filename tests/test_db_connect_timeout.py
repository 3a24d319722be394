"""A PostgreSQL host that never answers (a firewall that drops the packets, a machine
gone mid-handshake) costs at most OPENCALL_DB_CONNECT_TIMEOUT_S: `/readyz` answers 503
and the command line says it cannot connect, instead of waiting for the operating
system's TCP timeout (psycopg's own default is over two minutes).

The blackhole is a socket made here that listens and never accepts: the kernel completes
the TCP handshake and then nothing ever answers the client's first message."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from opencall.app import create_app
from opencall.settings import Settings

# far beyond the 2 s timeout the tests set, far below psycopg's default of 130 s
HANG = 40.0


@pytest.fixture
def blackhole() -> Iterator[str]:
    """The URL of a PostgreSQL 'server' that accepts the connection and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    try:
        yield f"postgresql://opencall:s3cret@127.0.0.1:{port}/opencall"
    finally:
        sock.close()  # the connections left in its queue are reset: a hung client ends


def _finishes(work: Callable[[], Any]) -> Any:
    """``work()``'s result, run in a thread; fails when it is still waiting after HANG."""
    out: list[Any] = []
    t = threading.Thread(target=lambda: out.append(work()), daemon=True)
    t.start()
    t.join(HANG)
    assert not t.is_alive(), "still waiting for a database that never answers"
    return out[0]


def test_the_setting_is_bounded_and_documented() -> None:
    assert Settings().db_connect_timeout_s == 10
    with pytest.raises(ValueError, match="db_connect_timeout_s"):
        Settings(db_connect_timeout_s=0)
    text = (Path(__file__).parents[1] / "docs" / "deploy.md").read_text()
    assert "OPENCALL_DB_CONNECT_TIMEOUT_S" in text


def test_readyz_answers_503_when_the_database_never_answers(blackhole: str, tmp_path: Path) -> None:
    settings = Settings(
        database_url=blackhole,
        db_connect_timeout_s=2,
        mail_dir=tmp_path / "mail",
        upload_dir=tmp_path / "uploads",
    )
    app = create_app(settings)
    try:
        c = TestClient(app)
        r = _finishes(lambda: c.get("/readyz"))
        assert r.status_code == 503, r.text
        assert r.json() == {"status": "unavailable", "database": "unreachable"}
        assert "s3cret" not in r.text and "127.0.0.1" not in r.text
    finally:
        app.state.engine.dispose()


def test_the_command_line_says_it_cannot_connect(blackhole: str, monkeypatch: Any) -> None:
    from opencall.cli import app

    monkeypatch.setenv("OPENCALL_DATABASE_URL", blackhole)
    monkeypatch.setenv("OPENCALL_DB_CONNECT_TIMEOUT_S", "2")
    result = _finishes(lambda: CliRunner().invoke(app, ["db", "check"]))
    assert result.exit_code == 2, result.output
    assert "cannot connect to the database" in result.output
    assert "s3cret" not in result.output


def test_pg_dump_and_pg_restore_are_bounded_too(blackhole: str, tmp_path: Path) -> None:
    """The backup's own client programs connect by themselves (libpq, not the engine): a
    database that stops answering between the engine's check and pg_dump's connection
    ends the backup with an error within the timeout, the password never printed."""
    import shutil

    from sqlalchemy import create_engine

    from opencall import backup

    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    engine = create_engine(blackhole.replace("postgresql://", "postgresql+psycopg://"))
    url = backup.libpq_url(engine, connect_timeout_s=2)
    assert "connect_timeout=2" in url
    # a URL that names its own timeout keeps it
    own = create_engine(engine.url.update_query_dict({"connect_timeout": "5"}))
    assert "connect_timeout=5" in backup.libpq_url(own, connect_timeout_s=2)

    def dump() -> str:
        with pytest.raises(backup.BackupError) as err:
            backup._dump(engine, tmp_path, connect_timeout_s=2)
        return str(err.value)

    message = _finishes(dump)
    assert "pg_dump failed" in message and "timeout" in message
    assert "s3cret" not in message
