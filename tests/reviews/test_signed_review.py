"""A review signed by its reviewer (trialchair23): the comments to the applicants reach
them with their outcome, and the authors of the reviews are never revealed to them. Before,
a reviewer who signed ("Best regards, <name>") or gave an address in those comments had
it passed on as written. Now a submission whose comments to the applicants name the
reviewer or give their address is refused, nothing changed (a draft, which no one else
reads, is kept); the comments to the panel may name anyone."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from opencall.errors import DomainError
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from tests import factories as F


def test_a_signed_review_is_refused(db: Session) -> None:
    call, _props, reviewers = F.call_in_review(db, 2, 3, reviewers_per_proposal=1)
    rv.run_assignment(db, call)
    a = rq.assignments_of_call(db, call)[0]
    me = next(u for u in reviewers if u.id == a.reviewer_id)
    for signed in (f"Strong case.\n\nBest regards,\n{me.name}", f"Questions: {me.email}"):
        with pytest.raises(DomainError) as refused:
            rv.submit_review(db, a, me, grade=4, confidence=3, comments_to_applicants=signed)
        assert refused.value.field == "comments_to_applicants", refused.value.message
        assert rq.review_of(db, a.id) is None
    # a draft keeps it; the panel may read a name; the submission without it goes through
    rv.submit_review(
        db, a, me, grade=4, confidence=3, comments_to_applicants=f"-- {me.name}", final=False
    )
    rv.submit_review(
        db,
        a,
        me,
        grade=4,
        confidence=3,
        comments_to_applicants="Strong case.",
        comments_to_panel=f"{me.name}: I know the field well.",
    )
    assert rq.feedback_for(db, a.proposal_id) == ["Strong case."]
