"""An award the user office ended (outcomes22) after outcomes22b: its PI is no longer
reminded (the course follow-up waves of its participants, the first report), and what
its call holds of the resource for other calls' offers (``held_by_call``) counts only
the part that stays used, the returned part free as it is within the call."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation import services as al
from opencall.allocation.models import Award, AwardEnd
from opencall.calls import services as call_services
from opencall.calls.models import CapacityPool
from opencall.jobs import Job
from opencall.people import services as people_services
from opencall.proposals.queries import pi_user
from opencall.results import domain as d
from opencall.results import ends
from opencall.results import queries as rq
from opencall.results import services as rs
from opencall.results.jobs import queue_follow_up_reminders, queue_report_reminders
from tests import factories as f
from tests.results.course_world import course_world

DONE = dt.date(2028, 1, 15)
SIX = DONE.replace(month=7)


def _end(db: Session, call_provider: int, proposal) -> AwardEnd:  # type: ignore[no-untyped-def]
    office = f.user(db, email=f"office{proposal.id}@ended.example")
    people_services.grant_role(db, office.id, "call_manager", provider_id=call_provider)
    row, created = ends.end_award(db, proposal, reason="visa", note="Visa refused", actor=office)
    assert created
    return row


def _mailed_to(db: Session) -> list[str]:
    return [str(j.payload["to"]) for j in db.scalars(select(Job).where(Job.kind == "mail"))]


def test_an_ended_award_is_no_longer_reminded(db: Session) -> None:
    call, props = course_world(db, ["ETH", "KEN", "DEU", "BRA"])
    # ETH and KEN ran the course (their participants are followed up); DEU and BRA have
    # reported nothing (their first report is chased); ETH and DEU are ended
    for iso3, who in (("ETH", "Abebe"), ("KEN", "Wanjiru")):
        rs.add_record(db, props[iso3], "course", {"participant": who, "attended": True,
                      "completed": True, "completed_on": DONE.isoformat()}, actor_id=None)  # fmt: skip
    for iso3 in ("ETH", "DEU"):
        _end(db, call.provider_id, props[iso3])
    db.flush()
    pis = {iso3: pi_user(db, p) for iso3, p in props.items()}
    assert queue_follow_up_reminders(db, "http://x", SIX) == 1
    body = db.scalars(select(Job).where(Job.kind == "mail")).one().payload["body"]
    assert "Wanjiru" in body and "Abebe" not in body
    assert _mailed_to(db) == [pis["KEN"].email]  # type: ignore[union-attr]
    overdue = d.report_due_on(rq.awarded_on(call)) + dt.timedelta(days=1)
    assert queue_report_reminders(db, "http://x", overdue) == 1
    assert _mailed_to(db)[1:] == [pis["BRA"].email]  # type: ignore[union-attr]


def test_what_a_call_holds_counts_only_what_an_ended_award_still_uses(db: Session) -> None:
    call, props = course_world(db, ["ETH", "KEN"])
    pool = db.scalars(select(CapacityPool).where(CapacityPool.id == call.pools[0].pool_id)).one()
    awarded = sum(a.amount for a in db.scalars(select(Award).where(Award.call_id == call.id)))
    assert call_services.held_by_call(db, pool)[call.id] == pytest.approx(awarded)
    row = _end(db, call.provider_id, props["ETH"])
    returned = sum(x["returned"] for x in row.returned if x["pool_id"] == pool.id)
    assert returned > 0
    held = call_services.held_by_call(db, pool)[call.id]
    assert held == pytest.approx(awarded - returned)
    # the same as the call counts it for its own offers: its offer less what is free
    free = al.free_capacity(db, call)[pool.id]
    assert held == pytest.approx(call.pools[0].amount - free)
    assert call_services.held_by_calls(db, [pool.id])[pool.id][call.id] == pytest.approx(held)


def test_an_ended_award_is_not_listed_as_a_report_overdue(db: Session) -> None:
    """mend23: the reminders of an ended award stopped (outcomes22b) but the office's
    overview, its ``?report=overdue`` filter and the API still called its first report
    "overdue" (in red, as the awards whose teams the office must chase): it is ended, owed
    no report and chased by nobody. An award not ended stays overdue."""
    call, props = course_world(db, ["DEU", "BRA"])
    _end(db, call.provider_id, props["DEU"])
    db.flush()
    overdue = d.report_due_on(rq.awarded_on(call)) + dt.timedelta(days=1)
    stages = rq.stages_of_call(db, call, today=overdue)
    assert stages[props["BRA"].id]["report_overdue"] is True
    assert stages[props["DEU"].id]["report_overdue"] is False
    listed = db.scalars(rq.awarded_proposals_query(call, report="overdue", today=overdue)).all()
    assert [p.id for p in listed] == [props["BRA"].id]
    assert queue_report_reminders(db, "http://x", overdue) == 1


def test_an_ended_award_keeps_the_reminders_its_pi_was_sent(db: Session) -> None:
    """mend24: ending an award deleted its ``ReportReminder`` row, so the office's overview
    (its CSV and the API) no longer said how often and when its PI had been reminded of the
    first report: the history of the award, which an end keeps (its records and results),
    was lost. Nobody is reminded again."""
    call, props = course_world(db, ["DEU", "BRA"])
    overdue = d.report_due_on(rq.awarded_on(call)) + dt.timedelta(days=1)
    assert queue_report_reminders(db, "http://x", overdue) == 2
    _end(db, call.provider_id, props["DEU"])
    db.flush()
    stages = rq.stages_of_call(db, call, today=overdue)
    assert stages[props["DEU"].id]["report_reminders"] == 1
    assert stages[props["DEU"].id]["last_report_reminder"] == overdue
    later = overdue + dt.timedelta(days=d.REPORT_REMIND_EVERY_DAYS + 1)
    assert queue_report_reminders(db, "http://x", later) == 1  # BRA's PI alone
    assert rq.stages_of_call(db, call, today=later)[props["DEU"].id]["report_reminders"] == 1


def test_an_ended_award_is_not_listed_as_a_report_pending(db: Session) -> None:
    """mend24: before the due day, the office's ``?report=pending`` filter (the page, the
    CSV, the API) listed an ended award among those whose report is still to come: it is
    owed none. An award not ended stays pending; an ended award that reported stays
    reported."""
    call, props = course_world(db, ["DEU", "BRA", "KEN"])
    rs.add_record(db, props["KEN"], "course", {"participant": "Wanjiru", "attended": True,
                  "completed": True, "completed_on": DONE.isoformat()}, actor_id=None)  # fmt: skip
    for iso3 in ("DEU", "KEN"):
        _end(db, call.provider_id, props[iso3])
    db.flush()
    before = rq.awarded_on(call)
    pending = db.scalars(rq.awarded_proposals_query(call, report="pending", today=before)).all()
    assert [p.id for p in pending] == [props["BRA"].id]
    reported = db.scalars(rq.awarded_proposals_query(call, report="reported", today=before)).all()
    assert [p.id for p in reported] == [props["KEN"].id]
