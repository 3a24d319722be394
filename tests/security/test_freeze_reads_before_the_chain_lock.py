"""The freeze reads a call's grades before it takes the audit chain's lock (mend10b item
5): before, it held that lock, which every audited write of the whole site waits for,
while it read and hashed every grade of the call (seconds on a large call: see
bench/bench_freeze_lock.py). It now checks under the lock only that nothing of the call
was audited since its read (one statement), and reads again when something was, so the
race of ``test_reviews_during_freeze.py`` stays closed: a review committed during the
read makes the freeze refuse ("The grades changed"), a review after it is refused."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall import auditlog
from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.models import Review, ReviewAssignment
from tests.security.test_reviews_during_freeze import _calibrated_but_one

pytestmark = pytest.mark.filterwarnings("ignore")


def _pg(factory: sessionmaker[Session]) -> None:
    with factory() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("the audit chain's lock: PostgreSQL (SQLite has one write lock)")


def _during_the_read(monkeypatch: pytest.MonkeyPatch, work: Callable[[], None]) -> dict[str, Any]:
    """Run ``work`` in another connection when the freeze first reads the call's
    conflicts (part of its read of the grades), and note whether it was done within 30
    s, before the freeze goes on (it is not when it waits for a lock the freeze holds)."""
    real = rq.conflict_pairs
    seen: dict[str, Any] = {}

    def conflict_pairs(session: Session, call: Call) -> Any:
        if "done" not in seen:
            t = threading.Thread(target=work)
            t.start()
            t.join(30)
            seen["done"] = not t.is_alive()
            seen["thread"] = t
        return real(session, call)

    monkeypatch.setattr(rq, "conflict_pairs", conflict_pairs)
    return seen


def test_an_audited_write_elsewhere_does_not_wait_for_the_freezes_read(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    _pg(factory)
    call_id, _aid = _calibrated_but_one(factory)

    def elsewhere() -> None:  # another person's audited write, of no call
        with factory() as s:
            auditlog.record(s, "api_token.created", "api_token", 1)
            s.commit()

    seen = _during_the_read(monkeypatch, elsewhere)
    with factory() as chair:
        call = chair.get(Call, call_id)
        assert call is not None
        rv.freeze_ranking(chair, call)
        chair.commit()
    seen["thread"].join(60)
    assert seen["done"], "the write waited for the freeze's read of the grades"
    with factory() as s:
        call = s.get(Call, call_id)
        assert call is not None and call.ranking_frozen_at is not None


def test_a_review_committed_during_the_read_makes_the_freeze_refuse(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    _pg(factory)
    call_id, aid = _calibrated_but_one(factory)

    def review() -> None:
        with factory() as s:
            a = s.get(ReviewAssignment, aid)
            assert a is not None
            reviewer = s.get(User, a.reviewer_id)
            assert reviewer is not None
            rv.submit_review(s, a, reviewer, grade=4.0, comments_to_applicants="Just in.")
            s.commit()

    seen = _during_the_read(monkeypatch, review)
    with factory() as chair:
        call = chair.get(Call, call_id)
        assert call is not None
        with pytest.raises(DomainError, match="grades changed"):
            rv.freeze_ranking(chair, call)
        chair.rollback()
    seen["thread"].join(60)
    assert seen["done"], "the review waited for the freeze's read of the grades"
    with factory() as s:
        call = s.get(Call, call_id)
        assert call is not None and call.ranking_frozen_at is None  # the review is in
        assert s.scalar(select(Review).where(Review.assignment_id == aid)) is not None
