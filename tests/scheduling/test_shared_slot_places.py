"""A shared-use slot resource (``groups_per_slot`` above 1) booked by more than one
schedule: the places another call has booked in a slot, and the call's own slots it keeps
when it books again, take one place each, not the whole slot. Before, a slot with one
booking elsewhere was closed to this call's schedule while the allocation counted one
place gone, so an award the allocation had room for was left unplaced. SQLite and
PostgreSQL (``db``)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation.models import Award
from opencall.calls import services as call_services
from opencall.calls.models import CallPool
from opencall.facilities.models import CapacityPool
from opencall.proposals import services as prop_services
from opencall.proposals.models import Request
from opencall.runs import Solve
from opencall.scheduling import slot_services
from opencall.scheduling.models import ScheduleEntry
from tests import factories as F
from tests.scheduling.conftest import SESSION
from tests.scheduling.test_shared_pool import _call_with_award


def changer(s: Session, groups: int = 2, amount: float = 6.0) -> CapacityPool:
    """A sample changer of ``groups`` places a day, 1-3 September 2027."""
    first, _ = F.samples_call(s)
    pool = CapacityPool(
        facility_id=first.facility_id,
        name="Shared changer",
        pool_type="custom",
        unit="session",
        amount=amount,
        attributes={},
        unit_labels=SESSION,
        period_start=dt.date(2027, 9, 1),
        period_end=dt.date(2027, 9, 3),
        slot_hours=24.0,
        request_fields=[],
        groups_per_slot=groups,
    )
    s.add(pool)
    s.flush()
    return pool


def places(s: Session, pool: CapacityPool, call_id: int | None = None) -> Counter[dt.datetime]:
    q = select(ScheduleEntry.start).where(
        ScheduleEntry.pool_id == pool.id, ScheduleEntry.start.is_not(None)
    )
    if call_id is not None:
        q = q.where(ScheduleEntry.call_id == call_id)
    return Counter(t for t in s.scalars(q) if t is not None)


def test_another_calls_booking_leaves_the_rest_of_a_shared_slot(db: Session) -> None:
    s = db
    pool = changer(s)  # 3 days x 2 places
    a = _call_with_award(s, pool, 3.0, 3.0)
    b = _call_with_award(s, pool, 3.0, 3.0)
    # what the allocation counts: the 6 places, all offered, none left
    assert call_services.slots_left(s, pool, now=F.NOW) == 0
    slot_services.schedule_slots(s, a, Solve(0, None))
    assert places(s, pool, a.id) == {dt.datetime(2027, 9, d, tzinfo=dt.UTC): 1 for d in (1, 2, 3)}
    slot_services.schedule_slots(s, b, Solve(0, None))
    unplaced = s.scalars(
        select(ScheduleEntry).where(ScheduleEntry.call_id == b.id, ScheduleEntry.start.is_(None))
    ).all()
    assert unplaced == [], [e.details for e in unplaced]
    assert sorted(places(s, pool, b.id).values()) == [1, 1, 1]
    assert places(s, pool) == {dt.datetime(2027, 9, d, tzinfo=dt.UTC): 2 for d in (1, 2, 3)}


def test_a_shared_slot_full_elsewhere_stays_closed(db: Session) -> None:
    s = db
    pool = changer(s)
    a, b = _call_with_award(s, pool, 3.0, 3.0), _call_with_award(s, pool, 3.0, 3.0)
    late = _call_with_award(s, pool, 1.0, 1.0)  # offered beyond the places: none is left
    for call in (a, b, late):
        slot_services.schedule_slots(s, call, Solve(0, None))
    assert places(s, pool) == {dt.datetime(2027, 9, d, tzinfo=dt.UTC): 2 for d in (1, 2, 3)}
    assert places(s, pool, late.id) == {}  # never three in a slot of two places
    (entry,) = s.scalars(select(ScheduleEntry).where(ScheduleEntry.call_id == late.id))
    assert entry.start is None


def test_a_call_booking_again_shares_its_kept_slot(db: Session) -> None:
    """The call's own booked slots kept when it books again (an award offered after a
    decline, ``keep_booked``) take one place each: a new award of 3 days shares the day
    the first one holds."""
    s = db
    pool = changer(s)
    call = _call_with_award(s, pool, 4.0, 1.0)
    slot_services.schedule_slots(s, call, Solve(0, None))
    (first,) = places(s, pool, call.id)
    p = prop_services.create_proposal(
        s, call, F.user(s), title="Late", abstract="a", science_case="b", now=F.NOW
    )
    req = Request(proposal_id=p.id, pool_id=pool.id, kind="session", amount=3.0, details={})
    s.add(req)
    s.flush()
    s.add(Award(call_id=call.id, proposal_id=p.id, request_id=req.id, pool_id=pool.id, amount=3.0))
    s.flush()
    s.refresh(call)
    slot_services.schedule_slots(s, call, Solve(0, None), keep_booked=True)
    booked = places(s, pool, call.id)
    assert sum(booked.values()) == 4, booked  # the kept one and the new award's 3
    assert booked[first] == 2 and max(booked.values()) == 2
    cp = s.scalars(
        select(CallPool).where(CallPool.call_id == call.id, CallPool.pool_id == pool.id)
    ).one()
    assert cp.amount == 4.0
