"""The pages, API lists and exports of a call at scale: each read once through the real
app (FastAPI TestClient over the given database) as the demo's staff, with its SQL
statements, the rows those statements returned, the answer's bytes, the request's CPU
seconds and the peak of Python's allocations while it ran (tracemalloc).

Run on a database the demo built at a scale, e.g. the one ``bench_conference.py`` left
(``--stop-after`` or a whole cycle):

    nice .venv/bin/python bench/bench_pages.py \
        --database-url postgresql://postgres@127.0.0.1:5432/t_confscale_b

Prints one JSON line a page. A figure that grows with the call's size (rows, bytes,
statements) is a page that reads the whole call.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, select

from opencall.app import create_app
from opencall.calls.queries import call_by_slug
from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from opencall.people.services import SCOPES
from opencall.reviews.models import ReviewAssignment
from opencall.settings import Settings
from opencall.web.security import COOKIE, session_cookie_value

SLUG = "fast-2027"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", required=True)
    ap.add_argument(
        "--only", default="", help="a substring of the paths to read (=PATH: that path only)"
    )
    ap.add_argument("--skip", default="", help="a substring of the paths not to read")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    settings = Settings(
        database_url=args.database_url,
        secret_key="bench-pages",
        base_url="http://testserver",
        secure_cookies=False,
        mail_backend="file",
        mail_dir=tmp / "mail",
        upload_dir=tmp / "uploads",
    )
    app = create_app(settings)
    engine = app.state.engine
    factory = app.state.sessions

    counted = {"statements": 0, "rows": 0}

    def after(_conn: Any, cursor: Any, statement: str, *_a: Any) -> None:
        counted["statements"] += 1
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and cursor.rowcount > 0:
            counted["rows"] += cursor.rowcount

    event.listen(engine, "after_cursor_execute", after)

    def client(email: str, api: bool) -> TestClient:
        c = TestClient(app, base_url="http://testserver", follow_redirects=False)
        if not api:
            return session(c, email)
        with factory() as s:
            u = user_by_email(s, email)
            assert u is not None
            _tok, raw = people_services.create_api_token(s, u, "bench", scopes=SCOPES)
            s.commit()
        c.headers["Authorization"] = f"Bearer {raw}"
        return c

    def session(c: TestClient, email: str) -> TestClient:
        with factory() as s:
            u = user_by_email(s, email)
            assert u is not None, email
            sid = people_services.start_user_session(s, u, client="bench")
            s.commit()
        c.cookies.set(
            COOKIE,
            session_cookie_value(settings, sid, secrets.token_urlsafe(16), int(time.time())),
        )
        return c

    with factory() as s:
        call = call_by_slug(s, SLUG)
        assert call is not None
        one = s.scalar(
            select(ReviewAssignment.proposal_id)
            .where(ReviewAssignment.call_id == call.id)
            .order_by(ReviewAssignment.id)
            .limit(1)
        )
    chair = "chair@fast.example"
    office = "manager@fast.example"
    tech = "tech@fast.example"
    pages: list[tuple[str, str]] = [
        (chair, f"/manage/calls/{SLUG}"),
        (chair, f"/manage/calls/{SLUG}/assignment"),
        (chair, f"/manage/calls/{SLUG}/ranking"),
        (chair, f"/manage/calls/{SLUG}/decisions"),
        (chair, f"/manage/calls/{SLUG}/reviewers"),
        (office, f"/manage/calls/{SLUG}/report"),
        (office, f"/manage/calls/{SLUG}/audit"),
        (tech, f"/technical/calls/{SLUG}"),
        (tech, f"/api/v1/technical/calls/{SLUG}"),
        (chair, f"/api/v1/calls/{SLUG}/conflicts"),
        (chair, f"/api/v1/calls/{SLUG}/reviewer-pool"),
        (chair, f"/calls/{SLUG}"),
        (chair, f"/calls/{SLUG}/awarded"),
    ]
    if one is not None:
        pages.append((tech, f"/technical/proposals/{one}"))
    clients: dict[str, TestClient] = {}
    for who, path in pages:
        if args.only and not (path == args.only[1:] if args.only[0] == "=" else args.only in path):
            continue
        if args.skip and args.skip in path:
            continue
        api = path.startswith("/api/")
        c = clients.get(who + str(api)) or clients.setdefault(who + str(api), client(who, api))
        counted.update(statements=0, rows=0)
        tracemalloc.start()
        t0 = time.process_time()
        w0 = time.perf_counter()
        r = c.get(path)
        cpu = time.process_time() - t0
        wall = time.perf_counter() - w0
        _cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            json.dumps(
                {
                    "who": who.split("@")[0],
                    "path": path,
                    "status": r.status_code,
                    "statements": counted["statements"],
                    "rows": counted["rows"],
                    "kib": round(len(r.content) / 1024, 1),
                    "cpu_s": round(cpu, 2),
                    "wall_s": round(wall, 2),
                    "peak_py_mib": round(peak / 2**20, 1),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
