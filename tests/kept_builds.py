"""Builds that a test runs inside its own session, kept and copied into the next one.

``tests.factories.call_in_review`` (a FAST call with 24 pools, proposals, reviewers and
the affinity step, through the services: 0.1 to 0.3 s of CPU a call) is called by some
forty tests on both backends, inside the test's own session and transaction, which the
test may commit or roll back. :class:`KeptBuilds` runs such a build once per argument
set and test process, reads back every row it wrote *in the same transaction* (nothing
committed), and gives a later caller the same rows written into its own transaction
instead of running the services again:

- only into a database in the state the build started from: every table but ``KEEP``'s
  empty (after the session's pending writes are flushed), the same sequence positions on
  PostgreSQL (the ids the build's inserts got), the same countries and schema revision,
  the same audit key (the events' MACs); otherwise the build runs as before;
- never on a moved clock (a time-machine traveller: the rows' dates are the clock's),
  and a kept build is used for an hour at most (its rows' dates are that much older
  than a build's would be);
- the rows are copied exactly: on SQLite the driver's raw values (text, numbers,
  blobs), on PostgreSQL ``COPY ... TO STDOUT`` and back (its text format keeps a JSON
  ``null`` apart from SQL ``NULL``), the foreign keys checked at commit (SQLite) or not
  row by row (``session_replication_role = replica``, as a build's rows already
  satisfied them); then every sequence is set where the build left it;
- what the build left in ``session.info`` is given back: the jobs it queued (the web
  pages run them after their commit) and, on PostgreSQL, the ``NOTIFY`` of the
  workers' channel in the transaction; the audit chain's head, which a build leaves
  remembered, is read again from the copied rows. A build that leaves anything else
  there is never kept.

The helpers that go on from ``call_in_review`` (reviews submitted, a calibration, a
freeze, an allocation and its release: ``tests.allocation.test_edges.ranked_call``,
``tests.results.decline_world.build`` and the like) are kept the same way, each under a
key of its own, through the :func:`kept` decorator.

``tests/test_kept_builds.py`` checks that a copy gives the rows, sequence positions and
returned objects a build gives."""

from __future__ import annotations

import copy
import functools
import sys
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypeVar

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from opencall import auditlog, jobs
from opencall.calls.models import Call
from opencall.db import begin_write, utcnow
from opencall.models import metadata
from opencall.reviews.services import calibration

#: the tables a test database keeps between tests (migrated once, never emptied)
KEEP = {"alembic_version", "countries"}

R = TypeVar("R")
I = TypeVar("I")  # noqa: E741
P = ParamSpec("P")


@functools.cache
def emptiness_sql(dialect: str) -> str:
    """One ``SELECT EXISTS (...), ...`` over every table but ``KEEP``'s, compiled once per
    backend (a SQLite test's engine is new, so its statement cache would compile the
    60-table statement again in every test)."""
    from sqlalchemy.dialects import postgresql, sqlite

    tables = [t for t in metadata.sorted_tables if t.name not in KEEP]
    stmt = select(*[select(t).exists() for t in tables])
    compiled = stmt.compile(
        dialect=postgresql.dialect() if dialect == "postgresql" else sqlite.dialect()  # type: ignore[no-untyped-call]
    )
    assert not compiled.params, compiled.params
    return str(compiled)


_PG_SEQUENCE_NAMES = """
SELECT s.relname
FROM pg_class s
JOIN pg_namespace n ON n.oid = s.relnamespace AND n.nspname = 'public'
WHERE s.relkind = 'S'
ORDER BY s.relname
"""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables() -> list[tuple[str, str]]:
    """(name, quoted column list) of every table but ``KEEP``'s, parents first."""
    return [
        (t.name, ", ".join(_quote(c.name) for c in t.columns))
        for t in metadata.sorted_tables
        if t.name not in KEEP
    ]


