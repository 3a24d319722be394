"""scale21: each page a persona reads, its statements, the rows they returned and its CPU.

Crawls the site as ``bench/get_walk.py`` does (every GET route of the OpenAPI document,
its parameters filled from the database, and the links of the pages read; each path
shape at most ``--per-shape`` times), as nobody, the demo's office, chair, applicant,
technical reviewer and first reviewer. Each page is read twice; the second reading is
counted: SQL statements, the rows the SELECTs returned (``cursor.rowcount``; PostgreSQL:
psycopg's client-side cursor knows it), and the process's CPU seconds. Run it on two
worlds of different sizes: a page whose statements grow with the world reads per row
(N+1), one whose rows grow more than its answer reads the whole table.

    U=postgresql+psycopg://postgres@127.0.0.1:5432/w
    OPENCALL_DATABASE_URL=$U .venv/bin/opencall db upgrade
    OPENCALL_DATABASE_URL=$U .venv/bin/opencall demo build --scale 5 --cycles
    PYTHONPATH=bench .venv/bin/python bench/bench_scale21.py --database-url $U --out w5.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from typing import Any

from sqlalchemy import event

from bench_crowd import cpu  # this folder is on sys.path when run
from get_walk import crawl, reader_client, readers, route_paths, shape, values, with_token
from opencall.app import create_app
from opencall.settings import Settings

SELECT = re.compile(r"^\s*(WITH|SELECT)\b", re.I)


class Counts:
    def __init__(self) -> None:
        self.statements = 0
        self.rows = 0
        self.per: Counter[str] = Counter()
        self.detail: list[tuple[int, str, Any]] | None = None

    def on(self, _conn: Any, cursor: Any, sql: str, params: Any, *_a: Any) -> None:
        self.statements += 1
        if SELECT.match(sql):
            n = max(cursor.rowcount, 0)
            self.rows += n
            self.per[sql[:160]] += 1
            if self.detail is not None:
                self.detail.append((n, sql, params))


def seq_scans(engine: Any, detail: list[tuple[int, str, Any]], above: int) -> list[str]:
    """PostgreSQL: the tables of more than ``above`` rows (the planner's estimate) that
    the SELECTs read whole (a ``Seq Scan`` in their plan), each with its statement."""
    found: list[str] = []
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        for _n, sql, params in detail:
            with raw.cursor() as cur:
                cur.execute("EXPLAIN (FORMAT JSON) " + sql, params)
                plan = cur.fetchone()[0]
            stack = [plan[0]["Plan"]]
            while stack:
                node = stack.pop()
                stack += node.get("Plans", [])
                if node["Node Type"] == "Seq Scan" and node["Plan Rows"] >= 0:
                    with raw.cursor() as cur:
                        cur.execute(
                            "SELECT reltuples FROM pg_class WHERE relname = %s",
                            (node["Relation Name"],),
                        )
                        (tuples,) = cur.fetchone()
                    if tuples > above:
                        found.append(
                            f"{node['Relation Name']} ({int(tuples)}): "
                            + " ".join(sql.split())[:300]
                        )
        raw.rollback()
    return found


def rows_of(engine: Any, detail: list[tuple[int, str, Any]], table: str) -> int:
    """PostgreSQL: the rows of ``table`` the statements read, by ``EXPLAIN ANALYZE``
    (each scan's rows returned and removed by its filter, times its loops)."""

    def read(node: dict[str, Any]) -> int:
        here = 0
        if node.get("Relation Name") == table:
            per_loop = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
            here = int(per_loop * node.get("Actual Loops", 1))
        return here + sum(read(n) for n in node.get("Plans", []))

    total = 0
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        for _n, sql, params in detail:
            if table in sql:
                with raw.cursor() as cur:
                    cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
                    total += read(cur.fetchone()[0][0]["Plan"])
        raw.rollback()
    return total


def measured(app: Any, client: Any, starts: list[str], opts: argparse.Namespace) -> list[dict]:
    """Each page of the crawl read twice, the second reading counted (see the module's doc)."""
    explain, table = opts.explain, opts.rows_of
    counts = Counts()
    if explain or table:
        counts.detail = []
    engine = app.state.engine
    event.listen(engine, "after_cursor_execute", counts.on)
    out: list[dict] = []

    def read(path: str) -> Any:
        client.get(path)
        counts.statements = counts.rows = 0
        counts.per.clear()
        if counts.detail is not None:
            counts.detail.clear()
        t = cpu()
        r = client.get(path)
        repeated = counts.per.most_common(1)
        out.append(
            {
                "path": path,
                "shape": shape(path),
                "status": r.status_code,
                "statements": counts.statements,
                "rows": counts.rows,
                "bytes": len(r.content),
                "cpu": round(cpu() - t, 4),
                "most_repeated": [repeated[0][1], repeated[0][0]] if repeated else None,
            }
        )
        if counts.detail and table:
            out[-1][f"{table}_rows"] = rows_of(engine, counts.detail, table)
        if counts.detail and explain:
            out[-1]["seq_scans"] = seq_scans(engine, counts.detail, explain)
        return r

    try:
        crawl(starts, opts.limit, opts.per_shape, read)
    finally:
        event.remove(engine, "after_cursor_execute", counts.on)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--limit", type=int, default=400)
    parser.add_argument("--per-shape", type=int, default=1)
    parser.add_argument("--out", default="")
    parser.add_argument(
        "--explain",
        type=int,
        default=0,
        help="PostgreSQL: list sequential scans of tables above N rows",
    )
    parser.add_argument(
        "--as", dest="who", default="", help="only these readers (comma-separated; - for nobody)"
    )
    parser.add_argument("--rows-of", default="", help="PostgreSQL: rows of this table read a page")
    parser.add_argument("--only", default="", help="start from these paths only (comma-separated)")
    args = parser.parse_args()
    app = create_app(Settings(database_url=args.database_url))
    who_reads = readers(app)
    if args.who:
        who_reads = [None if w == "-" else w for w in args.who.split(",")]
    sink = open(args.out, "w") if args.out else None
    for who in who_reads:
        c = reader_client(app, who)
        starts = ["/", "/calls", "/me", "/manage", "/review", "/proposals", "/dashboard"]
        with app.state.sessions() as s:
            if args.only:
                starts = args.only.split(",")
            else:
                starts += route_paths(app, values(s))
            if who is not None:
                with_token(s, c, who)
        for row in measured(app, c, starts, args):
            line = json.dumps({"reader": who, **row})
            print(line, flush=True)
            if sink:
                sink.write(line + "\n")
    if sink:
        sink.close()


if __name__ == "__main__":
    main()
