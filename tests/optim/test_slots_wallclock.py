"""Slot grids kept in a site's local wall-clock time across daylight saving changes
(``optim.wallclock``): 8-hour shifts 00:00/08:00/16:00 in Europe/Berlin keep those local
bounds on the 23-hour and the 25-hour day; hourly slots lose the skipped hour; the
schedule's runs and checks use each slot's own end."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from opencall.optim import slots as sl
from opencall.optim import wallclock

BERLIN = "Europe/Berlin"
UTC = dt.UTC
H = dt.timedelta(hours=1)


def _local(t: dt.datetime, name: str) -> str:
    return t.astimezone(zoneinfo.ZoneInfo(name)).strftime("%m-%d %H:%M")


def berlin_shifts(first: dt.date, days: int, hours: float = 8) -> sl.Resource:
    lo = wallclock.local_instant(dt.datetime.combine(first, dt.time()), BERLIN)
    hi = wallclock.local_instant(dt.datetime.combine(first + dt.timedelta(days), dt.time()), BERLIN)
    return sl.Resource("bl", lo, hi, hours, time_zone=BERLIN)


def test_shifts_keep_local_bounds_on_the_day_the_clocks_go_forward() -> None:
    grid = sl.slot_grid(berlin_shifts(dt.date(2027, 3, 27), 3))
    assert len(grid) == 9
    assert [_local(s.start, BERLIN)[-5:] for s in grid] == ["00:00", "08:00", "16:00"] * 3
    lengths = [(s.end - s.start) / dt.timedelta(hours=1) for s in grid]
    assert lengths == [8, 8, 8, 7, 8, 8, 8, 8, 8]  # the night of 28 March: 7 hours
    assert all(a.end == b.start for a, b in zip(grid, grid[1:], strict=False))
    assert grid[3].start == dt.datetime(2027, 3, 27, 23, tzinfo=UTC)  # 00:00 CET
    assert grid[3].end == dt.datetime(2027, 3, 28, 6, tzinfo=UTC)  # 08:00 CEST


def test_shifts_keep_local_bounds_on_the_day_the_clocks_go_back() -> None:
    grid = sl.slot_grid(berlin_shifts(dt.date(2027, 10, 30), 3))
    lengths = [(s.end - s.start) / dt.timedelta(hours=1) for s in grid]
    assert lengths == [8, 8, 8, 9, 8, 8, 8, 8, 8]
    assert [_local(s.start, BERLIN)[-5:] for s in grid] == ["00:00", "08:00", "16:00"] * 3


def test_hourly_slots_lose_the_skipped_hour_and_hold_the_repeated_one() -> None:
    spring = sl.slot_grid(berlin_shifts(dt.date(2027, 3, 28), 1, hours=1))
    assert len(spring) == 23 and "02:00" not in {_local(s.start, BERLIN)[-5:] for s in spring}
    autumn = sl.slot_grid(berlin_shifts(dt.date(2027, 10, 31), 1, hours=1))
    assert len(autumn) == 24  # the 02:00 slot spans both 02:00s: two hours
    two = next(s for s in autumn if _local(s.start, BERLIN)[-5:] == "02:00")
    assert two.end - two.start == dt.timedelta(hours=2)
    # half-hour slots never overlap nor run backwards in the skipped hour
    half = sl.slot_grid(berlin_shifts(dt.date(2027, 3, 28), 1, hours=0.5))
    assert len(half) == 46
    assert all(a.end == b.start and a.start < a.end for a, b in zip(half, half[1:], strict=False))


def test_a_skipped_local_time_is_the_instant_of_the_jump() -> None:
    jump = dt.datetime(2027, 3, 28, 1, tzinfo=UTC)
    assert wallclock.local_instant(dt.datetime(2027, 3, 28, 2, 30), BERLIN) == jump
    # first occurrence of a repeated time (CEST, UTC+2)
    at = wallclock.local_instant(dt.datetime(2027, 10, 31, 2, 30), BERLIN)
    assert at == dt.datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    # southern hemisphere: Santiago goes back at 24:00 on 3 April 2027 (23:30 happens twice)
    # and forward at 24:00 on 4 September (its midnight is skipped)
    santiago = "America/Santiago"
    assert wallclock.local_instant(dt.datetime(2027, 4, 3, 23, 30), santiago) == (
        dt.datetime(2027, 4, 4, 2, 30, tzinfo=UTC)
    )
    assert wallclock.local_instant(dt.datetime(2027, 9, 5, 0, 0), santiago) == (
        dt.datetime(2027, 9, 5, 4, tzinfo=UTC)
    )


def test_without_a_zone_the_grid_is_fixed_in_utc() -> None:
    lo = dt.datetime(2027, 3, 27, 1, tzinfo=UTC)
    grid = sl.slot_grid(sl.Resource("r", lo, lo + dt.timedelta(days=3), 8))
    assert len(grid) == 9 and all(s.end - s.start == dt.timedelta(hours=8) for s in grid)


def test_an_unknown_zone_is_refused() -> None:
    r = berlin_shifts(dt.date(2027, 3, 27), 1)
    bad = sl.SlotProblem((sl.Resource("r", r.start, r.end, 8, time_zone="Mars/Olympus"),), ())
    with pytest.raises(ValueError, match="Mars/Olympus"):
        bad.validate()


def test_a_schedule_across_the_change_is_one_run_and_checks() -> None:
    res = berlin_shifts(dt.date(2027, 3, 27), 3)
    problem = sl.SlotProblem(
        (res,),
        (
            sl.SlotAward("a", "bl", 4, proposal="p", weight=2.0),
            sl.SlotAward(
                "b", "bl", 3, proposal="q",
                impossible=sl.date_ranges([("2027-03-27", "2027-03-27")], BERLIN),
            ),
        ),
    )  # fmt: skip
    out = sl.solve_slots(problem, time_limit_s=10)
    assert out.check(problem) == []
    assert set(out.starts) == {"a", "b"} and out.runs == 2
    # b's impossible day is the local 27 March: none of its shifts start that local day
    assert all(_local(t, BERLIN)[:5] != "03-27" for t in out.starts["b"])


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("Europe/Berlin", dt.date(2027, 1, 1)),
        ("America/Santiago", dt.date(2027, 1, 1)),
        ("Australia/Sydney", dt.date(2027, 1, 1)),
        ("Australia/Lord_Howe", dt.date(2027, 1, 1)),  # a 30-minute change
        ("Africa/Casablanca", dt.date(2027, 1, 1)),  # back and forth around Ramadan
        ("Pacific/Apia", dt.date(2011, 12, 1)),  # 30 December 2011 skipped whole
        ("America/St_Johns", dt.date(2027, 1, 1)),
    ],
)
@pytest.mark.parametrize("hours", [8, 1.5])
def test_a_year_of_local_slots_is_contiguous_and_keeps_the_local_clock(
    name: str, first: dt.date, hours: float
) -> None:
    tz = zoneinfo.ZoneInfo(name)
    days = 365 if hours == 8 else 60
    lo = wallclock.local_instant(dt.datetime.combine(first, dt.time()), name)
    hi = wallclock.local_instant(dt.datetime.combine(first + dt.timedelta(days), dt.time()), name)
    grid = sl.slot_grid(sl.Resource("r", lo, hi, hours, time_zone=name))
    assert grid[0].start == lo and grid[-1].end == hi
    assert all(s.start < s.end for s in grid)
    assert all(a.end == b.start for a, b in zip(grid, grid[1:], strict=False))
    w0 = dt.datetime.combine(first, dt.time())
    step = dt.timedelta(hours=hours)
    for s in grid:
        wall = s.start.astimezone(tz).replace(tzinfo=None)
        # a slot starts on the local grid, or (its local start skipped by the clocks) at
        # the instant they jumped, which reads later than the grid time
        _k, rest = divmod(wall - w0, step)
        assert (
            rest == dt.timedelta(0)
            or (s.start - dt.timedelta(seconds=1)).astimezone(tz).utcoffset()
            != s.start.astimezone(tz).utcoffset()
        ), (name, s.start, wall)
    # the whole period's length is the real time between its local bounds
    assert sum(((s.end - s.start) for s in grid), dt.timedelta(0)) == hi - lo


def test_the_capacity_counted_is_the_grid_the_schedule_books() -> None:
    """``facilities.domain.Calendar.slot_capacity`` of a resource with a site zone counts
    the slots ``optim.slots.slot_grid`` gives, less those overlapping unavailable time and
    (given a time) those begun."""
    import random

    from opencall.facilities.domain import Calendar

    rng = random.Random(7)
    for _ in range(40):
        hours = rng.choice([1, 2.5, 8, 12, 24])
        first = dt.date(2027, 3, 20) + dt.timedelta(days=rng.randrange(0, 10))
        cal = Calendar(
            period_start=first,
            period_end=first + dt.timedelta(days=rng.randrange(2, 14)),
            slot_hours=hours,
            day_start_hour=rng.choice([0, 6, 7.5, 20]),
            time_zone=rng.choice([BERLIN, "America/Santiago", "Australia/Sydney"]),
        )
        lo, hi = cal.bounds()
        assert lo is not None and hi is not None
        # a few non-overlapping periods inside the period, local times without offsets
        cuts = sorted(rng.sample(range(int((hi - lo) / H)), 6))
        spans = [
            {"starts_at": (lo + a * H).astimezone(zoneinfo.ZoneInfo(cal.time_zone))
             .replace(tzinfo=None).isoformat(),
             "ends_at": (lo + b * H).astimezone(zoneinfo.ZoneInfo(cal.time_zone))
             .replace(tzinfo=None).isoformat()}
            for a, b in zip(cuts[::2], cuts[1::2], strict=True)
            if b > a
        ]  # fmt: skip
        cal = Calendar.model_validate({**cal.model_dump(), "unavailable": spans})
        since = lo + rng.randrange(0, int((hi - lo) / H)) * H
        res = sl.Resource(
            "r", lo, hi, hours,
            unavailable=tuple((u.starts_at, u.ends_at, "x") for u in cal.unavailable),
            not_before=since, time_zone=cal.time_zone,
        )  # fmt: skip
        usable = sum(1 for s in sl.slot_grid(res) if not s.reason)
        assert cal.slot_capacity(since) == usable, (cal, since)
