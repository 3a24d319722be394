"""``opencall remind`` mails each reviewer once per assignment and threshold
(``within_days``): a second run, an overlapping cron or a retry, mails nobody again."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from opencall.calls.models import Call
from opencall.jobs import Job
from opencall.reviews import notify
from opencall.reviews.models import ReviewAssignment
from tests.review_cycle import Cycle

DEADLINE = dt.datetime(2027, 3, 1, 2, 0, tzinfo=dt.UTC)


def _mails(s) -> int:  # type: ignore[no-untyped-def]
    return int(s.scalar(select(func.count(Job.id)).where(Job.kind == "mail")) or 0)


def test_review_reminder_is_sent_once_per_assignment_and_threshold(factory, cycle: Cycle) -> None:  # type: ignore[no-untyped-def]
    with factory() as s:
        call = s.scalars(select(Call).where(Call.slug == cycle.slug)).one()
        call.review_settings = {**call.review_settings, "review_deadline": DEADLINE.isoformat()}
        s.flush()
        pending = [
            a
            for a in s.scalars(select(ReviewAssignment).where(ReviewAssignment.call_id == call.id))
            if a.status in ("assigned", "accepted")
        ]
        reviewers = {a.reviewer_id for a in pending}
        assert reviewers
        at = DEADLINE - dt.timedelta(days=2)
        before = _mails(s)
        assert notify.queue_reminders(s, call, "http://x", now=at) == len(reviewers)
        sent = _mails(s)
        assert sent > before
        # the same run again, an hour later: nothing more
        assert notify.queue_reminders(s, call, "http://x", now=at + dt.timedelta(hours=1)) == 0
        assert _mails(s) == sent
        # the nearer threshold is another reminder, once
        last = DEADLINE - dt.timedelta(hours=12)
        assert notify.queue_reminders(s, call, "http://x", within_days=1, now=last) == len(
            reviewers
        )
        assert notify.queue_reminders(s, call, "http://x", within_days=1, now=last) == 0
        # a reminded assignment the solver drops takes its reminders with it
        s.delete(pending[0])
        s.flush()
        s.rollback()
