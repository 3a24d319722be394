"""A course's participants asked, 6 and 12 months after they completed it, what they did
with it: each wave is due on its day, its PI is asked then (one mail naming the
participants not yet heard from) and reminded every 30 days for 90 days, a follow-up
report dated from 30 days before the wave answers it, and the report gives each wave's
response by income group, UN region and LDC status."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall.auditlog import AuditEvent
from opencall.cli import app as cli_app
from opencall.db import unit_of_work
from opencall.errors import DomainError
from opencall.jobs import Job
from opencall.outcomes import queries as oq
from opencall.outcomes.report import report_document
from opencall.proposals.queries import pi_user
from opencall.results import domain as d
from opencall.results import services as rs
from opencall.results.jobs import queue_follow_up_reminders
from tests import factories as f
from tests.cli_db import cli_database
from tests.results.course_world import course_world

DONE = dt.date(2028, 1, 15)
SIX = dt.date(2028, 7, 15)
TWELVE = dt.date(2029, 1, 15)


def test_each_wave_is_due_months_after_the_course_and_answered_by_a_report_near_it() -> None:
    assert d.follow_up_waves(DONE, []) == [(6, SIX, None), (12, TWELVE, None)]
    # a report a month early answers the 6-month wave, one a day earlier none
    early = SIX - dt.timedelta(days=d.FOLLOW_UP_EARLY_DAYS)
    assert d.follow_up_waves(DONE, [early]) == [(6, SIX, early), (12, TWELVE, None)]
    assert d.follow_up_waves(DONE, [early - dt.timedelta(days=1)])[0] == (6, SIX, None)
    # a report at 12 months answers the 12-month wave, not the 6-month one it missed
    late = dt.date(2029, 1, 2)
    assert d.follow_up_waves(DONE, [late]) == [(6, SIX, None), (12, TWELVE, late)]
    # the end of a month: 31 August + 6 months is the last day of February
    assert d.follow_up_waves(dt.date(2027, 8, 31), [])[0][1] == dt.date(2028, 2, 29)


def _mails(db: Session) -> list[Job]:
    return list(db.scalars(select(Job).where(Job.kind == "mail").order_by(Job.id)))


def test_a_course_completion_day_needs_the_course_completed(db: Session) -> None:
    _, props = course_world(db, ["ETH"])
    before = f.table_counts(db)
    with pytest.raises(DomainError, match="completed"):
        rs.add_record(db, props["ETH"], "course", {"participant": "A", "attended": True,
                                                    "completed_on": "2028-01-15"}, actor_id=None)  # fmt: skip
    assert f.table_counts(db) == before
    # a course kept without the day stores what it stored before the day was added
    rec = rs.add_record(db, props["ETH"], "course", {"participant": "A", "attended": True},
                        actor_id=None)  # fmt: skip
    assert "completed_on" not in rec.data


def test_participants_are_asked_at_each_wave_and_reminded_until_they_answer(db: Session) -> None:
    call, props = course_world(db, ["ETH", "DEU"], language="fr")
    eth = props["ETH"]
    for who in ("Abebe", "Bekele"):
        rs.add_record(db, eth, "course", {"participant": who, "attended": True, "completed": True,
                                          "completed_on": DONE.isoformat()}, actor_id=None)  # fmt: skip
    # completed, but no day given: not followed (nothing to count the months from)
    rs.add_record(db, props["DEU"], "course", {"participant": "Hans", "attended": True,
                                               "completed": True}, actor_id=None)  # fmt: skip
    assert queue_follow_up_reminders(db, "http://x", SIX - dt.timedelta(days=1)) == 0
    assert queue_follow_up_reminders(db, "http://x", SIX) == 1  # one mail for the award
    (mail,) = _mails(db)
    pi = pi_user(db, eth)
    assert pi is not None and mail.payload["to"] == pi.email
    body = mail.payload["body"]
    assert "Abebe" in body and "Bekele" in body and f"/awards/{eth.id}" in body
    assert mail.payload["subject"].startswith("Suivi")  # the PI's language
    assert queue_follow_up_reminders(db, "http://x", SIX + dt.timedelta(days=29)) == 0
    rs.add_record(db, eth, "followup", {"participant": "Abebe", "followed_up_on": "2028-07-20",
                                        "people_trained": 12}, actor_id=None)  # fmt: skip
    assert queue_follow_up_reminders(db, "http://x", SIX + dt.timedelta(days=30)) == 1
    body = _mails(db)[-1].payload["body"]
    assert "Bekele" in body and "Abebe" not in body  # only who is still due
    assert queue_follow_up_reminders(db, "http://x", SIX + dt.timedelta(days=60)) == 1
    # chased for 90 days, then left until the next wave
    assert queue_follow_up_reminders(db, "http://x", SIX + dt.timedelta(days=91)) == 0
    assert queue_follow_up_reminders(db, "http://x", TWELVE) == 1
    assert "Abebe" in _mails(db)[-1].payload["body"]
    assert len(_mails(db)) == 4
    assert db.scalar(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "postaward.follow_up_reminder"
        )
    ) == 4  # fmt: skip
    # the response to each wave, by group: 2 due in Ethiopia, 1 answered the 6-month wave
    resp = oq.report(db, call, today=TWELVE)["after_award"]["follow_up_response"]
    by_ldc = {(r["group"], r["months"]): r for r in resp["ldc"]}
    assert (by_ldc["LDC", 6]["due"], by_ldc["LDC", 6]["answered"]) == (2, 1)
    assert by_ldc["LDC", 6]["rate"] == 0.5
    assert (by_ldc["LDC", 12]["due"], by_ldc["LDC", 12]["answered"]) == (2, 0)
    assert ("non-LDC", 6) not in by_ldc  # no participant with a day to count from
    # the office's downloads and its page/PDF carry the same figures
    data = oq.report(db, call, today=TWELVE)
    csv_text = oq.report_csv(data)
    assert "ldc,LDC,follow_up_response:6,1,2,0.5," in csv_text
    doc = report_document(data, lambda s, **k: s % k if k else s)
    (table,) = [t for t in doc["after_award_more"] if t["title"].startswith("Follow-up response")
                and t["title"].endswith("Least developed countries")]  # fmt: skip
    assert ["Least developed countries", "6", "2", "1", "50 % [9.5 %, 91 %]"] in table["rows"]


def test_the_daily_command_asks_for_the_follow_ups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with cli_database(tmp_path, monkeypatch, "waves") as (runner, factory):
        with unit_of_work(factory) as s:
            _, props = course_world(s, ["ETH"])
            rs.add_record(s, props["ETH"], "course", {"participant": "A", "attended": True,
                                                      "completed": True,
                                                      "completed_on": DONE.isoformat()},
                          actor_id=None)  # fmt: skip
        r = runner.invoke(cli_app, ["postaward", "remind", "--today", SIX.isoformat()])
        assert r.exit_code == 0, r.output
        assert "1 course follow-up reminder(s) queued" in r.output, r.output
