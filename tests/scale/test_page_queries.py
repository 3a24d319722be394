"""No per-row query loops on any HTML list page: each page is read at two sizes of
data (3 and 24 proposals, with their assignments, ranking, decisions, awards and
schedule entries) and must cost the same number of SQL statements. A query per
row (N+1) would add statements with the rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.people.models import RoleGrant, User
from opencall.proposals.models import Proposal
from opencall.reviews.models import ReviewAssignment
from tests.scale.test_api_pages import build, count_statements, kept_builds
from tests.web.conftest import Web


def world(factory: sessionmaker[Session], n: int) -> dict[str, Any]:
    """``test_api_pages.build`` (a call in review with ``n`` proposals, all assigned,
    ranked, decided, awarded and scheduled), and who is who in it."""
    return world_of(factory, build(factory, n))


def world_of(factory: sessionmaker[Session], data: dict[str, Any]) -> dict[str, Any]:
    """:func:`world` of a call :func:`test_api_pages.build` made (``data``, its answer)."""
    with factory() as s:
        call = s.scalars(select(Call).where(Call.slug == data["slug"])).one()
        chair = s.scalar(
            select(User.email)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(RoleGrant.call_id == call.id, RoleGrant.role == "chair")
        )
        reviewer = s.scalar(
            select(User.email)
            .join(ReviewAssignment, ReviewAssignment.reviewer_id == User.id)
            .where(ReviewAssignment.call_id == call.id)
            .limit(1)
        )
        applicant = s.scalar(
            select(User.email)
            .join(Proposal, Proposal.pi_user_id == User.id)
            .where(Proposal.code == data["codes"][0])
        )
        call.status = "allocation"
        s.commit()
    return {**data, "chair": chair, "reviewer": reviewer, "applicant": applicant}


def pages(slug: str) -> list[tuple[str, str | None]]:
    """(path, who reads it): None is an anonymous visitor."""
    return [
        ("/calls", None),
        (f"/calls/{slug}", None),
        (f"/calls/{slug}/awarded", None),
        ("/dashboard", "applicant"),
        ("/review", "reviewer"),
        ("/manage", "chair"),
        (f"/manage/calls/{slug}", "chair"),
        (f"/manage/calls/{slug}/assignment", "chair"),
        (f"/manage/calls/{slug}/ranking", "chair"),
        (f"/manage/calls/{slug}/decisions", "chair"),
        (f"/manage/calls/{slug}/schedule", "chair"),
    ]


def statements(
    web: Web,
    data: dict[str, Any],
    of: Callable[[str], list[tuple[str, str | None]]] | None = None,
) -> dict[str, int]:
    """The statements each page of ``of(slug)`` (:func:`pages` by default: (path, who
    reads it, None for anyone)) runs on its second visit, by path with ``{slug}``."""
    listed = (of or pages)(data["slug"])
    clients = {who: web.login(data[who]) for who in {who for _p, who in listed if who}}
    anonymous = web.client()
    out = {}
    for path, who in listed:
        c = clients[who] if who else anonymous
        c.get(path)  # warm: caches filled on a first visit are not the page's rows
        with count_statements(web) as seen:
            r = c.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        out[path.replace(data["slug"], "{slug}")] = len(seen)
    return out


@pytest.mark.parametrize("sizes", [(3, 24)])
def test_statements_per_list_page_do_not_grow_with_the_rows(
    web: Web, factory: sessionmaker[Session], sizes: tuple[int, int]
) -> None:
    # built one after the other, not copied from tests/conftest.py's ``SmallWorlds`` as
    # the other users of these sizes are: the lists of calls (``/calls``) are read at
    # the smaller size before the larger call and its calls exist
    small = statements(web, world(factory, sizes[0]))
    big = statements(web, world(factory, sizes[1]))
    grown = {p: (small[p], big[p]) for p in small if big[p] > small[p]}
    assert not grown, grown


def test_the_technical_reviewers_list_reads_the_revisions_once(
    web: Web, factory: sessionmaker[Session], small_worlds: Any
) -> None:
    """The technical reviewer's list of a call's proposals evaluated the conflicts with
    two reads of each proposal's revision (1,384 statements for 683 proposals at the
    demo's scale 3, 4,473 at scale 10); now the same statements for 3 or 24 proposals."""
    from opencall.people import services as people_services
    from tests import factories as F

    built = kept_builds(small_worlds, factory, 3, 24)

    def statements_for(data: dict[str, Any]) -> tuple[int, int]:
        with factory() as s:
            call = s.scalars(select(Call).where(Call.slug == data["slug"])).one()
            tech = F.user(s, country="FRA", institution="Observatoire de Paris")
            people_services.grant_role(s, tech.id, "technical_reviewer", call_id=call.id)
            call.status = "review"
            s.commit()
            email = tech.email
        listed = statements(
            web, {**data, "tech": email}, lambda slug: [(f"/technical/calls/{slug}", "tech")]
        )
        c = web.login(email)
        shown = c.get(f"/technical/calls/{data['slug']}").text.count("/technical/proposals/")
        return listed["/technical/calls/{slug}"], shown

    (small, shown_small), (big, shown_big) = statements_for(built[0]), statements_for(built[1])
    assert (shown_small, shown_big) == (3 + 1, 24 + 1)  # every proposal under review
    assert small == big, (small, big)
