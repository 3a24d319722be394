"""What the schedulers read: rows by id, the call's awards per request, merit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall import jobs
from opencall.allocation.models import Award, AwardDecline, Decision
from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.facilities.models import CapacityPool
from opencall.reviews import queries as rq
from opencall.scheduling.models import ScheduleEntry


def by_id(session: Session, model: Any, ids: Iterable[int]) -> dict[int, Any]:
    """Rows of ``model`` by id, in one query per 5000 ids (not one per row)."""
    wanted = sorted(set(ids))
    out: dict[int, Any] = {}
    for i in range(0, len(wanted), 5000):
        for row in session.scalars(select(model).where(model.id.in_(wanted[i : i + 5000]))):
            out[row.id] = row
    return out


def awards_of(session: Session, proposal_id: int) -> list[tuple[Award, CapacityPool]]:
    """The proposal's awards with their resources, in award order."""
    return [
        (a, p)
        for a, p in session.execute(
            select(Award, CapacityPool)
            .join(CapacityPool, CapacityPool.id == Award.pool_id)
            .where(Award.proposal_id == proposal_id)
            .order_by(Award.id)
        )
    ]


@dataclass(frozen=True)
class OwnOutcome:
    """What a proposal's team reads of its outcome: the decision, the awards with their
    resources (award order), the schedule (by start) and the decline, if its PI declined."""

    decision: Decision | None
    awards: list[tuple[Award, CapacityPool]]
    schedule: list[ScheduleEntry]
    declined: AwardDecline | None


def own_outcome(session: Session, proposal_id: int) -> OwnOutcome:
    """The proposal's :class:`OwnOutcome`, in four statements: the one read of the
    outcome page (``outcomes.views``) and of the API's ``/proposals/{id}/outcome``."""
    return OwnOutcome(
        decision=session.scalar(select(Decision).where(Decision.proposal_id == proposal_id)),
        awards=awards_of(session, proposal_id),
        schedule=list(
            session.scalars(
                select(ScheduleEntry)
                .where(ScheduleEntry.proposal_id == proposal_id)
                .order_by(ScheduleEntry.start, ScheduleEntry.id)
            )
        ),
        declined=session.scalar(
            select(AwardDecline).where(AwardDecline.proposal_id == proposal_id)
        ),
    )


def awards_by_request(session: Session, call: Call) -> dict[int, list[Award]]:
    """The call's awards per request id, in award order."""
    out: dict[int, list[Award]] = defaultdict(list)
    for a in session.scalars(select(Award).where(Award.call_id == call.id).order_by(Award.id)):
        out[a.request_id].append(a)
    return out


#: the code of :func:`awards_missing`'s answer when the allocation awarded nothing: the
#: scheduling job ends done with it, as its message, not failed
NOTHING_AWARDED = "nothing_awarded"


def awards_missing(session: Session, call: Call) -> DomainError | None:
    """Why the call has no award to schedule (the allocation has not run, or it awarded
    nothing: code ``NOTHING_AWARDED``), or None when it has awards."""
    if session.scalar(select(Award.id).where(Award.call_id == call.id).limit(1)) is not None:
        return None
    if session.scalar(select(Decision.id).where(Decision.call_id == call.id).limit(1)) is None:
        return DomainError("There are no awards to schedule; run the allocation first.")
    return DomainError(
        "The allocation awarded nothing, so there is nothing to schedule; the "
        "decisions can be released as they are.",
        code=NOTHING_AWARDED,
    )


def nothing_awarded(session: Session, call: Call) -> DomainError | None:
    """The step's answer when the allocation awarded nothing (said, not raised: the
    scheduling job ends done with it, ``opencall schedule`` says it and exits 0), or
    None when there is something to schedule or the allocation has not run."""
    missing = awards_missing(session, call)
    return missing if missing is not None and missing.code == NOTHING_AWARDED else None


def why_unscheduled(session: Session, call: Call) -> DomainError | None:
    """Why the call has no schedule entry, said as an error (not raised): the first
    missing step of resource, allocation (run, and awarding something) and scheduling
    (its latest job waiting or running, failed with its error, or never run); None when
    the call has entries, or a schedule run that placed nothing."""
    if session.scalar(select(ScheduleEntry.id).where(ScheduleEntry.call_id == call.id).limit(1)):
        return None
    if not call.pools:
        return DomainError(
            "The call has no resource to schedule: add one to the call, then allocate."
        )
    missing = awards_missing(session, call)
    if missing is not None:
        return missing
    job = session.scalar(
        select(jobs.Job)
        .where(jobs.Job.call_id == call.id, jobs.Job.kind == "schedule.run")
        .order_by(jobs.Job.id.desc())
        .limit(1)
    )
    if job is not None and job.status in jobs.ACTIVE:
        return DomainError(
            "The scheduling is queued or running: its entries show here when it ends."
        )
    if job is not None and job.status == "failed":
        return DomainError(
            "The scheduling failed: %(error)s Run it again once this is put right.",
            error=jobs.failure(job),
        )
    if rq.latest_run(session, call, "schedule") is None:
        return DomainError("The scheduling has not run yet: run it from the call's cycle page.")
    return None


def merit(session: Session, call: Call) -> dict[int, float]:
    """Each ranked proposal's merit weight, from 2 (first) down to just above 1."""
    ranked = rq.ranking(session, call)
    n = max(1, len(ranked))
    return {r.proposal_id: 1.0 + (n - r.rank) / n for r in ranked}


def not_scheduled(session: Session, call: Call, *, hidden: Iterable[int] = ()) -> list[int]:
    """The proposals awarded in ``call`` that its stored schedule has no entry for (not
    even an unplaced one) although the call was scheduled: awarded after the schedule was
    made (an offer to the next in line after a decline), to be scheduled by a rerun. By
    proposal id, less those ``hidden`` from the reader; none before any schedule."""
    entry = select(ScheduleEntry.id).where(ScheduleEntry.call_id == call.id)
    if session.scalar(entry.limit(1)) is None:
        return []
    has_entry = entry.where(ScheduleEntry.proposal_id == Award.proposal_id).exists()
    stmt = (
        select(Award.proposal_id)
        .where(Award.call_id == call.id, ~has_entry, Award.proposal_id.not_in(list(hidden)))
        .distinct()
        .order_by(Award.proposal_id)
    )
    return list(session.scalars(stmt))
