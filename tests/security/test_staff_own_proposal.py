"""The people who run a call decide nothing on a proposal of their own. A chair (or a
call manager) may also apply to the call, or be on a team there; before the fix such a
chair overrode the allocation of their own proposal to "awarded", resolved it when it
was short of reviews ("carry" it to the allocation), and added and removed its reviewers
by hand: each is now refused (400, nothing changed) and left to the call's other staff."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation import services as al
from opencall.allocation.models import Decision, UnreviewedResolution
from opencall.calls.models import Call
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from tests import factories as F

OWN = "You are on the team of this proposal: another member of the call's staff decides on it."


def _pi(s: Session, p: Proposal) -> User:
    u = s.get(User, next(m.user_id for m in p.members if m.role == "pi"))
    assert u is not None
    return u


def _in_allocation(s: Session) -> tuple[Call, list[Proposal], list[User]]:
    """Three proposals, the last with no review; the first one's PI is the call's chair."""
    call, props, reviewers = F.call_in_review(s, 3, 3)
    rv.run_assignment(s, call)
    by_id = {u.id: u for u in reviewers}
    for a in rq.assignments_of_call(s, call):
        if a.proposal_id != props[2].id:
            rv.submit_review(s, a, by_id[a.reviewer_id], grade=4, comments_to_applicants="ok")
    people_services.grant_role(s, _pi(s, props[0]).id, "chair", call_id=call.id)
    return call, props, reviewers


def test_a_chair_does_not_choose_the_reviewers_of_their_own_proposal(db: Session) -> None:
    s = db
    call, props, reviewers = F.call_in_review(s, 3, 5, reviewers_per_proposal=2)
    rv.run_assignment(s, call)
    chair = _pi(s, props[0])
    people_services.grant_role(s, chair.id, "chair", call_id=call.id)
    active = rq.assignments_of_call(s, call)
    mine = [a for a in active if a.proposal_id == props[0].id]
    assert mine
    free = [u for u in reviewers if u.id not in {a.reviewer_id for a in mine}]
    assert free  # five reviewers, two a proposal
    with pytest.raises(DomainError) as exc:
        rv.add_assignment(s, call, props[0], free[0], actor_id=chair.id)
    assert exc.value.message == OWN
    with pytest.raises(DomainError) as exc:
        rv.remove_assignment(s, mine[0], actor_id=chair.id, reason="too harsh")
    assert exc.value.message == OWN
    assert mine[0].status != "removed"
    # another proposal's reviewers are the chair's to change
    theirs = next(a for a in active if a.proposal_id == props[1].id)
    rv.remove_assignment(s, theirs, actor_id=chair.id, reason="late")
    assert theirs.status == "removed"


def test_a_chair_does_not_decide_on_their_own_proposal(db: Session) -> None:
    s = db
    call, props, _ = _in_allocation(s)
    rv.run_calibration(s, call, n_bootstrap=10)
    cycle.transition_call(s, call, "ranking")
    rv.freeze_ranking(s, call)
    cycle.transition_call(s, call, "allocation")
    al.run_allocation(s, call)
    chair = _pi(s, props[0])
    before = s.scalar(select(Decision.outcome).where(Decision.proposal_id == props[0].id))
    flip = "not_awarded" if before == "awarded" else "awarded"
    with pytest.raises(DomainError) as exc:
        al.override_decision(s, call, props[0], outcome=flip, reason="mine", actor_id=chair.id)
    assert exc.value.message == OWN
    assert s.scalar(select(Decision.outcome).where(Decision.proposal_id == props[0].id)) == before
    # short of reviews: its PI, a chair too, does not carry it to the allocation
    short = _pi(s, props[2])
    people_services.grant_role(s, short.id, "chair", call_id=call.id)
    with pytest.raises(DomainError) as exc:
        al.resolve_unreviewed(s, call, props[2], action="carry", reason="keep", actor_id=short.id)
    assert exc.value.message == OWN
    assert s.scalar(select(UnreviewedResolution)) is None
    other = _pi(s, props[1])
    people_services.grant_role(s, other.id, "chair", call_id=call.id)
    # the other chair decides on it
    al.override_decision(s, call, props[0], outcome=flip, reason="checked", actor_id=other.id)
    assert s.scalar(select(Decision.outcome).where(Decision.proposal_id == props[0].id)) == flip