def _sequences(conn: Connection) -> tuple[tuple[str, int, bool], ...]:
    """``(name, last_value, is_called)`` of every sequence of the public schema, in one
    round trip (KEEP's included: a build must start from theirs too)."""
    names = conn.scalars(text(_PG_SEQUENCE_NAMES)).all()
    if not names:
        return ()
    query = " UNION ALL ".join(
        f"SELECT '{n}', last_value, is_called FROM public.{_quote(n)}"  # noqa: S608
        for n in names
    )
    return tuple(sorted(tuple(row) for row in conn.exec_driver_sql(query).all()))  # type: ignore[misc]


@dataclass
class _Kept(Generic[I]):
    rows: dict[str, Any]  # table -> SQLite rows, or PostgreSQL COPY data
    sequences: tuple[tuple[str, int, bool], ...]
    ids: I
    queued: list[int]  # the jobs the build queued (session.info)
    notified: bool  # the build's NOTIFY of the workers' channel (PostgreSQL)


#: what a kept build may leave in ``session.info``: the audit chain's head (read again
#: after a copy), the queued jobs and the NOTIFY (given back), and the calibration's
#: cache of the grades it read (keyed on the call's last audit event: a session without
#: it reads the grades again, as any new session does)
_ALLOWED_INFO = {
    auditlog._HEAD,
    jobs.QUEUED_KEY,
    jobs._NOTIFIED_KEY,
    calibration._GRADES_READ,
}


class KeptBuilds:
    """See the module's docstring. ``get(s, key, build, ids, load)``: ``build(s)``'s
    result, or the same rows copied into ``s``'s transaction and ``load(s, ids)``, where
    ``ids`` (of the build's result) must be plain data."""

    def __init__(self) -> None:
        self.kept: dict[Hashable, _Kept[Any]] = {}
        self.never: set[Hashable] = set()
        self.copies = 0  # how many times a kept build was copied (for the tests)

    @staticmethod
    def _moved_clock() -> bool:
        tm = sys.modules.get("time_machine")
        return bool(tm is not None and getattr(tm, "traveller_stack", None))

    def _start(self, s: Session, conn: Connection) -> Hashable | None:
        """The state the build starts from, or None where no build may be copied in."""
        dialect = conn.dialect.name
        if any(conn.exec_driver_sql(emptiness_sql(dialect)).one()):
            return None
        hour = utcnow().replace(minute=0, second=0, microsecond=0)
        keep = conn.exec_driver_sql(
            "SELECT (SELECT count(*) FROM countries), (SELECT max(version_num) FROM alembic_version)"
        ).one()
        sequences = _sequences(conn) if dialect == "postgresql" else ()
        return (dialect, auditlog.audit_key(s), hour, tuple(keep), sequences)

    def get(
        self,
        s: Session,
        key: Hashable,
        build: Callable[[Session], R],
        ids: Callable[[R], I],
        load: Callable[[Session, I], R],
    ) -> R:
        if self._moved_clock():
            return build(s)
        s.flush()
        conn = s.connection()
        start = self._start(s, conn)
        if start is None:
            return build(s)
        full = (key, start)
        if full in self.never:
            return build(s)
        kept = self.kept.get(full)
        if kept is not None:
            self._copy(s, conn, kept)
            self.copies += 1
            return load(s, kept.ids)
        before = set(s.info)
        result = build(s)
        s.flush()
        if set(s.info) - before - _ALLOWED_INFO:
            self.never.add(full)
            return result
        self.kept[full] = self._read(s, conn, ids(result))
        return result

    @staticmethod
    def _read(s: Session, conn: Connection, ids: Any) -> _Kept[Any]:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        rows: dict[str, Any] = {}
        cur = raw.cursor()
        try:
            for name, columns in _tables():
                sql = f"SELECT {columns} FROM {_quote(name)}"  # noqa: S608
                if conn.dialect.name == "postgresql":
                    with cur.copy(f"COPY ({sql}) TO STDOUT") as copy:  # type: ignore[attr-defined]
                        data = b"".join(bytes(b) for b in copy)
                    if data:
                        rows[name] = data
                else:
                    found = cur.execute(sql).fetchall()
                    if found:
                        rows[name] = found
        finally:
            cur.close()
        sequences = _sequences(conn) if conn.dialect.name == "postgresql" else ()
        queued = [j.id for j in s.info.get(jobs.QUEUED_KEY, [])]
        notified = s.info.get(jobs._NOTIFIED_KEY) is not None
        return _Kept(rows, sequences, ids, queued, notified)

    @staticmethod
    def _copy(s: Session, conn: Connection, kept: _Kept[Any]) -> None:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        columns = dict(_tables())
        postgresql = conn.dialect.name == "postgresql"
        if postgresql:
            role = conn.exec_driver_sql("SHOW session_replication_role").scalar()
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            begin_write(s)  # in a transaction, for the pragma below
            conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        cur = raw.cursor()
        try:
            for name, data in kept.rows.items():
                if postgresql:
                    sql = f"COPY {_quote(name)} ({columns[name]}) FROM STDIN"
                    with cur.copy(sql) as copy:  # type: ignore[attr-defined]
                        copy.write(data)
                else:
                    marks = ", ".join("?" * len(data[0]))
                    sql = f"INSERT INTO {_quote(name)} ({columns[name]}) VALUES ({marks})"  # noqa: S608
                    cur.executemany(sql, data)
        finally:
            cur.close()
        if not postgresql:  # the test's own writes checked at once again, as after a build
            conn.exec_driver_sql("PRAGMA defer_foreign_keys = OFF")
        if postgresql:
            conn.exec_driver_sql(f"SET LOCAL session_replication_role = {role}")
            if kept.sequences:
                conn.exec_driver_sql(
                    "SELECT "
                    + ", ".join(
                        f"setval('public.{_quote(n)}', {v}, {'true' if c else 'false'})"
                        for n, v, c in kept.sequences
                    )
                )
        if kept.queued:
            queued = [s.get(jobs.Job, i) for i in kept.queued]
            s.info.setdefault(jobs.QUEUED_KEY, []).extend(queued)
        if kept.notified:
            jobs.notify_queued(s)


