"""The review deadline as a reviewer in another time zone meets it: stored in UTC
whatever offset it was given in (and a deadline given without one, as the JSON API
took it, is UTC rather than a date the reminders cannot compare), and said as
"2027-03-01 02:00 UTC" in the recruitment mail and page, never as a raw ISO string;
since trialapp16 in the reader's language and zone, named ("Mar 1, 2027, 2:00 AM (UTC)")."""

from __future__ import annotations

import datetime as dt
import html

from sqlalchemy import select

from opencall.calls.models import Call
from opencall.calls.schemas import review_settings
from opencall.jobs import Job
from opencall.people.models import User
from opencall.reviews import notify
from opencall.web.pages import fmt_when
from tests import factories as F
from tests.review_cycle import Cycle
from tests.reviews.test_recruitment_pages import LINK, _last_mail_to
from tests.web.conftest import Web, csrf

DEADLINE = dt.datetime(2027, 3, 1, 2, 0, tzinfo=dt.UTC)


def test_a_deadline_is_kept_in_utc_whatever_offset_it_was_given_in() -> None:
    for given in ("2027-03-01T04:00:00+02:00", "2027-02-28T22:00:00-04:00", "2027-03-01T02:00:00"):
        rs = review_settings({"review_deadline": given})
        assert rs.review_deadline == DEADLINE, given
        assert rs.review_deadline is not None and rs.review_deadline.utcoffset() == dt.timedelta(0)
        assert rs.model_dump(mode="json")["review_deadline"].startswith("2027-03-01T02:00:00")


def test_reminders_of_a_deadline_stored_without_an_offset(factory, cycle: Cycle) -> None:  # type: ignore[no-untyped-def]
    with factory() as s:
        call = s.scalars(select(Call).where(Call.slug == cycle.slug)).one()
        # as the JSON API stored it before: no offset
        call.review_settings = {**call.review_settings, "review_deadline": "2027-03-01T02:00:00"}
        s.flush()
        n = notify.queue_reminders(s, call, "http://x", now=DEADLINE - dt.timedelta(days=1))
        assert n >= 1
        body = s.scalars(select(Job).where(Job.kind == "mail").order_by(Job.id.desc())).first()
        assert body is not None
        to = s.scalars(select(User).where(User.email == body.payload["to"])).one()
        said = fmt_when(DEADLINE, to.reading_zone, to.language)  # trialapp16
        assert said in body.payload["body"], body.payload["body"]
        s.rollback()


def test_recruitment_mail_and_page_say_the_deadline_in_utc_and_the_readers_zone(
    web: Web, cycle: Cycle
) -> None:
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == cycle.slug)).one()
        call.review_settings = review_settings(
            {**call.review_settings, "review_deadline": "2027-03-01T04:00:00+02:00"}
        ).model_dump(mode="json")
        s.commit()
    chair = web.login(cycle.emails["chair"])
    url = f"/manage/calls/{cycle.slug}/reviewers"
    r = chair.post(url, data={"csrf_token": csrf(chair, url), "emails": "lejos@uni.example\n"})
    assert r.status_code == 303
    body = _last_mail_to(web, "lejos@uni.example")
    # no account: UTC, named (trialapp16: written as English readers write dates)
    assert "Reviews are due by Mar 1, 2027, 2:00\u202fAM (UTC)." in body, body
    token = LINK.search(body).group(1)  # type: ignore[union-attr]
    with web.factory() as s:
        u = F.user(s, email="lejos@uni.example")
        u.time_zone = "Asia/Dhaka"
        s.commit()
    page = html.unescape(web.login("lejos@uni.example").get(f"/review/invitations/{token}").text)
    assert "Reviews are due by Mar 1, 2027, 8:00\u202fAM (Bangladesh Time, UTC+06:00)." in page
