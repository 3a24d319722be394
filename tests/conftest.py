"""Database fixtures: every DB test runs on SQLite and, where
OPENCALL_TEST_POSTGRES_URL is set (as .ci/run sets it), on PostgreSQL too."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from opencall import migrate
from opencall.db import make_engine, make_sessionmaker
from opencall.models import metadata
from opencall.people.services import load_countries

# CI runs property tests with a fixed seed so that a landing is reproducible; locally
# hypothesis explores new examples on every run.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

PG_URL = os.environ.get("OPENCALL_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
KEEP = {"alembic_version", "countries"}


def reset_pg_schema(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as s:
        load_countries(s)
        s.commit()
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine | None]:
    if not PG_URL:
        yield None
        return
    engine = make_engine(PG_URL)
    reset_pg_schema(engine)
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as s:
        load_countries(s)
        s.commit()
    yield engine
    engine.dispose()


def _truncate_pg(engine: Engine) -> None:
    # DELETE in dependency order is much faster than TRUNCATE on small tables
    with engine.begin() as conn:
        conn.execute(text("UPDATE proposals SET current_revision_id = NULL"))
        for t in reversed(metadata.sorted_tables):
            if t.name not in KEEP:
                conn.execute(t.delete())


@pytest.fixture(params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, sqlite_template: Path, pg_engine: Engine | None, tmp_path: Path
) -> Iterator[Engine]:
    if request.param == "sqlite":
        path = tmp_path / "db.sqlite3"
        shutil.copy(sqlite_template, path)
        eng = make_engine(f"sqlite:///{path}")
        yield eng
        eng.dispose()
    else:
        assert pg_engine is not None
        _truncate_pg(pg_engine)
        yield pg_engine


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def db(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as s:
        yield s
        s.rollback()
