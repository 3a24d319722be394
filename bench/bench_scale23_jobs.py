"""scale23: the statements of the daily reminder runs and of the outcomes report of each
call, and the tables of 200 rows or more their SELECTs read whole (SQLite's plans), on a
built world (rolled back: nothing is queued).

    PYTHONPATH=. .venv/bin/python bench/bench_scale23_jobs.py sqlite:////tmp/w.db
"""

import datetime as dt
import re
import sys

from sqlalchemy import event, select
from sqlalchemy.orm import sessionmaker

from opencall.calls.models import Call
from opencall.db import make_engine
from opencall.outcomes import queries as oq
from opencall.proposals.notify import queue_draft_reminders
from opencall.results import jobs as rj
from opencall.reviews.notify import queue_reminders

engine = make_engine(sys.argv[1])
S = sessionmaker(engine)
SELECT = re.compile(r"^\s*(WITH|SELECT)\b", re.I)
sizes = {}
with engine.connect() as conn:
    for (name,) in conn.exec_driver_sql("select name from sqlite_master where type='table'"):
        sizes[name] = conn.exec_driver_sql(f'select count(*) from "{name}"').scalar()  # noqa: S608
big = {t for t, n in sizes.items() if n >= 200}
seen = []


def on(_c, cur, sql, params, *a):
    if SELECT.match(sql):
        seen.append((sql, params))


def probe(label, fn):
    seen.clear()
    with S() as s:
        event.listen(engine, "after_cursor_execute", on)
        try:
            fn(s)
        except Exception as e:  # noqa: BLE001 (reported, the probe goes on)
            print(label, "ERROR", repr(e)[:200])
        event.remove(engine, "after_cursor_execute", on)
        s.rollback()
    found = {}
    with engine.connect() as conn:
        cur = conn.connection.dbapi_connection.cursor()
        for sql, params in seen:
            try:
                cur.execute("EXPLAIN QUERY PLAN " + sql, params)
            except Exception:
                continue
            for row in cur.fetchall():
                m = re.match(r"SCAN (\w+)", row[-1])
                if m and m.group(1) in big:
                    found.setdefault(row[-1], " ".join(sql.split())[:300])
    print(label, len(seen), "statements")
    for k, v in found.items():
        print("   ", k, "::", v)


today = dt.date(2030, 1, 1)
probe("draft reminders", lambda s: queue_draft_reminders(s, "http://x", (7, 1)))
probe("report reminders", lambda s: rj.queue_report_reminders(s, "http://x", today))
probe("follow-up reminders", lambda s: rj.queue_follow_up_reminders(s, "http://x", today))
probe("overdue reminders", lambda s: rj.queue_overdue_reminders(s, "http://x", today))
with S() as s:
    calls = s.scalars(select(Call)).all()
    ids = [(c.id, c.slug, c.status) for c in calls]
for cid, slug, st in ids:
    probe(
        f"review remind {slug}",
        lambda s, cid=cid: queue_reminders(s, s.get(Call, cid), "http://x", within_days=3),
    )
    if st in ("published", "archived"):
        probe(f"report {slug}", lambda s, cid=cid: oq.report(s, s.get(Call, cid)))
