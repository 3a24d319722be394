"""Dump the schema every migration produces, up and down, on SQLite and PostgreSQL.

Upgrades an empty database one revision at a time to head, dumping the schema after
each step, then downgrades one step at a time back to empty, dumping again. The dumps
(one text file per backend; the order of the constraints in SQLite's stored ``CREATE
TABLE`` text normalized, see :func:`normalized`) let a refactoring of the migrations be
shown to change no schema: run it before and after and compare the files byte for byte
(dupmig21; ``--compare`` does it).

    .venv/bin/python bench/migration_schemas.py --out bench/out/schemas_before \
        [--postgres postgresql://postgres@127.0.0.1:5432/some_empty_db]

What is dumped per table: columns in order (type, nullability, server default,
autoincrement), primary key, indexes, unique and check constraints, foreign keys
(with their actions); on SQLite also the stored ``CREATE`` text of every table and
index (``sqlite_master``), on PostgreSQL the definitions of indexes and constraints
(``pg_indexes``, ``pg_get_constraintdef``) and the sequences.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text

from opencall import migrate
from opencall.db import make_engine


def _revisions() -> list[str]:
    """Every revision id, oldest first (the history is one line)."""
    scripts = migrate._scripts()
    return [r.revision for r in reversed(list(scripts.walk_revisions("base", "heads")))]


def _sorted(items: list[dict[str, Any]]) -> list[str]:
    return sorted(repr(sorted(d.items(), key=lambda kv: kv[0])) for d in items)


def dump(engine: Engine) -> str:
    """The schema of ``engine``'s database as text (stable order)."""
    lines: list[str] = []
    with engine.connect() as conn:
        insp = inspect(conn)
        for table in sorted(insp.get_table_names()):
            lines.append(f"TABLE {table}")
            for col in insp.get_columns(table):
                lines.append(
                    "  col {name} {type} nullable={nullable} default={default!r} "
                    "autoincrement={autoincrement!r}".format(
                        name=col["name"],
                        type=col["type"],
                        nullable=col["nullable"],
                        default=col.get("default"),
                        autoincrement=col.get("autoincrement"),
                    )
                )
            lines.append(f"  pk {insp.get_pk_constraint(table)!r}")
            for kind, items in (
                ("index", insp.get_indexes(table)),
                ("unique", insp.get_unique_constraints(table)),
                ("check", insp.get_check_constraints(table)),
                ("fk", insp.get_foreign_keys(table)),
            ):
                for item in _sorted(list(items)):  # type: ignore[arg-type]
                    lines.append(f"  {kind} {item}")
        if conn.dialect.name == "sqlite":
            rows = conn.execute(
                text("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
            )
            for row in rows:
                lines.append(f"SQL {row.type} {row.name} {row.tbl_name}: {row.sql}")
        else:
            for row in conn.execute(
                text(
                    "SELECT tablename, indexname, indexdef FROM pg_indexes "
                    "WHERE schemaname = 'public' ORDER BY tablename, indexname"
                )
            ):
                lines.append(f"PGINDEX {row.tablename} {row.indexname}: {row.indexdef}")
            for row in conn.execute(
                text(
                    "SELECT c.conrelid::regclass::text AS tbl, c.conname, "
                    "pg_get_constraintdef(c.oid) AS definition FROM pg_constraint c "
                    "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public' "
                    "ORDER BY 1, 2"
                )
            ):
                lines.append(f"PGCONSTRAINT {row.tbl} {row.conname}: {row.definition}")
            for row in conn.execute(
                text(
                    "SELECT sequencename, data_type, start_value, increment_by FROM "
                    "pg_sequences WHERE schemaname = 'public' ORDER BY sequencename"
                )
            ):
                lines.append(f"PGSEQUENCE {tuple(row)}")
            for row in conn.execute(
                text(
                    "SELECT typname, array_agg(enumlabel ORDER BY enumsortorder) AS labels "
                    "FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY typname "
                    "ORDER BY typname"
                )
            ):
                lines.append(f"PGENUM {row.typname} {row.labels}")
    return "\n".join(lines) + "\n"


def walk(engine: Engine) -> str:
    """Up one revision at a time, then down one at a time; a dump after every step."""
    out: list[str] = [f"=== empty\n{dump(engine)}"]
    revisions = _revisions()
    for rev in revisions:
        migrate.upgrade(engine, rev)
        assert migrate.current(engine) == rev
        out.append(f"=== up {rev}\n{dump(engine)}")
    for rev in reversed(revisions):
        migrate.downgrade(engine, "-1")
        out.append(f"=== down from {rev}\n{dump(engine)}")
    assert migrate.current(engine) is None
    return normalized("".join(out))


def normalized(dump_text: str) -> str:
    """``dump_text`` with each run of table-constraint lines of SQLite's stored ``CREATE
    TABLE`` text sorted (their trailing commas dropped): a batch migration rebuilds a
    table from SQLAlchemy's *set* of constraints, whose order changes from one process to
    the next (memory addresses), while the constraints are the same."""
    out: list[str] = []
    run: list[str] = []
    for line in dump_text.split("\n"):
        if line.startswith("\tCONSTRAINT "):
            run.append(line.rstrip().rstrip(","))
            continue
        out.extend(sorted(run))
        run = []
        out.append(line)
    out.extend(sorted(run))
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--postgres", default="", help="URL of an empty database (optional)")
    parser.add_argument(
        "--compare",
        type=Path,
        default=None,
        help="a folder of earlier dumps to compare the new ones with",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'walk.sqlite3'}")
        (args.out / "sqlite.txt").write_text(walk(engine))
        engine.dispose()
    if args.postgres:
        engine = make_engine(args.postgres)
        with engine.begin() as conn:  # an empty public schema
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        (args.out / "postgresql.txt").write_text(walk(engine))
        engine.dispose()
    print(f"dumps in {args.out}")
    if args.compare is not None:
        same = True
        for name in ("sqlite.txt", "postgresql.txt"):
            a, b = args.compare / name, args.out / name
            if a.exists() and b.exists():
                identical = a.read_bytes() == b.read_bytes()
                print(f"{name}: byte-identical {identical}")
                same = same and identical
        raise SystemExit(0 if same else 1)


if __name__ == "__main__":
    main()
