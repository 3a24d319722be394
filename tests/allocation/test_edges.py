"""Edge cases of a real call's allocation step: what a chair may no longer re-run."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation import services as al
from opencall.allocation.models import Award, Decision
from opencall.calls.models import Call
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.proposals import services as ps
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from tests import factories as F
from tests.kept_builds import call_id, kept, load_call


@kept(call_id, load_call)
def ranked_call(s: Session, *, n_proposals: int = 3, n_reviewers: int = 3) -> Call:
    """A FAST call in allocation: reviewed (every grade 3 or 4), calibrated, frozen (built
    once per argument set and test process, then copied: ``tests.kept_builds``)."""
    call, _proposals, reviewers = F.call_in_review(s, n_proposals, n_reviewers)
    rv.run_assignment(s, call)
    by_id = {u.id: u for u in reviewers}
    for a in rq.assignments_of_call(s, call):
        grade = 3 + a.proposal_id % 2
        rv.submit_review(s, a, by_id[a.reviewer_id], grade=grade, comments_to_applicants="ok")
    rv.run_calibration(s, call, n_bootstrap=10)
    cycle.transition_call(s, call, "ranking")
    rv.freeze_ranking(s, call)
    cycle.transition_call(s, call, "allocation")
    return call


def _decisions(s: Session, call: Call) -> list[tuple[int, str, str, int]]:
    return sorted(
        (d.proposal_id, d.outcome, d.explanation, d.run_id)
        for d in s.scalars(select(Decision).where(Decision.call_id == call.id))
    )


def test_the_allocation_is_refused_once_decisions_are_released(db: Session) -> None:
    """Released decisions were told to the teams: a second run would silently replace
    them (and their awards) behind the accepted/rejected proposals."""
    s = db
    call = ranked_call(s)
    al.run_allocation(s, call)
    al.release_decisions(s, call)
    decided, awards = _decisions(s, call), s.scalars(select(Award.id)).all()
    before = F.table_counts(s)
    with pytest.raises(DomainError, match="already released"):
        al.run_allocation(s, call, seed=1)
    assert _decisions(s, call) == decided
    assert s.scalars(select(Award.id)).all() == awards
    assert F.table_counts(s) == before


def test_a_tie_at_the_capacity_line_is_explained_as_a_tie(db: Session) -> None:
    """Two proposals with the same calibrated score, room for one: the one left out is not
    told that lower-ranked requests took its place (none did); the result is deterministic."""
    s = db
    call = ranked_call(s, n_proposals=4)
    for cp in call.pools:
        cp.amount = 2.0
    s.flush()
    score = {r.proposal_id: r.score for r in rq.ranking(s, call)}
    al.run_allocation(s, call)
    first = [(p, o, e) for p, o, e, _ in _decisions(s, call)]
    al.run_allocation(s, call)
    assert [(p, o, e) for p, o, e, _ in _decisions(s, call)] == first
    awarded = {p for p, o, _ in first if o != "not_awarded"}
    tied_losers = [
        (p, e)
        for p, o, e in first
        if o == "not_awarded" and any(score[w] == score[p] for w in awarded)
    ]
    assert tied_losers  # the instance has a tie at the line
    for p, e in tied_losers:
        assert "lower-ranked" not in e or any(score[w] < score[p] for w in awarded), e


@pytest.mark.parametrize("withdrawn", [False, True])
def test_a_call_with_nothing_to_review_can_be_published_and_archived(
    db: Session, withdrawn: bool
) -> None:
    """Zero proposals at the close (or every one withdrawn): no step has anything to do, and
    the call must still reach 'published' and 'archived' instead of being stuck."""
    s = db
    call = F.fast_call(s, requires_pdf=False)
    if withdrawn:
        p = F.full_proposal(s, call)
        ps.submit(s, p, now=F.NOW)
        ps.withdraw(s, p, now=F.NOW)
    cycle.transition_call(s, call, "closed", now=F.NOW + dt.timedelta(days=31), reason="t")
    for target in ("review", "ranking", "allocation"):
        cycle.transition_call(s, call, target)
    with pytest.raises(DomainError):
        al.run_allocation(s, call)  # nothing to allocate: refused, as before
    cycle.transition_call(s, call, "scheduling")
    assert al.release_decisions(s, call) == 0
    assert call.decisions_released_at is not None
    cycle.transition_call(s, call, "published")
    cycle.transition_call(s, call, "archived")
    assert call.status == "archived"


def test_releasing_before_the_allocation_is_still_refused(db: Session) -> None:
    s = db
    call = ranked_call(s, n_proposals=2)
    before = F.table_counts(s)
    with pytest.raises(DomainError, match="no decisions to release"):
        al.release_decisions(s, call)
    assert call.decisions_released_at is None and F.table_counts(s) == before
