"""A reviewer discloses a conflict after submitting their review (trialchair24). Before,
the disclosure was refused ("This review was already submitted.", page and API): the
conflicted grade stayed in the calibration and the ranking, and the chair was never
told. Now the disclosure is kept, the review leaves the calibration (the ranking says it
must be calibrated again), the reviewer no longer reaches the proposal, and the chair's
ranking page lists the reviews left out, with the reviewer's reason."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.auditlog import AuditEvent
from opencall.people.models import User
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.models import Conflict, ReviewAssignment
from opencall.reviews.services.calibration import _counted
from tests import factories as F
from tests.review_cycle import TEAMS, Cycle, Web, accepting_reviewer, csrf
from tests.web.conftest import api_bearer

WHY = "I found out the PI co-wrote a paper with me last month (trialchair24)"


def test_a_conflict_disclosed_after_the_review_leaves_the_ranking(db: Session) -> None:
    s = db
    call, _props, reviewers = F.call_in_review(s, 3, 3)
    call.anonymity = "single"
    rv.run_assignment(s, call)
    by_id = {u.id: u for u in reviewers}
    for i, a in enumerate(rq.assignments_of_call(s, call)):
        rv.submit_review(s, a, by_id[a.reviewer_id], grade=1 + i % 5, comments_to_applicants="ok")
    rv.run_calibration(s, call, n_bootstrap=10)
    assert rv.ranking_is_current(s, call)
    a = rq.assignments_of_call(s, call)[0]
    pair = (a.proposal_id, a.reviewer_id)
    c = rv.declare_conflict(s, a, by_id[a.reviewer_id], WHY)
    assert (c.source, c.detail, a.status) == ("declared_reviewer", WHY, "removed")
    # the grade no longer counts, and the ranking says it must be calibrated again
    assert pair not in {(x.proposal_id, x.reviewer_id) for x, _ in _counted(s, call)[0]}
    assert not rv.ranking_is_current(s, call)
    # the review is kept (nothing acknowledged is lost), the chair is told
    assert rq.review_of(s, a.id) is not None
    assert [(x.proposal_id, x.reviewer_id, x.reason) for x in rq.late_conflicts(s, call)] == [
        (a.proposal_id, a.reviewer_id, WHY)
    ]
    assert s.scalar(
        select(AuditEvent.action).where(
            AuditEvent.action == "conflict.declared_after_review",
            AuditEvent.entity_id == str(a.id),
        )
    )


def _submitted(web: Web, cycle: Cycle) -> None:
    with web.factory() as s:
        a = s.get(ReviewAssignment, cycle.ids["assignment"])
        assert a is not None
        reviewer = s.get(User, a.reviewer_id)
        assert reviewer is not None
        if a.status == "assigned":
            rv.respond_to_assignment(s, a, reviewer, accept=True)
        rv.submit_review(s, a, reviewer, grade=2, comments_to_applicants="fine")
        s.commit()


def test_the_reviewer_discloses_on_the_page_and_the_chair_sees_it(web: Web, cycle: Cycle) -> None:
    rev, path = accepting_reviewer(web, cycle)
    _submitted(web, cycle)
    page = rev.get(path)
    assert page.status_code == 200 and f"{path}/conflict" in page.text
    r = rev.post(f"{path}/conflict", data={"csrf_token": csrf(rev, path), "reason": WHY})
    assert r.status_code == 303, r.text
    assert rev.get(path).status_code == 410
    chair = web.login(cycle.emails["chair"])
    ranking = chair.get(f"/manage/calls/{cycle.slug}/ranking")
    assert ranking.status_code == 200 and 'id="late-conflicts"' in ranking.text
    assert WHY in ranking.text and "Assigned Person" in ranking.text
    # the projected/chair page of a dual-anonymous call still names no team
    assert all(name not in ranking.text for name, _, _ in TEAMS)


def test_the_reviewer_discloses_through_the_api(web: Web, cycle: Cycle) -> None:
    headers = api_bearer(web, cycle.emails["assigned"], scopes=("review",))
    _submitted(web, cycle)
    aid = cycle.ids["assignment"]
    c = web.client()
    first = c.post(f"/api/v1/assignments/{aid}/conflict", headers=headers, json={"reason": WHY})
    assert first.status_code == 201, first.text
    again = c.post(f"/api/v1/assignments/{aid}/conflict", headers=headers, json={"reason": WHY})
    assert (again.status_code, again.json()) == (201, first.json())
    with web.factory() as s:
        kept = s.scalars(select(Conflict).where(Conflict.detail == WHY)).all()
        assert len(kept) == 1
