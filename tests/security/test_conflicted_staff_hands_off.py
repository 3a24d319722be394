"""A chair with a recorded conflict of interest with a proposal "leaves the room" for it:
its reviewers, reviews and conflicts are withheld from them (``reviews.policies.withheld``)
and another member of the call's staff handles it. Before the fix only a chair on the
proposal's *team* was kept from handling it; a chair with a recorded conflict could, through
the JSON API (and the pages' forms), choose its reviewers by hand, remove them, override its
decision and resolve it when short of reviews, and the hand assignment answered a reviewer
already on it with "This reviewer is already assigned to this proposal." (an oracle of the
withheld reviewers' names: try every reviewer of the call). Each is now refused (400, the
same sentence whoever the reviewer, nothing changed) on both backends."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall.allocation import services as al
from opencall.allocation.models import Decision, UnreviewedResolution
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.people import services as people_services
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.models import ReviewAssignment
from tests import factories as F
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")

CONFLICTED = (
    "You have a recorded conflict of interest with this proposal: another member of the "
    "call's staff decides on it."
)


@dataclass
class World:
    slug: str
    token: str
    hidden: int  # the proposal the chair is conflicted with
    other: int
    on_hidden: list[int]  # its reviewers (withheld from the chair)
    free: list[int]  # reviewers of the call on neither list
    hidden_assignment: int
    other_assignment: int


def _world(s: Session) -> World:
    call, props, reviewers = F.call_in_review(s, 2, 6, reviewers_per_proposal=2, max_load=4)
    chair = reviewers[0]  # a reviewer of the call who chairs it as well
    people_services.grant_role(s, chair.id, "chair", call_id=call.id)
    hidden, other = props
    rv.declare_conflict(s, rv.add_assignment(s, call, hidden, chair), chair, "my student")
    on_hidden = [reviewers[1].id, reviewers[2].id]
    for r in reviewers[1:3]:
        rv.add_assignment(s, call, hidden, r)
    a_other = rv.add_assignment(s, call, other, reviewers[3])
    s.flush()
    a_hidden = s.scalar(
        select(ReviewAssignment.id).where(
            ReviewAssignment.proposal_id == hidden.id, ReviewAssignment.reviewer_id == on_hidden[0]
        )
    )
    assert a_hidden is not None
    _t, raw = people_services.create_api_token(s, chair, "chair")
    return World(
        slug=call.slug,
        token=raw,
        hidden=hidden.id,
        other=other.id,
        on_hidden=on_hidden,
        free=[reviewers[4].id, reviewers[5].id],
        hidden_assignment=a_hidden,
        other_assignment=a_other.id,
    )


def _active(s: Session, proposal_id: int) -> list[int]:
    return sorted(
        s.scalars(
            select(ReviewAssignment.reviewer_id).where(
                ReviewAssignment.proposal_id == proposal_id,
                ReviewAssignment.status.in_(("assigned", "accepted", "submitted")),
            )
        )
    )


def test_a_conflicted_chair_chooses_no_reviewers_of_the_proposal_through_the_api(
    web: Web,
) -> None:
    with web.factory() as s:
        w = _world(s)
        s.commit()
    c = web.client()
    h = {"Authorization": f"Bearer {w.token}"}
    path = f"/api/v1/calls/{w.slug}/assignments"
    with web.factory() as s:
        before = _active(s, w.hidden)
        n_before = s.scalar(select(func.count(ReviewAssignment.id)))
    # a reviewer already on it and one who is not: the same refusal, nothing made
    answers = set()
    for rid in (w.on_hidden[0], w.free[0]):
        r = c.post(path, headers=h, json={"proposal_id": w.hidden, "reviewer_id": rid})
        assert r.status_code == 400, (rid, r.status_code, r.text)
        answers.add(r.json()["detail"])
    assert answers == {CONFLICTED}
    # nor may it take one of its reviewers off
    r = c.delete(f"{path}/{w.hidden_assignment}", headers=h, params={"reason": "too kind"})
    assert r.status_code == 400, r.text
    assert r.json()["detail"] == CONFLICTED
    with web.factory() as s:
        assert _active(s, w.hidden) == before
        assert s.scalar(select(func.count(ReviewAssignment.id))) == n_before
    # the other proposal's reviewers are the chair's to change
    r = c.post(path, headers=h, json={"proposal_id": w.other, "reviewer_id": w.free[1]})
    assert r.status_code == 201, r.text
    r = c.delete(f"{path}/{w.other_assignment}", headers=h, params={"reason": "late"})
    assert r.status_code == 204, r.text


def test_a_conflicted_chair_neither_overrides_nor_resolves_the_proposal(db: Session) -> None:
    s = db
    call, props, reviewers = F.call_in_review(s, 3, 4, reviewers_per_proposal=1)
    chair = reviewers[0]
    people_services.grant_role(s, chair.id, "chair", call_id=call.id)
    # the chair is conflicted with the first proposal and the last (which gets no review)
    for p in (props[0], props[2]):
        rv.declare_conflict(s, rv.add_assignment(s, call, p, chair), chair, "my former student")
    rv.run_assignment(s, call)
    by_id = {u.id: u for u in reviewers}
    for a in rq.assignments_of_call(s, call):
        if a.proposal_id != props[2].id and a.status in ("assigned", "accepted"):
            rv.submit_review(s, a, by_id[a.reviewer_id], grade=4, comments_to_applicants="ok")
    rv.run_calibration(s, call, n_bootstrap=10)
    cycle.transition_call(s, call, "ranking")
    rv.freeze_ranking(s, call)
    cycle.transition_call(s, call, "allocation")
    al.run_allocation(s, call)
    before = s.scalar(select(Decision.outcome).where(Decision.proposal_id == props[0].id))
    flip = "not_awarded" if before == "awarded" else "awarded"
    with pytest.raises(DomainError) as exc:
        al.override_decision(s, call, props[0], outcome=flip, reason="x", actor_id=chair.id)
    assert exc.value.message == CONFLICTED
    assert s.scalar(select(Decision.outcome).where(Decision.proposal_id == props[0].id)) == before
    # nor resolve the one short of reviews
    with pytest.raises(DomainError) as exc:
        al.resolve_unreviewed(
            s, call, props[2], action="carry", reason="no reviewer", actor_id=chair.id
        )
    assert exc.value.message == CONFLICTED
    assert s.scalar(select(func.count(UnreviewedResolution.id))) == 0