#: the test process's kept builds (tests.factories.call_in_review, and the helpers
#: decorated with :func:`kept`)
KEPT = KeptBuilds()


def kept(
    ids: Callable[[R], I], load: Callable[[Session, I], R]
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """A builder ``fn(s, *args, **kwargs)`` whose result is kept (``KEPT.get``), under
    the key of its module, name and arguments (hashable ones). ``ids`` and ``load`` as
    for :meth:`KeptBuilds.get`; the undecorated builder is the wrapper's ``build``."""

    def decorate(fn: Callable[..., R]) -> Callable[..., R]:
        @functools.wraps(fn)
        def wrapper(s: Session, *args: Any, **kwargs: Any) -> R:
            key = (fn.__module__, fn.__qualname__, args, tuple(sorted(kwargs.items())))
            return KEPT.get(s, key, lambda s: fn(s, *args, **kwargs), ids, load)

        wrapper.build = fn  # type: ignore[attr-defined]
        return wrapper

    return decorate


def plain(result: R) -> R:
    """``ids`` for a result of plain data (a dataclass of ids, codes, e-mails): a copy."""
    return copy.deepcopy(result)


def plain_again(_s: Session, ids: R) -> R:
    """``load`` for a result of plain data: another copy of the kept one."""
    return copy.deepcopy(ids)


def call_id(call: Call) -> int:
    """``ids`` for a result that is one call."""
    return call.id


def load_call(s: Session, ident: int) -> Call:
    """``load`` for a result that is one call."""
    call = s.get(Call, ident)
    assert call is not None
    return call
