from sqlalchemy import Engine, inspect

from opencall import migrate
from opencall.db import make_engine
from opencall.models import metadata
from tests.conftest import PG_URL, reset_pg_schema


def test_upgrade_from_empty_sqlite_and_no_drift(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    migrate.upgrade(engine)
    assert migrate.drift(engine) == []
    tables = set(inspect(engine).get_table_names())
    assert set(metadata.tables) <= tables
    # idempotent
    rev = migrate.current(engine)
    assert rev is not None
    migrate.upgrade(engine)
    assert migrate.current(engine) == rev and migrate.drift(engine) == []


def test_migrated_fixture_has_no_drift(engine: Engine) -> None:
    assert migrate.drift(engine) == []


def test_sqlite_pragmas(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    with engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_upgrade_from_empty_postgres() -> None:
    import pytest

    if not PG_URL:
        pytest.skip("OPENCALL_TEST_POSTGRES_URL not set")
    engine = make_engine(PG_URL)
    reset_pg_schema(engine)
    migrate.upgrade(engine)
    assert migrate.drift(engine) == []
    # leave the schema as the session fixture expects it
    from opencall.db import make_sessionmaker
    from opencall.people.services import load_countries

    with make_sessionmaker(engine)() as s:
        load_countries(s)
        s.commit()
