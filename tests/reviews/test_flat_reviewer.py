"""A reviewer who gives every proposal the same grade (trialchair23). The calibration
copes (it fits each reviewer's spread: on 8 seeded panels of 60 proposals and 10
reviewers, one of them grading everything 3, Kendall's tau with the true quality was
0.812 to 0.895 with that reviewer's grades, 0.809 to 0.894 without;
bench/bench_flat_reviewer.py), but the chair was not told: such
grades rank nothing, and a reviewer who gives them may not have read the proposals. Now
the calibration run counts them (``flat_reviewers``, reviewers with at least three counted
grades, all the same) and the ranking page says so."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from tests import factories as F


def test_the_chair_is_told_of_a_reviewer_who_grades_everything_alike(db: Session) -> None:
    call, props, reviewers = F.call_in_review(db, 8, 4, reviewers_per_proposal=3)
    rv.run_assignment(db, call)
    by_id = {u.id: u for u in reviewers}
    pos = {p.id: i for i, p in enumerate(props)}
    flat = reviewers[0].id
    for a in rq.assignments_of_call(db, call):
        grade = 3.0 if a.reviewer_id == flat else 1.0 + pos[a.proposal_id] * 0.5
        rv.submit_review(
            db, a, by_id[a.reviewer_id], grade=grade, confidence=3, comments_to_applicants="ok"
        )
    assert sum(a.reviewer_id == flat for a in rq.assignments_of_call(db, call)) >= 3
    run = rv.run_calibration(db, call, n_bootstrap=0)
    assert run.summary.get("flat_reviewers") == 1, run.summary
