"""A site after years of calls, read by the crowd (scale18): on a demo world built in
bulk (``opencall demo build --scale N``), ``--grow`` adds the history a site gathers
(``--providers`` providers, each a facility with the FAST call's 24 resources, and
``--calls`` past calls spread over them, every one offering its facility's 24
resources; the last ``--open`` of them open); then the pages a crowd hits most are read
through the app (TestClient) by the account that reads them, warm, ``--rounds`` times:
SQL statements, the calls, call resources and resources the ORM built (``loaded``),
bytes of the answer, CPU seconds a request (the median), and a digest of
the answer with its per-request parts (CSRF tokens, nonces) blanked, to compare the
pages before and after a change of code on the same database.

    U=sqlite:////tmp/w10.sqlite3
    OPENCALL_DATABASE_URL=$U .venv/bin/opencall db upgrade
    OPENCALL_DATABASE_URL=$U .venv/bin/opencall demo build --scale 10
    .venv/bin/python bench/bench_scale18.py --database-url $U --grow --out after.jsonl
    # "before": the same reads (without --grow) with PYTHONPATH=<a checkout of main>/src
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
import statistics
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from bench_crowd import client_for, cpu, demo_reviewer  # this folder is on sys.path when run
from opencall.app import create_app
from opencall.calls.models import Call, CallPool
from opencall.facilities.models import CapacityPool, Facility, Provider
from opencall.people.models import User
from opencall.people.services import create_api_token
from opencall.proposals.models import Proposal
from opencall.settings import Settings


def columns(obj: Any, **changed: Any) -> dict[str, Any]:
    """The row's column values but its id, with ``changed`` put in."""
    values = {a.key: getattr(obj, a.key) for a in obj.__mapper__.column_attrs if a.key != "id"}
    return {**values, **changed}


def grow(s: Session, providers: int, calls: int, still_open: int) -> None:
    """The history: providers with a copy of FAST's facility and resources, and past
    calls (archived; the last ``still_open`` open) copying the FAST call."""
    fast = s.scalars(select(Call).where(Call.slug == "fast-2027")).one()
    fac = s.get(Facility, fast.facility_id)
    prov = s.get(Provider, fast.provider_id)
    assert fac is not None and prov is not None
    pools = list(s.scalars(select(CapacityPool).where(CapacityPool.facility_id == fac.id)))
    offered = {cp.pool_id: cp for cp in fast.pools}
    made: list[tuple[Provider, Facility, list[tuple[CapacityPool, CallPool]]]] = []
    for i in range(providers):
        p = Provider(**columns(prov, slug=f"hist-{i:03d}", name=f"{prov.name} {i:03d}"))
        s.add(p)
        s.flush()
        f = Facility(**columns(fac, provider_id=p.id, slug=f"hist-{i:03d}"))
        s.add(f)
        s.flush()
        ps = []
        for pool in pools:
            new = CapacityPool(**columns(pool, facility_id=f.id))
            s.add(new)
            ps.append((new, offered.get(pool.id)))
        s.flush()
        made.append((p, f, [(a, b) for a, b in ps if b is not None]))
    base = fast.closes_at - dt.timedelta(days=365 * 10)
    for j in range(calls):
        p, f, ps = made[j % providers]
        opened = j >= calls - still_open
        closes = (
            fast.closes_at + dt.timedelta(days=j) if opened else base + dt.timedelta(days=j * 15)
        )
        c = Call(
            **columns(
                fast,
                provider_id=p.id,
                facility_id=f.id,
                slug=f"hist-{j:04d}",
                code=f"H{j:04d}",
                title=f"{fast.title} ({j:04d})",
                cycle=f"H{j:04d}",
                status="open" if opened else "archived",
                opens_at=closes - dt.timedelta(days=60),
                closes_at=closes,
                parent_id=None,
            )
        )
        s.add(c)
        s.flush()
        for pool, cp in ps:
            s.add(CallPool(**columns(cp, call_id=c.id, pool_id=pool.id)))
        s.flush()
    s.commit()


