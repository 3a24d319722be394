"""One count of the places a resource's items out of service close in a slot (mend21):
the capacity (``facilities.services.slot_capacity``), the bookings flagged beyond the
places left (``facilities.services.item_clashes``) and the schedule's slots
(``optim.slots.Slot.places``, from ``scheduling.slot_services.resource_of``) agree slot by
slot with the rule (each item out closes ``ceil(groups / items)`` places, at most the
slot) on a resource of 3 items and 4 groups a slot: 16-hour slots from 06:00 on the
site's clock (straddling the days, across the end of summer time in Berlin), one item lost
from a day to the end of the period, one out for part of it (back on a day at 06:00,
where a slot ends), one lost later, and a day unavailable. Two items out close 4 places:
the rounding of the capacity before trialop20b's last commit closed 3 there (ceil(8 / 3))
while the schedule closed 4. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy.orm import Session

from opencall.facilities import services as fac_services
from opencall.facilities.models import CapacityPool, PoolItemOutage, PoolUnavailability
from opencall.optim import slots as sl
from opencall.optim import wallclock
from opencall.scheduling import slot_services
from opencall.scheduling.models import ScheduleEntry
from tests import factories as F
from tests.scheduling.conftest import microscope

ZONE = "Europe/Berlin"  # summer time ends on Sunday 31 October 2027
GROUPS, ITEMS = 4, 3


def local(day: int, hour: int, month: int = 10) -> dt.datetime:
    return wallclock.local_instant(dt.datetime(2027, month, day, hour), ZONE)


def rovs(s: Session) -> tuple[CapacityPool, list[int]]:
    """The resource, its outages and the proposals booking it (4 to fill every slot)."""
    call = F.fast_call(s, pools=1)
    pool = microscope(s, call, "Work-class ROVs", down=False)
    pool.period_start, pool.period_end = dt.date(2027, 10, 28), dt.date(2027, 11, 2)
    pool.slot_hours, pool.day_start_hour, pool.time_zone = 16.0, 6.0, ZONE
    pool.groups_per_slot, pool.items = GROUPS, ITEMS
    s.flush()
    s.add(
        PoolUnavailability(
            pool_id=pool.id, starts_at=local(1, 6, 11), ends_at=local(2, 6, 11), reason="refit"
        )
    )
    # ROV-2 out for part of the period: from the 29th at 06:00, back on the 31st at 06:00
    s.add(
        PoolItemOutage(pool_id=pool.id, starts_at=local(29, 6), ends_at=local(31, 6), item="ROV-2")
    )
    s.flush()
    s.refresh(pool)
    fac_services.item_lost(s, pool, item="ROV-1", day=dt.date(2027, 10, 30))
    fac_services.item_lost(s, pool, item="ROV-3", day=dt.date(2027, 10, 31))
    proposals = [F.full_proposal(s, call).id for _ in range(GROUPS)]
    s.flush()
    return pool, proposals


def closed_by_rule(pool: CapacityPool, t0: dt.datetime, t1: dt.datetime) -> int:
    out = sum(1 for u in pool.item_outages if u.starts_at < t1 and t0 < u.ends_at)
    return min(GROUPS, out * -(-GROUPS // ITEMS))


def test_capacity_flags_and_schedule_count_the_same_places(db: Session) -> None:
    pool, proposals = rovs(db)
    assert sorted(u.item for u in pool.item_outages) == ["ROV-1", "ROV-2", "ROV-3"]
    grid = sl.slot_grid(slot_services.resource_of(pool))
    down = {g.start for g in grid if g.reason}
    assert len(grid) == 9 and len(down) == 2  # 6 days and 1 hour: 9 slots of 16 hours
    lo, hi = slot_services.period_bounds(pool)
    assert grid[0].start == lo and grid[-1].end <= hi
    closed = {g.start: closed_by_rule(pool, g.start, g.end) for g in grid}
    # the case the rounding once split: two items out; one slot straddling the return
    assert sorted(Counter(closed.values())) == [0, 2, 4] and 4 in closed.values()
    assert any(g.start < local(31, 6) < g.end for g in grid)  # ROV-2's return mid-slot
    assert any(g.start < local(29, 6) < g.end for g in grid)  # and its going
    # a slot ending as ROV-1 is lost (06:00 on the 30th): ROV-1 closes none of it
    assert [closed[g.start] for g in grid if g.end == local(30, 6)] == [2]
    # the slot across the change of clocks lasts 17 hours
    assert any(g.end - g.start == dt.timedelta(hours=17) for g in grid)

    # the schedule: each slot's places
    assert {g.start: GROUPS - g.places for g in grid} == closed

    # the capacity: each free slot's places, slot by slot (counting from each start)
    starts = [g.start for g in grid] + [hi]
    for k, g in enumerate(grid):
        got = fac_services.slot_capacity(pool, starts[k]) - fac_services.slot_capacity(
            pool, starts[k + 1]
        )
        assert got == (0 if g.start in down else GROUPS - closed[g.start]), g
    assert fac_services.slot_capacity(pool) == sum(
        GROUPS - closed[g.start] for g in grid if g.start not in down
    )

    # the flags: every free slot booked full, the bookings beyond the places left
    call_id = _call_of(db, proposals[0])
    for g in grid:
        if g.start not in down:
            for pid in proposals:
                db.add(
                    ScheduleEntry(
                        call_id=call_id,
                        proposal_id=pid,
                        pool_id=pool.id,
                        kind=slot_services.SLOT_KIND,
                        start=g.start,
                        end=g.end,
                    )
                )
    db.flush()
    flagged = Counter(c.starts_at for c in fac_services.item_clashes(db, pool))
    assert {g.start: flagged.get(g.start, 0) for g in grid if g.start not in down} == {
        g.start: closed[g.start] for g in grid if g.start not in down
    }


def _call_of(db: Session, proposal_id: int) -> int:
    from opencall.proposals.models import Proposal

    p = db.get(Proposal, proposal_id)
    assert p is not None
    return p.call_id
