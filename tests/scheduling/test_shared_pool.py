"""Edge: two calls share one slot-based resource at the same time (each offers part of
its sessions). Before: each call's schedule placed its sessions as if the resource were
its own, so both calls booked the same days; now the slots another call has booked are
unavailable to the next call's schedule."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation.models import Award
from opencall.calls.models import Call, CallPool
from opencall.facilities.models import CapacityPool
from opencall.proposals import services as prop_services
from opencall.proposals.models import Request
from opencall.runs import Solve
from opencall.scheduling import slot_services
from opencall.scheduling.models import ScheduleEntry
from tests import factories as F
from tests.scheduling.conftest import SESSION


def _call_with_award(s: Session, pool: CapacityPool, offered: float, sessions: float) -> Call:
    call, _samples = F.samples_call(s)
    award_sessions(s, call, pool, offered, sessions)
    return call


def award_sessions(
    s: Session, call: Call, pool: CapacityPool, offered: float, sessions: float
) -> None:
    """``call`` offers ``offered`` of ``pool`` and awards a new proposal ``sessions``."""
    s.add(CallPool(call_id=call.id, pool_id=pool.id, amount=offered))
    p = prop_services.create_proposal(
        s, call, F.user(s), title="Shared", abstract="a", science_case="b", now=F.NOW
    )
    p.status = "under_review"
    req = Request(proposal_id=p.id, pool_id=pool.id, kind="session", amount=sessions, details={})
    s.add(req)
    s.flush()
    s.add(
        Award(
            call_id=call.id, proposal_id=p.id, request_id=req.id, pool_id=pool.id, amount=sessions
        )
    )
    s.flush()
    s.refresh(call)


def test_two_calls_on_one_resource_never_book_the_same_slot(db: Session) -> None:
    s = db
    first, _ = F.samples_call(s)
    pool = CapacityPool(
        facility_id=first.facility_id,
        name="Shared Krios",
        pool_type="custom",
        unit="session",
        amount=5.0,
        attributes={},
        unit_labels=SESSION,
        period_start=dt.date(2027, 9, 1),
        period_end=dt.date(2027, 9, 5),
        slot_hours=24.0,
        request_fields=[],
    )
    s.add(pool)
    s.flush()
    a = _call_with_award(s, pool, 3.0, 3.0)
    b = _call_with_award(s, pool, 2.0, 2.0)
    for call in (a, b):
        slot_services.schedule_slots(s, call, Solve(0, None))
    rows = s.scalars(
        select(ScheduleEntry).where(
            ScheduleEntry.pool_id == pool.id, ScheduleEntry.start.is_not(None)
        )
    ).all()
    assert sorted(e.call_id for e in rows) == sorted([a.id] * 3 + [b.id] * 2)
    starts = [e.start for e in rows]
    assert len(starts) == len(set(starts)), "two calls booked the same session"
