"""The outcomes report (seconds of computing at scale) is computed once and kept while
every row it read is unchanged: a second view computes nothing, and a change to any of
those rows (here the call's own, a team member's country, a proposal's status) shows in
the next view. Before the fix every view and download computed it again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.calls.queries import call_by_slug
from opencall.outcomes import queries as oq
from opencall.proposals.models import Proposal, TeamMember

SLUG = "fast-2027"


def _view(factory: sessionmaker[Session]) -> tuple[dict[str, Any], int]:
    with factory() as s:
        call = call_by_slug(s, SLUG)
        assert call is not None
        before = oq.REPORTS.computed
        data = oq.cached_report(s, call)
        return data, oq.REPORTS.computed - before


def _fresh(factory: sessionmaker[Session]) -> dict[str, Any]:
    with factory() as s:
        call = call_by_slug(s, SLUG)
        assert call is not None
        return oq.report(s, call)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return {**a, "generated_at": ""} == {**b, "generated_at": ""}


def _change(factory: sessionmaker[Session], edit: Callable[[Session], None]) -> None:
    with factory() as s:
        edit(s)
        s.commit()


def test_the_report_is_kept_until_a_row_it_read_changes(
    demo: Callable[..., sessionmaker[Session]],
) -> None:
    factory = demo(2, 0.05)
    oq.REPORTS.clear()
    first, computed = _view(factory)
    assert computed == 1
    again, computed = _view(factory)
    assert computed == 0 and again == first  # kept: nothing computed
    again["n_applications"] = -1  # a caller's copy: the kept report is untouched
    assert _view(factory) == (first, 0)

    def retitle(s: Session) -> None:
        call = call_by_slug(s, SLUG)
        assert call is not None
        call.title = "A new title"

    _change(factory, retitle)
    after, computed = _view(factory)
    assert computed == 1 and after["call"]["title"] == "A new title"

    def move_applicants(s: Session) -> None:
        # every team of the call moves to one country: the funnels by group change
        ids = select(Proposal.id).join(Call).where(Call.slug == SLUG)
        for m in s.scalars(select(TeamMember).where(TeamMember.proposal_id.in_(ids))):
            m.country_iso3 = "NOR"

    _change(factory, move_applicants)
    moved, computed = _view(factory)
    assert computed == 1
    assert moved["funnels"]["income_group"] != after["funnels"]["income_group"]
    assert _same(moved, _fresh(factory))
    assert _view(factory)[1] == 0
