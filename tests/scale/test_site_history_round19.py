"""A site after years of calls, round 19: what the API's list of calls and the
after-award pages read. ``GET /api/v1/calls`` wrote every resource of every call (24
for FAST, 190 KiB for a page of 50 calls) for a client that only wants the calls'
names and dates: ``?fields=`` now answers the fields asked, and a list without
``pools`` or ``providers`` loads no resource. The after-award pages (and the office's
report) read the 250 countries of the reference data on every request, also when kept
(the cache re-runs the statements it recorded to check them): now the countries named."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call, CallPool
from opencall.facilities.models import CapacityPool
from opencall.proposals.models import Proposal
from tests import factories as F
from tests.scale.test_api_pages import kept_builds
from tests.scale.test_paged_lists import _loaded
from tests.scale.test_results_page_queries import published_of
from tests.web.conftest import Web

MODELS = (Call, CallPool, CapacityPool)


def calls_of(factory: sessionmaker[Session], n: int) -> list[str]:
    with factory() as s:
        slugs = [F.fast_call(s).slug for _ in range(n)]
        s.commit()
    return slugs


def api_read(web: Web, path: str) -> tuple[Any, dict[str, int]]:
    c = web.client()
    c.get(path)  # warm
    with _loaded(*MODELS) as n:
        r = c.get(path)
    return r, n


def test_the_api_list_of_calls_answers_the_fields_asked_without_resources(
    web: Web, factory: sessionmaker[Session]
) -> None:
    slugs = calls_of(factory, 3)
    full, n_full = api_read(web, "/api/v1/calls")
    assert full.status_code == 200
    items = full.json()["items"]
    assert [i["slug"] for i in items] == slugs
    assert all(len(i["pools"]) == 24 for i in items)  # unchanged without ?fields=
    assert n_full["CallPool"] == 72, n_full
    r, n = api_read(web, "/api/v1/calls?fields=slug,title,status,closes_at")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["page"] == full.json()["page"]
    assert body["items"] == [
        {k: i[k] for k in ("slug", "title", "status", "closes_at")} for i in items
    ]
    assert n["CallPool"] == 0 and n["CapacityPool"] == 0, n
    # the resources when asked, as the whole answer has them
    r, n = api_read(web, "/api/v1/calls?fields=slug,pools,providers")
    assert r.json()["items"] == [{k: i[k] for k in ("slug", "pools", "providers")} for i in items]
    assert n["CallPool"] == 72, n
    # one call: the same parameter
    r, n = api_read(web, f"/api/v1/calls/{slugs[0]}?fields=slug, facility ,closes_local")
    assert r.json() == {k: items[0][k] for k in ("slug", "facility", "closes_local")}
    assert n["CallPool"] == 0, n


@pytest.mark.parametrize(
    "fields, named",
    [("slug,secret_notes", "secret_notes"), ("", "at least one"), (",,", "at least one")],
)
def test_a_field_the_api_does_not_know_is_a_clear_400(
    web: Web, factory: sessionmaker[Session], fields: str, named: str
) -> None:
    slug = calls_of(factory, 1)[0]
    for path in ("/api/v1/calls", f"/api/v1/calls/{slug}"):
        r = web.client().get(path, params={"fields": fields})
        assert r.status_code == 400, (path, r.text)
        detail = r.json()["detail"]
        assert detail.startswith("fields: ") and named in detail, detail


def country_rows(web: Web, c: Any, path: str) -> tuple[list[int], set[str]]:
    """The rows each statement of a request reads from the countries table (run again),
    and the countries in them."""
    engine = web.app.state.engine
    seen: list[tuple[str, Any]] = []

    def on(_conn: Any, _cursor: Any, sql: str, params: Any, *_a: Any) -> None:
        if "countries" in sql and "FROM countries" in sql:
            seen.append((sql, params))

    event.listen(engine, "before_cursor_execute", on)
    try:
        r = c.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", on)
    assert r.status_code == 200, (path, r.text[:300])
    rows: list[int] = []
    isos: set[str] = set()
    with engine.connect() as conn:
        for sql, params in seen:
            got = conn.exec_driver_sql(sql, params).mappings().all()
            rows.append(len(got))
            isos |= {str(g["iso3"]) for g in got if "iso3" in g}
    return rows, isos


def test_the_after_award_pages_read_only_the_countries_they_name(
    web: Web, factory: sessionmaker[Session], small_worlds: Any
) -> None:
    """The public after-award page and the office's report, computed and then kept
    (the cache's check re-runs the statements): the countries of the call's applicants
    and its host, not the reference data's 250, on every request."""
    from sqlalchemy import func, select

    from opencall.people.models import Country

    data = published_of(factory, kept_builds(small_worlds, factory, 6)[0])
    slug = data["slug"]
    with factory() as s:
        assert (s.scalar(select(func.count()).select_from(Country)) or 0) > 200
    pages = [
        (f"/calls/{slug}/after-award", None),
        (f"/calls/{slug}/after-award?format=csv", None),
        (f"/manage/calls/{slug}/report", "office"),
        (f"/manage/calls/{slug}/report.json", "office"),
    ]
    for path, who in pages:
        c = web.login(data[who]) if who else web.client()
        for _ in range(2):  # computed, then kept
            rows, isos = country_rows(web, c, path)
            # the world's applicants come from a few countries; the reference has 250
            assert rows and max(rows) <= len(isos) <= 12, (path, rows, len(isos))


def test_the_office_exports_read_no_whole_proposal(
    web: Web, factory: sessionmaker[Session], small_worlds: Any
) -> None:
    """The CSV downloads of a call's assignments, decisions and schedule name each row's
    proposal by code (and title): they loaded every proposal under review with its team,
    requests and attachments (a conference's 20,000 proposals: some 100,000 rows a
    download), and the assignment export every reviewer of the panel. The codes and
    titles are read as columns now, the rows the same."""
    import csv
    import io

    from sqlalchemy import select

    from opencall.people.models import User
    from opencall.proposals.models import Attachment, Request, TeamMember
    from opencall.reviews.models import ReviewAssignment

    data = published_of(factory, kept_builds(small_worlds, factory, 6)[0])
    slug = data["slug"]
    with factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        expected = [
            [code, title, name]
            for code, title, name in s.execute(
                select(Proposal.code, Proposal.title, User.name)
                .join(ReviewAssignment, ReviewAssignment.proposal_id == Proposal.id)
                .join(User, User.id == ReviewAssignment.reviewer_id)
                .where(
                    ReviewAssignment.call_id == call.id,
                    ReviewAssignment.status.in_(("assigned", "accepted", "submitted")),
                )
                .order_by(ReviewAssignment.id)
            )
        ]
    assert len(expected) >= 6
    chair = web.login(data["chair"])
    for path, n_min in (
        (f"/manage/calls/{slug}/assignment?format=csv", len(expected)),
        (f"/manage/calls/{slug}/decisions?format=csv", 6),
        (f"/manage/calls/{slug}/schedule?format=csv", 6),
    ):
        chair.get(path)
        with _loaded(Proposal, TeamMember, Request, Attachment, User) as n:
            r = chair.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))[1:]
        assert len(rows) >= n_min, (path, len(rows))
        assert all(row[0].startswith("F") for row in rows), rows[:3]
        # the reader's own account is all the users loaded
        assert n["Proposal"] == n["TeamMember"] == n["Request"] == n["Attachment"] == 0, (
            path,
            n,
        )
        assert n["User"] <= 1, (path, n)
        if "assignment" in path:
            assert [row[:3] for row in rows] == expected


