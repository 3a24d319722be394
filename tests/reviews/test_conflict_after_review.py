"""A conflict of interest found after the reviewer submitted their review (trialrev16).

Before, the submitted, now conflicted pair was kept (forced) by the next automatic
assignment and excluded (conflicted) at once: every later run of the call failed with
"No assignment satisfies the rules: forced pairs that are also conflicted or forbidden:
(0, 0)", so the chair could never replace the reviewer; and the chair's list of proposals
short of reviewers counted the conflicted review as one the proposal had (the proposal
was not listed). Now the run gives the proposal another reviewer, never one conflicted
with it; the chair withdraws the review with a reason (audited), the calibration runs
again without it, and the applicant's feedback never shows it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.auditlog import AuditEvent
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.models import Conflict
from opencall.reviews.services.calibration import ranking_is_current
from tests import factories as F


def test_a_conflict_found_after_the_review_is_replaced_never_by_a_conflicted_reviewer(
    db: Session,
) -> None:
    s = db
    call, props, reviewers = F.call_in_review(s, 3, 5)
    rv.run_assignment(s, call)
    by_id = {u.id: u for u in reviewers}
    for a in rq.assignments_of_call(s, call):
        words = "too close" if a.proposal_id == props[0].id else "ok"
        rv.submit_review(s, a, by_id[a.reviewer_id], grade=3, comments_to_applicants=words)
    rv.run_calibration(s, call, n_bootstrap=10)
    p0 = props[0]
    mine = [a for a in rq.assignments_of_call(s, call) if a.proposal_id == p0.id]
    found = mine[0]
    # the co-author is found late; another reviewer, free until now, is conflicted too
    spare = [r.id for r in reviewers if r.id not in {a.reviewer_id for a in mine}]
    for rid in (found.reviewer_id, spare[0]):
        s.add(Conflict(call_id=call.id, proposal_id=p0.id, reviewer_id=rid, source="coauthor"))
    s.flush()
    short = {u.proposal_id: (u.assigned, u.reason) for u in rv.uncovered_proposals(s, call)}
    assert short == {p0.id: (len(mine) - 1, "withdrawn")}
    # the chair withdraws the review, with a reason kept on record
    rv.remove_assignment(s, found, actor_id=None, reason="A co-author.", submitted_review=True)
    assert not ranking_is_current(s, call)
    reasons = s.scalars(
        select(AuditEvent.reason).where(
            AuditEvent.action == "review.removed", AuditEvent.entity_id == str(found.id)
        )
    ).all()
    assert reasons == ["A co-author."]
    rv.run_assignment(s, call)  # failed before: forced and conflicted pair
    now = {
        a.reviewer_id
        for a in rq.assignments_of_call(s, call)
        if a.proposal_id == p0.id and a.status in ("assigned", "accepted", "submitted")
    }
    assert len(now) == len(mine) and found.reviewer_id not in now and spare[0] not in now
    assert not rv.uncovered_proposals(s, call)
    rv.run_calibration(s, call, n_bootstrap=10)
    assert found.reviewer_id not in {r for p, r, _g in rq.submitted_grades(s, call) if p == p0.id}
    assert rq.feedback_for(s, p0.id) == ["too close"] * (len(mine) - 1)


def test_the_next_run_replaces_a_submitted_review_found_conflicted(db: Session) -> None:
    """Without the chair's withdrawal too: the conflicted review no longer counts, and the
    run adds a reviewer instead of failing."""
    s = db
    call, props, reviewers = F.call_in_review(s, 3, 5)
    rv.run_assignment(s, call)
    by_id = {u.id: u for u in reviewers}
    for a in rq.assignments_of_call(s, call):
        rv.submit_review(s, a, by_id[a.reviewer_id], grade=4, comments_to_applicants="ok")
    found = next(a for a in rq.assignments_of_call(s, call) if a.proposal_id == props[1].id)
    s.add(
        Conflict(
            call_id=call.id,
            proposal_id=props[1].id,
            reviewer_id=found.reviewer_id,
            source="personal",
        )
    )
    s.flush()
    rv.run_assignment(s, call)
    pairs = [a for a in rq.assignments_of_call(s, call) if a.proposal_id == props[1].id]
    new = [a for a in pairs if a.status == "assigned"]
    assert len(new) == 1 and new[0].reviewer_id != found.reviewer_id
    assert found.status == "submitted"  # the review itself stays on record
    assert not rv.uncovered_proposals(s, call)
