"""Dates (not times) a person reads are written in their language (Babel's medium date,
from CLDR): on the applicant's award page and in the post-award reminders (loan
overdue, first report due, course follow-up); CSV, JSON, iCalendar, the API and form
inputs' values keep ISO."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.inputs import local_date
from opencall.jobs import Job
from opencall.people.queries import user_by_email
from opencall.proposals.models import Proposal
from opencall.results import domain as d
from opencall.results import services
from opencall.results.jobs import (
    queue_follow_up_reminders,
    queue_overdue_reminders,
    queue_report_reminders,
)
from opencall.web.pages import fmt_day
from tests.authz.test_workspace_matrix import session_client
from tests.results.authz_cases import LOAN
from tests.results.conftest import RELEASED, Awarded, build
from tests.results.course_world import course_world
from tests.web.conftest import Web

DUE = {"sample": "CE-5 regolith", "mass_mg": 200, "shipped_on": "2026-11-01",
       "received_on": "2026-11-09", "due_on": "2027-01-16"}  # fmt: skip


def _bodies(s: Session) -> list[str]:
    return [j.payload["body"] for j in s.scalars(select(Job).where(Job.kind == "mail"))]


def test_a_date_in_the_readers_language() -> None:
    day = dt.date(2027, 1, 16)
    assert local_date(day, "fr") == "16 janv. 2027"
    assert local_date(day, "zh") == "2027年1月16日"
    assert local_date(day, "es") == "16 ene 2027"
    assert local_date(day, "en") == "Jan 16, 2027"
    assert local_date(day, "xx") == local_date(day, "en")  # an unknown language: English
    # the template filter takes a stored record's ISO text too, and leaves other text be
    assert fmt_day("2027-01-16") == "Jan 16, 2027" and fmt_day(day) == "Jan 16, 2027"
    assert fmt_day("soon") == "soon" and fmt_day(None) == "" and fmt_day("") == ""


def test_a_french_pis_overdue_loan_mail_says_the_day_in_french(db: Session) -> None:
    a = build(db)
    p = db.get(Proposal, a.awarded)
    assert p is not None
    services.add_record(db, p, "loan", DUE, actor_id=None)
    assert queue_overdue_reminders(db, "http://x", dt.date(2027, 1, 25)) == 1
    (body,) = _bodies(db)
    assert "16 janv. 2027" in body, body
    assert "2027-01-16" not in body


def test_a_french_pis_report_reminder_says_both_days_in_french(db: Session) -> None:
    a = build(db)
    awarded = RELEASED.date()
    due = awarded + dt.timedelta(days=d.REPORT_DUE_DAYS)
    assert queue_report_reminders(db, "http://x", due + dt.timedelta(days=1)) == 1
    (body,) = _bodies(db)
    assert local_date(awarded, "fr") in body and local_date(due, "fr") in body, body
    assert awarded.isoformat() not in body and due.isoformat() not in body
    assert a.awarded


def test_a_follow_up_reminder_says_each_wave_day_in_the_pis_language(db: Session) -> None:
    _, props = course_world(db, ["ETH"], language="fr")
    services.add_record(db, props["ETH"], "course", {"participant": "Abebe", "attended": True,
                        "completed": True, "completed_on": "2028-01-15"}, actor_id=None)  # fmt: skip
    assert queue_follow_up_reminders(db, "http://x", dt.date(2028, 7, 15)) == 1
    (body,) = _bodies(db)
    assert "15 juil. 2028" in body and "2028-07-15" not in body, body


def test_the_award_page_says_dates_in_chinese_and_keeps_iso_in_the_form(
    web: Web, aw: Awarded
) -> None:
    with web.factory() as s:
        pi = user_by_email(s, aw.emails["pi"])
        assert pi is not None
        pi.language = "zh"
        p = s.get(Proposal, aw.awarded)
        assert p is not None
        out = services.add_output(s, p, {"title": "Ages", "year": 2028}, actor_id=None)
        services.retract_output(s, out, on=dt.date(2029, 3, 2), note="x", actor_id=None)
        s.commit()
    client, tok = session_client(web, aw.emails["pi"])
    r = client.post(f"/awards/{aw.awarded}/records", data={"csrf_token": tok, **LOAN})
    assert r.status_code == 303
    page = client.get(f"/awards/{aw.awarded}").text
    assert "2028年6月1日" in page, page  # the record's due day, read
    assert 'value="2028-06-01"' in page  # the correction form's input keeps ISO
    assert ": 2028-06-01" not in page
    assert "2029年3月2日" in page and "2029-03-02" not in page  # the retraction's day
    # the office's overview of the call says the first report's due day in its language
    office, _ = session_client(web, aw.emails["manager"])
    page = office.get(f"/manage/calls/{aw.slug}/postaward").text
    due = RELEASED.date() + dt.timedelta(days=d.REPORT_DUE_DAYS)
    assert local_date(due, "en") in page and due.isoformat() not in page, page


def test_the_overdue_loan_mail_puts_its_link_on_a_line_of_its_own(db: Session) -> None:
    """The sentence's ``{% endif %}`` ate the newline before the link: "...consommé.http://x/
    awards/1", a link some mail readers then did not recognise."""
    a = build(db)
    p = db.get(Proposal, a.awarded)
    assert p is not None
    services.add_record(db, p, "loan", DUE, actor_id=None)
    services.add_record(db, p, "loan", {"item": "glider", "sample": "G1", "due_on": "2027-01-16"},
                        actor_id=None)  # fmt: skip
    assert queue_overdue_reminders(db, "http://x", dt.date(2027, 1, 25)) == 2
    for body in _bodies(db):
        assert f"\nhttp://x/awards/{p.id}\n" in body, body
