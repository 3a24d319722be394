"""outcomes23: the reminders of an ended award whose PI was then erased. An award the
user office ended is no longer chased for its first report nor its course follow-ups
(outcomes22b), but a sample still out on loan stays overdue and its PI is reminded (the
sample is the facility's). Once the PI is erased (``opencall personal-data --erase``) no
reminder of any kind is queued to the erased account's address (it is closed, so
``people.queries.may_be_mailed`` refuses it); the loan stays overdue on the records, for
the office to follow."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.jobs import Job
from opencall.personal_data import erase_person
from opencall.proposals.queries import pi_user
from opencall.results import domain as d
from opencall.results import queries as rq
from opencall.results.jobs import make_remind
from opencall.results.models import PostAwardRecord
from tests.results.course_world import course_world
from tests.results.test_ended_award_followups import DONE, _end

LOAN = {"sample": "Soil core 7", "mass_mg": 5.0, "shipped_on": "2027-06-01",
        "due_on": "2027-09-01"}  # fmt: skip


def _mails(db: Session) -> list[tuple[str, str]]:
    return [
        (str(j.payload["to"]), str(j.payload["subject"]))
        for j in db.scalars(select(Job).where(Job.kind == "mail").order_by(Job.id))
    ]


def _remind(db: Session, day: dt.date) -> None:
    make_remind("http://x")(db, Job(kind="postaward.remind", payload={"today": day.isoformat()}),
                            lambda _n, _s: None)  # fmt: skip
    db.flush()


def test_an_ended_award_keeps_only_its_loan_reminder_and_an_erased_pi_gets_none(
    db: Session,
) -> None:
    call, props = course_world(db, ["ETH"])
    p = props["ETH"]
    p.status = "accepted"  # as the release of the decisions leaves it
    db.add(PostAwardRecord(call_id=call.id, proposal_id=p.id, kind="course", data={
        "participant": "Abebe", "attended": True, "completed": True,
        "completed_on": DONE.isoformat()}))  # fmt: skip
    db.add(PostAwardRecord(call_id=call.id, proposal_id=p.id, kind="loan", data=dict(LOAN)))
    db.flush()
    _end(db, call.provider_id, p)
    db.flush()
    pi = pi_user(db, p)
    assert pi is not None
    # every reminder would be due on this day: the loan overdue, the follow-up wave, the report
    day = max(d.report_due_on(rq.awarded_on(call)), DONE.replace(month=7)) + dt.timedelta(days=1)
    _remind(db, day)
    assert [to for to, _s in _mails(db)] == [pi.email]
    assert "sample loan" in _mails(db)[0][1]
    # the PI is erased; a later run writes to nobody, the loan stays overdue
    pi.language = "fr"
    erase_person(db, pi, reason="his letter")
    db.flush()
    later = day + dt.timedelta(days=d.REMIND_EVERY_DAYS + d.REPORT_REMIND_EVERY_DAYS)
    _remind(db, later)
    assert len(_mails(db)) == 1, _mails(db)
    assert [r.proposal_id for r in rq.overdue_loans(db, later)] == [p.id]