def digest(text: str) -> str:
    """The answer without what changes from request to request."""
    text = re.sub(r'(csrf_token"? value=")[^"]+', r"\1", text)
    text = re.sub(r'(nonce=")[^"]+', r"\1", text)
    text = re.sub(r'("next_cursor":\s*")[^"]+', r"\1", text)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def seq_scans(engine: Any, statements: list[tuple[str, Any]]) -> list[str]:
    """The sequential scans of tables estimated above 1,000 rows in the plans of
    ``statements`` (PostgreSQL), with the statement's start."""
    found = []
    with engine.connect() as conn:
        for sql, params in statements:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            plan = conn.exec_driver_sql("EXPLAIN " + sql, params).scalars().all()
            for line in plan:
                m = re.search(r"Seq Scan on (\w+).*rows=(\d+)", line)
                if m and int(m.group(2)) > 1000:
                    found.append(f"{m.group(1)} ({m.group(2)} rows): {' '.join(sql.split())[:160]}")
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--grow", action="store_true", help="first add the history (once)")
    ap.add_argument("--providers", type=int, default=50)
    ap.add_argument("--calls", type=int, default=220)
    ap.add_argument("--open", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="", help="read only the paths containing this text")
    ap.add_argument("--out", default="", help="write the figures as JSON lines here")
    ap.add_argument(
        "--explain",
        action="store_true",
        help="PostgreSQL: print the sequential scans of large tables in each page's plans",
    )
    args = ap.parse_args()
    app = create_app(Settings(database_url=args.database_url))
    factory = app.state.sessions
    if args.grow:
        with factory() as s:
            grow(s, args.providers, args.calls, args.open)
    seen: list[tuple[str, Any]] = []
    objects: list[str] = []  # the calls, their resources and pools the ORM builds
    for model in (Call, CallPool, CapacityPool):
        event.listen(model, "load", lambda target, _ctx: objects.append(type(target).__name__))
    event.listen(
        app.state.engine,
        "before_cursor_execute",
        lambda *a: seen.append((a[2], a[3])),
        named=False,
    )
    with factory() as s:
        reviewer = demo_reviewer(s)
        archived = s.scalar(
            select(Call.slug).where(Call.status.in_(("published", "archived"))).order_by(Call.id)
        )
        applicant = "applicant@demo.example"
        manager = s.scalars(select(User).where(User.email == "manager@fast.example")).one()
        applicant_user = s.scalars(select(User).where(User.email == applicant)).one()
        tok = {
            "manager": create_api_token(s, manager, "scale18")[1],
            "applicant": create_api_token(s, applicant_user, "scale18")[1],
        }
        counts = {
            "calls": s.scalar(select(func.count()).select_from(Call)),
            "providers": s.scalar(select(func.count()).select_from(Provider)),
            "proposals": s.scalar(select(func.count()).select_from(Proposal)),
            "users": s.scalar(select(func.count()).select_from(User)),
            "call_pools": s.scalar(select(func.count()).select_from(CallPool)),
        }
        s.commit()
    print(json.dumps(counts), flush=True)
    who = {
        "manager": "manager@fast.example",
        "reviewer": reviewer,
        "applicant": applicant,
    }
    clients: dict[str, TestClient] = {}
    anon = TestClient(app, base_url="http://testserver", follow_redirects=False)
    pages: list[tuple[str, str | None]] = [
        ("/", None),
        ("/calls", None),
        ("/calls/fast-2027", None),
        ("/dashboard", "applicant"),
        ("/calls?page=2", None),
        ("/review", "reviewer"),
        ("/manage", "manager"),
        ("/manage/calls/fast-2027", "manager"),
        ("/manage/calls/fast-2027/reviewers", "manager"),
        ("/manage/calls/fast-2027/assignment", "manager"),
        (f"/calls/{archived}/awarded", None),
        (f"/calls/{archived}/after-award", None),
        ("/api/v1/calls", None),
        ("/api/v1/calls?limit=200", None),
        ("/api/v1/calls/fast-2027", None),
        ("/api/v1/proposals", "@applicant"),
        ("/api/v1/calls/fast-2027/proposals?limit=100", "@manager"),
    ]
    out = []
    for path, reader in pages:
        if args.only and args.only not in path:
            continue
        c, headers = client_for(app, reader, anon, clients, who, tok)
        c.get(path, headers=headers)  # warm
        cpus, walls = [], []
        for _ in range(args.rounds):
            seen.clear()
            objects.clear()
            c0, t0 = cpu(), time.perf_counter()
            r = c.get(path, headers=headers)
            cpus.append(cpu() - c0)
            walls.append(time.perf_counter() - t0)
        row = {
            "path": path,
            "reader": reader,
            "status": r.status_code,
            "statements": len(seen),
            "bytes": len(r.content),
            "loaded": {k: objects.count(k) for k in ("Call", "CallPool", "CapacityPool")},
            "cpu_s": round(statistics.median(cpus), 3),
            "wall_s": round(statistics.median(walls), 3),
            "digest": digest(r.text),
        }
        out.append(row)
        print(json.dumps(row), flush=True)
        if args.explain:
            for scan in seq_scans(app.state.engine, list(seen)):
                print("   ", scan, flush=True)
    if args.out:
        with open(args.out, "w") as f:
            for row in out:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
