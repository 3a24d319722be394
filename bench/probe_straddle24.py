"""A request begun before the deadline whose body ends after it, against a real
``opencall serve`` on PostgreSQL (trialcrowd24; tests/crowd/test_straddling_body.py is the
kept test, with the clock moved instead of waited for).

The applicant opens the editor's save a few seconds (``--early-s``) before the deadline over a raw
socket, sends half the form, waits until ``--late-s`` seconds after the deadline, then
sends the rest (a new title). The server runs with ``OPENCALL_BODY_GRACE_S=--grace-s``.
Printed: the answer's status, its sentence, and whether the title was stored. On this
branch a body that took longer than the grace is refused ("The deadline passed ...
Your request reached the server at ..."); on main's code (``--src``) it was stored.

    PYTHONPATH=. .venv/bin/python bench/probe_straddle24.py \\
        --pg-url postgresql://postgres@127.0.0.1:5432/<scratch db> [--src <main>/src]

The database named by --pg-url is DROPPED and created anew: name a scratch database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_surge import F_PASSWORD, prepare  # noqa: E402
from tests.crowd.live import ServerProcess, client, csrf_of  # noqa: E402
from tests.web.conftest import full_proposal  # noqa: E402

from opencall.calls.models import Call  # noqa: E402
from opencall.db import make_engine, make_sessionmaker  # noqa: E402
from opencall.people.queries import user_by_email  # noqa: E402
from opencall.proposals.models import Proposal  # noqa: E402

LATE_TITLE = "Written after the deadline"


def _world(url: str, closes_in: float) -> tuple[int, str, dt.datetime]:
    slug, emails = prepare(url, 1, closes_in)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        call = s.query(Call).filter_by(slug=slug).one()
        pi = user_by_email(s, emails[0])
        p = full_proposal(s, call, pi)
        s.commit()
        out = (p.id, emails[0], call.closes_at)
    engine.dispose()
    return out


def _title(url: str, pid: int) -> str:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        p = s.get(Proposal, pid)
        title = p.title if p is not None else ""
    engine.dispose()
    return title


def _until(when: dt.datetime) -> None:
    left = (when - dt.datetime.now(dt.UTC)).total_seconds()
    if left > 0:
        time.sleep(left)


def probe(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    pid, email, deadline = _world(args.pg_url, args.closes_in)
    env = {"OPENCALL_BODY_GRACE_S": str(args.grace_s)}
    if args.src:
        env["PYTHONPATH"] = args.src
    server = ServerProcess(args.pg_url, tmp, workers=1, concurrency=4, extra_env=env).start()
    try:
        with client(server.base, follow_redirects=False) as c:
            page = c.get("/login")
            r = c.post(
                "/login",
                data={"csrf_token": csrf_of(page.text), "email": email, "password": F_PASSWORD},
            )
            assert r.status_code == 303, r.text[:300]
            editor = c.get(f"/proposals/{pid}").text
            version = re.search(r'name="version" value="(\d+)"', editor)
            assert version, "no version in the editor"
            body = urlencode(
                {
                    "csrf_token": csrf_of(editor),
                    "version": version.group(1),
                    "title": LATE_TITLE,
                    "abstract": "Late.",
                    "science_case": "Late.",
                    "keywords": "",
                }
            ).encode()
            cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
        head = (
            f"POST /proposals/{pid} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Cookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        _until(deadline - dt.timedelta(seconds=args.early_s))
        began = dt.datetime.now(dt.UTC)
        with socket.create_connection(("127.0.0.1", server.port), timeout=120) as sock:
            sock.sendall(head + body[: len(body) // 2])
            _until(deadline + dt.timedelta(seconds=args.late_s))
            ended = dt.datetime.now(dt.UTC)
            sock.sendall(body[len(body) // 2 :])
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
    finally:
        server.stop()
    status = int(answer.split(b" ", 2)[1])
    said = re.search(rb'class="error"[^>]*>([^<]*)<', answer)
    return {
        "server_src": args.src or "this tree",
        "grace_s": args.grace_s,
        "deadline": deadline.isoformat(),
        "body_began": began.isoformat(timespec="milliseconds"),
        "body_ended": ended.isoformat(timespec="milliseconds"),
        "status": status,
        "said": said.group(1).decode() if said else "",
        "late_title_stored": _title(args.pg_url, pid) == LATE_TITLE,
        "command": " ".join(sys.argv),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg-url", required=True)
    ap.add_argument("--closes-in", type=float, default=40, help="the deadline, s from now")
    ap.add_argument("--early-s", type=float, default=5, help="the body begins so long before")
    ap.add_argument("--late-s", type=float, default=10, help="and ends so long after it")
    ap.add_argument("--grace-s", type=float, default=5, help="OPENCALL_BODY_GRACE_S")
    ap.add_argument("--src", default="", help="run the server from this src directory")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="straddle24-") as tmpdir:
        print(json.dumps(probe(args, Path(tmpdir)), indent=1))


if __name__ == "__main__":
    main()
