"""A site after years of calls, round 19 (scale19): what a request reads, on a demo
world built in bulk (``opencall demo build --scale N``; ``--grow`` adds scale18's
history of past calls, ``bench_scale18.grow``). Each page is read warm through the app
(TestClient) by the account that reads it: SQL statements, the rows they return (each
SELECT run again after the request and its rows counted: ``rows``; those of the
countries table: ``country_rows``), the ORM objects built (calls, call resources,
proposals), bytes, CPU seconds a request (the median of ``--rounds``), and a digest of
the answer (per-request parts blanked) to compare before and after on one database.

    U=sqlite:////tmp/w10.sqlite3
    OPENCALL_DATABASE_URL=$U .venv/bin/opencall db upgrade
    OPENCALL_DATABASE_URL=$U .venv/bin/opencall demo build --scale 10
    .venv/bin/python bench/bench_scale19.py --database-url $U --grow --out after.jsonl
    # "before": the same reads (without --grow) with PYTHONPATH=<a checkout of main>/src
    # (the ?fields= reads then answer the whole list: main ignores the parameter)
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from bench_crowd import client_for, cpu  # this folder is on sys.path when run
from bench_scale18 import digest, grow
from opencall.app import create_app
from opencall.calls.models import Call, CallPool
from opencall.facilities.models import CapacityPool
from opencall.people.models import User
from opencall.people.services import create_api_token
from opencall.proposals.models import Proposal
from opencall.settings import Settings

MODELS = (Call, CallPool, CapacityPool, Proposal)
LIGHT = "slug,title,status,opens_at,closes_at"


def pages(big: str, past: str) -> list[tuple[str, str | None]]:
    return [
        ("/api/v1/calls", None),
        (f"/api/v1/calls?fields={LIGHT}", None),
        ("/api/v1/calls?limit=200", None),
        (f"/api/v1/calls?limit=200&fields={LIGHT}", None),
        (f"/api/v1/calls/{big}?fields=slug,status,closes_at", None),
        (f"/calls/{past}/awarded", None),
        (f"/calls/{past}/figures", None),
        (f"/calls/{past}/after-award", None),
        (f"/calls/{past}/after-award?format=csv", None),
        (f"/manage/calls/{past}/report", "manager"),
        (f"/manage/calls/{big}", "manager"),
        (f"/manage/calls/{big}/assignment", "manager"),
        (f"/manage/calls/{big}/assignment?format=csv", "manager"),
        (f"/manage/calls/{big}/triage", "manager"),
        (f"/manage/calls/{big}/ranking", "manager"),
        (f"/manage/calls/{big}/ranking?format=csv", "manager"),
        (f"/manage/calls/{big}/decisions", "manager"),
        (f"/manage/calls/{big}/decisions?format=csv", "manager"),
        (f"/manage/calls/{big}/tac", "manager"),
        (f"/api/v1/calls/{big}/proposals?limit=200", "@manager"),
    ]


def to_review(s: Any, slug: str, per_proposal: int) -> None:
    """The call ``slug`` in review, its submitted proposals under review, each given
    ``per_proposal`` reviewers of its panel in turn (bulk inserts: what the office's
    pages read, not the assignment's solving), unless it has assignments."""
    from sqlalchemy import insert, update

    from opencall.people.models import RoleGrant
    from opencall.reviews.models import ReviewAssignment

    call = s.scalars(select(Call).where(Call.slug == slug)).one()
    if s.scalar(select(func.count()).where(ReviewAssignment.call_id == call.id)):
        return
    s.execute(
        update(Proposal)
        .where(Proposal.call_id == call.id, Proposal.status == "submitted")
        .values(status="under_review")
    )
    call.status = "review"
    panel = list(
        s.scalars(
            select(RoleGrant.user_id)
            .where(RoleGrant.call_id == call.id, RoleGrant.role == "reviewer")
            .order_by(RoleGrant.user_id)
        )
    )
    ids = list(
        s.scalars(
            select(Proposal.id)
            .where(Proposal.call_id == call.id, Proposal.status == "under_review")
            .order_by(Proposal.id)
        )
    )
    rows = [
        {
            "call_id": call.id,
            "proposal_id": pid,
            "reviewer_id": panel[(i * per_proposal + j) % len(panel)],
            "status": "assigned",
            "source": "solver",
            "score": 0.5,
        }
        for i, pid in enumerate(ids)
        for j in range(per_proposal)
    ]
    for k in range(0, len(rows), 5000):
        s.execute(insert(ReviewAssignment), rows[k : k + 5000])
    s.commit()


def rows_read(conn: Any, statements: list[tuple[str, Any]]) -> tuple[int, int]:
    """The rows ``statements`` read (each SELECT run again on ``conn``), and those of
    the countries table among them."""
    rows = country_rows = 0
    for sql, params in statements:
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        n = len(conn.exec_driver_sql(sql, params).fetchall())
        rows += n
        if "FROM countries" in sql:
            country_rows += n
    return rows, country_rows


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    add = parser.add_argument
    add("--review", type=int, default=0, help="first put --big in review, N assignments each")
    add("--database-url", required=True)
    add("--grow", action="store_true", help="first add scale18's history (once)")
    add("--big", default="fast-2027", help="the call of many proposals")
    add("--manager", default="manager@fast.example")
    add("--rounds", type=int, default=3)
    add("--only", default="", help="read only the paths containing this text")
    add("--out", default="", help="write the figures as JSON lines here")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    app = create_app(Settings(database_url=args.database_url))
    factory, engine = app.state.sessions, app.state.engine
    if args.grow:
        with factory() as s:
            grow(s, 50, 220, 6)
    if args.review:
        with factory() as s:
            to_review(s, args.big, args.review)
    seen: list[tuple[str, Any]] = []
    objects: list[str] = []
    for model in MODELS:
        event.listen(model, "load", lambda target, _ctx: objects.append(type(target).__name__))
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append((a[2], a[3])))
    with factory() as s:
        manager = s.scalars(select(User).where(User.email == args.manager)).one()
        tok = {"manager": create_api_token(s, manager, "scale19")[1]}
        big = s.scalars(select(Call).where(Call.slug == args.big)).one()
        # a past call with results: the latest published or archived one with proposals
        past = s.scalar(
            select(Call.slug)
            .join(Proposal, Proposal.call_id == Call.id)
            .where(Call.status.in_(("published", "archived")))
            .order_by(Call.id.desc())
            .limit(1)
        ) or s.scalar(select(Call.slug).where(Call.status.in_(("published", "archived"))))
        counts = {
            "calls": s.scalar(select(func.count()).select_from(Call)),
            "proposals": s.scalar(select(func.count()).select_from(Proposal)),
            "big_call_proposals": s.scalar(
                select(func.count()).select_from(Proposal).where(Proposal.call_id == big.id)
            ),
            "big_call_status": big.status,
            "past_call": past,
        }
        s.commit()
    print(json.dumps(counts), flush=True)
    who = {"manager": args.manager}
    clients: dict[str, TestClient] = {}
    anon = TestClient(app, base_url="http://testserver", follow_redirects=False)
    lines: list[str] = []
    for path, reader in pages(args.big, str(past)):
        if args.only and args.only not in path:
            continue
        c, headers = client_for(app, reader, anon, clients, who, tok)
        c.get(path, headers=headers)  # warm
        cpus = []
        for _ in range(args.rounds):
            seen.clear()
            objects.clear()
            c0 = cpu()
            r = c.get(path, headers=headers)
            cpus.append(cpu() - c0)
        statements = list(seen)
        loaded = {m.__name__: objects.count(m.__name__) for m in MODELS}
        with engine.connect() as conn:
            rows, country_rows = rows_read(conn, statements)
        row = {
            "path": path,
            "reader": reader,
            "status": r.status_code,
            "statements": len(statements),
            "rows": rows,
            "country_rows": country_rows,
            "bytes": len(r.content),
            "loaded": loaded,
            "cpu_s": round(statistics.median(cpus), 3),
            "digest": digest(r.text),
        }
        lines.append(json.dumps(row))
        print(lines[-1], flush=True)
    if args.out:  # JSON lines, one a page
        Path(args.out).write_text("".join(f"{line}\n" for line in lines))


if __name__ == "__main__":
    main()
