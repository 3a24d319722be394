"""One place for every transition of a call, with its side effects; the web
pages, the API, the CLI and the demo all move a call through here.

========== ==============================================================
to         beyond the status and its audit event
========== ==============================================================
open       the call must offer a capacity pool (``calls``)
closed     the call row is locked so that submissions in flight finish
           first; submitted proposals move to review, restored to their
           last submitted revision, and their anonymity scans are queued
           (``proposals.services.close_call``); early: a reason is required
published  the decisions must have been released; ``call.published``
           is audited and the results become public
others     none (review, ranking, allocation, scheduling, archived)
========== ==============================================================

Freezing the ranking (``reviews.services.freeze_ranking``) and releasing the
decisions (``allocation.services.release_decisions``) are steps inside a
status, owned by their features; they are not status changes.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls import services as call_services
from opencall.calls.domain import check_call_transition
from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.proposals import services as proposal_services

MSG_RELEASE_FIRST = "Release the decisions before publishing the call."


def transition_call(
    session: Session,
    call: Call,
    target: str,
    *,
    actor_id: int | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Call:
    """Move ``call`` to ``target`` with everything that transition does (see the
    module's table); a refused transition changes nothing (:class:`DomainError`)."""
    if target == "closed":
        proposal_services.close_call(session, call, actor_id=actor_id, reason=reason, now=now)
        return call
    if target == "published":
        return publish(session, call, actor_id=actor_id, now=now)
    return call_services.change_status(
        session, call, target, actor_id=actor_id, reason=reason, now=now
    )


def publish(
    session: Session, call: Call, *, actor_id: int | None = None, now: dt.datetime | None = None
) -> Call:
    """Publish the results: only from a status that may move there, and only once
    the decisions are released."""
    check_call_transition(call.status, "published")
    if call.decisions_released_at is None:
        raise DomainError("Release the decisions before publishing the call.")
    call_services.change_status(session, call, "published", actor_id=actor_id, now=now)
    auditlog.record(session, "call.published", "call", call.id, actor_id=actor_id, call_id=call.id)
    return call
