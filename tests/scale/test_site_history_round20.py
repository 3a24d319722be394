"""A site after years of calls, round 20 (scale20): what grows with history.

* The staff calendar of a slot resource (page and iCalendar) read every proposal under
  review of the call (with its team, for the identities) to name the few booked on that
  resource: now only the proposals the resource's slots and unplaced requests name, by a
  subquery in SQL; the page and the file byte for byte the same.
* The allocation and the reviewer assignment read the 250 countries of the reference
  data on every run: now the countries the proposals (their PIs, the destinations their
  requests name) and the reviewers name.
* GET pages that wrote to the database: see ``test_a_get_walk_writes_nothing``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from opencall.proposals.models import Proposal, TeamMember
from tests import factories as F
from tests.authz.test_workspace_matrix import session_client
from tests.scale.test_paged_lists import _loaded
from tests.scheduling.conftest import SlotWorld, _schedule_clock, get_call, stored  # noqa: F401  (fixtures)
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


@contextmanager
def statements(engine: Any) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements run meanwhile (text and parameters)."""
    seen: list[tuple[str, Any]] = []

    def on(_conn: Any, _cursor: Any, sql: str, params: Any, *_a: Any) -> None:
        seen.append((sql, params))

    event.listen(engine, "before_cursor_execute", on)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on)


def same(body: bytes) -> bytes:
    """The answer without what changes from request to request (its form's token, the
    scripts' nonce)."""
    body = re.sub(rb'(csrf_token"? value=")[^"]+', rb"\1", body)
    return re.sub(rb'(nonce=")[^"]+', rb"\1", body)


def more_under_review(s: Session, call_id: int, n: int) -> None:
    """``n`` more proposals under review in the call (years of a call's history: the
    proposals that never book this resource), each with its PI on the team."""
    from opencall.calls.models import Call

    call = s.get(Call, call_id)
    assert call is not None
    for i in range(n):
        pi = F.user(s, country="KEN")
        p = Proposal(
            call_id=call.id,
            code=f"{call.slug[:3].upper()}-X{i:03d}",
            pi_user_id=pi.id,
            title=f"Elsewhere {i}",
            status="under_review",
        )
        s.add(p)
        s.flush()
        s.add(
            TeamMember(
                proposal_id=p.id,
                user_id=pi.id,
                role="pi",
                email=pi.email,
                name=pi.name,
                country_iso3="KEN",
                status="accepted",
            )
        )
    s.flush()


@pytest.fixture
def slot_world(
    factory: sessionmaker[Session], small_worlds: Any, monkeypatch: pytest.MonkeyPatch
) -> SlotWorld:
    """tests/scheduling's slot world with its schedule stored, on the factories' clock
    (as its conftest's ``stored``)."""
    from opencall.scheduling import slot_services
    from tests.scheduling.conftest import build_scheduled

    monkeypatch.setattr(slot_services, "utcnow", lambda: F.NOW)
    return small_worlds.get("scheduling-slots-stored", factory, build_scheduled)  # type: ignore[no-any-return]


