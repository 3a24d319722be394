"""Who may see and publish a call's timetable."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.people.models import User
from opencall.reviews.policies import may_administer, may_chair, withheld_outcome


def may_see_schedule(session: Session, user: User | None, call: Call) -> bool:
    return may_chair(session, user, call)


def hidden_schedule(session: Session, user: User | None, call: Call) -> frozenset[int]:
    """The proposals of ``call`` whose schedule entries (slots, blocks, berths, ...)
    ``user`` may not see although they may see the call's schedule: those whose outcome
    is withheld from them (on their team, or conflicted) until the decisions are
    released (``reviews.policies.withheld_outcome``); a slot is part of the award."""
    return withheld_outcome(session, user, call)


def may_publish(session: Session, user: User | None, call: Call) -> bool:
    """The public list of awards and the timetable: the user office, once decisions are out."""
    return (
        may_administer(session, user, call)
        and call.status == "scheduling"
        and call.decisions_released_at is not None
    )
