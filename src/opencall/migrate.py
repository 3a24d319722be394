"""Alembic driven from code: ``opencall db upgrade`` and the drift check."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine

from opencall.models import metadata


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "opencall:migrations")
    cfg.attributes["engine"] = engine
    return cfg


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction for a migration. On SQLite, foreign keys are off while it runs:
    a batch migration rebuilds a table (copy, drop, rename), and dropping a table that
    other rows refer to fails with the checks on (Alembic's documented caveat). The
    references are checked once the migration is done, and a broken one is refused."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # outside a transaction: SQLite ignores the pragma inside one
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()  # end SQLAlchemy's autobegun transaction (the pragma is not DML)
        try:
            with conn.begin():
                yield conn
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration broke references: {broken[:5]}")
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


#: the PostgreSQL advisory lock of the migrations (the audit log's chain uses 7262001)
MIGRATION_LOCK_KEY = 7262002


def lock_file(engine: Engine) -> Path | None:
    """The lock file of a SQLite database's migrations (beside it), None in memory."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database).with_name(Path(database).name + ".migrate-lock")


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """One migrating process at a time on a database: two ``opencall serve`` (or ``db
    upgrade``) started together would otherwise both run the migrations, and the later
    fail half-way (a table that already exists, a duplicate version row). The others wait
    here, then find the schema at head and do nothing. PostgreSQL: a session advisory lock
    (released when its connection closes, also if the process dies); SQLite: an exclusive
    ``flock`` on ``<database>.migrate-lock`` (released by the system when the process
    ends). Not reentrant: take it once, around all the work."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")
            conn.commit()
            try:
                yield
            finally:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")
                conn.commit()
        return
    path = lock_file(engine)
    if path is None or os.name != "posix":
        yield
        return
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def upgrade(engine: Engine, revision: str = "head", *, lock: bool = True) -> None:
    """Migrate to ``revision`` in one transaction, under :func:`migration_lock` (pass
    ``lock=False`` when the caller holds it already)."""
    if lock:
        with migration_lock(engine):
            upgrade(engine, revision, lock=False)
        return
    cfg = alembic_config(engine)
    with _migrating(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Step the schema back to ``revision`` (e.g. ``-1`` or a revision id)."""
    cfg = alembic_config(engine)
    with migration_lock(engine), _migrating(engine) as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def revision(engine: Engine, message: str) -> None:
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)


def drift(engine: Engine) -> list[Any]:
    """Differences between the models and the migrated database (empty = no drift)."""
    with engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(mc, metadata))


def _scripts() -> Any:
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", "opencall:migrations")
    return ScriptDirectory.from_config(cfg)


def head() -> str | None:
    """The newest revision the installed code knows."""
    return _scripts().get_current_head()  # type: ignore[no-any-return]


def steps(lower: str | None, upper: str) -> int:
    """How many migrations lead from revision ``lower`` (None: an empty database) up to
    ``upper``."""
    return sum(1 for _ in _scripts().iterate_revisions(upper, lower or "base"))


def knows(revision: str) -> bool:
    """Whether ``revision`` is one of the installed code's migrations (not one that newer
    code wrote)."""
    from alembic.util import CommandError

    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


def current_on(conn: Connection) -> str | None:
    """The database's revision, read on ``conn``."""
    return MigrationContext.configure(conn).get_current_revision()


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
