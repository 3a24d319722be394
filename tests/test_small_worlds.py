"""The small worlds' cache (``SmallWorlds`` in tests/conftest.py) gives a test the
database a build through the services would have given it: the same rows, and on
PostgreSQL the same sequence positions (the ids the test's own inserts will get)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from opencall.models import metadata
from tests.conftest import KEEP, SmallWorlds, pg_sequence_positions
from tests.review_cycle import build_cycle


def _state(engine: Engine) -> dict[str, Any]:
    """Every row of every table (the countries included, which the cache leaves alone on
    PostgreSQL), and on PostgreSQL the position of every sequence."""
    state: dict[str, Any] = {}
    with engine.connect() as conn:
        for t in metadata.sorted_tables:
            if t.name != "alembic_version":
                state[t.name] = sorted(conn.execute(t.select()).all(), key=repr)
        if engine.dialect.name == "postgresql":
            state["sequences"] = pg_sequence_positions(conn)
    return state


def _clear(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE proposals SET current_revision_id = NULL"))
        for t in reversed(metadata.sorted_tables):
            if t.name not in KEEP:
                conn.execute(t.delete())


def test_a_copied_world_is_the_world_a_build_gives(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    engine = factory.kw["bind"]
    worlds = SmallWorlds(tmp_path)
    built = worlds.get("check", factory, build_cycle)  # the first: built, then kept
    after_build = _state(engine)
    assert after_build["proposals"] and after_build["review_assignments"]

    # another build moves the PostgreSQL sequences on: a copy that did not set them back
    # would leave them there (the ids of the test's own inserts would then differ)
    _clear(engine)
    with factory() as s:
        build_cycle(s)
        s.commit()
    if engine.dialect.name == "postgresql":
        assert after_build["sequences"]
        assert _state(engine)["sequences"] != after_build["sequences"]
    _clear(engine)

    copied = worlds.get("check", factory, build_cycle)
    assert copied == built and copied is not built
    assert _state(engine) == after_build


def test_the_postgresql_test_database_commits_without_waiting_for_the_disk(
    pg_engine: Engine | None,
) -> None:
    """``no_durability`` (tests/conftest.py): the tests' own database, and so every
    connection to it (the servers the tests start too), has ``synchronous_commit`` off."""
    if pg_engine is None:
        pytest.skip("no PostgreSQL (OPENCALL_TEST_POSTGRES_URL)")
    with pg_engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"


def test_engines_share_compiled_statements_not_their_databases(tmp_path: Path) -> None:
    """The test process's engines share one dialect and compiled-statement cache per
    backend (``_share_compiled_statements`` in tests/conftest.py); each still reads and
    writes its own database."""
    from opencall.db import make_engine

    engines = [make_engine(f"sqlite:///{tmp_path / name}.sqlite3") for name in "ab"]
    stmt = text("SELECT x FROM t")
    try:
        for n, engine in enumerate(engines):
            with engine.begin() as conn:
                conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
                conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": n})
        seen = []
        for engine in engines:
            with engine.connect() as conn:
                seen.append(conn.scalar(stmt))
        assert seen == [0, 1]
        a, b = engines
        assert a.dialect is b.dialect and a._compiled_cache is b._compiled_cache
    finally:
        for engine in engines:
            engine.dispose()
