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


BASE = "3207fae640c7"  # the first released schema


def _rows(engine: Engine, columns: dict[str, list[str]]) -> dict[str, list[tuple[str, ...]]]:
    """Every row of each table, over the given columns, as sorted text."""
    from sqlalchemy import MetaData, Table, select

    out = {}
    with engine.connect() as c:
        for name, cols in columns.items():
            table = Table(name, MetaData(), autoload_with=c)
            rows = c.execute(select(*(table.c[n] for n in cols)))
            out[name] = sorted(tuple(str(v) for v in r) for r in rows)
    return out


def test_an_old_database_with_data_upgrades_to_head_losing_nothing(engine: Engine) -> None:
    """A site at the first released schema, holding a demo world run through the whole cycle
    (proposals, reviews, decisions, awards, schedule, audit log), is upgraded to the newest
    schema by every migration in turn: every row and every value it held is still there."""
    from sqlalchemy import func, select

    from opencall.calls.models import Call
    from opencall.db import make_sessionmaker, unit_of_work
    from opencall.demo import world
    from opencall.demo.cycle import run_cycle
    from opencall.people.services import load_countries

    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as s:
        world.build(s, seed=2, scale=0.05)
    with unit_of_work(factory) as s:
        closed = s.scalars(select(Call).where(Call.status == "closed").order_by(Call.id)).all()
        for call in closed:
            run_cycle(s, call, seed=2)
    try:
        migrate.downgrade(engine, BASE)  # the shape of a database made at that release
        assert migrate.current(engine) == BASE
        columns, before = _every_table_filled(engine)
        migrate.upgrade(engine)
        assert migrate.current(engine) == _head() and migrate.drift(engine) == []
        after = _rows(engine, columns)
        for table in columns:
            assert after[table] == before[table], f"{table}: rows changed by the upgrade"
        with make_sessionmaker(engine)() as s:
            assert s.scalar(select(func.count()).select_from(Call)) == len(before["calls"])
        # records of what happened after an award (their table is younger than BASE), of
        # each state; then back before their flags (outscale14_01) and up: its backfill
        with unit_of_work(factory) as s:
            from opencall.allocation.models import Award
            from opencall.results.models import PostAwardRecord

            award = s.scalars(select(Award).order_by(Award.id)).first()
            assert award is not None, "the cycle awarded nothing"
            for kind, data in (
                ("session", {"observed_hours": 5}),  # used, not complete
                ("loan", {"received_on": "2026-01-05", "returned_on": "2026-02-01"}),  # both
                ("course", {"attended": False}),  # neither
            ):
                s.add(
                    PostAwardRecord(
                        call_id=award.call_id, proposal_id=award.proposal_id, kind=kind, data=data
                    )
                )
        flags = _flags(engine)  # as the code wrote them on each save
        assert set(flags.values()) >= {(True, False), (True, True), (False, False)}
        migrate.downgrade(engine, "outscale14_01-1")  # the revision before it
        assert "used" not in {c["name"] for c in inspect(engine).get_columns("postaward_records")}
        migrate.upgrade(engine)
        assert _flags(engine) == flags
        # and from a mid-history schema (24 migrations below the head), with a
        # row in every table it has, those younger than BASE too (install20b)
        migrate.downgrade(engine, MID)
        assert migrate.current(engine) == MID and migrate.steps(MID, _head()) >= 20
        columns, before = _every_table_filled(engine)
        assert {"postaward_records", "idempotency_keys", "jobs"} <= set(columns)
        migrate.upgrade(engine)
        assert migrate.current(engine) == _head() and migrate.drift(engine) == []
        after = _rows(engine, columns)
        for table in columns:
            assert after[table] == before[table], f"{table}: rows changed by the upgrade"
    finally:
        if migrate.current(engine) != _head():
            if engine.dialect.name == "postgresql":  # the session's schema, for later tests
                reset_pg_schema(engine)
            migrate.upgrade(engine)
            with make_sessionmaker(engine)() as s:
                load_countries(s)
                s.commit()


MID = "dive0_01"  # half-way: 24 migrations above the empty database, 24 below the head


def _every_table_filled(
    engine: Engine,
) -> tuple[dict[str, list[str]], dict[str, list[tuple[str, ...]]]]:
    """The columns of each table of the schema the database is at, after one row was
    given to each table that held none, and every row (checked: no table is empty)."""
    insp = inspect(engine)
    columns = {
        t: [c["name"] for c in insp.get_columns(t)]
        for t in insp.get_table_names()
        if t != "alembic_version"
    }
    _fill_every_empty_table(engine)
    rows = _rows(engine, columns)
    empty = sorted(t for t in columns if not rows[t])
    assert not empty, f"the old database holds no rows in {empty}"
    return columns, rows


def _fill_every_empty_table(engine: Engine) -> None:
    """One row in each table that holds none, whatever the schema's revision: the tables
    reflected, filled parents first, each NOT NULL column without a default given a value
    of its type (a foreign key the first row of the table it points to; text unique to the
    table and column), nullable columns left empty, so that an upgrade is tried on a row
    of every table that exists at that revision."""
    import datetime as dt

    from sqlalchemy import MetaData, func, select, types

    meta = MetaData()
    meta.reflect(engine)
    stamp = dt.datetime(2024, 1, 2, 3, 4, 5)
    with engine.begin() as c:
        for table in meta.sorted_tables:
            if table.name == "alembic_version":
                continue
            if c.scalar(select(func.count()).select_from(table)):
                continue
            row: dict[str, object] = {}
            for col in table.columns:
                if col.nullable or col.server_default is not None:
                    continue
                alone = list(table.primary_key.columns) == [col]
                if alone and isinstance(col.type, types.Integer) and not col.foreign_keys:
                    continue  # numbered by the database
                fks = list(col.foreign_keys)
                if fks:
                    target = fks[0].column
                    row[col.name] = c.scalar(select(target).order_by(target).limit(1))
                    continue
                t = col.type
                if isinstance(t, types.Boolean):
                    row[col.name] = False
                elif isinstance(t, types.DateTime):
                    row[col.name] = stamp
                elif isinstance(t, types.Date):
                    row[col.name] = stamp.date()
                elif isinstance(t, types.Integer | types.Numeric | types.Float):
                    row[col.name] = 1
                elif isinstance(t, types.JSON):
                    row[col.name] = {}
                elif isinstance(t, types.LargeBinary):
                    row[col.name] = b"x"
                elif isinstance(t, types.Enum) and t.enums:
                    row[col.name] = t.enums[0]
                else:
                    text = f"{table.name}-{col.name}"
                    length = getattr(t, "length", None)
                    row[col.name] = text[-length:] if length else text
            c.execute(table.insert().values(**row))


def _flags(engine: Engine) -> dict[int, tuple[bool, bool]]:
    """Each post-award record's used and complete flags, by id."""
    from sqlalchemy import select

    from opencall.results.models import PostAwardRecord as R

    with engine.connect() as c:
        return {i: (bool(u), bool(d)) for i, u, d in c.execute(select(R.id, R.used, R.complete))}


def _head() -> str:
    from alembic.script import ScriptDirectory

    from opencall.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://"))).get_current_head()
    assert head is not None
    return head
