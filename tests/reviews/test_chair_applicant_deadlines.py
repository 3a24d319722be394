"""A chair who is also an applicant in the call (trialrev16). The chair's assignments
page leaves out their own proposal's reviewers, but its lists of reviewers' deadlines
("Asked for more time", extensions) named every reviewer of the call: a reviewer of the
chair's own proposal who asked for more time was listed with their name, e-mail and their
own words. Before, ``rev-own@`` was on the chair's page."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from tests import factories as F
from tests.web.conftest import Web


def test_the_chairs_own_proposals_reviewers_are_not_listed_by_their_deadlines(web: Web) -> None:
    with web.factory() as s:
        call, props, reviewers = F.call_in_review(s, 3, 6)
        due = (utcnow() + dt.timedelta(days=20)).replace(microsecond=0)
        call.review_settings = {**call.review_settings, "review_deadline": due.isoformat()}
        chair = s.get(User, props[0].pi_user_id)
        assert chair is not None
        people_services.grant_role(s, chair.id, "chair", call_id=call.id)
        rv.run_assignment(s, call)
        pairs = rq.assignments_of_call(s, call)
        own = {a.reviewer_id for a in pairs if a.proposal_id == props[0].id}
        by_id = {u.id: u for u in reviewers}
        mine = next(a for a in pairs if a.proposal_id == props[0].id)
        other = next(a for a in pairs if a.reviewer_id not in own)
        by_id[mine.reviewer_id].email = "rev-own@uni.example"
        rv.ask_for_more_time(s, mine, by_id[mine.reviewer_id], reason="Own words, mine.")
        rv.ask_for_more_time(s, other, by_id[other.reviewer_id], reason="Other words.")
        slug, chair_email, other_email = call.slug, chair.email, by_id[other.reviewer_id].email
        s.commit()
    page = web.login(chair_email).get(f"/manage/calls/{slug}/assignment")
    assert page.status_code == 200
    asked = page.text.split('id="more-time-asked"')[1].split("</table>")[0]
    assert "Other words." in asked and other_email in asked
    assert "rev-own@uni.example" not in page.text and "Own words, mine." not in page.text


def test_the_chair_may_not_move_their_own_proposals_reviewers_deadline(db: Session) -> None:
    """Before, the chair who applied extended the deadline of their own proposal's
    reviewer; now refused as if the reviewer had no review (the refusal says nothing of who
    reviews it), changing nothing, and another member of the staff does it."""
    s = db
    call, props, reviewers = F.call_in_review(s, 3, 6)
    due = (utcnow() + dt.timedelta(days=20)).replace(microsecond=0)
    call.review_settings = {**call.review_settings, "review_deadline": due.isoformat()}
    chair = s.get(User, props[0].pi_user_id)
    assert chair is not None
    deputy = F.user(s, email="deputy-deadline@staff.example")
    for who in (chair, deputy):
        people_services.grant_role(s, who.id, "chair", call_id=call.id)
    rv.run_assignment(s, call)
    by_id = {u.id: u for u in reviewers}
    mine = next(a for a in rq.assignments_of_call(s, call) if a.proposal_id == props[0].id)
    theirs = by_id[mine.reviewer_id]
    later = due + dt.timedelta(days=7)
    before = F.table_counts(s)
    with pytest.raises(DomainError, match="has no review to write"):
        rv.extend_review_deadline(s, call, theirs, later, actor_id=chair.id)
    assert F.table_counts(s) == before
    rv.extend_review_deadline(s, call, theirs, later, actor_id=deputy.id)
    assert rq.review_due(s, call, theirs.id) == later
