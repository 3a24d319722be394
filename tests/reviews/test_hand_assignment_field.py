"""The assignment page's hand-assignment form names the reviewer in a field (e-mail or
full name) checked by the server instead of offering the whole reviewer pool: the page
does not grow with the pool, offers no reviewer at all (so never a conflicted one), and
the server refuses an unknown or conflicted reviewer with a clear message, changing
nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from opencall.people import services as people_services
from opencall.reviews.models import ReviewAssignment
from tests import factories as F
from tests.review_cycle import Cycle, Web, csrf


def _page(chair: object, cycle: Cycle) -> str:
    r = chair.get(f"/manage/calls/{cycle.slug}/assignment")  # type: ignore[attr-defined]
    assert r.status_code == 200
    return str(r.text)


def _count(web: Web) -> int:
    with web.factory() as s:
        return int(s.scalar(select(func.count(ReviewAssignment.id))) or 0)


def test_the_page_does_not_grow_with_the_reviewer_pool(web: Web, cycle: Cycle) -> None:
    chair = web.login(cycle.emails["chair"])
    before = len(_page(chair, cycle).encode())
    with web.factory() as s:
        for i in range(200):
            u = F.user(s, name=f"Pool Reviewer {i:03d}", email=f"pool{i}@panel.example")
            people_services.grant_role(s, u.id, "reviewer", call_id=cycle.ids["call"])
        s.commit()
    html = _page(chair, cycle)
    assert "Pool Reviewer" not in html
    assert len(html.encode()) - before < 512, (before, len(html.encode()))
    # no reviewer is offered, the conflicted one included
    options = " ".join(re.findall(r"<option[^>]*>[^<]*</option>", html))
    assert "Conflicted Person" not in options and "Unassigned Person" not in options


def _add(web: Web, cycle: Cycle, reviewer: str) -> object:
    chair = web.login(cycle.emails["chair"])
    return chair.post(
        f"/manage/calls/{cycle.slug}/assignment/add",
        data={
            "csrf_token": csrf(chair, "/review"),
            "proposal_id": str(cycle.ids["proposal"]),
            "reviewer": reviewer,
        },
        follow_redirects=False,
    )


def test_the_reviewer_field_is_checked_by_the_server(web: Web, cycle: Cycle) -> None:
    n = _count(web)
    r = _add(web, cycle, "nobody@nowhere.example")
    assert r.status_code == 400  # type: ignore[attr-defined]
    assert "No reviewer of this call" in r.text  # type: ignore[attr-defined]
    assert "nobody@nowhere.example" in r.text  # type: ignore[attr-defined]
    # an account that is not a reviewer of the call reads the same (nothing told about it)
    r = _add(web, cycle, cycle.emails["manager"])
    assert r.status_code == 400 and "No reviewer of this call" in r.text  # type: ignore[attr-defined]
    r = _add(web, cycle, cycle.emails["conflicted"].upper())
    assert r.status_code == 400 and "conflicted" in r.text  # type: ignore[attr-defined]
    assert _count(web) == n  # nothing changed
    r = _add(web, cycle, "  unassigned person ")  # the full name, as the tables show it
    assert r.status_code == 303, r.text  # type: ignore[attr-defined]
    with web.factory() as s:
        assert s.scalar(
            select(ReviewAssignment.id).where(
                ReviewAssignment.proposal_id == cycle.ids["proposal"],
                ReviewAssignment.reviewer_id == cycle.ids["reviewer"],
            )
        )
