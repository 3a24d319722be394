"""Keyset pagination of the JSON API, and statement counts that do not grow
with the rows: each list is read at two sizes of data and the number of SQL
statements per request must be the same."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from opencall.allocation.models import Award, Decision
from opencall.people import services as people_services
from opencall.proposals import services as prop_services
from opencall.reviews.models import Conflict, RankedProposal, ReviewAssignment, SolverRun
from opencall.scheduling.models import ScheduleEntry
from tests import factories as F
from tests.conftest import RUN_ONCE
from tests.web.conftest import Web

PAGE = 7  # rows per page in these tests; both sizes span several pages


@contextmanager
def count_statements(web: Web) -> Iterator[list[str]]:
    seen: list[str] = []

    def before(_conn: Any, _cur: Any, statement: str, *_a: Any) -> None:
        seen.append(statement)

    engine = web.app.state.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def build(factory: sessionmaker[Session], n: int) -> dict[str, Any]:
    """A call in review with ``n`` reviewable proposals (half from one applicant,
    half from applicants in several countries), each assigned to the same reviewer, ranked, decided and
    awarded; one more proposal is conflicted for the reviewer and one is a draft."""
    with factory() as s:
        call = F.fast_call(s, requires_pdf=False)
        # more calls for the lists of calls. Two resources each, not FAST's 24: these
        # lists guard a query SHAPE (statements that do not grow with the calls, nor with
        # the resources they offer: 2 x (n // 3) of them), and offering 24 resources was
        # most of this build's CPU (each offer checks the policy against every offer)
        for _ in range(n // 3):
            F.fast_call(s, pools=2)
        chair = F.user(s)
        people_services.grant_role(s, chair.id, "chair", call_id=call.id)
        reviewer = F.user(s)
        office = F.user(s)
        people_services.grant_role(s, office.id, "call_manager", provider_id=call.provider_id)
        applicant = F.user(s, country="NPL")
        countries = ["IND", "BRA", "KEN", "CHN", "PER", "FRA"]
        props = []
        for i in range(n + 2):
            # one applicant leads every other proposal; the rest come from many countries
            pi = applicant if i % 2 == 0 else F.user(s, country=countries[i % len(countries)])
            p = F.full_proposal(s, call, pi)
            if i < n + 1:
                prop_services.submit(s, p, now=F.NOW)
                p.status = "under_review"
            props.append(p)
        s.flush()
        run = SolverRun(
            call_id=call.id, kind="calibration", inputs_hash="x", version="t", status="ok"
        )
        s.add(run)
        s.flush()
        pool_id = call.pools[0].pool_id
        for i, p in enumerate(props[: n + 1]):
            s.add(
                ReviewAssignment(
                    call_id=call.id, proposal_id=p.id, reviewer_id=reviewer.id, status="assigned"
                )
            )
            s.add(
                RankedProposal(
                    call_id=call.id,
                    run_id=run.id,
                    proposal_id=p.id,
                    score=1.0 * i,
                    score_lo=0.0,
                    score_hi=2.0 * i,
                    rank=i + 1,
                    rank_lo=i + 1,
                    rank_hi=i + 1,
                )
            )
            s.add(Decision(call_id=call.id, proposal_id=p.id, outcome="accepted", priority="A"))
            start = None if i % 5 == 4 else F.NOW + dt.timedelta(hours=(7 * i) % (n + 1))
            s.add(ScheduleEntry(call_id=call.id, proposal_id=p.id, kind="block", start=start))
            s.add(
                Award(
                    call_id=call.id,
                    proposal_id=p.id,
                    request_id=p.requests[0].id,
                    pool_id=pool_id,
                    amount=1.0,
                )
            )
        s.add(
            Conflict(
                call_id=call.id,
                proposal_id=props[n].id,
                reviewer_id=reviewer.id,
                source="declared",
            )
        )
        call.status = "review"
        tokens = {}
        people = (("chair", chair), ("reviewer", reviewer), ("applicant", applicant))
        for who, user in (*people, ("office", office)):
            _t, raw = people_services.create_api_token(s, user, "paging")
            tokens[who] = raw
        s.commit()
        return {"slug": call.slug, "tokens": tokens, "codes": [p.code for p in props]}


def kept_builds(small_worlds: Any, factory: sessionmaker[Session], *sizes: int) -> list[Any]:
    """:func:`build` for each of ``sizes``, one after the other in one database: built
    once per test process and backend, then copied into each later test's empty database
    (tests/conftest.py's ``SmallWorlds``). Several tests read the same sizes, each only
    adding its own few rows to its copy."""
    key = "scale-build-" + "-".join(str(n) for n in sizes)
    return small_worlds.get(key, factory, lambda _s: [build(factory, n) for n in sizes])


def with_technical_reviewer(s: Session, slug: str, source: str) -> tuple[Any, Any, list[int]]:
    """The call ``slug`` of :func:`build` in review with a technical reviewer, who has a
    conflict (``source``) with its second reviewable proposal and a verdict on its last:
    the call, the reviewer, and the reviewable proposals' ids in order."""
    from sqlalchemy import select

    from opencall.calls.models import Call
    from opencall.proposals.models import Proposal
    from opencall.reviews import queries as rq
    from opencall.reviews.models import TechnicalReview

    call = s.scalars(select(Call).where(Call.slug == slug)).one()
    tech = F.user(s, country="FRA", institution="Observatoire de Paris")
    people_services.grant_role(s, tech.id, "technical_reviewer", call_id=call.id)
    call.status = "review"
    ids = list(
        s.scalars(
            select(Proposal.id)
            .where(Proposal.call_id == call.id, Proposal.status.in_(rq.REVIEWABLE))
            .order_by(Proposal.id)
        )
    )
    s.add(Conflict(call_id=call.id, proposal_id=ids[1], reviewer_id=tech.id, source=source))
    s.add(TechnicalReview(proposal_id=ids[-1], reviewer_id=tech.id, verdict="feasible"))
    return call, tech, ids


def lists(slug: str) -> list[tuple[str, str]]:
    return [
        ("/api/v1/calls", "chair"),
        ("/api/v1/proposals", "applicant"),
        ("/api/v1/assignments", "reviewer"),
        (f"/api/v1/calls/{slug}/proposals", "chair"),
        (f"/api/v1/calls/{slug}/assignments", "chair"),
        (f"/api/v1/calls/{slug}/ranking", "chair"),
        (f"/api/v1/calls/{slug}/decisions", "chair"),
        (f"/api/v1/calls/{slug}/awards", "chair"),
        (f"/api/v1/calls/{slug}/schedule", "chair"),
        (f"/api/v1/calls/{slug}/postaward", "office"),
        (f"/api/v1/calls/{slug}/node/awards", "office"),
    ]


def walk(web: Web, path: str, token: str) -> tuple[list[dict[str, Any]], list[int]]:
    """Every page of a list by cursor; the items and the statements per page."""
    c = web.client()
    items: list[dict[str, Any]] = []
    counts = []
    cursor = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": PAGE}
        if cursor:
            params["cursor"] = cursor
        with count_statements(web) as seen:
            r = c.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, (path, r.text[:500])
        counts.append(len(seen))
        body = r.json()
        items += body["items"]
        assert len(body["items"]) <= PAGE
        cursor = body["page"]["next_cursor"]
        if cursor is None:
            assert len(items) == body["page"]["total"], path
            return items, counts
    raise AssertionError("the cursor never ended")


def test_cursor_pages_cover_each_list_once_in_order(
    web: Web, factory: sessionmaker[Session], small_worlds: Any
) -> None:
    # the larger call of tests/scale/test_paged_lists.py's (6, 18) build (the smaller one
    # is another call, of other people: none of these lists shows it but the calls')
    n = 18
    data = kept_builds(small_worlds, factory, 6, n)[1]
    codes = data["codes"]
    reviewable = codes[: n + 1]
    for path, who in lists(data["slug"]):
        items, _counts = walk(web, path, data["tokens"][who])
        # the same rows, in the same order, as one big offset page
        r = web.client().get(
            path, params={"limit": 200}, headers={"Authorization": f"Bearer {data['tokens'][who]}"}
        )
        assert items == r.json()["items"], path
        if "ranking" in path:
            assert [i["rank"] for i in items] == list(range(1, n + 2))
        if path.endswith("/postaward"):  # every awarded proposal (the draft has none), by code
            assert [i["proposal_code"] for i in items] == sorted(reviewable), path
        if path.endswith(("/proposals", "/ranking", "/decisions", "/awards")) and "calls/" in path:
            got = [i.get("proposal_code") or i.get("code") for i in items]
            assert got == reviewable, path  # the draft is not listed
        if path.endswith("/schedule"):  # by start, unplaced entries last
            starts = [i["start"] for i in items]
            placed = [x for x in starts if x is not None]
            assert len(items) == n + 1 and placed == sorted(placed)
            assert starts == placed + [None] * (len(starts) - len(placed))
        if path == "/api/v1/assignments":
            assert len(items) == n  # the conflicted one is not listed
    # offset still works, in SQL
    path = f"/api/v1/calls/{data['slug']}/proposals"
    r = web.client().get(
        path,
        params={"limit": 5, "offset": 10},
        headers={"Authorization": f"Bearer {data['tokens']['chair']}"},
    )
    assert [i["code"] for i in r.json()["items"]] == reviewable[10:15]


@pytest.mark.parametrize(
    "cursor",
    [
        "nope",
        "W10",
        "WzEsMl0",
        "eyJ0IjogMX0",
        "W3siZCI6MX1d",
        "WzEwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDBd",
        "Wy0xLjVd",
        "W3RydWVd",
        "WyI3Il0",
        "W3sidCI6ICIyMDI2LTAxLTAxVDAwOjAwOjAwIn1d",
    ],
)
def test_bad_cursors_are_refused(
    web: Web, factory: sessionmaker[Session], small_worlds: Any, cursor: str
) -> None:
    # the same small call for each cursor: built once, then copied (tests/conftest.py's
    # SmallWorlds) into each test's empty database
    data = small_worlds.get("api-pages-2", factory, lambda _s: build(factory, 2))
    r = web.client().get(
        f"/api/v1/calls/{data['slug']}/proposals",
        params={"cursor": cursor},
        headers={"Authorization": f"Bearer {data['tokens']['chair']}"},
    )
    assert r.status_code == 400 and r.json() == {"detail": "invalid cursor"}
    # a time without a zone, or a bad one, on a list keyed by (updated_at, id)
    for bad in ("W3sidCI6ICIyMDI2LTAxLTAxVDAwOjAwOjAwIn0sIDFd", "W3sidCI6ICJ5ZXN0ZXJkYXkifSwgMV0"):
        r = web.client().get(
            "/api/v1/proposals",
            params={"cursor": bad},
            headers={"Authorization": f"Bearer {data['tokens']['applicant']}"},
        )
        assert r.status_code == 400 and r.json() == {"detail": "invalid cursor"}


def test_statements_per_page_do_not_grow_with_the_rows(
    web: Web, factory: sessionmaker[Session], small_worlds: Any
) -> None:
    """Each list read at two sizes (3 and 24 rows): a full first page at the larger
    size costs no more statements than at the smaller size. A per-row query
    (N+1) would add statements per row on the page."""
    small, big = kept_builds(small_worlds, factory, 3, 24)
    for (path_s, who), (path_b, _who) in zip(lists(small["slug"]), lists(big["slug"]), strict=True):
        _i, counts_s = walk(web, path_s, small["tokens"][who])
        _i, counts_b = walk(web, path_b, big["tokens"][who])
        assert len(counts_b) > 1  # the big list spans several pages
        assert max(counts_b) <= max(counts_s), (path_b, counts_s, counts_b)


@RUN_ONCE
def test_openapi_documents_the_cursor(web: Web) -> None:
    spec = web.client().get("/api/v1/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"]["/api/v1/calls"]["get"]["parameters"]}
    assert "keyset" in params["cursor"]["description"]
    page = spec["components"]["schemas"]["Pagination"]["properties"]
    assert "next_cursor" in page and "cursor" in page["next_cursor"]["description"]
