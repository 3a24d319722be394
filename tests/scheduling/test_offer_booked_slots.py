"""mend10a, item 2, on slot-based resources: an award added after the schedule was stored
(as an offer to the next in line after a decline adds one) is booked around the slots the
others hold (``scheduling.services.book_offered`` keeps every booked slot, begun or not,
and takes them from the new award), without moving anyone; with no day it can come, it is
not booked and stays listed as not scheduled."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from opencall.proposals.models import Proposal, Request
from opencall.scheduling import queries as sq
from opencall.scheduling import services as sched
from opencall.scheduling.models import ScheduleEntry
from tests.scheduling.conftest import P0, P1, SlotWorld, get_call


def _rows(s: Session, call_id: int) -> list[tuple[Any, ...]]:
    return sorted(
        (e.id, e.proposal_id, e.kind, e.pool_id, e.start, e.end)
        for e in s.scalars(select(ScheduleEntry).where(ScheduleEntry.call_id == call_id))
    )


def _loner_unscheduled(s: Session, w: SlotWorld) -> tuple[Any, Proposal, list[tuple[Any, ...]]]:
    call = get_call(s, w)
    s.execute(delete(ScheduleEntry).where(ScheduleEntry.proposal_id == w.loner))
    s.commit()  # as the decline's own request commits it
    loner = s.get(Proposal, w.loner)
    assert loner is not None
    assert sq.not_scheduled(s, call) == [w.loner]
    return call, loner, _rows(s, call.id)


def test_an_award_is_booked_around_the_booked_slots(
    factory: sessionmaker[Session], stored: SlotWorld
) -> None:
    with factory() as s:
        call, loner, kept = _loner_unscheduled(s, stored)
        assert sched.book_offered(s, call, loner, actor_id=None)
        rows = _rows(s, call.id)
        assert [r for r in rows if r[1] != loner.id] == kept  # nobody moved
        mine = [r for r in rows if r[1] == loner.id]
        assert len(mine) == 5 and all(r[4] is not None for r in mine), mine
        booked = sorted((r[3], r[4], r[5]) for r in rows if r[2] == "slot" and r[4] is not None)
        for a, b in zip(booked, booked[1:], strict=False):
            assert a[0] != b[0] or a[2] <= b[1], (a, b)  # no slot booked twice
        assert sq.not_scheduled(s, call) == []


def test_an_award_with_no_day_left_is_not_booked(
    factory: sessionmaker[Session], stored: SlotWorld
) -> None:
    with factory() as s:
        call, loner, kept = _loner_unscheduled(s, stored)
        req = s.get(Request, stored.requests["loner"])
        assert req is not None
        req.details = {**req.details, "impossible_dates": [[str(P0), str(P1)]]}
        s.flush()
        assert not sched.book_offered(s, call, loner, actor_id=None)
        assert _rows(s, call.id) == kept
        assert sq.not_scheduled(s, call) == [stored.loner]


def test_a_slot_moved_by_hand_stays_where_it_is(
    factory: sessionmaker[Session], stored: SlotWorld
) -> None:
    """The office moved one of the PI's sessions to a late day of the period: a schedule
    made from nothing would put it back, so the trial keeps every booked slot where it is
    (and the award is still booked around them)."""
    with factory() as s:
        call = get_call(s, stored)
        pi_slot = s.scalars(
            select(ScheduleEntry)
            .where(
                ScheduleEntry.proposal_id == stored.bundle,
                ScheduleEntry.pool_id == stored.pools["b"],
                ScheduleEntry.start.is_not(None),
            )
            .order_by(ScheduleEntry.start.desc())
        ).first()
        assert pi_slot is not None and pi_slot.start is not None and pi_slot.end is not None
        days = (dt.date(2027, 11, 20) - pi_slot.start.date()).days
        pi_slot.start += dt.timedelta(days=days)
        pi_slot.end += dt.timedelta(days=days)
        s.commit()
        call, loner, kept = _loner_unscheduled(s, stored)
        assert sched.book_offered(s, call, loner, actor_id=None)
        rows = _rows(s, call.id)
        assert [r for r in rows if r[1] != loner.id] == kept
        assert len([r for r in rows if r[1] == loner.id]) == 5
