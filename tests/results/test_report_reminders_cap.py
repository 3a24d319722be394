"""The first-report reminders of an award never reported stop after
``Settings.report_reminders_max`` of them (default 6: about half a year of monthly
reminders after the report fell due); the user office is told instead: the call's
overview marks the award "reminders stopped" (mail20b)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.jobs import Job
from opencall.results import domain as d
from opencall.results import queries as q
from opencall.results.jobs import queue_report_reminders
from opencall.settings import Settings
from tests.authz.test_workspace_matrix import session_client
from tests.results.conftest import RELEASED, Awarded, build
from tests.web.conftest import Web

LATE = RELEASED.date() + dt.timedelta(days=d.REPORT_DUE_DAYS + 1)


def _mails(s: Session) -> list[Job]:
    return list(s.scalars(select(Job).where(Job.kind == "mail").order_by(Job.id)))


def _monthly(db: Session, months: int, max_reminders: int | None = None) -> list[int]:
    kw = {} if max_reminders is None else {"max_reminders": max_reminders}
    return [
        queue_report_reminders(
            db, "http://x", LATE + dt.timedelta(days=d.REPORT_REMIND_EVERY_DAYS * i), **kw
        )
        for i in range(months)
    ]


def test_the_default_is_six() -> None:
    assert Settings().report_reminders_max == 6 == d.REPORT_REMINDERS_MAX


def test_reminders_stop_after_the_stated_number(db: Session) -> None:
    a = build(db)
    assert _monthly(db, 12) == [1] * 6 + [0] * 6
    assert len(_mails(db)) == 6
    rem = q.report_reminder(db, a.awarded)
    assert rem is not None and rem.reminders_sent == 6


def test_a_setting_of_two_stops_after_two(db: Session) -> None:
    build(db)
    assert _monthly(db, 5, max_reminders=2) == [1, 1, 0, 0, 0]
    assert len(_mails(db)) == 2


def test_a_bad_setting_is_refused() -> None:
    import pytest
    from pydantic import ValidationError

    for bad in (0, -1, 1001):
        with pytest.raises(ValidationError, match="report_reminders_max"):
            Settings(report_reminders_max=bad)


def test_the_claim_itself_refuses_past_the_number(db: Session) -> None:
    """A run that read the row before another's last reminder does not send one more:
    the claim's one statement checks the count too."""
    from opencall.proposals.models import Proposal
    from opencall.results.services import claim_report_reminder

    a = build(db)
    p = db.get(Proposal, a.awarded)
    assert p is not None
    assert claim_report_reminder(db, p, LATE, 1)
    later = LATE + dt.timedelta(days=d.REPORT_REMIND_EVERY_DAYS)
    assert not claim_report_reminder(db, p, later, 1)
    assert claim_report_reminder(db, p, later, 2)


def test_the_office_overview_says_the_reminders_stopped(web: Web, aw: Awarded) -> None:
    """Past the number the office is told instead, in its language: the call's overview
    marks the award; one reminder short of it, it does not."""
    from opencall.proposals.models import Proposal
    from opencall.results.models import ReportReminder

    day = dt.date(2028, 1, 1)
    with web.factory() as s:
        p = s.get(Proposal, aw.awarded)
        assert p is not None
        rem = ReportReminder(
            call_id=p.call_id,
            proposal_id=p.id,
            reminders_sent=d.REPORT_REMINDERS_MAX - 1,
            first_reminded_on=day,
            last_reminded_on=day,
        )
        s.add(rem)
        s.commit()
        rem_id = rem.id
    client, _tok = session_client(web, aw.emails["manager"])
    url = f"/manage/calls/{aw.slug}/postaward"
    stopped = "reminders stopped: the team is written to no more"
    assert stopped not in client.get(url).text
    with web.factory() as s:
        row = s.get(ReportReminder, rem_id)
        assert row is not None
        row.reminders_sent = d.REPORT_REMINDERS_MAX
        s.commit()
    assert stopped in client.get(url).text
    client.cookies.set("oc_lang", "fr")
    assert "rappels arrêtés" in client.get(url).text
