"""scale23: the whole-table reads of each page a persona opens, by SQLite's plans.

Crawls the site as ``bench/get_walk.py`` does (every GET route of the OpenAPI document and
the links of the pages read; each path shape once), as nobody and each demo reader. Each
page is read twice; every SELECT of the second reading is given to ``EXPLAIN QUERY PLAN``,
and each ``SCAN`` of a table of 200 rows or more (the whole table, or the whole of one of
its indexes) is printed with the reader, the path's shape and the statement. A page that
scans a table whose rows are not the page's reads more as the site grows.

    U=sqlite:////tmp/w.db
    OPENCALL_DATABASE_URL=$U .venv/bin/opencall db upgrade
    OPENCALL_DATABASE_URL=$U .venv/bin/opencall demo build --scale 1 --cycles
    PYTHONPATH=. .venv/bin/python bench/bench_scale23.py $U
"""

import json
import re
import sys
from collections import Counter

from sqlalchemy import event

sys.path.insert(0, "bench")
from get_walk import crawl, reader_client, readers, route_paths, shape, values, with_token
from opencall.app import create_app
from opencall.settings import Settings

SELECT = re.compile(r"^\s*(WITH|SELECT)\b", re.I)
app = create_app(Settings(database_url=sys.argv[1]))
engine = app.state.engine
seen = []


def on(_c, cur, sql, params, *a):
    if SELECT.match(sql):
        seen.append((sql, params))


sizes = {}
with engine.connect() as conn:
    for (name,) in conn.exec_driver_sql("select name from sqlite_master where type='table'"):
        sizes[name] = conn.exec_driver_sql(f'select count(*) from "{name}"').scalar()  # noqa: S608 (names from sqlite_master)
big = {t for t, n in sizes.items() if n >= 200}
found = Counter()
ex = {}


def read(path):
    client.get(path)
    seen.clear()
    event.listen(engine, "after_cursor_execute", on)
    r = client.get(path)
    event.remove(engine, "after_cursor_execute", on)
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        cur = raw.cursor()
        for sql, params in seen:
            try:
                cur.execute("EXPLAIN QUERY PLAN " + sql, params)
            except Exception:  # a statement SQLite cannot plan alone: not counted
                continue
            for row in cur.fetchall():
                m = re.match(r"SCAN (\w+)", row[-1])
                if m and m.group(1) in big:
                    key = (who, shape(path), m.group(1), row[-1])
                    if key not in found:
                        ex[key] = " ".join(sql.split())[:400]
                    found[key] += 1
    return r


for who in readers(app):
    client = reader_client(app, who)
    starts = ["/", "/calls", "/me", "/manage", "/review", "/proposals", "/dashboard"]
    with app.state.sessions() as s:
        starts += route_paths(app, values(s))
        if who is not None:
            with_token(s, client, who)
    crawl(starts, 400, 1, read)
print(json.dumps({t: n for t, n in sizes.items() if n >= 200}))
for k, n in found.items():
    print(k, n, "\n    ", ex[k])
