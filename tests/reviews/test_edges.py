"""Edge cases of a real call's review steps: an assignment that cannot give every
proposal its reviewers gives the others theirs and lists the short ones in the chair's
terms (what is missing, why, what to change)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.cycle import services as cycle
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.shortfall import SHORT_REASONS
from opencall.web.i18n import Translator
from tests import factories as F
from tests.kept_builds import call_id, kept, load_call


def test_a_max_load_too_small_covers_what_it_can_and_says_which_load_would_do(
    db: Session,
) -> None:
    """Before: the whole call was refused. Now every reviewer takes their one review, the
    rest are listed short for want of capacity, with the maximum load that would do."""
    call, _, _ = F.call_in_review(db, 5, 3, max_load=1, reviewers_per_proposal=2)
    run = rv.run_assignment(db, call)
    assert len(rq.assignments_of_call(db, call)) == 3 and run.summary["short_reviews"] == 7
    rows = rv.uncovered_proposals(db, call)
    assert {r.reason for r in rows} == {"capacity"} and {r.load_to_cover for r in rows} == {4}
    said = Translator("fr")(SHORT_REASONS["capacity"], free=0, load=4)
    assert "à 4" in said


def test_a_proposal_every_reviewer_is_conflicted_with_is_listed_alone(db: Session) -> None:
    call, proposals, reviewers = F.call_in_review(db, 3, 3, reviewers_per_proposal=2)
    target = proposals[1]
    pi = db.get(User, target.members[0].user_id)
    assert pi is not None
    for r in reviewers:
        rv.declare_relation(db, r, pi.email, "coauthor", year=utcnow().year)  # a recent one
    rv.compute_conflicts(db, call)
    rv.run_assignment(db, call)
    [row] = rv.uncovered_proposals(db, call)
    assert (row.proposal_id, row.assigned, row.free, row.reason) == (target.id, 0, 0, "conflicts")
    counts = {p.id: 0 for p in proposals}
    for a in rq.assignments_of_call(db, call):
        counts[a.proposal_id] += 1
    assert counts == {p.id: 0 if p is target else 2 for p in proposals}


def test_reviewers_declining_leave_a_proposal_short_and_it_is_listed(db: Session) -> None:
    call, proposals, reviewers = F.call_in_review(db, 2, 3, reviewers_per_proposal=2)
    rv.run_assignment(db, call)
    by_id = {u.id: u for u in reviewers}
    declined = [a for a in rq.assignments_of_call(db, call) if a.proposal_id == proposals[0].id]
    for a in declined:
        rv.respond_to_assignment(db, a, by_id[a.reviewer_id], accept=False)
    rv.run_assignment(db, call)
    [row] = rv.uncovered_proposals(db, call)
    assert (row.proposal_id, row.assigned, row.free, row.reason) == (
        proposals[0].id,
        1,
        1,
        "conflicts",
    )
    assert all(
        (a.proposal_id, a.reviewer_id) not in {(d.proposal_id, d.reviewer_id) for d in declined}
        for a in rq.assignments_of_call(db, call)
    )


@kept(call_id, load_call)
def _reviewed(s: Session) -> Call:
    """A call in review, every proposal reviewed, calibrated (kept: ``tests.kept_builds``)."""
    call, _, reviewers = F.call_in_review(s, 3, 3)
    rv.run_assignment(s, call)
    by_id = {u.id: u for u in reviewers}
    for a in rq.assignments_of_call(s, call):
        grade = 3 + a.proposal_id % 2
        rv.submit_review(s, a, by_id[a.reviewer_id], grade=grade, comments_to_applicants="ok")
    rv.run_calibration(s, call, n_bootstrap=10)
    return call


def test_a_frozen_ranking_is_not_recalibrated(db: Session) -> None:
    """After the freeze the ranking is the allocation's input (and, dual-anonymous, what was
    ranked before the chair saw the teams): a new calibration is refused, nothing changes."""
    call = _reviewed(db)
    cycle.transition_call(db, call, "ranking")
    rv.freeze_ranking(db, call)
    ranked = [(r.id, r.proposal_id, r.rank, r.score) for r in rq.ranking(db, call)]
    before = F.table_counts(db)
    with pytest.raises(DomainError, match="ranking is frozen"):
        rv.run_calibration(db, call, seed=1, n_bootstrap=10)
    assert [(r.id, r.proposal_id, r.rank, r.score) for r in rq.ranking(db, call)] == ranked
    assert F.table_counts(db) == before


def test_freezing_twice_keeps_the_first_freeze(db: Session) -> None:
    call = _reviewed(db)
    cycle.transition_call(db, call, "ranking")
    rv.freeze_ranking(db, call)
    first = call.ranking_frozen_at
    before = F.table_counts(db)
    rv.freeze_ranking(db, call)
    assert call.ranking_frozen_at == first
    assert F.table_counts(db) == before  # no second audit event


def test_a_conflict_found_after_grading_keeps_the_review_but_not_its_grade(db: Session) -> None:
    """A co-authorship declared after the reviewer graded: the conflicts step records it and
    keeps the submitted review (nothing acknowledged is lost), but the calibration no longer
    ranks the proposal with that grade."""
    call, proposals, reviewers = F.call_in_review(db, 2, 3, reviewers_per_proposal=2)
    rv.run_assignment(db, call)
    by_id = {u.id: u for u in reviewers}
    target = proposals[0]
    graded = [a for a in rq.assignments_of_call(db, call) if a.proposal_id == target.id]
    for a in rq.assignments_of_call(db, call):
        low = a.id == graded[0].id  # the one grade that will turn out conflicted
        rv.submit_review(
            db, a, by_id[a.reviewer_id], grade=1 if low else 4, comments_to_applicants="ok"
        )
    late = by_id[graded[0].reviewer_id]
    pi = db.get(User, target.members[0].user_id)
    assert pi is not None
    rv.declare_relation(db, late, pi.email, "coauthor", year=utcnow().year)  # a recent one
    rv.compute_conflicts(db, call)
    assert (target.id, late.id) in rq.conflict_pairs(db, call)
    assert graded[0].status == "submitted"  # the review is kept
    run = rv.run_calibration(db, call, n_bootstrap=0)
    ranked = {r.proposal_id: r for r in rq.ranking(db, call)}
    assert ranked[target.id].raw_mean == 4.0  # the conflicted grade of 1 is left out
    assert run.summary["conflicted_grades_excluded"] == 1
