"""mend10a, item 2: an award offered to the next in line after a decline, on a call whose
schedule is stored, is booked on that schedule when it fits without moving anyone (the
schedule made again as it was made gives every other proposal the very entries it holds,
and the offered one only placed entries): its entries are added, audited, and it is no
longer listed as "not scheduled". When it does not fit so, nothing of the schedule
changes and it stays listed (mend9a) for the office to rerun the schedule."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from opencall.allocation import services as al
from opencall.auditlog import AuditEvent
from opencall.results import declines
from opencall.scheduling import queries as sq
from opencall.scheduling import services as sched
from opencall.scheduling.models import ScheduleEntry
from tests.results.decline_world import build, get_call, get_proposal

pytestmark = pytest.mark.filterwarnings("ignore")


def _rows(s: Session, call_id: int) -> list[tuple[Any, ...]]:
    return sorted(
        (e.id, e.proposal_id, e.kind, e.start, e.end, e.amount, e.label)
        for e in s.scalars(select(ScheduleEntry).where(ScheduleEntry.call_id == call_id))
    )


def _scheduled_then_declined(s: Session, **window: Any) -> tuple[Any, Any, list[tuple[Any, ...]]]:
    """The decline world with its real telescope schedule stored (``window``: its start
    and days) and the first award declined; the rows left."""
    w = build(s)
    call = get_call(s, w)
    s.execute(delete(ScheduleEntry).where(ScheduleEntry.call_id == call.id))
    sched.run_schedule(s, call, **window)
    declines.decline_award(s, get_proposal(s, w.awarded[0]), reason="visa",
                           actor_id=w.ids["pi"])  # fmt: skip
    kept = _rows(s, call.id)
    assert kept and all(r[1] == w.awarded[1] for r in kept)
    return w, call, kept


def _scheduled_then_offered(s: Session, **window: Any) -> tuple[Any, Any, list[tuple[Any, ...]]]:
    """:func:`_scheduled_then_declined`, the freed capacity offered to the best waiting."""
    w, call, kept = _scheduled_then_declined(s, **window)
    al.offer_award(s, call, get_proposal(s, w.waiting[0]), reason="next in line",
                   actor_id=w.ids["chair"])  # fmt: skip
    return w, call, kept


def _booked_events(s: Session, call_id: int) -> list[AuditEvent]:
    return list(
        s.scalars(
            select(AuditEvent).where(
                AuditEvent.call_id == call_id, AuditEvent.action == "schedule.offer_booked"
            )
        )
    )


def test_an_offer_that_fits_is_booked_without_moving_anyone(db: Session) -> None:
    s = db
    w, call, kept = _scheduled_then_offered(s)
    rows = _rows(s, call.id)
    # the others' rows are the very rows they were (same ids, same slots)
    assert [r for r in rows if r[1] != w.waiting[0]] == kept
    mine = [r for r in rows if r[1] == w.waiting[0]]
    assert mine and all(r[3] is not None for r in mine), rows
    # no booked slot overlaps another
    placed = sorted((r[3], r[4]) for r in rows if r[3] is not None)
    assert all(a[1] <= b[0] for a, b in zip(placed, placed[1:], strict=False)), placed
    assert sq.not_scheduled(s, call) == []
    (event,) = _booked_events(s, call.id)
    assert event.entity_id == str(w.waiting[0]) and event.actor_id == w.ids["chair"]
    assert event.data["entries"] == len(mine)


def test_an_offer_that_would_move_others_stays_listed(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schedule made again moves another proposal's block (here: the optimiser asked
    again gives every block other than the offered one's a new start): nothing changes."""
    s = db
    real = sched.schedule_telescope

    def shifted(session: Session, call: Any, solve: Any, **kw: Any) -> Any:
        run = real(session, call, solve, **kw)
        if _booked_events(session, call.id) == [] and _rows(session, call.id):
            import datetime as dt

            for e in session.scalars(select(ScheduleEntry).where(ScheduleEntry.call_id == call.id)):
                if e.start is not None and e.proposal_id != offered[0]:
                    e.start += dt.timedelta(minutes=10)
                    e.end = e.end + dt.timedelta(minutes=10) if e.end else None
            session.flush()
        return run

    offered: list[int] = []
    w, call, kept = _scheduled_then_declined(s)
    offered.append(w.waiting[0])
    monkeypatch.setattr(sched, "schedule_telescope", shifted)
    al.offer_award(s, call, get_proposal(s, w.waiting[0]), reason="next in line",
                   actor_id=w.ids["chair"])  # fmt: skip
    assert _rows(s, call.id) == kept
    assert sq.not_scheduled(s, call) == [w.waiting[0]]
    assert _booked_events(s, call.id) == []


def test_an_offer_that_finds_no_room_stays_listed(db: Session) -> None:
    """A window of one day holds the kept blocks only: the offered proposal's blocks come
    out unplaced, so nothing is booked."""
    s = db
    w, call, kept = _scheduled_then_offered(s, days=1)
    assert _rows(s, call.id) == kept
    assert sq.not_scheduled(s, call) == [w.waiting[0]]
    assert _booked_events(s, call.id) == []


def test_an_offer_stands_when_the_trial_fails(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the schedule made again meets (here: the optimiser fails), the offer is
    made and the award stays listed: a booking is never a reason to lose the offer."""
    s = db
    w, call, kept = _scheduled_then_declined(s)

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(sched, "schedule_telescope", broken)
    d = al.offer_award(s, call, get_proposal(s, w.waiting[0]), reason="next in line",
                       actor_id=w.ids["chair"])  # fmt: skip
    assert d.outcome == "awarded"
    assert _rows(s, call.id) == kept
    assert sq.not_scheduled(s, call) == [w.waiting[0]]
