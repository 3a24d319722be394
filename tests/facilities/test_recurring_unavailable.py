"""Recurring unavailable periods: an RRULE (weekends, the first Monday of each month) on
the site's wall clock, expanded over the resource's period into the ordinary unavailable
periods the schedule and the allocation read; a bad rule or one that gives too many
periods is refused (400) and changes nothing."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from opencall.errors import DomainError
from opencall.facilities.domain import MAX_RULE_PERIODS, expand_rule, outside_periods
from tests.facilities.test_web import Cryo, _counts, cryo, tokens
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")
__all__ = ["cryo"]  # the fixture
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def test_a_monthly_maintenance_day_keeps_the_local_clock_across_daylight_saving() -> None:
    # the first Monday of each month, 08:00-20:00 Berlin, over 2027 (clocks change 28 March
    # and 31 October): 12 days, each 08:00 local whatever the offset
    spans = expand_rule(
        "FREQ=MONTHLY;BYDAY=1MO",
        dt.time(8),
        12,
        period_start=dt.date(2027, 1, 1),
        period_end=dt.date(2027, 12, 31),
        day_start_hour=0,
        time_zone="Europe/Berlin",
    )
    assert len(spans) == 12
    for t0, t1 in spans:
        a, b = t0.astimezone(BERLIN), t1.astimezone(BERLIN)
        assert a.weekday() == 0 and a.day <= 7 and (a.hour, b.hour) == (8, 20)
    assert {t0.hour for t0, _ in spans} == {6, 7}  # UTC: 07:00 in winter, 06:00 in summer


def test_a_rule_adds_only_what_is_not_unavailable_already() -> None:
    """Sundays over a period with a maintenance week: the Sunday inside the week is left
    out, one the week's end cuts keeps its part after it (trialfac15: the rule was refused
    as overlapping, so weekly closures and a maintenance week could not both be given)."""
    day = dt.timedelta(days=1)
    t = dt.datetime(2027, 4, 11, 7, tzinfo=dt.UTC)  # a Sunday
    sundays = [(t + 7 * k * day, t + (7 * k + 1) * day) for k in range(3)]
    week = (t + 8 * day, t + 14 * day + dt.timedelta(hours=12))  # 19th 07:00 to 25th 19:00
    # Sunday the 18th ends as the week begins: kept whole; the 25th keeps its evening
    assert outside_periods(sundays, [week]) == [
        sundays[0],
        sundays[1],
        (week[1], sundays[2][1]),
    ]
    # a span inside an existing period leaves nothing
    assert outside_periods([sundays[0]], [(t - day, t + 2 * day)]) == []


def test_weekends_are_clipped_to_the_period() -> None:
    # a period from Sunday 4 July 2027 to Saturday 10 July: the Sunday and the Saturday
    spans = expand_rule(
        "RRULE:FREQ=WEEKLY;BYDAY=SA,SU",
        dt.time(0),
        48,  # Saturday 00:00 for two days: the Saturday's runs past the period's end
        period_start=dt.date(2027, 7, 4),
        period_end=dt.date(2027, 7, 10),
        day_start_hour=0,
        time_zone="",
    )
    u = dt.UTC
    assert spans == [
        (dt.datetime(2027, 7, 4, tzinfo=u), dt.datetime(2027, 7, 6, tzinfo=u)),
        (dt.datetime(2027, 7, 10, tzinfo=u), dt.datetime(2027, 7, 11, tzinfo=u)),
    ]


@pytest.mark.parametrize(
    ("rule", "hours", "message"),
    [
        ("FREQ=FORTNIGHTLY", 1, "is not a recurrence rule"),
        ("", 1, "is not a recurrence rule"),
        ("DTSTART:20270101T000000\nRRULE:FREQ=DAILY", 1, "is not a recurrence rule"),
        ("FREQ=MINUTELY;INTERVAL=30", 0.1, "at most hourly"),
        ("FREQ=HOURLY", 0.5, f"more than {MAX_RULE_PERIODS}"),  # 8,760 in a year
        ("FREQ=DAILY", 0, "more than 0"),
        ("FREQ=DAILY", float("nan"), "more than 0"),
    ],
)
def test_bad_rules_are_refused(rule: str, hours: float, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        expand_rule(
            rule,
            dt.time(0),
            hours,
            period_start=dt.date(2027, 1, 1),
            period_end=dt.date(2027, 12, 31),
            day_start_hour=0,
            time_zone="",
        )


def test_api_adds_weekends_and_refuses_bad_rules(web: Web, cryo: Cryo) -> None:
    h = {"Authorization": f"Bearer {tokens(web, cryo)['manager']}"}
    c = web.client()
    r = c.post(
        f"/api/v1/providers/{cryo.provider_slug}/facilities",
        headers=h,
        json={"name": "Cryo-EM 3", "slug": "cryo-rule", "kind": "custom"},
    )
    assert r.status_code == 201, r.text
    doc = {"name": "Talos", "unit": "session", "amount": 10, "period_start": "2027-07-01",
           "period_end": "2027-09-28", "slot_hours": 24, "time_zone": "Europe/Berlin"}  # fmt: skip
    r = c.post(f"/api/v1/facilities/{r.json()['id']}/resources", headers=h, json=doc)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    before = _counts(web)
    for body, message in [
        ({"rule": "FREQ=WEEKLY;BYDAY=XX", "start_time": "00:00", "hours": 24}, "recurrence rule"),
        ({"rule": "FREQ=SECONDLY", "start_time": "00:00", "hours": 1}, "at most hourly"),
        ({"rule": "FREQ=DAILY", "start_time": "00:00", "hours": 24}, "at most 0 fit"),
    ]:
        r = c.post(f"/api/v1/resources/{rid}/unavailable/rule", headers=h, json=body)
        assert r.status_code == 400, r.text
        assert message in r.text
    assert _counts(web) == before
    r = c.post(
        f"/api/v1/resources/{rid}/unavailable/rule",
        headers=h,
        json={"rule": "FREQ=WEEKLY;BYDAY=SA,SU", "start_time": "00:00", "hours": 24,
              "reason": "weekend"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    days = [dt.date(2027, 7, 1) + dt.timedelta(days=i) for i in range(90)]
    weekend = [d for d in days if d.weekday() >= 5]
    cal = r.json()
    assert [dt.datetime.fromisoformat(u["starts_local"]).date() for u in cal["unavailable"]] == (
        weekend
    )
    assert {u["reason"] for u in cal["unavailable"]} == {"weekend"}
    assert cal["slot_capacity"] == 90 - len(weekend)


def test_page_adds_a_monthly_maintenance_day_and_refuses_a_bad_rule(web: Web, cryo: Cryo) -> None:
    from tests.authz.test_workspace_matrix import session_client

    client, tok = session_client(web, cryo.emails["manager"])
    url = f"/manage/resources/{cryo.krios_id}/unavailable/rule"
    before = _counts(web)
    for data, message in [
        ({"rule": "every weekend", "start_time": "08:00", "hours": "12"}, "recurrence rule"),
        ({"rule": "FREQ=DAILY", "start_time": "8 am", "hours": "12"}, "HH:MM"),
        ({"rule": "FREQ=DAILY", "start_time": "08:00", "hours": "x"}, "number of hours"),
    ]:
        r = client.post(url, data={"csrf_token": tok, **data})
        assert r.status_code == 400 and message in r.text and 'role="alert"' in r.text
    assert _counts(web) == before
    r = client.post(
        url,
        data={"csrf_token": tok, "rule": "FREQ=MONTHLY;BYDAY=1MO", "start_time": "08:00",
              "hours": "12", "rule_reason": "maintenance day"},
    )  # fmt: skip
    assert r.status_code == 303, r.text[:2000]
    page = client.get(f"/manage/resources/{cryo.krios_id}")
    assert page.text.count("maintenance day") == 3  # 5 July, 2 August, 6 September 2027
