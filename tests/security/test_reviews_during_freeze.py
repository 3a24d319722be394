"""A review submitted at the moment the chair freezes the ranking (the last minute before
the review deadline, a crowd of reviewers, and the chair clicks "Freeze"): either the
review is in the frozen ranking, or it is refused ("The ranking is frozen"); a review is
never acknowledged that the frozen ranking, which the allocation reads, leaves out.

Before the fix the review's request checked the freeze on the call as it had read it,
without a lock: the chair's freeze committed between that read and the review's commit,
and the review was saved and acknowledged after the freeze; the frozen ranking no longer
matched the grades ("The grades changed since the last calibration"), and the
allocation ranked the proposals without that grade. Now a reviewer's answer reads its
call again when it starts and checks the freeze once more after writing its audit event
(holding the audit chain's lock, which the freeze takes before it checks the grades), so
one comes after the other.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.models import Review, ReviewAssignment
from opencall.reviews.services import calibration
from tests import factories as F
from tests.security.races import beside, waits_on_a_lock

pytestmark = pytest.mark.filterwarnings("ignore")


def _calibrated_but_one(factory: sessionmaker[Session]) -> tuple[int, int]:
    """A call whose reviews are all in and calibrated but one (the last reviewer's): the
    chair may freeze. Returns the call's id and the open assignment's."""
    with factory() as s:
        call, _proposals, _reviewers = F.call_in_review(s, 4, 4, reviewers_per_proposal=2)
        rv.run_assignment(s, call)
        [*done, last] = sorted(rq.assignments_of_call(s, call), key=lambda a: a.id)
        for i, a in enumerate(done):
            u = s.get(User, a.reviewer_id)
            assert u is not None
            rv.submit_review(s, a, u, grade=1.0 + i % 4, comments_to_applicants="Fine.")
        rv.run_calibration(s, call)
        assert rv.ranking_is_current(s, call)
        s.commit()
        return call.id, last.id


def test_a_review_after_the_freeze_is_refused(factory: sessionmaker[Session]) -> None:
    call_id, aid = _calibrated_but_one(factory)
    with factory() as request:  # the reviewer's request reads the assignment and its call
        a = request.get(ReviewAssignment, aid)
        assert a is not None
        call = request.get(Call, a.call_id)
        assert call is not None and call.ranking_frozen_at is None
        reviewer = request.get(User, a.reviewer_id)
        assert reviewer is not None
        with factory() as chair:  # the chair's freeze commits meanwhile
            frozen = chair.get(Call, call_id)
            assert frozen is not None
            rv.freeze_ranking(chair, frozen)
            chair.commit()
        with pytest.raises(DomainError) as refused:
            rv.submit_review(request, a, reviewer, grade=4.0, comments_to_applicants="Late.")
        assert "frozen" in refused.value.message
        request.rollback()
    with factory() as s:
        assert s.scalar(select(Review).where(Review.assignment_id == aid)) is None
        call = s.get(Call, call_id)
        assert call is not None and rv.ranking_is_current(s, call)


def test_a_review_waiting_on_a_freeze_in_flight_is_refused(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL, two connections: the freeze has checked the grades (the last review not
    in yet) and not committed when the last review is sent, its request having read the
    call unfrozen. The review waits for the freeze's commit and is then refused; before
    the fix nothing made it wait (the freeze checked the grades before taking any lock),
    and it was saved after the freeze."""
    with factory() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("lock waits: PostgreSQL")
    call_id, aid = _calibrated_but_one(factory)
    checked = threading.Event()
    connected = threading.Event()  # the review's connection is open: its pid is known
    pid: list[int] = []
    outcome: dict[str, str] = {}
    real_check = calibration.ranking_is_current

    def check_then_let_the_review_in(session: Session, call: Call) -> bool:
        current = real_check(session, call)
        connected.wait(60)
        checked.set()
        if not waits_on_a_lock(factory, pid[0]):  # on a lock the freeze holds
            outcome["freeze"] = "the review never waited"
        return current

    def review() -> None:
        with factory() as s:
            pid.append(int(s.scalar(text("SELECT pg_backend_pid()")) or 0))
            connected.set()
            a = s.get(ReviewAssignment, aid)
            assert a is not None
            reviewer = s.get(User, a.reviewer_id)
            assert reviewer is not None and s.get(Call, a.call_id) is not None
            checked.wait(60)
            try:
                rv.submit_review(s, a, reviewer, grade=4.0, comments_to_applicants="Late.")
                s.commit()
                outcome["review"] = "saved"
            except DomainError as refused:
                outcome["review"] = refused.message

    monkeypatch.setattr(calibration, "ranking_is_current", check_then_let_the_review_in)
    with beside(review), factory() as chair:
        call = chair.get(Call, call_id)
        assert call is not None
        rv.freeze_ranking(chair, call)
        chair.commit()
    assert "freeze" not in outcome, outcome
    assert "frozen" in outcome.get("review", ""), outcome
    with factory() as s:
        assert s.scalar(select(Review).where(Review.assignment_id == aid)) is None
