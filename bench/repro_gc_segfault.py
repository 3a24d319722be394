"""Reproducer (not a benchmark): a segmentation fault while garbage-collecting in a request
thread. One session in the main thread loads the FAST call (and is closed; the call object
stays referenced), then the chair's decisions and schedule pages are read through the app
(TestClient, request threads) on the database ``bench_trial.py --scale 10`` leaves
(test_trialscale_big): the process dies within a few page reads (faulthandler: "Garbage-
collecting" inside SQLAlchemy's ORM loading, in the request thread). Seen 7 times of 7
(with the whole outcomes report computed first, with only the applicant records, with only
the call looked up; code before and after this round's changes). Without the main-thread
session, 6 page reads ran to the end.

    .venv/bin/python bench/repro_gc_segfault.py; echo $?   # 139

It signs in, so it writes a login attempt and a session row: run it on a copy
(``createdb -T test_trialscale_big a_copy``; ``REPRO_URL=postgresql://.../a_copy``).
Cause and fix: docs/crash-hunting.md ("Found: Python 3.11's collector inside
SQLAlchemy's loading"); since ``diagnostics.gc_at_safe_points`` it runs to its end (0 of 8
crashed, 8 of 8 before).
"""

from __future__ import annotations

import os
import re

from fastapi.testclient import TestClient

from opencall.app import create_app
from opencall.calls.queries import call_by_slug
from opencall.db import make_engine, make_sessionmaker
from opencall.demo.accounts import DEMO_PASSWORD
from opencall.settings import Settings

URL = os.environ.get("REPRO_URL", "postgresql://postgres@127.0.0.1:5432/test_trialscale_big")


def main() -> None:
    factory = make_sessionmaker(make_engine(URL))
    with factory() as s:
        call = call_by_slug(s, "fast-2027")
    app = create_app(Settings(database_url=URL, mail_backend="file", mail_dir="/tmp/repro-mail"))
    c = TestClient(app, base_url="http://testserver", follow_redirects=False)
    m = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
    assert m
    c.post(
        "/login",
        data={"csrf_token": m.group(1), "email": "manager@fast.example", "password": DEMO_PASSWORD},
    )
    for path in ["/manage/calls/fast-2027/decisions", "/manage/calls/fast-2027/schedule"] * 3:
        print(path, c.get(path).status_code, flush=True)
    print("done", call is not None)


if __name__ == "__main__":
    main()
