"""Reproducer (not a benchmark): a segmentation fault while garbage-collecting in a request
thread. The outcomes report computed in the main thread, then the chair's pages read
through the app (TestClient, request threads): the process dies in the schedule page
(faulthandler: "Garbage-collecting" inside SQLAlchemy's ORM loading). Needs the
database ``bench_trial.py --scale 10`` leaves (test_trialscale_big); argument ``pdf`` also
draws the PDF first. Seen 4 times out of 4 (code before and after the report changes of
this round); never when the report is not computed first in the main thread.

    .venv/bin/python bench/repro_gc_segfault.py nopdf; echo $?   # 139
"""

import re
import sys

from fastapi.testclient import TestClient

from opencall.app import create_app
from opencall.calls.queries import call_by_slug
from opencall.db import make_engine, make_sessionmaker
from opencall.demo.accounts import DEMO_PASSWORD
from opencall.outcomes import queries as oq
from opencall.outcomes.report import report_pdf
from opencall.settings import Settings

url = "postgresql://postgres@127.0.0.1:5432/test_trialscale_big"
f = make_sessionmaker(make_engine(url))
with f() as s:
    data = oq.report(s, call_by_slug(s, "fast-2027"))
if sys.argv[1] == "pdf":
    report_pdf(data)
app = create_app(Settings(database_url=url, mail_backend="file", mail_dir="/tmp/ts/mail"))
c = TestClient(app, base_url="http://testserver", follow_redirects=False)
m = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
c.post(
    "/login",
    data={"csrf_token": m.group(1), "email": "manager@fast.example", "password": DEMO_PASSWORD},
)
for path in ["/manage/calls/fast-2027/decisions", "/manage/calls/fast-2027/schedule"] * 3:
    print(path, c.get(path).status_code, flush=True)
