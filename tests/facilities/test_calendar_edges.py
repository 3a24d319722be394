"""A resource's calendar at its edges: closures given in local time (across the date line,
across a change to daylight saving time) and the capacity the operator is told fits, which
must be exactly what the schedule can place (``optim.slots.slot_grid``)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencall.errors import DomainError
from opencall.facilities import domain as d
from opencall.optim import slots
from tests.facilities.builders import disjoint_spans

UTC = dt.UTC
AMES = ZoneInfo("America/Chicago")


def usable_slots(cal: d.Calendar) -> int:
    """The slots the scheduler can book: its grid's slots clear of every closure."""
    lo, hi = cal.bounds()
    assert lo is not None and hi is not None and cal.slot_hours is not None
    spans = tuple((u.starts_at, u.ends_at, u.reason) for u in cal.unavailable)
    grid = slots.slot_grid(slots.Resource("r", lo, hi, cal.slot_hours, spans))
    return sum(1 for s in grid if not s.reason)


def test_local_closures_around_a_change_to_daylight_saving_time() -> None:
    """Closed on Friday 10 and Sunday 12 March 2028 in Iowa (the clocks go forward on
    the Sunday): the Saturday between is 24 hours, but no 24-hour slot of the period's
    grid fits in it, so it adds no field day."""
    days = [
        {"starts_at": dt.datetime(2028, 3, d0, tzinfo=AMES),
         "ends_at": dt.datetime(2028, 3, d0 + 1, tzinfo=AMES)}
        for d0 in (10, 12)
    ]  # fmt: skip
    cal = d.check_calendar(
        {
            "period_start": "2028-03-01",
            "period_end": "2028-03-31",
            "slot_hours": 24,
            "unavailable": days,
        }  # fmt: skip
    )
    assert [u.ends_at - u.starts_at for u in cal.unavailable] == [
        dt.timedelta(hours=24),
        dt.timedelta(hours=23),
    ]
    assert cal.unavailable[0].starts_at == dt.datetime(2028, 3, 10, 6, tzinfo=UTC)
    assert cal.unavailable[1].ends_at == dt.datetime(2028, 3, 13, 5, tzinfo=UTC)
    assert cal.slot_capacity() == usable_slots(cal) == 27


@settings(max_examples=60, deadline=None)
@given(
    days=st.integers(1, 40),
    slot=st.sampled_from([6.0, 8.0, 12.0, 24.0, 36.0]),
    cuts=st.lists(st.tuples(st.integers(0, 60), st.integers(1, 60)), max_size=6),
)
def test_slot_capacity_is_what_the_schedule_can_place(days: int, slot: float, cuts: list) -> None:
    lo = dt.datetime(2028, 3, 1, tzinfo=UTC)
    hi = lo + dt.timedelta(days=days)
    spans = disjoint_spans(lo, hi, cuts)  # at any hour
    cal = d.check_calendar(
        {
            "period_start": lo.date(),
            "period_end": (hi - dt.timedelta(days=1)).date(),
            "slot_hours": slot,
            "unavailable": spans,
        }  # fmt: skip
    )
    assert cal.slot_capacity() == usable_slots(cal)


def test_a_period_of_too_many_slots_is_refused() -> None:
    """Slots of 3.6 seconds for a year would be 8.8 million: a schedule, a calendar page
    and an iCalendar file of every one of them. Refused with the figures; 20,000 fit."""
    year = {"period_start": "2028-01-01", "period_end": "2028-12-31"}
    cal = d.check_calendar({**year, "slot_hours": 0.001})
    with pytest.raises(DomainError, match="8784000 slots") as err:
        d.check_amount(1, cal, "session")
    assert err.value.field == "slot_hours" and "20000" in err.value.message
    hourly = d.check_calendar({**year, "slot_hours": 1})  # 8,784 hourly slots: fine
    d.check_amount(8784, hourly, "h")