def test_the_ranking_page_is_paged(
    web: Web, factory: sessionmaker[Session], small_worlds: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chair's ranking page showed every ranked proposal on one page, each read whole
    with its team (a conference's 20,000: the page and its reads grow with the call);
    ``PER_PAGE`` a page now, in rank order, the download keeping every row."""
    import re

    from opencall.reviews.models import RankedProposal
    from opencall.reviews.views import chair_ranking
    from tests.scale.test_page_queries import world_of

    monkeypatch.setattr(chair_ranking, "PER_PAGE", 4, raising=False)
    data = world_of(factory, kept_builds(small_worlds, factory, 10)[0])
    slug = data["slug"]
    chair = web.login(data["chair"])
    whole = chair.get(f"/manage/calls/{slug}/ranking?format=csv").text.splitlines()[1:]
    codes = [line.split(",")[3] for line in whole]
    assert len(codes) >= 9, codes
    shown: list[str] = []
    page = 1
    while True:
        chair.get(f"/manage/calls/{slug}/ranking?page={page}")
        with _loaded(Proposal, RankedProposal) as n:
            r = chair.get(f"/manage/calls/{slug}/ranking?page={page}")
        assert r.status_code == 200
        on_page = re.findall(r"<td>(F\d+-\d+|[A-Z0-9-]+) — ", r.text)
        assert 0 < len(on_page) <= 4, (page, on_page)
        assert n["Proposal"] <= 4 and n["RankedProposal"] <= 4, (page, n)
        shown += on_page
        if 'rel="next"' not in r.text:
            break
        page += 1
    assert shown == codes
    assert f"of {len(codes)}" in r.text


def test_the_cockpit_counts_the_scans_not_run_without_reading_their_proposals(
    web: Web, factory: sessionmaker[Session], tmp_path: Any
) -> None:
    """A dual-anonymous call whose anonymity scans have not run (the worker behind after a
    deadline's thousands of submissions, or a call imported in bulk): the cockpit read
    every such proposal whole with its team, requests and files, and keyed each, to count
    its pending scans (18,041 proposals, 105,854 rows and 4.9 s of CPU a visit at the
    demo's scale 80). A proposal with no scan but queued or superseded ones has one scan
    pending for its text and one for each file: counted in the database now, the same
    number; the findings still listed."""
    from sqlalchemy import delete, select

    from opencall.people import services as people_services
    from opencall.proposals.models import AnonymityScan
    from opencall.reviews import queries as rq
    from tests.scale.test_cockpit_anonymity import dual_world, shown

    with factory() as s:
        call, props = dual_world(s, 14, tmp_path)
        # the last nine never scanned (their scans deleted), the ninth with one still queued
        s.execute(
            delete(AnonymityScan).where(AnonymityScan.proposal_id.in_([p.id for p in props[5:]]))
        )
        from opencall.proposals.services import request_anonymity_scans

        request_anonymity_scans(s, props[8])
        s.flush()
        expected = sum(
            pending for _f, pending, _x in shown(s, rq.proposals_for_review(s, call)).values()
        )
        assert expected >= 11
        chair = F.user(s)
        people_services.grant_role(s, chair.id, "chair", call_id=call.id)
        s.commit()
        slug, email, code = call.slug, chair.email, props[0].code
        assert (
            s.scalar(select(AnonymityScan.id).where(AnonymityScan.proposal_id == props[9].id))
            is None
        )
    c = web.login(email)
    c.get(f"/manage/calls/{slug}")  # warm
    with _loaded(Proposal) as loaded:
        r = c.get(f"/manage/calls/{slug}")
    assert r.status_code == 200
    assert f"{code}:" in r.text  # its finding is listed
    assert f"The anonymity check of {expected} texts or files is still running" in r.text
    # the finding's, the stale finding's and the failed or pending one's: not the unscanned
    assert loaded["Proposal"] <= 4, loaded
