"""``optim.slots.slot_grid`` and ``PeriodIndex`` (one sorted pass, a bisection) give exactly
what a scan of every unavailable period per slot gave, on seeded random calendars: periods
overlapping, touching slot bounds, of zero length, outside the resource's period, in any
order, with and without a reason, across daylight saving changes."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from opencall.optim import slots as sl
from opencall.optim import wallclock

UTC = dt.UTC


def reference_grid(resource: sl.Resource) -> list[sl.Slot]:
    """``slot_grid`` as it was: every slot checked against every unavailable period."""
    out: list[sl.Slot] = []
    bounds = wallclock.grid(
        resource.start, resource.end, resource.slot_hours, resource.time_zone, resource.wall_start
    )
    for k, (t, t_end) in enumerate(bounds):
        reason = sl.BEGUN if resource.not_before is not None and t < resource.not_before else ""
        for u0, u1, why in () if reason else resource.unavailable:
            if u0 < t_end and t < u1:
                reason = why or "unavailable"
                break
        out.append(sl.Slot(k, t, t_end, reason))
    return out


def random_periods(
    rng: random.Random, edges: list[dt.datetime], lo: dt.datetime, hi: dt.datetime, n: int
) -> list[tuple[dt.datetime, dt.datetime]]:
    """``n`` periods: on slot bounds (touching a slot), anywhere, empty, or outside."""
    out = []
    for _ in range(n):
        kind = rng.randrange(5)
        if kind == 0:  # slot bounds: touches its neighbours exactly
            a = rng.randrange(len(edges))
            b = min(len(edges) - 1, a + rng.randrange(4))
            out.append((edges[a], edges[b]))
        elif kind == 1:  # zero length, on a bound or inside a slot
            t = rng.choice(edges) + dt.timedelta(minutes=rng.choice([0, 0, 17]))
            out.append((t, t))
        elif kind == 2:  # outside the period, before or after
            t = rng.choice([lo - dt.timedelta(days=3), hi + dt.timedelta(hours=1)])
            out.append((t, t + dt.timedelta(hours=rng.randrange(1, 40))))
        else:  # anywhere, minutes, overlapping others (some backwards: empty as given)
            t = lo + dt.timedelta(minutes=rng.randrange(-600, int((hi - lo).total_seconds() // 60)))
            length = dt.timedelta(minutes=rng.randrange(-30, 600))
            out.append((t, t + length))
    return out


ZONES = ["", "Europe/Berlin", "America/Santiago", "Australia/Lord_Howe", "America/New_York"]


@pytest.mark.parametrize("seed", range(12))
def test_slot_grid_is_the_scan_of_every_period(seed: int) -> None:
    rng = random.Random(seed)
    zone = ZONES[seed % len(ZONES)]
    # a fortnight around a change of the clocks (March / April / October), any slot length
    day = dt.date(2027, rng.choice([3, 4, 10]), rng.randrange(1, 20))
    lo = wallclock.local_instant(dt.datetime.combine(day, dt.time()), zone)
    hi = lo + dt.timedelta(days=14)
    hours = rng.choice([0.5, 1.0, 3.0, 8.0, 24.0])
    edges = [t for pair in wallclock.grid(lo, hi, hours, zone) for t in pair]
    assert edges, "a grid to test on"
    periods = random_periods(rng, edges, lo, hi, rng.choice([0, 1, 5, 60, 150]))
    reasons = ["", "beam down", "maintenance", "booked"]
    unavailable = tuple((u0, u1, rng.choice(reasons)) for u0, u1 in periods)
    not_before = rng.choice([None, rng.choice(edges), lo + dt.timedelta(hours=30, minutes=7)])
    resource = sl.Resource(
        "r", lo, hi, hours, unavailable=unavailable, not_before=not_before, time_zone=zone
    )
    got = sl.slot_grid(resource)
    assert got == reference_grid(resource)
    # the calendars test something: slots of several reasons, and usable ones
    if len(periods) >= 60:
        assert len({s.reason for s in got}) >= 3


@pytest.mark.parametrize("seed", range(6))
def test_period_index_is_the_scan_of_every_period(seed: int) -> None:
    rng = random.Random(100 + seed)
    lo = dt.datetime(2027, 3, 20, tzinfo=UTC)
    hi = lo + dt.timedelta(days=10)
    edges = [lo + dt.timedelta(hours=h) for h in range(0, 241, 6)]
    periods = random_periods(rng, edges, lo, hi, rng.choice([0, 1, 7, 60]))
    index = sl.PeriodIndex(periods)
    hits = 0
    for _ in range(500):
        t0 = rng.choice(edges) + dt.timedelta(minutes=rng.choice([0, 0, 1, 45]))
        t1 = t0 + dt.timedelta(minutes=rng.choice([0, 1, 60, 360, 2000]))
        want = any(u0 < t1 and t0 < u1 for u0, u1 in periods)
        assert index.overlaps(t0, t1) is want, (t0, t1)
        hits += want
    if len(periods) >= 7:
        assert 0 < hits < 500


def test_first_period_in_the_resources_order_gives_the_reason() -> None:
    """Two periods over one slot: the reason is the one listed first, whichever starts
    first (as the scan gave)."""
    lo = dt.datetime(2027, 1, 4, tzinfo=UTC)
    late = (lo + dt.timedelta(hours=2), lo + dt.timedelta(hours=5), "late")
    early = (lo, lo + dt.timedelta(hours=4), "")
    grid = sl.slot_grid(
        sl.Resource("r", lo, lo + dt.timedelta(hours=8), 4, unavailable=(late, early))
    )
    assert [s.reason for s in grid] == ["late", "late"]
    grid = sl.slot_grid(
        sl.Resource("r", lo, lo + dt.timedelta(hours=8), 4, unavailable=(early, late))
    )
    assert [s.reason for s in grid] == ["unavailable", "late"]
