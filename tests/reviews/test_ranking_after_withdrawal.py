"""A proposal withdrawn by its PI while the call is in review (trialchair23): its written
reviews are kept, unread. Before, "Calibrate and rank" still read them: the withdrawn
proposal took a rank (the page hides it, so the ranks shown had a gap: 1, 3, 4, ...),
its grades moved the reviewers' leniency, its request counted against the capacity line,
and a ranking made before the withdrawal stayed "current" (its grades unchanged) and
could be frozen with it inside. Now the calibration ranks only the proposals still under
review, and a withdrawal after a calibration makes the ranking stale."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall.proposals import services as prop_services
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from tests import factories as F


def test_a_withdrawn_proposal_leaves_the_ranking(db: Session) -> None:
    call, props, reviewers = F.call_in_review(db, 6, 4, reviewers_per_proposal=2)
    rv.run_assignment(db, call)
    by_id = {u.id: u for u in reviewers}
    for a in rq.assignments_of_call(db, call):
        grade = 5.0 - props.index(next(p for p in props if p.id == a.proposal_id)) * 0.5
        rv.submit_review(
            db, a, by_id[a.reviewer_id], grade=grade, confidence=3, comments_to_applicants="ok"
        )
    rv.run_calibration(db, call, n_bootstrap=0)
    assert rv.ranking_is_current(db, call)
    gone = props[1]
    prop_services.withdraw(db, gone, actor_id=gone.pi_user_id, reason="joined another team")
    db.flush()
    assert not rv.ranking_is_current(db, call), "a withdrawal leaves the ranking current"
    run = rv.run_calibration(db, call, n_bootstrap=0)
    ranked = rq.ranking(db, call)
    assert gone.id not in {r.proposal_id for r in ranked}, "the withdrawn proposal is ranked"
    assert sorted(r.rank for r in ranked) == list(range(1, len(props)))
    assert run.summary["proposals"] == len(props) - 1
    assert rv.ranking_is_current(db, call)
