"""The helpers dup22 made of code written two or three times (issue 10): a site's own
clock beside UTC (``optim.wallclock.zone_iso``), a schema's time zone field
(``inputs.TimeZoneName``) and the reminder interval of loans and first reports."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel, ValidationError

from opencall.inputs import TimeZoneName
from opencall.optim.wallclock import zone_iso
from opencall.results.domain import needs_reminder, needs_report_reminder

SUMMER = dt.datetime(2027, 7, 1, 10, 0, tzinfo=dt.UTC)
WINTER = dt.datetime(2027, 1, 1, 10, 0, tzinfo=dt.UTC)


def test_zone_iso_is_the_sites_clock_or_nothing() -> None:
    assert zone_iso(SUMMER, "Europe/Berlin") == "2027-07-01T12:00:00+02:00"
    assert zone_iso(WINTER, "Europe/Berlin") == "2027-01-01T11:00:00+01:00"
    assert zone_iso(SUMMER, "") == ""  # no zone: UTC is shown already
    assert zone_iso(None, "Europe/Berlin") == ""  # no instant


class _Zoned(BaseModel):
    time_zone: TimeZoneName = ""


def test_time_zone_name_is_checked_and_kept_clean() -> None:
    assert _Zoned().time_zone == ""
    assert _Zoned(time_zone="").time_zone == ""
    assert _Zoned(time_zone=" Asia/Shanghai ").time_zone == "Asia/Shanghai"
    with pytest.raises(ValidationError) as err:
        _Zoned(time_zone="Mars/Olympus")
    assert "unknown time zone 'Mars/Olympus'" in str(err.value)
    with pytest.raises(ValidationError) as err:
        _Zoned(time_zone="A" * 65)
    assert err.value.errors()[0]["type"] == "string_too_long"
    assert _Zoned.model_json_schema()["properties"]["time_zone"]["maxLength"] == 64


LOAN = {"due_on": "2027-03-01"}
TODAY = dt.date(2027, 3, 20)


@pytest.mark.parametrize(
    ("last", "due"),
    [(None, True), (dt.date(2027, 3, 13), True), (dt.date(2027, 3, 14), False)],
)
def test_a_reminder_comes_again_after_the_interval(last: dt.date | None, due: bool) -> None:
    assert needs_reminder("loan", LOAN, TODAY, last, every_days=7) is due
    assert needs_report_reminder(dt.date(2026, 1, 1), False, TODAY, last, every_days=7) is due
    # nothing overdue (returned, reported): never, however long ago the last one
    assert needs_reminder("loan", {**LOAN, "returned_on": "2027-03-02"}, TODAY, last) is False
    assert needs_report_reminder(dt.date(2026, 1, 1), True, TODAY, last) is False
