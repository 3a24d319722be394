"""The GET walk (scale20): which GET requests write to the database. Signed in as each
reader (and as nobody), the site's pages are crawled from a few starting points by their
links (same site, GET, at most ``--limit`` pages a reader, each path shape at most
``--per-shape`` times) and every INSERT, UPDATE or DELETE a GET runs is listed with the
table it writes. A page that writes each time it is read, also when nothing changed, is
reported twice: on its first and on its second reading.

    U=sqlite:////tmp/w.sqlite3
    OPENCALL_DATABASE_URL=$U .venv/bin/opencall db upgrade
    OPENCALL_DATABASE_URL=$U .venv/bin/opencall demo build --cycles
    .venv/bin/python bench/get_walk.py --database-url $U
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, deque
from typing import Any
from urllib.parse import urljoin, urlsplit

from sqlalchemy import event

from bench_crowd import demo_reviewer, login  # this folder is on sys.path when run
from opencall.app import create_app
from opencall.settings import Settings

WRITE = re.compile(r"^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.I)
HREF = re.compile(r'href="([^"#]+)')
#: links a walk does not follow: leaving the session, downloads of files
SKIP = ("/logout", "/static/", "/files/", "mailto:", "http://", "https://")
#: the statements run so far (the walk's count of each page's)
STATEMENTS = [0]
READERS = (
    "manager@fast.example",
    "chair@fast.example",
    "applicant@demo.example",
    "tech@fast.example",
)


def shape(path: str) -> str:
    """The path with its numbers, its call's slug and the query's values blanked: one shape of page."""
    parts = urlsplit(path)
    query = re.sub(r"=[^&]*", "=", parts.query)
    path = re.sub(r"/calls/[^/]+", "/calls/S", parts.path)  # a call's slug
    return re.sub(r"\d+", "N", path) + ("?" + query if query else "")


def writes_of(engine: Any) -> tuple[list[str], Any]:
    got: list[str] = []

    def on(_conn: Any, _cursor: Any, sql: str, *_a: Any) -> None:
        STATEMENTS[0] += 1
        m = WRITE.match(sql)
        if m:
            got.append(f"{m.group(1).split()[0].upper()} {m.group(2)}")

    event.listen(engine, "before_cursor_execute", on)
    return got, on


def crawl(starts: list[str], limit: int, per_shape: int, read: Any) -> int:
    """Read the pages from ``starts`` by their links (same site, GET, at most ``limit``
    pages, each path shape at most ``per_shape`` times): ``read(path)`` reads one and
    answers its response. Returns the number of pages read."""
    queue = deque(starts)
    seen: set[str] = set()
    shapes: Counter[str] = Counter()
    while queue and len(seen) < limit:
        path = queue.popleft()
        if path in seen or shapes[shape(path)] >= per_shape:
            continue
        seen.add(path)
        shapes[shape(path)] += 1
        r = read(path)
        if "text/html" not in r.headers.get("content-type", ""):
            continue
        for href in HREF.findall(r.text):
            href = href.replace("&amp;", "&")
            if href.startswith(SKIP) or not href.startswith("/"):
                continue
            queue.append(urljoin(path, href))
    return len(seen)


def walk(
    app: Any,
    client: Any,
    starts: list[str],
    limit: int,
    per_shape: int,
    counts: dict[str, int] | None = None,
) -> list[dict]:
    """Each page's writes (its first and second reading) and, in ``counts``, the
    statements of its second reading, by path."""
    counts = {} if counts is None else counts
    engine = app.state.engine
    got, on = writes_of(engine)
    found: list[dict] = []

    def read(path: str) -> Any:
        for reading in (1, 2):
            got.clear()
            before = STATEMENTS[0]
            r = client.get(path)
            if reading == 2:
                counts[path] = STATEMENTS[0] - before
            if got:
                found.append(
                    {"path": path, "reading": reading, "status": r.status_code, "writes": list(got)}
                )
        return r

    try:
        walked = crawl(starts, limit, per_shape, read)
    finally:
        event.remove(engine, "before_cursor_execute", on)
    found.append({"walked": walked})
    return found


def with_token(s: Any, client: Any, email: str) -> None:
    """``client`` sends a new API token of ``email`` (its pages still its session's)."""
    from sqlalchemy import select

    from opencall.people.models import User
    from opencall.people.services import create_api_token

    user = s.scalars(select(User).where(User.email == email)).one()
    client.headers["Authorization"] = f"Bearer {create_api_token(s, user, 'walk')[1]}"
    s.commit()


def values(s: Any) -> dict[str, list[str]]:
    """A few values of each path parameter of the site's GET routes, from the database."""
    from sqlalchemy import select

    from opencall.calls.models import Call, CallPool
    from opencall.facilities.models import CapacityPool
    from opencall.jobs import Job
    from opencall.proposals.models import Attachment, Proposal, TeamMember
    from opencall.reviews.models import ReviewAssignment

    def first(col: Any, *where: Any) -> list[str]:
        return [str(v) for v in s.scalars(select(col).where(*where).order_by(col).limit(2))]

    return {
        "slug": first(Call.slug, Call.status.in_(("published", "review", "open", "allocation"))),
        "proposal_id": first(Proposal.id, Proposal.status != "draft"),
        "pool_id": first(CallPool.pool_id),
        "facility_id": first(CapacityPool.facility_id),
        "assignment_id": first(ReviewAssignment.id),
        "job_id": first(Job.id),
        "member_id": first(TeamMember.id),
        "attachment_id": first(Attachment.id),
        "fmt": ["csv"],
        "n": ["1"],
    }


def route_paths(app: Any, known: dict[str, list[str]]) -> list[str]:
    """Every GET route of the site (its OpenAPI document: the pages and the API), each
    parameter given in turn each of its values (routes of a parameter not known: left out)."""
    out: list[str] = []
    for path, ops in app.openapi()["paths"].items():
        if "get" not in ops:
            continue
        names = re.findall(r"{(\w+)}", path)
        if any(n not in known for n in names):
            continue
        filled = [path]
        for n in names:
            filled = [f.replace("{" + n + "}", v) for f in filled for v in known[n]]
        out += filled
    return out


def readers(app: Any) -> list[str | None]:
    """Nobody, the demo's staff and applicant, and its first reviewer."""
    out: list[str | None] = [None, *READERS]
    with app.state.sessions() as s:
        if (rev := demo_reviewer(s)) is not None:
            out.append(rev)
    return out


def reader_client(app: Any, who: str | None) -> Any:
    """A client of the app signed in as ``who`` (None: nobody)."""
    from fastapi.testclient import TestClient

    if who is None:
        return TestClient(app, base_url="http://testserver", follow_redirects=False)
    return login(app, who)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--limit", type=int, default=600)
    parser.add_argument("--per-shape", type=int, default=2)
    parser.add_argument("--top", type=int, default=0, help="print the N pages of most statements")
    args = parser.parse_args()
    app = create_app(Settings(database_url=args.database_url))
    for who in readers(app):
        c = reader_client(app, who)
        starts = ["/", "/calls", "/me", "/manage", "/review", "/proposals"]
        with app.state.sessions() as s:
            starts += route_paths(app, values(s))
            if who is not None:  # the API read with the reader's token
                with_token(s, c, who)
        counts: dict[str, int] = {}
        for row in walk(app, c, starts, args.limit, args.per_shape, counts):
            print(json.dumps({"reader": who, **row}), flush=True)
        for path, n in sorted(counts.items(), key=lambda kv: -kv[1])[: args.top]:
            print(json.dumps({"reader": who, "statements": n, "path": path}), flush=True)


if __name__ == "__main__":
    main()
