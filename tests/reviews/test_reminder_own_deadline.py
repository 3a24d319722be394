"""A reviewer whose deadline the chair extended is reminded of their own deadline
(trialrev16). Before, ``opencall remind`` read the call's deadline alone: the reviewer
given more time was mailed "due <the call's deadline>" (a deadline that no longer applied
to them) and never reminded before their own."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from opencall.calls.models import Call
from opencall.jobs import Job
from opencall.people.models import User
from opencall.reviews import notify
from opencall.reviews.models import ReviewAssignment, ReviewDeadlineExtension
from opencall.web.pages import fmt_when
from tests.review_cycle import Cycle

DEADLINE = dt.datetime(2027, 3, 15, 0, 0, tzinfo=dt.UTC)
OWN = dt.datetime(2027, 3, 25, 11, 0, tzinfo=dt.UTC)


def _mails_to(s, email: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        j.payload["body"]
        for j in s.scalars(select(Job).where(Job.kind == "mail").order_by(Job.id))
        if j.payload.get("to") == email
    ]


def test_a_reviewer_given_more_time_is_reminded_of_their_own_deadline(
    factory, cycle: Cycle
) -> None:  # type: ignore[no-untyped-def]
    with factory() as s:
        call = s.scalars(select(Call).where(Call.slug == cycle.slug)).one()
        call.review_settings = {**call.review_settings, "review_deadline": DEADLINE.isoformat()}
        pending = [
            a
            for a in s.scalars(select(ReviewAssignment).where(ReviewAssignment.call_id == call.id))
            if a.status in ("assigned", "accepted")
        ]
        reviewers = sorted({a.reviewer_id for a in pending})
        late = s.get(User, reviewers[0])
        assert late is not None
        late.time_zone = "Pacific/Auckland"
        s.add(ReviewDeadlineExtension(call_id=call.id, reviewer_id=late.id, until=OWN))
        s.flush()
        n = notify.queue_reminders(s, call, "http://x", now=DEADLINE - dt.timedelta(days=2))
        assert n == len(reviewers) - 1  # not the reviewer whose deadline is ten days later
        assert n == notify.queue_reminders(s, call, "http://x", now=DEADLINE - dt.timedelta(days=1))
        assert _mails_to(s, late.email) == []
        n = notify.queue_reminders(s, call, "http://x", now=OWN - dt.timedelta(days=2))
        assert n == 1
        (body,) = _mails_to(s, late.email)
        # their own deadline, on their own clock (UTC+13 in March), as trialapp16 writes times
        assert "Mar 26, 2027, 12:00\u202fAM (New Zealand (Auckland) Time, UTC+13:00)" in body
        assert fmt_when(OWN, "Pacific/Auckland", "en") in body
        assert "2027-03-15" not in body
        s.rollback()
