"""The outcomes report of a published call shown again: the page and its PDF, asked for
several times in a row (a manager reloading, a page then its download), CPU seconds of
each request in this process (the app in-process, ``TestClient``).

    .venv/bin/python bench/bench_report_page.py [--repeat 5] [--world /tmp/x.sqlite3]

The world is the demo's (seed 3, scale 0.1) with its FAST call run through the whole
cycle (published), as ``tests/outcomes/test_browser_report.py`` builds it; ``--world``
keeps it in a file and reuses it on the next run. Prints one JSON line a request: what,
which time, CPU seconds, and the charts drawn so far (``charts.DRAWN.drawn`` where the
tree has it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from opencall import migrate
from opencall.app import create_app
from opencall.calls.queries import call_by_slug
from opencall.db import make_engine, make_sessionmaker
from opencall.demo import world
from opencall.demo.cycle import run_cycle
from opencall.people.services import load_countries
from opencall.settings import Settings

ANCHOR = dt.date(2026, 11, 29)  # the demo's FAST call is then 'fast-2027'
SLUG = "fast-2027"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def build(path: Path) -> None:
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as s:
        load_countries(s)
        world.build(s, seed=3, anchor=ANCHOR, scale=0.1)
        s.commit()
        call = call_by_slug(s, SLUG)
        assert call is not None
        run_cycle(s, call, seed=0, days=60, n_bootstrap=50)
        s.commit()
    engine.dispose()


def drawn() -> int | None:
    from opencall.outcomes import charts

    d = getattr(charts, "DRAWN", None)
    return None if d is None else int(d.drawn)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--world", type=Path, default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    db = tmp / "report.sqlite3"
    if args.world is not None and args.world.exists():
        shutil.copy(args.world, db)
    else:
        build(db)
        if args.world is not None:
            shutil.copy(db, args.world)
    settings = Settings(
        database_url=f"sqlite:///{db}",
        secret_key="bench",
        secure_cookies=False,  # the test client speaks plain HTTP
        base_url="http://testserver",
        mail_backend="file",
        mail_dir=tmp / "mail",
        upload_dir=tmp / "uploads",
    )
    with TestClient(create_app(settings)) as client:
        token = CSRF.search(client.get("/login").text)
        assert token
        r = client.post(
            "/login",
            data={
                "csrf_token": token.group(1),
                "email": "manager@fast.example",
                "password": world.DEMO_PASSWORD,
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, (r.status_code, r.text[:3000])
        for what, path in (
            ("page", f"/manage/calls/{SLUG}/report"),
            ("pdf", f"/manage/calls/{SLUG}/report.pdf"),
            ("page zh", f"/manage/calls/{SLUG}/report"),
            ("pdf zh", f"/manage/calls/{SLUG}/report.pdf"),
        ):
            if what.endswith(" zh"):
                client.cookies.set("oc_lang", "zh")
            for i in range(args.repeat):
                t0 = time.process_time()
                r = client.get(path)
                cpu = time.process_time() - t0
                assert r.status_code == 200, (path, r.status_code)
                print(
                    json.dumps(
                        {
                            "what": what,
                            "n": i,
                            "cpu_s": round(cpu, 3),
                            "bytes": len(r.content),
                            "charts_drawn": drawn(),
                        }
                    )
                )
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
