"""A reviewer's grades removed after misconduct (the chair, with a reason kept on record),
and the calibration run again without them; never once the ranking is frozen."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall.auditlog import AuditEvent
from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.models import ReviewAssignment
from opencall.reviews.services.calibration import ranking_is_current
from tests import factories as F
from tests.review_cycle import Cycle, Web, csrf


def test_a_submitted_review_is_removed_with_a_reason_and_calibrated_again(db: Session) -> None:
    call, _proposals, reviewers = F.call_in_review(db, 3, 4)
    rv.run_assignment(db, call)
    by_id = {u.id: u for u in reviewers}
    cheat = reviewers[0].id
    for a in rq.assignments_of_call(db, call):
        words = "bribed" if a.reviewer_id == cheat else "ok"
        rv.submit_review(
            db, a, by_id[a.reviewer_id], grade=3 + a.proposal_id % 2, comments_to_applicants=words
        )
    first = rv.run_calibration(db, call, n_bootstrap=10)
    mine = [a for a in rq.assignments_of_call(db, call) if a.reviewer_id == cheat]
    assert mine and all(a.status == "submitted" for a in mine)

    with pytest.raises(DomainError) as refused:  # no reason: refused, nothing changed
        rv.remove_assignment(db, mine[0], actor_id=None, reason="  ", submitted_review=True)
    assert refused.value.field == "reason"
    with pytest.raises(DomainError):  # a removal meant for an unsubmitted assignment
        rv.remove_assignment(db, mine[0], actor_id=None, reason="too slow")
    assert mine[0].status == "submitted" and ranking_is_current(db, call)

    for a in mine:
        rv.remove_assignment(
            db, a, actor_id=None, reason="Grades traded with an applicant", submitted_review=True
        )
    db.flush()
    assert all(a.status == "removed" for a in mine)
    # the applicants are not shown the removed review's comments
    assert rq.feedback_for(db, mine[0].proposal_id) and all(
        c == "ok" for a in mine for c in rq.feedback_for(db, a.proposal_id)
    )
    assert not ranking_is_current(db, call)  # the chair is told to calibrate again
    events = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "review.removed", AuditEvent.call_id == call.id
        )
    ).all()
    assert len(events) == len(mine)
    assert {e.reason for e in events} == {"Grades traded with an applicant"}
    again = rv.run_calibration(db, call, n_bootstrap=10)
    assert again.inputs_hash != first.inputs_hash
    assert cheat not in {r for _p, r, _g in rq.submitted_grades(db, call)}
    assert ranking_is_current(db, call)

    # once the ranking is frozen, a submitted review stays
    other = next(a for a in rq.assignments_of_call(db, call) if a.status == "submitted")
    rv.freeze_ranking(db, call)
    with pytest.raises(DomainError):
        rv.remove_assignment(db, other, actor_id=None, reason="late doubts", submitted_review=True)
    assert other.status == "submitted"


def submitted_and_calibrated(factory: sessionmaker[Session], aid: int, words: str) -> None:
    """The review cycle's assignment ``aid`` accepted, its review submitted (grade 4,
    ``words`` to the applicants) and the call calibrated, committed."""
    with factory() as s:
        a = s.get(ReviewAssignment, aid)
        assert a is not None
        reviewer = s.get(User, a.reviewer_id)
        assert reviewer is not None
        rv.respond_to_assignment(s, a, reviewer, accept=True)
        rv.submit_review(s, a, reviewer, grade=4, confidence=3, comments_to_applicants=words)
        rv.run_calibration(s, s.get(Call, a.call_id), n_bootstrap=10)  # type: ignore[arg-type]
        s.commit()


def test_the_chair_removes_a_submitted_review_from_the_page(
    web: Web, cycle: Cycle, factory: sessionmaker[Session]
) -> None:
    """In Spanish: the submitted row offers "Retirar la evaluación"; without a reason it is
    refused with the catalogue's sentence and nothing changes; with one it is removed."""
    aid = cycle.ids["assignment"]
    submitted_and_calibrated(factory, aid, "bien")
    chair = web.login(cycle.emails["chair"], lang="es")
    table = f"/manage/calls/{cycle.slug}/assignment"
    ranking = f"/manage/calls/{cycle.slug}/ranking"
    assert 'id="ranking-stale"' not in chair.get(ranking).text
    assert "Retirar la evaluación" in chair.get(table).text
    path = f"{table}/{aid}/remove"
    form = {"submitted_review": "yes"}
    meant_for_a_pending_one = chair.post(
        path, data={"csrf_token": csrf(chair, table), "reason": "x"}
    )
    assert meant_for_a_pending_one.status_code == 400
    bad = chair.post(path, data={"csrf_token": csrf(chair, table), "reason": " ", **form})
    assert bad.status_code == 400
    assert "solo se retira con un motivo" in bad.text
    with factory() as s:
        assert s.get(ReviewAssignment, aid).status == "submitted"  # type: ignore[union-attr]
    ok = chair.post(path, data={"csrf_token": csrf(chair, table), "reason": "Soborno", **form})
    assert ok.status_code == 303, ok.text[:500]
    with factory() as s:
        assert s.get(ReviewAssignment, aid).status == "removed"  # type: ignore[union-attr]
    # the ranking page tells the chair to calibrate again
    stale = re.search(r'<p class="notice" id="ranking-stale".*?</p>', chair.get(ranking).text)
    assert stale and "vuelva a calibrar" in stale.group(0)


def test_a_removal_reason_over_the_limit_is_refused_not_cut(
    web: Web, cycle: Cycle, factory: sessionmaker[Session]
) -> None:
    """The removal page cut the chair's reason to 2,000 characters and removed the review
    with what was left; now it is refused with the reason fields' error, nothing changed."""
    aid = cycle.ids["assignment"]
    submitted_and_calibrated(factory, aid, "bien")
    chair = web.login(cycle.emails["chair"])
    table = f"/manage/calls/{cycle.slug}/assignment"
    with factory() as s:
        events = len(s.scalars(select(AuditEvent)).all())
    form = {"csrf_token": csrf(chair, table), "submitted_review": "yes"}
    bad = chair.post(f"{table}/{aid}/remove", data={**form, "reason": "x" * 2001})
    assert bad.status_code == 400
    assert "The reason is too long (2000 characters at most)." in bad.text
    with factory() as s:
        assert s.get(ReviewAssignment, aid).status == "submitted"  # type: ignore[union-attr]
        assert len(s.scalars(select(AuditEvent)).all()) == events
    ok = chair.post(f"{table}/{aid}/remove", data={**form, "reason": "x" * 2000})
    assert ok.status_code == 303, ok.text[:500]
    with factory() as s:
        assert s.get(ReviewAssignment, aid).status == "removed"  # type: ignore[union-attr]
