"""Who may see and publish a call's timetable."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.people.models import User
from opencall.reviews.policies import may_administer, may_chair


def may_see_schedule(session: Session, user: User | None, call: Call) -> bool:
    return may_chair(session, user, call)


def may_publish(session: Session, user: User | None, call: Call) -> bool:
    """The public list of awards and the timetable: the user office, once decisions are out."""
    return (
        may_administer(session, user, call)
        and call.status == "scheduling"
        and call.decisions_released_at is not None
    )
