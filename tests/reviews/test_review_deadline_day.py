"""A review deadline given as a day (trialrev16): reviews due "on 15 March" end with that
day, not as it begins. Before, the call form, the chair's extension and the JSON API read
"2027-03-15" as 2027-03-15 00:00: a reviewer in UTC+12 was refused from noon on the 15th
of their clock, and one in UTC from the first second of the day the call named."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.presenters import parse_when
from opencall.calls.schemas import review_settings
from opencall.db import utcnow
from opencall.reviews.models import ReviewDeadlineExtension
from opencall.web.pages import fmt_when
from tests.review_cycle import Cycle, Web
from tests.reviews.test_review_after_deadline import extension_api


def test_a_deadline_given_as_a_day_ends_with_that_day() -> None:
    rs = review_settings({"review_deadline": "2027-03-15"})
    end = dt.datetime(2027, 3, 15, 23, 59, 59, tzinfo=dt.UTC)
    assert rs.review_deadline == end
    # and the reviewer in UTC+12 is told when that is on their clock
    said = fmt_when(rs.review_deadline, "Pacific/Fiji")
    assert said == "2027-03-15 23:59 UTC (2027-03-16 11:59 Pacific/Fiji, UTC+12:00)"
    # a time given is kept as it was
    at = review_settings({"review_deadline": "2027-03-15T00:00:00+00:00"}).review_deadline
    assert at == dt.datetime(2027, 3, 15, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("", dt.datetime(2027, 3, 15, 23, 59, 59, tzinfo=dt.UTC)),
        # the call's own zone: the end of 15 March in Fiji is 11:59:59 UTC that day
        ("Pacific/Fiji", dt.datetime(2027, 3, 15, 11, 59, 59, tzinfo=dt.UTC)),
    ],
)
def test_the_form_reads_a_day_as_its_end_for_a_review_deadline(
    zone: str, expected: dt.datetime
) -> None:
    assert parse_when("2027-03-15", zone, end_of_day=True) == expected
    # the call's opening and closing dates keep their meaning: the day begins
    assert parse_when("2027-03-15", zone) == expected - dt.timedelta(
        hours=23, minutes=59, seconds=59
    )
    assert parse_when("2027-03-15 17:00", zone, end_of_day=True) == parse_when(
        "2027-03-15 17:00", zone
    )
    assert parse_when("15 March", zone, end_of_day=True) is None


def test_the_api_reads_a_day_as_its_end_for_an_extension(
    web: Web, cycle: Cycle, factory: sessionmaker[Session]
) -> None:
    """The same "2027-03-15" typed on the page or sent to the API is one deadline: the
    extension API read a date alone as 00:00 of that day (trialrev16)."""
    chair, url = extension_api(web, cycle, factory)
    day = (utcnow() + dt.timedelta(days=2)).date().isoformat()
    end = dt.datetime.fromisoformat(day).replace(hour=23, minute=59, second=59, tzinfo=dt.UTC)
    assert parse_when(day, "", end_of_day=True) == end  # what the page reads (call in UTC)
    r = web.client().put(url, headers=chair, json={"until": day, "reason": "ill"})
    assert r.status_code == 200, r.text
    assert dt.datetime.fromisoformat(r.json()["until"]) == end
    with factory() as s:
        ext = s.scalars(select(ReviewDeadlineExtension)).one()
        assert ext.until.replace(tzinfo=dt.UTC) == end
    # a time given is kept as it was; nonsense is refused
    r = web.client().put(url, headers=chair, json={"until": f"{day}T10:00:00Z"})
    assert r.status_code == 200, r.text
    assert r.json()["until"].startswith(f"{day}T10:00:00")
    r = web.client().put(url, headers=chair, json={"until": "15 March"})
    assert r.status_code == 422
