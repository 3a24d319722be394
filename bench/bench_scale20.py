"""A site after years of calls, round 20 (scale20): before/after ratios, each read
against its named peer in the same process on the same database (the peer: the code
before scale20, put back for the reading by swapping one function), with a digest of
the answers (per-request parts blanked) to show them the same.

* ``facility_api``: ``GET /api/v1/facilities/{id}`` of the FAST facility, after
  ``--resources`` more resources offered by a call (a facility offers new resources each
  cycle); peer: each resource's commitments counted alone (``committed_amount``).
* ``staff_calendar``: a slot resource's staff calendar (page and .ics) of the tests'
  slot world after ``--under-review`` more proposals under review in its call; peer:
  the rows of every proposal under review.
* ``allocation_problem``: ``allocation.services.build_problem`` of a call of the demo;
  peer: every country read (the reference data's 250).

    U=sqlite:////tmp/w.sqlite3
    OPENCALL_DATABASE_URL=$U .venv/bin/opencall db upgrade
    OPENCALL_DATABASE_URL=$U .venv/bin/opencall demo build --cycles
    .venv/bin/python bench/bench_scale20.py --database-url $U
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' builders

from bench_crowd import login  # noqa: E402  (this folder is on sys.path when run)
from bench_scale18 import digest  # noqa: E402
from bench_scale19 import rows_read  # noqa: E402
from opencall.app import create_app  # noqa: E402
from opencall.settings import Settings  # noqa: E402


@contextmanager
def swapped(owner: Any, name: str, peer: Any) -> Iterator[None]:
    """``owner.name`` is ``peer`` meanwhile (the code before scale20)."""
    ours = getattr(owner, name)
    setattr(owner, name, peer)
    try:
        yield
    finally:
        setattr(owner, name, ours)


class Counter:
    """The statements an engine runs, and the rows of the countries table they read."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.seen: list[tuple[str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._on)

    def _on(self, _conn: Any, _cursor: Any, sql: str, params: Any, *_a: Any) -> None:
        self.seen.append((sql, params))

    def measure(self, run: Callable[[], Any], conn: Any = None) -> tuple[Any, dict[str, int]]:
        self.seen.clear()
        out = run()
        seen = list(self.seen)
        rows, country_rows = rows_read(conn, seen) if conn is not None else (0, 0)
        return out, {"statements": len(seen), "rows": rows, "country_rows": country_rows}


def line(name: str, before: dict[str, int], after: dict[str, int], same: bool) -> dict:
    row: dict[str, Any] = {"case": name, "before": before, "after": after, "same": same}
    for k, v in after.items():
        if before.get(k):
            row[f"{k}_ratio"] = round(v / before[k], 3)
    print(json.dumps(row), flush=True)
    return row


def facility_api(app: Any, n_more: int) -> dict:
    from opencall.calls import services as call_services
    from opencall.calls.models import Call
    from opencall.facilities import services as fac_services
    from opencall.facilities.models import Facility
    from opencall.facilities.queries import pools_of
    from opencall.people.models import User
    from opencall.people.services import create_api_token

    with app.state.sessions() as s:
        call = s.scalars(select(Call).where(Call.slug == "fast-2027")).one()
        fac = s.get(Facility, call.facility_id)
        assert fac is not None
        have = {p.name for p in pools_of(s, fac.id)}
        for i in range(n_more):
            name = f"Bench resource {i:04d}"
            if name in have:
                continue
            h = i % 24
            pool = fac_services.create_pool(
                s,
                fac,
                name=name,
                pool_type="lst_hours",
                amount=10,
                attributes={"lst_start_h": h, "lst_end_h": h + 1},
            )
            call_services.offer_pool(s, call, pool)
        admin = s.scalars(select(User).where(User.email == "admin@opencall.example")).one()
        tok = create_api_token(s, admin, "scale20")[1]
        s.commit()
        fid = fac.id
    from fastapi.testclient import TestClient

    c = TestClient(app, base_url="http://testserver")
    c.headers["Authorization"] = f"Bearer {tok}"
    counter = Counter(app.state.engine)
    path = f"/api/v1/facilities/{fid}"

    def read() -> Any:
        c.get(path)
        with app.state.engine.connect() as conn:
            return counter.measure(lambda: c.get(path), conn)

    def one_by_one(session: Any, pools: Any) -> dict[int, float]:
        """Each resource counted alone, as before scale20."""
        return {
            p.id: sum(count(session, [p])[p.id] for count in fac_services.COMMITMENT_COUNTERS)
            for p in pools
        }

    r_after, after = read()
    with swapped(fac_services, "committed_amounts", one_by_one):
        r_before, before = read()
    after["resources"] = before["resources"] = len(r_after.json()["resources"])
    return line("facility_api", before, after, r_after.content == r_before.content)


def login_as(app: Any, email: str) -> Any:
    """A signed-in client of a tests' account (the tests' password)."""
    from tests.web.conftest import PASSWORD

    import bench_crowd

    with swapped(bench_crowd, "PASSWORD", PASSWORD):
        return login(app, email)


def staff_calendar(app: Any, n_more: int) -> list[dict]:
    from tests import factories as F
    from tests.scale.test_site_history_round20 import more_under_review
    from tests.scheduling.conftest import build_scheduled

    from opencall.reviews import queries as rq
    from opencall.reviews.presenters import proposal_rows
    from opencall.scheduling import slot_services, slot_views

    slot_services.utcnow = lambda: F.NOW  # the slot world's clock (its conftest's)
    with app.state.sessions() as s:
        w = build_scheduled(s)
        more_under_review(s, w.call_id, n_more)
        s.commit()
    c = login_as(app, w.emails["manager"])
    counter = Counter(app.state.engine)
    rows = []
    for suffix in ("calendar", "calendar.ics"):
        path = f"/manage/calls/{w.slug}/resources/{w.pools['b']}/{suffix}"

        def read(p: str = path) -> Any:
            c.get(p)
            with app.state.engine.connect() as conn:
                return counter.measure(lambda: c.get(p), conn)

        r_after, after = read()
        with swapped(
            slot_views,
            "_staff_rows",
            lambda page, call, *_a: proposal_rows(
                page, call, rq.proposals_for_review(page.db, call)
            ),
        ):
            r_before, before = read()
        for d, r in ((after, r_after), (before, r_before)):
            d["bytes"] = len(r.content)
        rows.append(
            line(f"staff_{suffix}", before, after, digest(r_after.text) == digest(r_before.text))
        )
    return rows


def allocation_problem(app: Any, slug: str) -> dict:
    from opencall.allocation import services as al
    from opencall.calls.models import Call
    from opencall.people.models import Country

    counter = Counter(app.state.engine)
    with app.state.sessions() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        conn = s.connection()
        problem_after, after = counter.measure(lambda: al.build_problem(s, call), conn)
        s.expire_all()
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        every = lambda session, _isos: {c.iso3: c for c in session.scalars(select(Country))}  # noqa: E731
        with swapped(al, "countries_named", every):
            problem_before, before = counter.measure(lambda: al.build_problem(s, call), conn)
        s.rollback()
    return line(
        "allocation_problem", before, after, repr(problem_after[0]) == repr(problem_before[0])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--resources", type=int, default=96, help="more resources of FAST")
    parser.add_argument("--under-review", type=int, default=2000)
    parser.add_argument("--call", default="lunar-2027", help="the call whose problem is built")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    app = create_app(Settings(database_url=args.database_url))
    rows = [facility_api(app, args.resources)]
    rows += staff_calendar(app, args.under_review)
    rows.append(allocation_problem(app, args.call))
    if args.out:
        Path(args.out).write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
