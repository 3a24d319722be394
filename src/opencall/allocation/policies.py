"""Who may see and change the decisions of a call."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.calls.policies import may_administer
from opencall.people.models import User
from opencall.reviews.policies import may_chair


def may_see_decisions(session: Session, user: User | None, call: Call) -> bool:
    return may_chair(session, user, call)


def may_override(session: Session, user: User | None, call: Call) -> bool:
    """Overrides (with a required reason) until decisions are released."""
    return may_chair(session, user, call) and call.decisions_released_at is None


def may_adjust_list(session: Session, user: User | None, call: Call) -> bool:
    """The TAC chair's moves, bands and lock (``allocation.tac``): the call's staff, while
    the call is in ranking or allocation and its decisions are not released."""
    return (
        may_chair(session, user, call)
        and call.status in ("ranking", "allocation")
        and call.decisions_released_at is None
    )


def may_unlock_list(session: Session, user: User | None, call: Call) -> bool:
    """Reopen a locked TAC list (``allocation.tac.unlock``): the user office (not a chair);
    the service refuses it once the decisions are released or while nothing is locked."""
    return may_administer(session, user, call)


def may_release(session: Session, user: User | None, call: Call) -> bool:
    return may_chair(session, user, call) and call.status in ("allocation", "scheduling")


def awards_are_public(call: Call) -> bool:
    return call.status in ("published", "archived")


def may_offer(session: Session, user: User | None, call: Call) -> bool:
    """Offer the capacity a declined award freed to the next in line: the call's staff,
    once the decisions are released and until the call is archived."""
    return (
        may_chair(session, user, call)
        and call.decisions_released_at is not None
        and call.status != "archived"
    )
