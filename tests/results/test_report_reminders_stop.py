"""The overdue first-report reminders stop where nobody should be chased
(outcomes20): an award its PI declined (withdrawn: its rows are gone) and a PI whose
account is closed are written to no more; the reminders that were sent stay on record."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.jobs import Job
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.results import domain as d
from opencall.results.declines import decline_award
from opencall.results.jobs import queue_report_reminders
from tests.results.conftest import RELEASED, build

LATE = RELEASED.date() + dt.timedelta(days=d.REPORT_DUE_DAYS + 1)


def _mails(s: Session) -> list[Job]:
    return list(s.scalars(select(Job).where(Job.kind == "mail").order_by(Job.id)))


def test_a_declined_award_is_chased_no_more(db: Session) -> None:
    a = build(db)
    p = db.get(Proposal, a.awarded)
    assert p is not None
    assert queue_report_reminders(db, "http://x", LATE) == 1
    pi = db.scalar(select(User).where(User.email == "pi@ke.example"))
    assert pi is not None
    decline_award(db, p, reason="other", actor_id=pi.id)
    assert queue_report_reminders(db, "http://x", LATE + dt.timedelta(days=60)) == 0
    assert [m.payload["to"] for m in _mails(db)].count("pi@ke.example") == 1


def test_a_closed_account_is_not_written_to(db: Session) -> None:
    a = build(db)
    assert a.awarded
    pi = db.scalar(select(User).where(User.email == "pi@ke.example"))
    assert pi is not None
    pi.is_active = False
    db.flush()
    assert queue_report_reminders(db, "http://x", LATE) == 0
    assert _mails(db) == []
