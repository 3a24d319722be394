"""A result computed from the database, kept while every row it read is unchanged.

:meth:`ReadCache.get` runs ``compute(reader)`` on a session and a connection of its
own (one snapshot of the database, an empty identity map: every row the computation
uses is read by a statement), records each SELECT it runs, and keeps the
result with a digest of the rows those statements returned. The next ``get`` with the
same key runs the recorded statements again, raw (no objects built, nothing computed),
and answers with the kept result only when their rows are the same: a changed row that
was read, or a row added to or removed from what a statement selects, recomputes. There
is no list of tables to keep up to date, and no write needs to tell the cache.

The key must hold everything else the result depends on (its arguments, the day when it
reads the clock). Entries live in the process (each web worker keeps its own), the last
``size`` keys; a result is handed out as a deep copy, so a caller may change its own.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

T = TypeVar("T")
Statement = tuple[str, Any]


@dataclass(frozen=True)
class _Entry(Generic[T]):
    statements: tuple[Statement, ...]
    digest: str
    value: T


def _digest(conn: Connection, statements: tuple[Statement, ...]) -> str:
    h = hashlib.blake2b(digest_size=32)
    for sql, params in statements:
        rows = conn.exec_driver_sql(sql, params).fetchall()
        h.update(sql.encode())
        # as a multiset: a statement without ORDER BY may return its rows in any order
        for text in sorted(repr(tuple(row)) for row in rows):
            h.update(text.encode())
        h.update(b"\x00")
    return h.hexdigest()


class ReadCache(Generic[T]):
    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, _Entry[T]] = OrderedDict()
        self._lock = threading.Lock()
        self.computed = 0  # how many times ``compute`` ran (for the tests)

    def get(self, session: Session, key: Hashable, compute: Callable[[Session], T]) -> T:
        conn = session.connection()
        full_key = (conn.engine.url.render_as_string(hide_password=True), key)
        with self._lock:
            entry = self._entries.get(full_key)
        if entry is not None and _digest(conn, entry.statements) == entry.digest:
            with self._lock:
                if full_key in self._entries:
                    self._entries.move_to_end(full_key)
            return copy.deepcopy(entry.value)
        recorded: dict[Statement, None] = {}

        def record(
            _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, many: bool
        ) -> None:
            if not many and statement.lstrip()[:6].upper().startswith(("SELECT", "WITH")):
                key_params = tuple(parameters) if isinstance(parameters, list) else parameters
                if isinstance(key_params, dict):
                    key_params = tuple(sorted(key_params.items()))
                recorded[(statement, _Frozen(key_params, parameters))] = None

        # computed on a connection of its own, in one snapshot of the database, and the
        # digest taken in that snapshot: a change committed meanwhile is not half seen
        # (PostgreSQL's default isolation takes a new snapshot for every statement)
        with conn.engine.connect() as own:
            if own.dialect.name == "postgresql":
                own = own.execution_options(isolation_level="REPEATABLE READ")
            else:
                own.exec_driver_sql("BEGIN")  # SQLite: a read transaction holds a snapshot
            event.listen(own, "before_cursor_execute", record)
            try:
                with Session(bind=own, autoflush=False, expire_on_commit=False) as reader:
                    value = compute(reader)
            finally:
                event.remove(own, "before_cursor_execute", record)
            statements = tuple((sql, frozen.params) for sql, frozen in recorded)
            entry = _Entry(statements, _digest(own, statements), value)
            own.rollback()
        with self._lock:
            self.computed += 1
            self._entries[full_key] = entry
            self._entries.move_to_end(full_key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return copy.deepcopy(value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class _Frozen:
    """A statement's parameters as recorded (a dict or a sequence), hashable by value."""

    def __init__(self, key: Any, params: Any) -> None:
        self.key = key
        self.params = params

    def __hash__(self) -> int:
        return hash(repr(self.key))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Frozen) and repr(self.key) == repr(other.key)
