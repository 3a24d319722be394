"""Two `opencall serve` (or `db upgrade`) started at once on one empty database: the
migrations run once, the second waits for the first and finds the schema at head (a
PostgreSQL advisory lock; on SQLite a lock file beside the database)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from opencall import migrate
from opencall.db import make_engine, make_sessionmaker
from opencall.people.models import Country
from tests.conftest import PG_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database (PostgreSQL: made for the test, dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'race.sqlite3'}"
        return
    if not PG_URL:
        pytest.skip("OPENCALL_TEST_POSTGRES_URL not set")
    name = f"race_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _check_head(url: str) -> None:
    engine = make_engine(url)
    try:
        assert migrate.current(engine) == _head(engine)
        assert migrate.drift(engine) == []
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM alembic_version")) == 1
    finally:
        engine.dispose()


def _head(engine: Engine) -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(migrate.alembic_config(engine)).get_current_head()
    assert head is not None
    return head


@pytest.mark.slow
def test_two_db_upgrade_commands_at_once(empty_url: str, tmp_path: Path) -> None:
    """`opencall db upgrade` twice at once, as two processes (what two `serve`
    started together do first): both succeed, the migrations and the
    reference data loaded by one, then found in place by the other. (Threads would not
    do: Alembic's migration context is one per process.)"""
    import os
    import subprocess
    import sys

    env = {**os.environ, "OPENCALL_DATABASE_URL": empty_url}
    opencall = [sys.executable, "-m", "opencall"]
    procs = [
        subprocess.Popen(
            [*opencall, "db", "upgrade"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    _check_head(empty_url)
    engine = make_engine(empty_url)
    with make_sessionmaker(engine)() as s:
        assert s.scalar(select(func.count(Country.iso3))) > 200
    assert "countries" in inspect(engine).get_table_names()
    engine.dispose()
