"""The database, web and world fixtures of every test, and what the test process
patches for speed (the cheap password hasher, shared template bytecode, route analysis, the
OpenAPI document, compiled statements, the calibration job's bootstrap draws): every DB
test runs on SQLite and, where OPENCALL_TEST_POSTGRES_URL is set (as .ci/run sets it), on
PostgreSQL too.

``tests/conftest.py`` registers this module as a plugin in each process that runs tests
(the one process, or each pytest-xdist worker), not in xdist's controller, which runs
none: importing it (the app, SQLAlchemy, FastAPI, the factories) was most of the
controller's CPU before the workers started."""

from __future__ import annotations

import copy
import datetime as dt
import fcntl
import functools
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import jinja2
import jinja2.bccache
import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Connection, Engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from opencall import migrate
from opencall.db import make_engine, make_sessionmaker
from opencall.models import metadata
from opencall.people.services import load_countries
from opencall.web import pages as web_pages
from tests.cheap_hasher import PRODUCTION_HASHER  # noqa: F401  (the test cost, set once)
from tests.kept_builds import KEEP, emptiness_sql


class _SharedBytecode(jinja2.BytecodeCache):
    """Compiled templates shared by every app of the test process (each ``web`` fixture
    and live server makes a new app, whose new jinja environment would compile every
    template it renders again: about 0.6 s of CPU for all of them). Jinja keys the
    cache by the template's name and source, so an edited template is compiled anew."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_BYTECODE = _SharedBytecode()
_make_environment = web_pages.make_environment


def _environment_sharing_bytecode(directory: Path) -> jinja2.Environment:
    env = _make_environment(directory)
    env.bytecode_cache = TEMPLATE_BYTECODE
    return env


web_pages.make_environment = _environment_sharing_bytecode


def _share_route_analysis() -> None:
    """Each app's routes analysed once per test process, not once per app.

    FastAPI (0.165) works out an included route's parameters and response model (its
    ``Dependant`` tree and pydantic ``ModelField``s) for each app, lazily, the first time
    that app matches a request against the route, and again for every route listed
    before it: the first request to a new app cost 10 to 150 ms of CPU (``/healthz``,
    the last route, the most), and every ``web`` fixture makes a new app. What it works
    out depends only on the endpoint, its path and its dependencies (the app and its
    settings are not among them), so the apps of the test process share it here: the
    same objects every app would have built again, equal field by field. Where FastAPI
    no longer has these helpers nothing is shared and each app builds its own."""
    from fastapi import routing

    build = getattr(routing, "_build_dependant_with_parameterless_dependencies", None)
    field = getattr(routing, "create_model_field", None)
    if build is None or field is None:
        return
    built: dict[Any, Any] = {}
    fields: dict[Any, Any] = {}

    def shared_build(*, path: str, call: Any, dependencies: Any) -> Any:
        try:
            key = (path, call, tuple(dependencies))
            hash(key)
        except TypeError:
            return build(path=path, call=call, dependencies=dependencies)
        if key not in built:
            built[key] = build(path=path, call=call, dependencies=dependencies)
        return built[key]

    def shared_field(name: str, type_: Any, *args: Any, **kw: Any) -> Any:
        try:
            key = (name, type_, args, tuple(sorted(kw.items())))
            hash(key)
        except TypeError:
            return field(name, type_, *args, **kw)
        if key not in fields:
            fields[key] = field(name, type_, *args, **kw)
        return fields[key]

    routing._build_dependant_with_parameterless_dependencies = shared_build  # type: ignore[attr-defined]
    routing.create_model_field = shared_field  # type: ignore[attr-defined]


_share_route_analysis()


def _route_key(context: Any) -> tuple[Any, ...] | None:
    """What of a route the OpenAPI document reads: its path, methods, endpoint (by
    module and name: an app's own closures are new objects in each app) and the
    attributes of its operation. None for a route the document leaves out."""
    from fastapi import routing

    if not isinstance(context.original_route, routing.APIRoute):
        return None
    r = context
    if not r.include_in_schema:
        return None
    endpoint = r.endpoint
    return (
        r.path_format,
        tuple(sorted(r.methods or ())),
        getattr(endpoint, "__module__", None),
        getattr(endpoint, "__qualname__", repr(endpoint)),
        r.name,
        r.summary,
        r.description,
        r.operation_id,
        r.deprecated,
        r.status_code,
        repr(r.response_model),
        repr(r.response_class),
        repr(r.tags),
        repr(r.responses),
        repr(r.openapi_extra),
    )


def _share_openapi_document() -> None:
    """Each app's OpenAPI document worked out once per test process, not once per app.

    FastAPI builds an app's document (``app.openapi()``, pydantic's JSON schemas of every
    model of 290 operations) the first time the app is asked for it, and keeps it on the
    app: 0.4 to 0.9 s of CPU each time, and every ``web`` fixture makes a new app, so each
    test that walks every route (the leak oracle, the route matrices: they read
    ``/api/v1/openapi.json`` as any other page) built it again. The document depends only
    on what :func:`fastapi.openapi.utils.get_openapi` is given (the app's title, version
    and other fields, and the routes' paths, endpoints and operations: :func:`_route_key`),
    so apps given the same share it; each app gets its own copy (it may be changed, as
    ``opencall.web.api`` changes its 422 answer's schema), and an app with another route
    gets its own document."""
    import json

    from fastapi import applications, routing
    from fastapi.openapi import utils

    build = utils.get_openapi
    documents: dict[Any, str] = {}

    def shared(**kw: Any) -> dict[str, Any]:
        def routes_key(routes: Any) -> tuple[Any, ...]:
            keys = (_route_key(c) for c in routing.iter_route_contexts(list(routes or ())))
            return tuple(k for k in keys if k is not None)

        try:
            key = tuple(
                (name, routes_key(value) if name in ("routes", "webhooks") else repr(value))
                for name, value in sorted(kw.items())
            )
        except Exception:  # a route this key cannot read: the app builds its own
            return build(**kw)
        if key not in documents:
            documents[key] = json.dumps(build(**kw))
        return cast(dict[str, Any], json.loads(documents[key]))

    applications.get_openapi = shared  # type: ignore[assignment]


_share_openapi_document()


def _share_compiled_statements() -> None:
    """One dialect and one compiled-statement cache per backend for every engine of the
    test process, as one long-lived process has.

    Each test makes new engines (a SQLite test's own, the app's of every ``web``
    fixture, on both backends), and SQLAlchemy keeps its compiled statements per engine,
    keyed by the engine's dialect object: every new engine compiled every statement it
    ran again (about 6 % of the database tests' CPU). An engine made through
    :func:`opencall.db.make_engine` takes, once its first connection has initialised a
    dialect, the first such initialised dialect of its kind and that dialect's cache;
    its own pool, connections, URL and events stay its own. The dialects of one kind are
    interchangeable here: ``make_engine`` gives them the same arguments, and what
    ``initialize`` reads from the first connection (the server's or library's version,
    its default isolation level) is the same for every database of the run; so an engine
    made once there is one no longer initialises its own at its first connection (on
    PostgreSQL five round trips: half of a new engine's first connection)."""
    from sqlalchemy import event
    from sqlalchemy.util import LRUCache

    from opencall import db as opencall_db

    create = opencall_db.create_engine
    shared: dict[Any, tuple[Any, Any]] = {}

    def kind(engine: Engine) -> Any:
        d = engine.dialect
        level = getattr(d, "_on_connect_isolation_level", None)
        return (type(d), level, d.paramstyle, d.compiler_linting)  # type: ignore[attr-defined]

    def adopt(engine: Engine) -> None:
        engine.dialect, engine._compiled_cache = shared[kind(engine)]
        engine.pool._dialect = engine.dialect  # as create_engine(pool=...) does

    def create_sharing(url: Any, **kw: Any) -> Engine:
        engine = create(url, **kw)
        if kind(engine) in shared:
            own = engine.dialect
            adopt(engine)
            # create_engine's first-connect hook initialises this engine's own dialect,
            # which nothing uses any more
            own.initialize = lambda _connection: None  # type: ignore[method-assign]
            return engine

        def first(_dbapi: Any, _record: Any) -> None:
            # runs after create_engine's own first-connect hook has initialised the
            # dialect; the engine's first Connection keeps its own (equal) dialect
            shared.setdefault(kind(engine), (engine.dialect, LRUCache(5000)))
            adopt(engine)

        event.listen(engine.pool, "connect", first, once=True)
        return engine

    opencall_db.create_engine = create_sharing  # type: ignore[assignment]


_share_compiled_statements()


def _fewer_calibration_draws() -> tuple[int, int]:
    """The calibration step's job (``review.calibrate``, which the API's and the
    cockpit's ``steps/calibration`` queue) calls ``run_calibration`` without a number of
    bootstrap draws, so it drew the product's 200 replicates, each a refit of the model:
    45 % of py-spy's samples of two journeys that run a whole cycle through the API, and
    eight journey files took 148 CPU s with them, 118 with 20 (speed22, docs/testing.md). The test process draws 20 there, as it hashes passwords at argon2's
    lowest cost; the services' own tests name their count (10 to 50), the demo's cycles
    and the CLI theirs, and the run records what it drew (``parameters``).
    ``tests/reviews/test_calibration_draws_in_tests.py`` pins both numbers. Returns the
    product's default and the tests'."""
    from opencall.reviews.services import calibration

    defaults = calibration.run_calibration.__kwdefaults__
    assert defaults is not None
    production, fewer = defaults["n_bootstrap"], 20
    defaults["n_bootstrap"] = fewer
    return production, fewer


#: The calibration's bootstrap draws when a caller names none, in the product and here
PRODUCTION_BOOTSTRAP, TEST_BOOTSTRAP = _fewer_calibration_draws()

# Property tests draw the same examples on every run, wherever it runs, so that a landing
# is reproducible: the profile was loaded only where the environment set ``CI`` (.ci/run
# sets none), and elsewhere hypothesis drew new examples each run, kept failures in a
# database of examples and held the tests without their own ``deadline`` to 200 ms
# (flake21, docs/testing.md). ``pytest --hypothesis-seed=N`` draws another fixed set.
hypothesis_settings.register_profile(
    "fixed", derandomize=True, database=None, deadline=None, print_blob=True
)
hypothesis_settings.load_profile("fixed")


def no_durability(conn: Connection, name: str) -> None:
    """A test database needs no durability: its commits need not wait for the WAL to
    reach the disk (``synchronous_commit = off``, a setting of that database only, for
    every later connection to it, the servers the tests start included; the server's own
    settings are left alone). A crash of the server could lose the last commits, never
    corrupt the database. Clones (``CREATE DATABASE ... TEMPLATE``) do not inherit it,
    so each database the tests create gets it."""
    conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')


def _own_database(url: str | None) -> str | None:
    """Under pytest-xdist each worker gets its own PostgreSQL database (``test`` ->
    ``test_gw0``), created on first use, so the workers never share tables. The
    database the tests use (a worker's, or the one given) commits without waiting for
    the disk (:func:`no_durability`)."""
    if not url:
        return url
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    base = make_url(url)
    name = f"{base.database}_{worker}" if worker else str(base.database)
    admin = make_engine(url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        no_durability(conn, name)
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


PG_URL = _own_database(os.environ.get("OPENCALL_TEST_POSTGRES_URL"))
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
#: A test (or a module's ``pytestmark``) whose behaviour does not depend on the database
#: backend, run on SQLite only: the direct parametrisation of ``engine`` overrides the
#: fixture's own ``params``, so no PostgreSQL case is collected (none set up and then
#: skipped: no truncation, no world cloned). For a path the product takes alike on both
#: backends that another test already runs on PostgreSQL (docs/testing.md, "speed16").
RUN_ONCE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
T = TypeVar("T")


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


@functools.cache
def _pg_delete_script() -> str:
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return ";\n".join(
        ["UPDATE proposals SET current_revision_id = NULL"]
        + [
            str(t.delete().compile(dialect=dialect))
            for t in reversed(metadata.sorted_tables)
            if t.name not in KEEP
        ]
    )


_PG_RESTART: dict[str, str] = {}


def _pg_restart_script(conn: Any) -> str:
    """``ALTER SEQUENCE ... RESTART`` for the sequence of every table the tests empty, so
    that each PostgreSQL test numbers its rows from 1, as each SQLite test does on its
    fresh copy: a test's ids (and so how an optimiser breaks its ties) do not depend on
    the tests its worker ran before (a payload journey's explanations changed after the
    vessel journey had run on the same database)."""
    key = str(conn.engine.url)
    if key not in _PG_RESTART:
        rows = conn.exec_driver_sql(
            "SELECT table_name, pg_get_serial_sequence(quote_ident(table_name), column_name) "
            "FROM information_schema.columns WHERE table_schema = 'public' "
            "AND (left(column_default, 8) = 'nextval(' OR is_identity = 'YES')"
        ).all()
        _PG_RESTART[key] = "".join(
            f";\nALTER SEQUENCE {seq} RESTART" for table, seq in rows if seq and table not in KEEP
        )
    return _PG_RESTART[key]


def _truncate_pg(engine: Engine) -> None:
    # DELETE in dependency order is much faster than TRUNCATE on small tables; sent as
    # one script (one round trip instead of one a table: ~15 ms instead of ~70 ms a test)
    with engine.begin() as conn:
        conn.exec_driver_sql(_pg_delete_script() + _pg_restart_script(conn))


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


def wait_for_a_lock_wait(factory: sessionmaker[Session], tries: int = 2000) -> None:
    """On PostgreSQL, return once a session of this database waits on a lock (a second
    run blocked on the first run's row), or after ``tries`` polls 10 ms apart; at once
    on SQLite."""
    with factory() as probe:
        if probe.get_bind().dialect.name != "postgresql":
            return
        for _ in range(tries):
            if probe.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database()"
                )
            ):
                return
            probe.rollback()
            threading.Event().wait(0.01)


def race_a_second_run(
    factory: sessionmaker[Session], first: Session, run: Callable[[Session], int]
) -> tuple[list[int], list[BaseException]]:
    """Two runs at once: ``run`` in a thread with its own session (committed when it
    returns) while the ``first`` run's session holds its work uncommitted; once the second
    waits on a lock (PostgreSQL), ``first`` commits and closes. Returns what the second
    run returned and the errors it raised (none expected)."""
    counts: list[int] = []
    errors: list[BaseException] = []

    def second() -> None:
        with factory() as s:
            try:
                counts.append(run(s))
                s.commit()
            except Exception as exc:  # a refused run: kept to fail the test
                errors.append(exc)

    t = threading.Thread(target=second)
    t.start()
    wait_for_a_lock_wait(factory)  # the second run waits on the first's row
    first.commit()
    first.close()
    t.join()
    return counts, errors


@pytest.fixture
def db(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as s:
        yield s
        s.rollback()


# ----------------------------------------------------------------------------- small worlds


def _sqlite_backup(src: Path, dst: Path) -> None:
    """Copy a SQLite database through SQLite's backup API: the destination's open
    connections (the test's engine, the web app's) see the new content at once."""
    with closing(sqlite3.connect(src)) as a, closing(sqlite3.connect(dst)) as b:
        a.backup(b)


_PG_SEQUENCES = """
SELECT s.relname
FROM pg_class s
JOIN pg_namespace n ON n.oid = s.relnamespace AND n.nspname = 'public'
LEFT JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
LEFT JOIN pg_class t ON t.oid = d.refobjid
WHERE s.relkind = 'S' AND NOT coalesce(t.relname, '') = ANY(:keep)
ORDER BY s.relname
"""


def pg_sequence_positions(conn: Connection) -> dict[str, tuple[int, bool]]:
    """``(last_value, is_called)`` of every sequence of the public schema but those of
    the tables the tests keep (``KEEP``): the ids the next inserts will get."""
    names = conn.scalars(text(_PG_SEQUENCES), {"keep": sorted(KEEP)}).all()
    # the names come from the catalogue (pg_sequences would not tell is_called)
    query = 'SELECT last_value, is_called FROM public."{}"'
    return {
        name: cast(tuple[int, bool], tuple(conn.exec_driver_sql(query.format(name)).one()))
        for name in names
    }


class PgSnapshot:
    """The rows of every PostgreSQL table but ``KEEP``'s, copied on the server into a
    schema of their own (``CREATE TABLE snap.t AS TABLE public.t``), and the positions
    of their sequences. :meth:`restore` puts them back into an emptied database as one
    script: the rows (``session_replication_role = replica``, so that the foreign keys,
    proposals' cycle with revisions included, are not checked row by row; the tests
    connect as a superuser), then ``setval`` of every sequence, so that the next insert
    gets the id it would have got after the build."""

    def __init__(self, engine: Engine, schema: str) -> None:
        tables = [t.name for t in metadata.sorted_tables if t.name not in KEEP]
        columns = {
            t.name: ", ".join(f'"{c.name}"' for c in t.columns)
            for t in metadata.sorted_tables
            if t.name not in KEEP
        }
        with engine.begin() as conn:
            conn.exec_driver_sql(
                ";\n".join(
                    [f'DROP SCHEMA IF EXISTS "{schema}" CASCADE', f'CREATE SCHEMA "{schema}"']
                    + [f'CREATE TABLE "{schema}"."{t}" AS TABLE public."{t}"' for t in tables]
                )
            )
            self.sequences = pg_sequence_positions(conn)
        self.script = ";\n".join(
            ["SET LOCAL session_replication_role = replica"]
            + [  # the names are the models' (metadata), the schema the test's; the columns
                # named, since a test that migrates down and up again may reorder them
                f'INSERT INTO public."{t}" ({columns[t]}) OVERRIDING SYSTEM VALUE '  # noqa: S608
                f'SELECT {columns[t]} FROM "{schema}"."{t}"'
                for t in tables
            ]
            + ["SET LOCAL session_replication_role = origin"]
            + [
                f"SELECT setval('public.\"{name}\"', {value}, {'true' if called else 'false'})"
                for name, (value, called) in self.sequences.items()
            ]
        )

    def restore(self, engine: Engine) -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(self.script)


class SmallWorlds:
    """The small worlds many tests start from (tests.web's ``world``, the review
    ``cycle``, the results' ``aw``, the scheduling ``sw``) are built through the services
    once per session and backend and copied into each later test's empty database
    (milliseconds instead of about a second of services, on a busy machine several):
    on SQLite the file, through SQLite's backup API; on PostgreSQL the rows, from a
    :class:`PgSnapshot` of the first build, with the sequences set where the build left
    them, so that the test sees the same rows, ids and next ids as after a build. Only
    into an empty database: when the test (or a fixture before it) has written
    anything, the world is built as usual."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.built: dict[str, tuple[Path, Any]] = {}
        self.pg: dict[tuple[str, str], tuple[PgSnapshot, Any]] = {}

    @staticmethod
    def _empty(engine: Engine) -> bool:
        with engine.connect() as conn:
            return not any(conn.exec_driver_sql(emptiness_sql(engine.dialect.name)).one())

    @staticmethod
    def _build(factory: sessionmaker[Session], build: Callable[[Session], T]) -> T:
        with factory() as s:
            result = build(s)
            s.commit()
        return result

    def get(self, key: str, factory: sessionmaker[Session], build: Callable[[Session], T]) -> T:
        engine = factory.kw["bind"]
        if engine.dialect.name == "postgresql":
            return self._get_pg(key, engine, factory, build)
        path = Path(engine.url.database or "")
        if engine.dialect.name != "sqlite" or not path.exists() or not self._empty(engine):
            return self._build(factory, build)
        if key in self.built:
            file, result = self.built[key]
            _sqlite_backup(file, path)
            return cast(T, copy.deepcopy(result))
        result = self._build(factory, build)
        file = self.tmp / f"{key}.sqlite3"
        _sqlite_backup(path, file)
        self.built[key] = (file, copy.deepcopy(result))
        return result

    def _get_pg(
        self,
        key: str,
        engine: Engine,
        factory: sessionmaker[Session],
        build: Callable[[Session], T],
    ) -> T:
        if not self._empty(engine):
            return self._build(factory, build)
        where = (engine.url.render_as_string(hide_password=False), key)
        if where in self.pg:
            snapshot, result = self.pg[where]
            snapshot.restore(engine)
            return cast(T, copy.deepcopy(result))
        result = self._build(factory, build)
        schema = "snap_" + "".join(c if c.isalnum() else "_" for c in key.lower())
        self.pg[where] = (PgSnapshot(engine, schema), copy.deepcopy(result))
        return result


@pytest.fixture(scope="session")
def small_worlds(tmp_path_factory: pytest.TempPathFactory) -> SmallWorlds:
    return SmallWorlds(tmp_path_factory.mktemp("small"))


# ----------------------------------------------------------------------------- demo worlds

DEMO_ANCHOR = dt.date(2026, 11, 29)


class DemoWorlds:
    """Each demo world (seed, scale, anchor) is built once per test run and backend; a
    test gets its own copy: the SQLite file copied, or on PostgreSQL a database cloned
    from a template (``CREATE DATABASE ... TEMPLATE ...``). Building one is seconds to
    minutes; copying it is milliseconds. Under pytest-xdist the workers share them (a
    folder of the run's temporary directory, a lock file a world): the first worker
    that needs a world builds it, the others wait for it and copy it, instead of each
    building its own."""

    def __init__(self, shared: Path, tmp: Path, sqlite_template: Path) -> None:
        self.shared = shared
        self.tmp = tmp
        self.sqlite_template = sqlite_template
        self.clones = 0

    @staticmethod
    def _name(key: tuple[int, float, dt.date]) -> str:
        seed, scale, anchor = key
        return f"demo_{seed}_{scale:g}_{anchor:%Y%m%d}".replace(".", "p")

    @contextmanager
    def lock(self, name: str) -> Iterator[None]:
        with open(self.shared / f"{name}.lock", "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _build(self, engine: Engine, key: tuple[int, float, dt.date]) -> None:
        from opencall.demo import world

        seed, scale, anchor = key
        with make_sessionmaker(engine)() as s:
            world.build(s, seed=seed, anchor=anchor, scale=scale)
            s.commit()

    def _admin(self) -> Engine:
        assert PG_URL
        url = make_url(PG_URL).set(database="postgres")
        return make_engine(url.render_as_string(hide_password=False))

    def _pg_db(self, name: str) -> str:
        assert PG_URL
        return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    def _sqlite_world(self, name: str, key: tuple[int, float, dt.date]) -> Path:
        path = self.shared / f"{name}.sqlite3"
        if not path.exists():
            building = self.tmp / f"{name}.sqlite3"
            shutil.copy(self.sqlite_template, building)
            eng = make_engine(f"sqlite:///{building}")
            self._build(eng, key)
            with eng.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            eng.dispose()
            shutil.move(building, path)
        return path

    def _pg_template(self, conn: Any, name: str, key: tuple[int, float, dt.date]) -> str:
        # one template a run: named after the database the run was given (the
        # workers' own databases add _gw0, _gw1 to it), rebuilt in each run
        root = make_url(os.environ.get("OPENCALL_TEST_POSTGRES_URL", "")).database
        template = f"{root}_{name}"
        built = self.shared / f"{name}.postgresql"
        if not built.exists():
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{template}"')
            no_durability(conn, template)
            eng = make_engine(self._pg_db(template))
            migrate.upgrade(eng)
            with make_sessionmaker(eng)() as s:
                load_countries(s)
                s.commit()
            self._build(eng, key)
            eng.dispose()
            built.touch()
        return template

    def engine(self, backend: str, key: tuple[int, float, dt.date]) -> Engine:
        self.clones += 1
        name = self._name(key)
        if backend == "sqlite":
            with self.lock(name):
                world = self._sqlite_world(name, key)
            copy = self.tmp / f"use-{self.clones}.sqlite3"
            shutil.copy(world, copy)
            return make_engine(f"sqlite:///{copy}")
        base = make_url(PG_URL or "").database
        admin = self._admin()
        with (
            admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn,
            self.lock(f"{name}.postgresql"),
        ):
            template = self._pg_template(conn, name, key)
            use = f"{base}_demo_use"
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{use}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{use}" TEMPLATE "{template}"')
            no_durability(conn, use)
        admin.dispose()
        return make_engine(self._pg_db(use))


@pytest.fixture(scope="session")
def demo_worlds(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> DemoWorlds:
    own = tmp_path_factory.mktemp("demo")
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the run's folder, above each worker's
        shared = tmp_path_factory.getbasetemp().parent / "demo-worlds"
        shared.mkdir(exist_ok=True)
    else:
        shared = own
    return DemoWorlds(shared, own, sqlite_template)


@pytest.fixture
def demo(engine: Engine, demo_worlds: DemoWorlds) -> Iterator[Callable[..., sessionmaker[Session]]]:
    """``demo(seed, scale)``: a session factory over a fresh copy of that demo world, on
    the backend of this test's ``engine`` parameter (built once per session)."""
    opened: list[Engine] = []

    def open_world(
        seed: int, scale: float = 1.0, anchor: dt.date = DEMO_ANCHOR
    ) -> sessionmaker[Session]:
        eng = demo_worlds.engine(engine.dialect.name, (seed, scale, anchor))
        opened.append(eng)
        return make_sessionmaker(eng)

    yield open_world
    for eng in opened:
        eng.dispose()


# The web fixtures and the small review cycle, for every folder (the feature folders'
# tests use them; tests/web/conftest.py and tests/cycle.py define them).
from tests.review_cycle import cycle  # noqa: E402, F401
from tests.web.conftest import one_loop, web  # noqa: E402, F401
