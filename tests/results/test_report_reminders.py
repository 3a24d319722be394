"""An awardee who never reports: a first report (a record of the award's use, or a
result) is due a year after the award; until one comes, the PI is chased by e-mail in
their language every 30 days, the user office sees it on the call's overview (page, CSV,
API), and the reminders stop when something is recorded."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall.auditlog import AuditEvent
from opencall.jobs import Job
from opencall.proposals.models import Proposal
from opencall.results import domain as d
from opencall.results import queries as q
from opencall.results import services
from opencall.results.jobs import queue_report_reminders
from opencall.results.models import ReportReminder
from tests.results.conftest import RELEASED, build


def _mails(s: Session) -> list[Job]:
    return list(s.scalars(select(Job).where(Job.kind == "mail").order_by(Job.id)))


def test_an_awardee_who_never_reports_is_chased_until_they_do(db: Session) -> None:
    a = build(db)
    p = db.get(Proposal, a.awarded)
    assert p is not None
    call = p.call
    due = RELEASED.date() + dt.timedelta(days=d.REPORT_DUE_DAYS)
    assert q.stages_of_call(db, call, today=due)[p.id]["report_overdue"] is False
    assert queue_report_reminders(db, "http://x", due) == 0  # due today: not yet late
    late = due + dt.timedelta(days=1)
    assert queue_report_reminders(db, "http://x", late) == 1
    (mail,) = _mails(db)
    assert mail.payload["to"] == "pi@ke.example"  # the PI, in French
    assert mail.payload["subject"].startswith("En retard : le premier rapport")
    assert f"/awards/{p.id}" in mail.payload["body"] and "30" in mail.payload["body"]
    # the rejected proposal is never chased; the awarded one not again within 30 days
    assert queue_report_reminders(db, "http://x", late + dt.timedelta(days=29)) == 0
    assert queue_report_reminders(db, "http://x", late + dt.timedelta(days=30)) == 1
    st = q.stages_of_call(db, call, today=late + dt.timedelta(days=30))[p.id]
    assert st["report_overdue"] is True and st["report_reminders"] == 2
    assert st["last_report_reminder"] == late + dt.timedelta(days=30)
    assert db.scalar(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "postaward.report_reminder"
        )
    ) == 2  # fmt: skip
    # a result is a report: the reminders stop, the history stays for the office
    services.add_output(db, p, {"title": "Ages", "year": 2028}, actor_id=None)
    assert queue_report_reminders(db, "http://x", late + dt.timedelta(days=90)) == 0
    st = q.stages_of_call(db, call, today=late + dt.timedelta(days=90))[p.id]
    assert st["report_overdue"] is False and st["reported"] is True
    assert st["report_reminders"] == 2
    assert len(_mails(db)) == 2
    assert db.scalar(select(func.count()).select_from(ReportReminder)) == 1
