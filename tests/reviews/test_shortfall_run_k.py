"""A proposal short since a reviewer withdrew is short of what the last automatic
assignment gave it, not of the reviewers-per-proposal the call's settings say now
(trialrev14). Before, a k changed after the run made the "withdrawn" row say "1 of 3"
for a proposal the run had given two reviewers (and, k lowered, hid a proposal that did
lose one of its two)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from tests import factories as F


def _with_k(call: object, k: int) -> None:
    rs = dict(call.review_settings)  # type: ignore[attr-defined]
    rs["reviewers_per_proposal"] = k
    call.review_settings = rs  # type: ignore[attr-defined]


def test_withdrawn_counts_against_the_runs_k(db: Session) -> None:
    call, props, reviewers = F.call_in_review(db, 2, 4, reviewers_per_proposal=2)
    run = rv.run_assignment(db, call)
    assert run.parameters["k"] == 2 and rv.uncovered_proposals(db, call) == []
    by_id = {u.id: u for u in reviewers}
    first = [a for a in rq.assignments_of_call(db, call) if a.proposal_id == props[0].id]
    rv.respond_to_assignment(db, first[0], by_id[first[0].reviewer_id], accept=False)
    db.flush()
    for k in (3, 1):  # the settings changed since the run, either way
        _with_k(call, k)
        db.flush()
        short = [
            (u.proposal_id, u.needed, u.assigned, u.reason)
            for u in rv.uncovered_proposals(db, call)
        ]
        assert short == [(props[0].id, 2, 1, "withdrawn")], (k, short)
