"""A crowded site, read page by page: on a demo world built at a scale (``opencall demo
build --scale N`` into the database named), each page and API list below is read
through the app (TestClient) by the account that would read it, twice; the second
read is measured: SQL statements, bytes of the answer, CPU seconds of the process
(request thread included) and wall seconds. Run it on two scales and compare: a
page whose statements or bytes grow with the world is unpaged or has a query per row.

    .venv/bin/opencall db upgrade && .venv/bin/opencall demo build --scale 3   # (and 10)
    .venv/bin/python bench/bench_crowd.py --database-url sqlite:///w3.sqlite3
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, select

from opencall.app import create_app
from opencall.people.models import RoleGrant, User
from opencall.people.services import create_api_token
from opencall.proposals.models import Proposal
from opencall.settings import Settings

PASSWORD = "opencall-demo"


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def login(app: Any, email: str) -> TestClient:
    c = TestClient(app, base_url="http://testserver", follow_redirects=False)
    m = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
    assert m
    r = c.post("/login", data={"csrf_token": m.group(1), "email": email, "password": PASSWORD})
    assert r.status_code == 303, (email, r.status_code)
    return c


def demo_reviewer(s: Any) -> str | None:
    """The first demo reviewer's address (the one the reviewer's pages are read as)."""
    return s.scalar(
        select(User.email)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.role == "reviewer", User.email.like("%@demo.example"))
        .order_by(User.id)
        .limit(1)
    )


def client_for(
    app: Any,
    reader: str | None,
    anon: TestClient,
    clients: dict[str, TestClient],
    who: dict[str, str],
    tok: dict[str, str],
) -> tuple[TestClient, dict[str, str]]:
    """The client and headers of ``reader``: None anyone, ``@name`` name's API token
    (``tok``), else the signed-in client of ``who[reader]`` (made once, in ``clients``)."""
    if reader is None:
        return anon, {}
    if reader.startswith("@"):
        return anon, {"Authorization": f"Bearer {tok[reader[1:]]}"}
    if reader not in clients:
        clients[reader] = login(app, who[reader])
    return clients[reader], {}


def to_assignment(factory: Any) -> None:
    """The FAST call closed and put to review, its conflicts, affinity and assignment
    run (as ``bench_trial.py`` does), unless that was done."""
    from opencall.calls.queries import call_by_slug
    from opencall.cycle.services import transition_call
    from opencall.proposals.services import close_call
    from opencall.reviews import services as rv

    with factory() as s:
        call = call_by_slug(s, "fast-2027")
        if call.status == "open":
            close_call(s, call, reason="bench")
            transition_call(s, call, "review")
            s.commit()
            rv.compute_conflicts(s, call)
            s.commit()
            rv.run_affinity(s, call)
            s.commit()
            rv.run_assignment(s, call, seed=0)
            s.commit()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--only", default="", help="read only the paths containing this text")
    ap.add_argument("--out", default="", help="write the figures as JSON lines here")
    ap.add_argument(
        "--to-assignment",
        action="store_true",
        help="first close the FAST call and run its conflicts, affinity and assignment",
    )
    args = ap.parse_args()
    settings = Settings(database_url=args.database_url)
    app = create_app(settings)
    factory = app.state.sessions
    if args.to_assignment:
        to_assignment(factory)
    seen: list[str] = []
    event.listen(
        app.state.engine, "before_cursor_execute", lambda *a: seen.append(a[2]), named=False
    )
    with factory() as s:
        reviewer = demo_reviewer(s)
        applicant = "applicant@demo.example"
        pid = s.scalar(
            select(Proposal.id)
            .join(User, User.id == Proposal.pi_user_id)
            .where(User.email == applicant)
            .order_by(Proposal.id)
            .limit(1)
        )
        admin = s.scalar(select(User).where(User.email == "admin@opencall.example"))
        manager = s.scalar(select(User).where(User.email == "manager@fast.example"))
        assert admin is not None and manager is not None
        tok = {
            "manager": create_api_token(s, manager, "crowd")[1],
            "admin": create_api_token(s, admin, "crowd")[1],
        }
        s.commit()
    who = {
        "admin": "admin@opencall.example",
        "manager": "manager@fast.example",
        "chair": "chair@fast.example",
        "tech": "tech@fast.example",
        "reviewer": reviewer,
        "applicant": applicant,
    }
    clients: dict[str, TestClient] = {}
    anon = TestClient(app, base_url="http://testserver", follow_redirects=False)
    pages: list[tuple[str, str | None]] = [
        ("/calls", None),
        ("/calls/fast-2027", None),
        ("/providers/naoc/facilities", None),
        ("/calls/fast-2027/reviewer-pool", "reviewer"),
        ("/calls/fast-2027/conflicts", "reviewer"),
        ("/dashboard", "applicant"),
        ("/proposals", "applicant"),
        (f"/proposals/{pid}", "applicant"),
        ("/review", "reviewer"),
        ("/technical/calls/fast-2027", "tech"),
        ("/manage", "manager"),
        ("/manage/calls/fast-2027", "manager"),
        ("/manage/calls/fast-2027/reviewers", "manager"),
        ("/manage/calls/fast-2027/audit", "manager"),
        ("/manage/calls/fast-2027/assignment", "chair"),
        ("/manage/providers/naoc", "manager"),
        ("/manage/providers/naoc/people", "admin"),
        ("/api/v1/calls?limit=200", "@manager"),
        ("/api/v1/calls/fast-2027/proposals?limit=200", "@manager"),
        ("/api/v1/calls/fast-2027/reviewer-invitations", "@manager"),
        ("/api/v1/providers/naoc/roles", "@admin"),
        ("/api/v1/providers/naoc/invitations", "@admin"),
    ]
    out = []
    for path, reader in pages:
        if args.only and args.only not in path:
            continue
        c, headers = client_for(app, reader, anon, clients, who, tok)
        c.get(path, headers=headers)  # warm
        seen.clear()
        c0, t0 = cpu(), time.perf_counter()
        r = c.get(path, headers=headers)
        row = {
            "path": path,
            "reader": reader,
            "status": r.status_code,
            "statements": len(seen),
            "bytes": len(r.content),
            "cpu_s": round(cpu() - c0, 3),
            "wall_s": round(time.perf_counter() - t0, 3),
        }
        out.append(row)
        print(json.dumps(row), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            for row in out:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
