"""A co-author found after the review came in (trialrev14): the review is kept and its
grade no longer ranks (tests/reviews/test_edges.py), and now its comments no longer reach
the applicants either. Before, ``feedback_for`` (the outcome page) still showed them: the
words of a reviewer the platform itself had found too close to the team, the one review
whose author the team is likeliest to recognise. Nor does its grade count in the outcomes
report's figures of grades (``submitted_grades``: the reviewer-group effects and the
cross-tables), as it no longer counts in the ranking: before, the report still read it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall.db import utcnow
from opencall.outcomes.queries import reviewer_effects
from opencall.people.models import User
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from tests import factories as F


def test_a_conflicted_reviewers_comments_are_not_feedback(db: Session) -> None:
    call, proposals, reviewers = F.call_in_review(db, 2, 3, reviewers_per_proposal=2)
    rv.run_assignment(db, call)
    by_id = {u.id: u for u in reviewers}
    target = proposals[0]
    graded = [a for a in rq.assignments_of_call(db, call) if a.proposal_id == target.id]
    words = {}
    for a in rq.assignments_of_call(db, call):
        words[a.id] = f"Comments of assignment {a.id}."
        rv.submit_review(db, a, by_id[a.reviewer_id], grade=3, comments_to_applicants=words[a.id])
    assert rq.feedback_for(db, target.id) == [words[a.id] for a in graded]
    late = by_id[graded[0].reviewer_id]
    pi = db.get(User, target.members[0].user_id)
    assert pi is not None
    rv.declare_relation(db, late, pi.email, "coauthor", year=utcnow().year)
    rv.compute_conflicts(db, call)
    assert graded[0].status == "submitted"  # kept, as before
    assert rq.feedback_for(db, target.id) == [words[graded[1].id]]
    counted = {(p, r) for p, r, _g in rq.submitted_grades(db, call)}
    assert (target.id, late.id) not in counted and len(counted) == len(words) - 1
    assert reviewer_effects(db, call)["n_reviews"] == len(words) - 1
    other = proposals[1]  # the other proposal's feedback is unchanged
    assert rq.feedback_for(db, other.id) == [
        words[a.id] for a in rq.assignments_of_call(db, call) if a.proposal_id == other.id
    ]
