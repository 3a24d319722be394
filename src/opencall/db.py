"""Database plumbing: the declarative base, engines, sessions and column types.

SQLite (default, WAL mode, foreign keys on) and PostgreSQL (psycopg 3) are
both first-class; every test runs on both where PostgreSQL is available.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def utc_today() -> dt.date:
    """Today in UTC, the day every page, the API and the CLI judge a due date by (not the
    server's local day: a server in UTC+8 is a day ahead of UTC until 08:00)."""
    return utcnow().date()


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no time zones; values are stored as naive UTC and come back
    aware, so comparisons against deadlines are always in UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; OpenCall stores UTC-aware datetimes only")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


JSONType = JSON().with_variant(JSON(), "postgresql")


def pool_limits(concurrency: int) -> dict[str, int]:
    """The connection pool for ``concurrency`` requests at once: one connection each, and
    an overflow for the short side sessions (job progress, lease heartbeats, inline jobs)."""
    return {"pool_size": concurrency, "max_overflow": max(4, concurrency // 2)}


DEFAULT_CONNECT_TIMEOUT_S = 10


def make_engine(
    url: str,
    echo: bool = False,
    *,
    concurrency: int | None = None,
    connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S,
) -> Engine:
    """An engine; ``concurrency`` sizes its pool (see :func:`pool_limits`).
    ``connect_timeout_s`` bounds a new PostgreSQL connection (a host that never answers
    fails within it), unless the URL names its own ``connect_timeout``."""
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    memory = url.startswith("sqlite") and url.split("///", 1)[-1] in ("", ":memory:")
    if concurrency is not None and not memory:
        kwargs.update(pool_limits(concurrency), pool_timeout=30)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    elif url.startswith("postgresql"):
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        if "connect_timeout" not in make_url(url).query:
            kwargs["connect_args"] = {"connect_timeout": connect_timeout_s}
        # a pooled connection is pinged as it is handed out, and a dead one (a restart of
        # the server, pg_terminate_backend) replaced: else the request that checked it out
        # failed with a 500 (mend22; the ping's cost: bench/bench_pre_ping.py)
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def no_connection(exc: BaseException) -> bool:
    """Whether ``exc`` (SQLAlchemy's error, or the driver's own) is a new connection to
    PostgreSQL that could not be made: refused (it serves as many connections as it
    allows, is starting up or shutting down, or nothing listens) or not answered within
    the connect timeout. Nothing ran on it, and a retry may succeed. psycopg gives the
    failed attempt's ``pgconn`` to the errors of a connection attempt only (never to an
    error on a connection that was made, which may have been lost during a commit), and
    its own ``ConnectionTimeout`` to an attempt that timed out."""
    import psycopg

    orig = getattr(exc, "orig", None) or exc
    if not isinstance(orig, psycopg.OperationalError):
        return False
    return isinstance(orig, psycopg.errors.ConnectionTimeout) or orig.pgconn is not None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_sessionmaker(engine: Engine, audit_key: str = "") -> sessionmaker[Session]:
    """Sessions of this engine; ``audit_key`` (kept outside the database) signs audit events."""
    return sessionmaker(
        bind=engine, expire_on_commit=False, future=True, info={"audit_key": audit_key}
    )


def begin_write(session: Session) -> None:
    """On SQLite, take the database's write lock now (``BEGIN IMMEDIATE``) unless this
    transaction already writes, so that what is read next stays true until commit;
    nothing on PostgreSQL (its callers lock rows or take an advisory lock)."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
