"""Database fixtures: every DB test runs on SQLite and, where
OPENCALL_TEST_POSTGRES_URL is set (as .ci/run sets it), on PostgreSQL too."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any, TypeVar, cast

import jinja2
import jinja2.bccache
import pytest
from argon2 import PasswordHasher
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, make_url, select, text
from sqlalchemy.orm import Session, sessionmaker

from opencall import migrate
from opencall.db import make_engine, make_sessionmaker
from opencall.models import metadata
from opencall.people import services as people_services
from opencall.people.services import load_countries
from opencall.web import pages as web_pages

# Passwords are hashed at argon2's lowest cost in the test process: the production
# cost (PasswordHasher() defaults, about 0.1 s a check on an idle core and seconds on
# a loaded one) is the point in production and only time here, where hundreds of
# sign-ins check the factories' one password. tests/people/test_password_cost.py keeps
# the production parameters; servers started as separate processes use them.
PRODUCTION_HASHER = people_services._hasher
people_services._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


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

# CI runs property tests with a fixed seed so that a landing is reproducible; locally
# hypothesis explores new examples on every run.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


# ----------------------------------------------------------------------------- scheduling
#
# `make unit` runs `pytest -n 2 --dist loadfile --no-loadscope-reorder`: a file's tests
# on one worker (its module fixtures, demo worlds and browser built once), except the
# tests named in SPREAD, each of which goes alone to whichever worker is free (their
# file's module fixtures are then built once on each worker). The files with a test
# marked `slow` or `browser` are sent first, so that a long one does not start last
# while the other worker has nothing left to do (xdist orders the files by their number
# of tests, which put the longest file near the end). pytest-xdist's own
# `--dist loadgroup` is not used: with pytest 9 its group suffix on the node id has no
# effect (it sets ``item._nodeid``, which pytest 9 no longer reads).
SPREAD = ("tests/diagnostics/test_cycle_repeat.py::test_whole_cycle_repeatedly_without_a_crash[",)


@pytest.hookimpl(optionalhook=True)  # a run with -p no:xdist has no such hook
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LoadFileSpreading(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(SPREAD):
                return nodeid
            return super()._split_scope(nodeid)  # type: ignore[no-any-return]

    return LoadFileSpreading(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    heavy = {
        item.nodeid.split("::", 1)[0]
        for item in items
        if item.get_closest_marker("slow") or item.get_closest_marker("browser")
    }
    # a stable sort: the heavy files first, each file's tests in their own order
    items.sort(key=lambda item: item.nodeid.split("::", 1)[0] not in heavy)


def _own_database(url: str | None) -> str | None:
    """Under pytest-xdist each worker gets its own PostgreSQL database (``test`` ->
    ``test_gw0``), created on first use, so the workers never share tables."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = make_engine(url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


PG_URL = _own_database(os.environ.get("OPENCALL_TEST_POSTGRES_URL"))
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
KEEP = {"alembic_version", "countries"}
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


def _truncate_pg(engine: Engine) -> None:
    # DELETE in dependency order is much faster than TRUNCATE on small tables; sent as
    # one script (one round trip instead of one a table: ~15 ms instead of ~70 ms a test)
    with engine.begin() as conn:
        conn.exec_driver_sql(_pg_delete_script())


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


# ----------------------------------------------------------------------------- small worlds


def _sqlite_backup(src: Path, dst: Path) -> None:
    """Copy a SQLite database through SQLite's backup API: the destination's open
    connections (the test's engine, the web app's) see the new content at once."""
    with closing(sqlite3.connect(src)) as a, closing(sqlite3.connect(dst)) as b:
        a.backup(b)


class SmallWorlds:
    """The small worlds many tests start from (tests.web's ``world``, the review
    ``cycle``) are built through the services once per session on SQLite and copied
    into each later test's empty database (milliseconds instead of about a second of
    services, on a busy machine several). Only into an empty one: when the test (or a
    fixture before it) has written anything, the world is built as usual. On
    PostgreSQL every test builds its own."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.built: dict[str, tuple[Path, Any]] = {}

    @staticmethod
    def _empty(engine: Engine) -> bool:
        tables = [t for t in metadata.sorted_tables if t.name not in KEEP]
        with engine.connect() as conn:
            return not any(conn.execute(select(*[select(t).exists() for t in tables])).one())

    def get(self, key: str, factory: sessionmaker[Session], build: Callable[[Session], T]) -> T:
        engine = factory.kw["bind"]
        path = Path(engine.url.database or "")
        if engine.dialect.name != "sqlite" or not path.exists() or not self._empty(engine):
            with factory() as s:
                result = build(s)
                s.commit()
            return result
        if key in self.built:
            file, result = self.built[key]
            _sqlite_backup(file, path)
            return cast(T, copy.deepcopy(result))
        with factory() as s:
            result = build(s)
            s.commit()
        file = self.tmp / f"{key}.sqlite3"
        _sqlite_backup(path, file)
        self.built[key] = (file, copy.deepcopy(result))
        return result


@pytest.fixture(scope="session")
def small_worlds(tmp_path_factory: pytest.TempPathFactory) -> SmallWorlds:
    return SmallWorlds(tmp_path_factory.mktemp("small"))


# ----------------------------------------------------------------------------- demo worlds

DEMO_ANCHOR = dt.date(2026, 11, 29)


class DemoWorlds:
    """Each demo world (seed, scale, anchor) is built once per session and backend; a
    test gets its own copy: the SQLite file copied, or on PostgreSQL a database cloned
    from a template (``CREATE DATABASE ... TEMPLATE ...``). Building one is seconds to
    minutes; copying it is milliseconds."""

    def __init__(self, tmp: Path, sqlite_template: Path) -> None:
        self.tmp = tmp
        self.sqlite_template = sqlite_template
        self.files: dict[tuple[int, float, dt.date], Path] = {}
        self.templates: dict[tuple[int, float, dt.date], str] = {}
        self.clones = 0

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

    def engine(self, backend: str, key: tuple[int, float, dt.date]) -> Engine:
        self.clones += 1
        if backend == "sqlite":
            if key not in self.files:
                path = self.tmp / f"demo-{len(self.files)}.sqlite3"
                shutil.copy(self.sqlite_template, path)
                eng = make_engine(f"sqlite:///{path}")
                self._build(eng, key)
                with eng.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                eng.dispose()
                self.files[key] = path
            copy = self.tmp / f"use-{self.clones}.sqlite3"
            shutil.copy(self.files[key], copy)
            return make_engine(f"sqlite:///{copy}")
        base = make_url(PG_URL or "").database
        admin = self._admin()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if key not in self.templates:
                name = f"{base}_demo{len(self.templates)}"
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
                eng = make_engine(self._pg_db(name))
                migrate.upgrade(eng)
                with make_sessionmaker(eng)() as s:
                    load_countries(s)
                    s.commit()
                self._build(eng, key)
                eng.dispose()
                self.templates[key] = name
            use = f"{base}_demo_use"
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{use}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{use}" TEMPLATE "{self.templates[key]}"')
        admin.dispose()
        return make_engine(self._pg_db(use))


@pytest.fixture(scope="session")
def demo_worlds(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> DemoWorlds:
    return DemoWorlds(tmp_path_factory.mktemp("demo"), sqlite_template)


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
from tests.web.conftest import web  # noqa: E402, F401
