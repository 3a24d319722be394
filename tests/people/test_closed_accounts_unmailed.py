"""No scheduled mail goes to a deactivated account (mail20b, after outcomes20 stopped the
post-award reminders): the draft reminders, the reviewer reminders and the reviewer
invitations all ask ``people.queries.may_be_mailed``; an active account still gets them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.jobs import Job
from opencall.people.models import User
from opencall.people.queries import may_be_mailed
from opencall.proposals.notify import queue_draft_reminders
from opencall.reviews import notify
from opencall.reviews.models import ReviewAssignment
from tests import factories as F
from tests.review_cycle import Cycle

DEADLINE = dt.datetime(2027, 3, 1, 2, 0, tzinfo=dt.UTC)


def _to(s: Session) -> list[str]:
    return [j.payload["to"] for j in s.scalars(select(Job).where(Job.kind == "mail"))]


def test_the_shared_check() -> None:
    assert may_be_mailed(User(email="a@x.org", name="A", is_active=True))
    assert not may_be_mailed(User(email="a@x.org", name="A", is_active=False))
    assert not may_be_mailed(None)


def test_no_draft_reminder_to_a_closed_account(db: Session) -> None:
    call = F.fast_call(db)
    open_pi = F.user(db, email="open@example.org")
    shut_pi = F.user(db, email="shut@example.org")
    F.full_proposal(db, call, open_pi)
    F.full_proposal(db, call, shut_pi)
    shut_pi.is_active = False
    db.flush()
    at = call.closes_at - dt.timedelta(days=6)
    assert queue_draft_reminders(db, "http://x", [7, 1], now=at) == 1
    assert _to(db) == ["open@example.org"]


def test_no_reviewer_reminder_nor_invitation_to_a_closed_account(factory, cycle: Cycle) -> None:  # type: ignore[no-untyped-def]
    with factory() as s:
        call = s.scalars(select(Call).where(Call.slug == cycle.slug)).one()
        call.review_settings = {**call.review_settings, "review_deadline": DEADLINE.isoformat()}
        pending = [
            a
            for a in s.scalars(select(ReviewAssignment).where(ReviewAssignment.call_id == call.id))
            if a.status in ("assigned", "accepted")
        ]
        assert pending
        at = DEADLINE - dt.timedelta(days=2)
        # the control: an active reviewer is reminded and invited (rolled back below)
        with s.begin_nested() as sp:
            assert notify.queue_reminders(s, call, "http://x", now=at) >= 1
            sp.rollback()
        for a in pending:
            a.status = "assigned"
        with s.begin_nested() as sp:
            assert notify.notify_assigned(s, "http://x", call, pending) >= 1
            sp.rollback()
        before = len(_to(s))
        for rid in {a.reviewer_id for a in pending}:
            user = s.get(User, rid)
            assert user is not None
            user.is_active = False
        s.flush()
        assert notify.queue_reminders(s, call, "http://x", now=at) == 0
        assert notify.notify_assigned(s, "http://x", call, pending) == 0
        assert len(_to(s)) == before
        s.rollback()
