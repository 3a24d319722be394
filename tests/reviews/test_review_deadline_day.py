"""A review deadline given as a day (trialrev16): reviews due "on 15 March" end with that
day, not as it begins. Before, the call form, the chair's extension and the JSON API read
"2027-03-15" as 2027-03-15 00:00: a reviewer in UTC+12 was refused from noon on the 15th
of their clock, and one in UTC from the first second of the day the call named."""

from __future__ import annotations

import datetime as dt

import pytest

from opencall.calls.presenters import parse_when
from opencall.calls.schemas import review_settings
from opencall.web.pages import fmt_when


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
