"""Resources sharing one instrument (``CapacityPool.exclusive_group``, trialfac21b): a
beamline's two machine modes, each a resource of its own, never in use at once. Before,
nothing tied the two resources together: a day open in both modes was booked twice, once
per mode, by one call's schedule and by two calls' schedules alike."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.facilities import services as fac_services
from opencall.facilities.models import CapacityPool, PoolUnavailability
from opencall.runs import Solve
from opencall.scheduling import slot_services
from opencall.scheduling.models import ScheduleEntry
from tests import factories as F
from tests.scheduling.conftest import SESSION
from tests.scheduling.test_shared_pool import award_sessions

DAY1 = dt.datetime(2027, 9, 1, tzinfo=dt.UTC)
D = dt.timedelta(days=1)


def _mode(s: Session, facility_id: int, name: str, closed_day: int, group: str) -> CapacityPool:
    """Five daily sessions from 1 September 2027, one day closed (the other mode's)."""
    pool = CapacityPool(
        facility_id=facility_id, name=name, pool_type="custom", unit="session", amount=4.0,
        attributes={}, unit_labels=SESSION, period_start=dt.date(2027, 9, 1),
        period_end=dt.date(2027, 9, 5), slot_hours=24.0, request_fields=[],
        exclusive_group=group,
    )  # fmt: skip
    t0 = DAY1 + closed_day * D
    pool.unavailable = [PoolUnavailability(starts_at=t0, ends_at=t0 + D, reason="other mode")]
    s.add(pool)
    s.flush()
    return pool


def _award(s: Session, call: Call, pool: CapacityPool, sessions: float) -> None:
    """``call`` offers 4 of ``pool`` and awards a new proposal ``sessions`` of it."""
    award_sessions(s, call, pool, 4.0, sessions)


def _booked(s: Session, *pools: CapacityPool) -> list[tuple[dt.datetime, int]]:
    rows = s.scalars(
        select(ScheduleEntry).where(
            ScheduleEntry.pool_id.in_([p.id for p in pools]), ScheduleEntry.start.is_not(None)
        )
    ).all()
    return sorted((e.start, e.pool_id) for e in rows if e.start is not None)


def _modes(s: Session, group: str) -> tuple[Call, CapacityPool, CapacityPool]:
    call, _ = F.samples_call(s)
    multi = _mode(s, call.facility_id, "Multibunch", 4, group)
    single = _mode(s, call.facility_id, "Single-bunch", 0, group)
    return call, multi, single


def test_one_call_never_books_both_modes_on_one_day(db: Session) -> None:
    call, multi, single = _modes(db, "beamline")
    _award(db, call, multi, 3.0)
    _award(db, call, single, 3.0)
    slot_services.schedule_slots(db, call, Solve(0, None))
    days = [t for t, _pool in _booked(db, multi, single)]
    assert len(days) == 3, days  # 3 + 3 of 5 days open in one mode or the other: one fits
    assert len(set(days)) == len(days), "a day booked in both modes"


def _two_calls(s: Session, group: str) -> list[tuple[dt.datetime, int]]:
    """Two calls, one offering each mode, scheduled in turn: what they booked."""
    first, multi, single = _modes(s, group)
    _award(s, first, multi, 2.0)
    second, _ = F.samples_call(s)
    _award(s, second, single, 2.0)
    for call in (first, second):
        slot_services.schedule_slots(s, call, Solve(0, None))
    return _booked(s, multi, single)


def test_two_calls_never_book_both_modes_on_one_day(db: Session) -> None:
    booked = _two_calls(db, "beamline")
    days = [t for t, _pool in booked]
    assert len(days) == 4 and len(set(days)) == 4, booked
    # without a group the same two calls book a day twice (the defect, kept as data)
    free = [t for t, _pool in _two_calls(db, "")]
    assert len(free) == 4 and len(set(free)) < len(free), free


def test_the_calendars_say_when_the_instrument_is_in_use_in_the_other_mode(db: Session) -> None:
    first, multi, single = _modes(db, "beamline")
    _award(db, first, multi, 2.0)
    slot_services.schedule_slots(db, first, Solve(0, None))
    second, _ = F.samples_call(db)
    _award(db, second, single, 1.0)
    rows = slot_services.calendar(db, second, single)
    busy = [r.start for r in rows if r.instrument]
    assert busy == [t for t, _pool in _booked(db, multi)], rows
    assert {r.instrument for r in rows if r.instrument} == {"Multibunch"}
    # the multibunch calendar names no other resource: nothing booked in single-bunch yet
    assert not any(r.instrument for r in slot_services.calendar(db, first, multi))


def test_joining_a_group_while_bookings_overlap_is_refused(db: Session) -> None:
    """Two modes booked on the same day before the operator ties them: the tie is refused,
    naming the day and both calls, until one of them is rescheduled."""
    first, multi, single = _modes(db, "")
    _award(db, first, multi, 2.0)
    second, _ = F.samples_call(db)
    _award(db, second, single, 2.0)
    for call in (first, second):
        slot_services.schedule_slots(db, call, Solve(0, None))
    fac_services.update_resource(db, multi, exclusive_group="beamline")  # alone: no clash
    with pytest.raises(DomainError) as refused:
        fac_services.update_resource(db, single, exclusive_group="beamline")
    said = refused.value.message
    assert "2027-09-02" in said and "Multibunch" in said, said
    assert single.exclusive_group == ""
