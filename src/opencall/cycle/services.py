"""One place for every transition of a call, with its side effects; the web
pages, the API, the CLI and the demo all move a call through here.

========== ==============================================================
to         beyond the status and its audit event
========== ==============================================================
open       the call must offer a capacity pool (``calls``)
closed     the call row is locked so that submissions in flight finish
           first; submitted proposals move to review, restored to their
           last submitted revision, and their anonymity scans are queued
           (``proposals.services.close_call``); early: a reason is required.
           A continuous call first cuts its last batch (``cycle.batches``)
allocation a batch of a continuous call: every earlier batch has released
           its decisions, and its offer becomes the capacity left
published  the decisions must have been released; ``call.published``
           is audited and the results become public
review     (from closed) no proposal's submission deadline extension still
           runs, and the proposals submitted under one are frozen as at the
           close (``proposals.services.freeze_late_submissions``)
others     none (ranking, allocation, scheduling, archived)
========== ==============================================================

Freezing the ranking (``reviews.services.freeze_ranking``) and releasing the
decisions (``allocation.services.release_decisions``) are steps inside a
status, owned by their features; they are not status changes.

The steps a chair runs (``STEPS``: conflicts, affinity, assignment, calibration,
allocation, scheduling) run only in the call states this module names for them
(:func:`require_step`): the cockpit and the API refuse to queue one out of order,
the CLI to run one, and the job handlers to run one whose call moved on after it
was queued (:func:`step_call`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls import services as call_services
from opencall.calls.domain import CALL_TRANSITIONS, check_call_transition
from opencall.calls.models import Call
from opencall.cycle import batches
from opencall.errors import DomainError
from opencall.jobs import Job
from opencall.proposals import services as proposal_services
from opencall.runs import Progress


@dataclass(frozen=True)
class Step:
    """A step of the cycle: the kind of the job that runs it, the call states it may run in."""

    kind: str
    states: tuple[str, ...]


#: The steps of the cycle a chair runs (as jobs from the cockpit and the API, at once
#: from the CLI), in the cockpit's order: the one rule of when each may run.
STEPS: dict[str, Step] = {
    "conflicts": Step("review.conflicts", ("closed", "review")),
    "affinity": Step("review.affinity", ("closed", "review")),
    "assignment": Step("review.assign", ("closed", "review")),
    "calibration": Step("review.calibrate", ("review", "ranking")),
    "allocation": Step("allocation.run", ("allocation",)),
    "scheduling": Step("schedule.run", ("scheduling",)),
}
STEP_OF_KIND = {step.kind: name for name, step in STEPS.items()}
#: the steps run while the call may still wait for a proposal under a submission
#: deadline extension (trialop21b): refused until it ends, then it is frozen first
PROPOSAL_READERS = frozenset(STEPS[name].kind for name in ("conflicts", "affinity", "assignment"))


def may_run(call: Call, step: str) -> bool:
    """Whether the step ``step`` (a key of ``STEPS``) may run while ``call`` is as it is."""
    return call.status in STEPS[step].states


def require_step(call: Call, step: str) -> None:
    """Refuse (:class:`DomainError`, nothing changed) a step the call's status does not allow."""
    if not may_run(call, step):
        raise DomainError("This step cannot run while the call is %(status)s.", status=call.status)


def job_call(session: Session, job: Job) -> Call:
    """The call of a job (``payload["call_id"]``), refused when it is gone: the job then
    fails with the reason and changes nothing."""
    call = session.get(Call, job.payload.get("call_id"))
    if call is None:
        raise DomainError("The call of this job no longer exists.")
    return call


def step_call(session: Session, job: Job) -> Call:
    """The call of a queued step's job (:func:`job_call`), refused also when it moved on
    since the step was queued and the step may no longer run."""
    call = job_call(session, job)
    require_step(call, STEP_OF_KIND[job.kind])
    if job.kind in PROPOSAL_READERS:
        # a step that reads the proposals waits for every extended deadline to end
        proposal_services.freeze_late_submissions(session, call, actor_id=job.created_by)
    return call


def solve_options(job: Job, progress: Progress) -> dict[str, Any]:
    """What a solver step's job hands its feature's ``run_...`` service besides the call
    (:func:`step_call`): the job's seed, its author as the actor, and the progress
    callback, so that every step's job runs its solver the same way."""
    return {"seed": job.seed, "actor_id": job.created_by, "progress": progress}


def next_statuses(call: Call) -> tuple[str, ...]:
    """The statuses :func:`transition_call` may move ``call`` to from where it is (the
    cockpit offers exactly these): a continuous call itself only opens and closes."""
    allowed = CALL_TRANSITIONS.get(call.status, ())
    if call.mode == "continuous":
        return tuple(t for t in allowed if t in ("open", "closed"))
    return allowed


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
    module's table); a refused transition changes nothing (:class:`DomainError`). The
    reason is kept stripped, whoever gives it (the cockpit, the API, the CLI)."""
    reason = reason.strip()
    if call.mode == "continuous" and target not in ("open", "closed"):
        raise DomainError(
            "The proposals of a continuous call are reviewed in its batches; the call "
            "itself only opens and closes.",
            code="illegal_transition",
        )
    if target == "closed":
        if call.mode == "continuous" and call.status == "open":
            # an early close needs its reason before anything is cut
            call_services.check_close_reason(call, reason, now)
            batches.cut(session, call, actor_id=actor_id, now=now, final=True)
        proposal_services.close_call(session, call, actor_id=actor_id, reason=reason, now=now)
        return call
    if target == "review" and call.status == "closed":
        # every proposal in: a submission deadline extension has ended (trialop21b)
        proposal_services.freeze_late_submissions(session, call, actor_id=actor_id, now=now)
    if target == "allocation" and call.parent_id is not None:
        batches.before_allocation(session, call)
    if target == "published":
        return publish(session, call, actor_id=actor_id, now=now)
    return call_services.change_status(
        session, call, target, actor_id=actor_id, reason=reason, now=now
    )


def publish(
    session: Session, call: Call, *, actor_id: int | None = None, now: dt.datetime | None = None
) -> Call:
    """Publish the results: only from a status that may move there, and only once
    the decisions are released. Two publications at once (a double click, two officers,
    the page and the API) are serialised on the call's row: the second finds the call
    published and does nothing (one ``call.published`` event)."""
    session.flush()  # the caller's changes to the call, kept through the re-read
    proposal_services.lock_call_for_close(session, call)  # the row, until the commit
    session.refresh(call, ["status", "decisions_released_at"])
    if call.status == "published":
        return call
    check_call_transition(call.status, "published")
    if call.decisions_released_at is None:
        raise DomainError("Release the decisions before publishing the call.")
    call_services.change_status(session, call, "published", actor_id=actor_id, now=now)
    auditlog.record(session, "call.published", "call", call.id, actor_id=actor_id, call_id=call.id)
    return call
