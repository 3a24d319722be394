"""Instances nobody tried, run through the public optimiser functions and held to checkers
written here (not the optimisers' own ``check``): periods that begin inside the hour the
clocks repeat, ... Each test names the instance that showed a defect."""

from __future__ import annotations

import datetime as dt

import pytest

from opencall.optim import slots as sl
from opencall.optim import wallclock

UTC = dt.UTC
H = dt.timedelta(hours=1)
#: Europe/Berlin goes back from 03:00 CEST to 02:00 CET at 01:00 UTC on 25 October 2026:
#: the local times 02:00-03:00 occur twice, 00:00-01:00 UTC and 01:00-02:00 UTC
BACK = dt.datetime(2026, 10, 25, 1, tzinfo=UTC)


def grid_violations(start: dt.datetime, end: dt.datetime, hours: float, zone: str) -> list[str]:
    """What the slot grid of ``[start, end)`` gets wrong against the stated contract: slots
    lie within the period, in order, without overlap, each of positive length."""
    out: list[str] = []
    bounds = wallclock.grid(start, end, hours, zone)
    for a, b in bounds:
        if a < start or b > end:
            out.append(f"slot {a.isoformat()}-{b.isoformat()} outside the period")
        if b <= a:
            out.append(f"slot {a.isoformat()} has no length")
    for (_, b0), (a1, _) in zip(bounds, bounds[1:], strict=False):
        if a1 < b0:
            out.append(f"slots overlap at {a1.isoformat()}")
    return out


@pytest.mark.parametrize("hours", [0.25, 1.0, 8.0])
@pytest.mark.parametrize("offset_min", [0, 30, 59, 60, 90])
def test_a_period_that_starts_while_the_clocks_repeat_an_hour(
    hours: float, offset_min: int
) -> None:
    # defect: a period starting at 01:30 UTC (02:30 CET, the second 02:30 of the night)
    # got a first slot from 00:30 UTC, an hour before the resource existed; with
    # quarter-hour slots, from 00:45 UTC
    start = BACK + dt.timedelta(minutes=offset_min)
    end = start + dt.timedelta(days=1)
    assert grid_violations(start, end, hours, "Europe/Berlin") == []
    grid = sl.slot_grid(sl.Resource("bl", start, end, hours, time_zone="Europe/Berlin"))
    assert grid[0].start == start  # "the first slot starts at start" (Resource)
    # each slot still ends where the local wall clock reads the period's local start
    # plus a whole number of slots (its first occurrence)
    w0 = wallclock.local_wall(start, "Europe/Berlin")
    step = dt.timedelta(hours=hours)
    for slot in grid:
        j = round((wallclock.local_wall(slot.end, "Europe/Berlin") - w0) / step)
        assert slot.end == wallclock.local_instant(w0 + j * step, "Europe/Berlin")
