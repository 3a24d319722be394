"""The automatic assignment of a call whose reviewers have all gone (trialopt10). Before:
the optimiser refused a problem of no reviewers and the service refused the run, so
the invitations the solver had sent the reviewers who left stayed open, and the chair
was told nothing about the proposals. The test failed before the fix ("Assignment needs
reviewers and proposals under review.")."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from tests import factories as F


def test_a_call_whose_every_reviewer_left_lists_every_proposal_short(db: Session) -> None:
    s = db
    call, props, reviewers = F.call_in_review(s, 3, 2, reviewers_per_proposal=2)
    rv.run_assignment(s, call)
    assert rq.assignments_of_call(s, call)
    for u in reviewers:
        u.is_active = False
    s.flush()
    run = rv.run_assignment(s, call)
    # the unanswered invitations of the reviewers who left are withdrawn
    assert rq.assignments_of_call(s, call) == []
    assert run.summary["pairs"] == 0 and run.summary["short_reviews"] == 2 * len(props)
    assert run.summary["capacity"] == 0
    short = {u.proposal_id: u for u in rv.uncovered_proposals(s, call)}
    # no reviewer left at all: the call has fewer reviewers than k (reason "pool", mend11c)
    assert sorted(short) == sorted(p.id for p in props)
    assert {(u.needed, u.assigned, u.free, u.reason) for u in short.values()} == {(2, 0, 0, "pool")}