def test_the_staff_calendar_reads_only_the_proposals_of_its_resource(
    web: Web, slot_world: SlotWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thirty more proposals under review (none on the resource): the staff calendar's
    page and file read the two proposals booked on it, not the call's 32; and both are
    byte for byte what the whole list gave."""
    from opencall.reviews import queries as rq
    from opencall.reviews.presenters import proposal_rows
    from opencall.scheduling import slot_views
    from opencall.scheduling.models import ScheduleEntry

    sw = slot_world
    with web.factory() as s:
        more_under_review(s, sw.call_id, 30)
        s.commit()
        call = get_call(s, sw)
        on_pool = set(
            s.scalars(
                select(ScheduleEntry.proposal_id).where(ScheduleEntry.pool_id == sw.pools["b"])
            )
        )
        assert 1 <= len(on_pool) <= 2 and len(rq.proposals_for_review(s, call)) >= 32
    base = f"/manage/calls/{sw.slug}/resources/{sw.pools['b']}"
    bodies: dict[tuple[str, str], bytes] = {}
    for who in ("manager", "chair"):
        c, _ = session_client(web, sw.emails[who])
        for path in (f"{base}/calendar", f"{base}/calendar.ics"):
            c.get(path)  # warm
            with _loaded(Proposal, TeamMember) as n:
                r = c.get(path)
            assert r.status_code == 200, (who, path, r.text[:300])
            bodies[(who, path)] = same(r.content)
            assert n["Proposal"] <= len(on_pool), (who, path, n)
            assert n["TeamMember"] <= 2 * len(on_pool), (who, path, n)
    # the rows as the whole list of the call's proposals under review named them
    monkeypatch.setattr(
        slot_views,
        "_staff_rows",
        lambda page, call, *_a: proposal_rows(page, call, rq.proposals_for_review(page.db, call)),
    )
    for (who, path), body in bodies.items():
        c, _ = session_client(web, sw.emails[who])
        assert same(c.get(path).content) == body, (who, path)


def country_reads(s: Session) -> Any:
    """A context: the rows each statement reads from the countries table meanwhile (run
    again on the session's connection, its own transaction's rows included)."""

    @contextmanager
    def reading() -> Iterator[list[int]]:
        seen: list[tuple[str, Any]] = []

        def on(_conn: Any, _cursor: Any, sql: str, params: Any, *_a: Any) -> None:
            if "FROM countries" in sql:
                seen.append((sql, params))

        engine = s.get_bind()
        event.listen(engine, "before_cursor_execute", on)
        rows: list[int] = []
        try:
            yield rows
        finally:
            event.remove(engine, "before_cursor_execute", on)
        conn = s.connection()
        rows += [len(conn.exec_driver_sql(sql, params).fetchall()) for sql, params in seen]

    return reading()


@pytest.fixture
def small_world(demo: Any) -> Iterator[Session]:
    import datetime as dt

    with demo(2, 0.12, dt.date(2026, 11, 29))() as s:
        yield s
        s.rollback()


def test_the_runs_read_only_the_countries_their_proposals_and_reviewers_name(
    small_world: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reviewer assignment and the allocation (with shares by nationality and a cap
    per income group: every reading of a PI's country) read the few countries named, not
    the 250; the decisions and their explanations are the same as with all of them."""
    from sqlalchemy import func

    from opencall.allocation import services as al
    from opencall.allocation.models import Decision
    from opencall.calls.schemas import allocation_policy
    from opencall.people.models import Country, User
    from tests.allocation.test_policy_services import _to_allocation

    s = small_world
    assert (s.scalar(select(func.count()).select_from(Country)) or 0) > 200
    with country_reads(s) as assignment_rows:
        call = _to_allocation(s, "lunar-2027")
    named = set(s.scalars(select(User.country_iso3).where(User.country_iso3.is_not(None))))
    assert assignment_rows and max(assignment_rows) <= len(named) < 200, assignment_rows
    call.allocation_policy = allocation_policy(
        {
            **call.allocation_policy,
            "group_shares": [{"group": "low_lmic", "min_share": 0.2}],
            "group_caps": [{"per": "income_group", "max_awards": 3}],
        }
    ).model_dump(mode="json")
    s.flush()

    def decided() -> list[tuple[int, str, str]]:
        return [
            (d.proposal_id, d.outcome, d.explanation)
            for d in s.scalars(
                select(Decision).where(Decision.call_id == call.id).order_by(Decision.proposal_id)
            )
        ]

    with country_reads(s) as rows:
        al.run_allocation(s, call, seed=0)
    pis = {
        iso
        for p in s.scalars(select(Proposal).where(Proposal.call_id == call.id))
        if p.pi_member and (iso := p.pi_member.country_iso3)
    }
    assert rows and max(rows) <= len(pis) + 1 < 20, (rows, pis)
    ours = decided()
    assert ours
    # every country read, as before: the same decisions and words
    monkeypatch.setattr(
        al,
        "countries_named",
        lambda session, _isos: {c.iso3: c for c in session.scalars(select(Country))},
    )
    al.run_allocation(s, call, seed=0)
    assert decided() == ours


#: the writes a GET may make, each a product need (docs/architecture.md, "GETs that
#: write"): a public page's release kept when first shown (audited with the next), and an
#: API token's last use (at most once in five minutes)
KEPT_GET_WRITES = {
    ("/calls/S/after-award", "INSERT public_releases"),
    ("/calls/S/after-award?format=", "INSERT public_releases"),
    ("/calls/S/figures", "INSERT public_releases"),
    ("/api/vN/me", "UPDATE api_tokens"),
}


def test_a_get_walk_writes_nothing_but_what_the_product_keeps(
    web: Web, factory: sessionmaker[Session], small_worlds: Any
) -> None:
    """Every GET route of the site (the pages and the API, from its OpenAPI document)
    and the pages their links lead to, read twice by each reader: the second reading
    writes nothing, the first only :data:`KEPT_GET_WRITES` (and the walk sees those: a
    walk that saw no write could not tell)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from get_walk import route_paths, shape, values, walk, with_token
    from tests.scale.test_api_pages import kept_builds
    from tests.scale.test_results_page_queries import published_of

    data = published_of(factory, kept_builds(small_worlds, factory, 6)[0])
    with factory() as s:
        known = values(s)
    known["slug"] = [data["slug"]]
    starts = ["/", "/calls", "/me", "/manage", "/review", *route_paths(web.app, known)]
    found: list[dict[str, Any]] = []
    for who in (None, "chair", "office"):
        c = web.client() if who is None else web.login(data[who])
        if who is not None:
            with factory() as s:
                with_token(s, c, data[who])
        found += walk(web.app, c, starts, 300, 1)
    walked = sum(f["walked"] for f in found if "walked" in f)
    assert walked > 300, walked
    writes = [f for f in found if "writes" in f]
    assert not [f for f in writes if f["reading"] == 2], writes
    got = {(shape(f["path"]), w) for f in writes for w in f["writes"]}
    assert got <= KEPT_GET_WRITES, got - KEPT_GET_WRITES
    assert ("/api/vN/me", "UPDATE api_tokens") in got and (
        "/calls/S/after-award",
        "INSERT public_releases",
    ) in got, got


def test_a_facility_in_the_api_reads_its_resources_commitments_at_once(
    web: Web, factory: sessionmaker[Session]
) -> None:
    """``GET /api/v1/facilities/{id}`` counted what calls hold of each resource with two
    statements a resource (the calls offering it, their awards): a facility that offers
    new resources each cycle (the demo's FAST: 24 a cycle) read more each year. Now the
    same statements for 24 resources as for 72, and each resource's ``committed`` what
    the one-resource count (``services.committed_amount``) gives."""
    import datetime as dt

    from opencall.allocation.models import Award
    from opencall.facilities import services as fac_services
    from opencall.facilities.models import CapacityPool
    from opencall.people import services as people_services
    from opencall.people.services import create_api_token

    with factory() as s:
        call = F.fast_call(s)
        # released: it holds what it awarded of each resource (1 to 24 hours)
        prop = F.full_proposal(s, call)
        call.decisions_released_at = F.NOW
        s.add_all(
            Award(
                call_id=call.id,
                proposal_id=prop.id,
                request_id=prop.requests[0].id,
                pool_id=cp.pool_id,
                amount=float(h + 1),
            )
            for h, cp in enumerate(call.pools)
        )
        fac = call.facility
        manager = F.user(s)
        people_services.grant_role(s, manager.id, "provider_admin", provider_id=fac.provider_id)
        tok = create_api_token(s, manager, "scale20")[1]
        s.commit()
        fid = fac.id
    c = web.client()
    c.headers["Authorization"] = f"Bearer {tok}"

    def read() -> tuple[int, dict[str, Any]]:
        c.get(f"/api/v1/facilities/{fid}")
        with statements(web.app.state.engine) as seen:
            r = c.get(f"/api/v1/facilities/{fid}")
        assert r.status_code == 200, r.text[:300]
        return len(seen), r.json()

    n24, _ = read()
    with factory() as s:  # two more cycles' resources, offered (the call's, for brevity)
        from opencall.calls import services as call_services

        fac = s.get(type(call.facility), fid)
        for cycle in (2, 3):
            held = call_services.create_call(  # not released: it holds its whole offer
                s,
                fac,
                {
                    "slug": f"fast-{fid}-{cycle}",
                    "code": f"F{fid}C{cycle}",
                    "title": "FAST open time",
                    "cycle": str(2026 + cycle),
                    "opens_at": F.NOW,
                    "closes_at": F.NOW + dt.timedelta(days=30),
                    "form": {"receivers": F.RECEIVERS, "modes": F.MODES},
                },
            )
            for h in range(24):
                pool = fac_services.create_pool(
                    s,
                    fac,
                    name=f"LST {h:02d} ({cycle})",
                    pool_type="lst_hours",
                    amount=75,
                    attributes={"lst_start_h": h, "lst_end_h": h + 1},
                )
                call_services.offer_pool(s, held, pool)
        s.commit()
    n72, body = read()
    assert len(body["resources"]) == 72
    assert n72 == n24, (n24, n72)
    with factory() as s:
        expected = {
            p.id: fac_services.committed_amount(s, p)
            for p in s.scalars(select(CapacityPool).where(CapacityPool.facility_id == fid))
        }
    assert {r["id"]: r["committed"] for r in body["resources"]} == expected
    assert sum(1 for v in expected.values() if v) >= 72, expected
