"""The chair's and user office's API of a call's phases: transitions (through
``opencall.cycle``, as on the cockpit and in the CLI: closing the call closes its
proposals), the cycle's steps as jobs and their progress, the ranking's freeze."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from opencall import jobs
from opencall.calls import policies as call_policies
from opencall.calls.access import office_call_api
from opencall.calls.domain import check_call_transition
from opencall.calls.models import Call
from opencall.calls.presenters import PhaseOut, move_call
from opencall.cycle import batches
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.inputs import BoundedDate
from opencall.reviews import services
from opencall.reviews.presenters import chair_call
from opencall.web.api import (
    MANAGE,
    SLUG,
    WRITE_ERRORS,
    Api,
    get_api,
    id_param,
    refused,
)

# every route answers these refusals
router = APIRouter(responses=WRITE_ERRORS)


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: Literal["open", "closed", "review", "ranking", "allocation", "scheduling", "archived"]
    reason: str = Field(
        "", max_length=2000, description="required to close before the deadline (logged)"
    )


@router.post("/calls/{slug}/transition", response_model=PhaseOut, dependencies=[MANAGE])
def transition(body: TransitionIn, slug: str = SLUG, api: Api = Depends(get_api)) -> PhaseOut:
    """Move the call to its next phase (user office). Closing also closes its draft
    proposals, as the cockpit and ``opencall calls transition`` do; publishing is
    ``POST /calls/{slug}/publish``."""
    call = office_call_api(api, slug)
    actor = api.actor_id
    try:  # in the words of the cockpit and ``opencall calls transition``
        check_call_transition(call.status, body.target)
    except DomainError as exc:
        exc.field = "target"  # the API names the field it refuses ("target: ...")
        raise refused(exc) from exc
    return move_call(
        api,
        call,
        lambda: cycle.transition_call(
            api.db, call, body.target, actor_id=actor, reason=body.reason.strip()
        ),
    )


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = Field(0, ge=0, le=10**8)
    objective: Literal["total", "fair"] | None = Field(None, description="assignment only")
    days: int | None = Field(None, ge=1, le=366, description="scheduling only")
    start: BoundedDate | None = Field(None, description="scheduling only")


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read from the Job row

    id: int
    kind: str
    status: str
    progress: int
    message: str
    error: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


@router.post(
    "/calls/{slug}/steps/{step}", response_model=JobOut, status_code=202, dependencies=[MANAGE]
)
def run_step(
    body: StepIn | None = None,
    slug: str = SLUG,
    step: Literal[
        "conflicts", "affinity", "assignment", "calibration", "allocation", "scheduling"
    ] = Path(),
    api: Api = Depends(get_api),
) -> JobOut:
    """Queue one step of the cycle as a job (chair or user office); follow it with
    ``GET /api/v1/jobs/{id}``."""
    call = chair_call(api, slug)
    body = body or StepIn.model_validate({})
    with api.refusing():  # in the reader's language, as the cockpit says it
        cycle.require_step(call, step)
    payload: dict[str, Any] = {"call_id": call.id, "seed": body.seed}
    if step == "assignment" and body.objective:
        payload["objective"] = body.objective
    if step == "scheduling":
        if body.days:
            payload["days"] = body.days
        if body.start:
            payload["start"] = body.start.isoformat()
    job = jobs.enqueue_once(  # the one already queued or running, if any
        api.db,
        cycle.STEPS[step].kind,
        payload,
        call_id=call.id,
        created_by=api.actor_id,
        max_attempts=2,
    )
    out = JobOut.model_validate(job)
    api.db.commit()
    return out


@router.get("/jobs/{job_id}", response_model=JobOut)
def job(job_id: int = id_param(), api: Api = Depends(get_api)) -> JobOut:
    """A job's progress (the staff of its call)."""
    user = api.require_user()
    j = api.db.get(jobs.Job, job_id)
    call = api.db.get(Call, j.call_id) if j is not None and j.call_id else None
    if j is None or call is None or not call_policies.may_manage_call(api.db, user, call):
        raise api.not_found()
    return JobOut.model_validate(j)


@router.post("/calls/{slug}/ranking/freeze", response_model=PhaseOut, dependencies=[MANAGE])
def freeze(slug: str = SLUG, api: Api = Depends(get_api)) -> PhaseOut:
    """Freeze the ranking (chair or user office): the input of the allocation."""
    call = chair_call(api, slug)
    return move_call(
        api, call, lambda: services.freeze_ranking(api.db, call, actor_id=api.actor_id)
    )


class UnfreezeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=2000, description="required; kept in the audit log")


@router.post("/calls/{slug}/ranking/unfreeze", response_model=PhaseOut, dependencies=[MANAGE])
def unfreeze(body: UnfreezeIn, slug: str = SLUG, api: Api = Depends(get_api)) -> PhaseOut:
    """Undo a freeze made too early (chair or user office), so that the grades can be
    calibrated again; refused once the allocation has run or the decisions are released."""
    call = chair_call(api, slug)
    return move_call(
        api,
        call,
        lambda: services.unfreeze_ranking(api.db, call, reason=body.reason, actor_id=api.actor_id),
    )


class BatchOut(BaseModel):
    slug: str
    number: int
    cutoff: dt.datetime
    status: str
    proposals: int = Field(description="its proposals (withdrawn ones not counted)")
    decisions_due: dt.datetime | None
    decisions_released_at: dt.datetime | None


class CapacityLeftOut(BaseModel):
    pool_id: int
    name: str
    unit: str
    offered: float = Field(description="the continuous call's budget of the resource")
    left: float = Field(description="the budget less what released batches awarded")


class BatchesOut(BaseModel):
    """A continuous call's batches: cut-offs, what waits for the next, the capacity left."""

    slug: str
    status: str
    cutoffs: list[dt.datetime]
    cutoffs_done: int
    next_cutoff: dt.datetime | None
    waiting: int = Field(description="submitted proposals waiting for the next cut-off")
    capacity: list[CapacityLeftOut]
    batches: list[BatchOut]


def batches_out(ov: batches.Overview) -> BatchesOut:
    return BatchesOut(
        slug=ov.call.slug,
        status=ov.call.status,
        cutoffs=ov.cutoffs,
        cutoffs_done=ov.call.cutoffs_done,
        next_cutoff=ov.next_cutoff,
        waiting=ov.waiting,
        capacity=[
            CapacityLeftOut(
                pool_id=cp.pool_id,
                name=cp.pool.name,
                unit=cp.pool.unit,
                offered=cp.amount,
                left=left,
            )
            for cp, left in ov.left
        ],  # fmt: skip
        batches=[
            BatchOut(
                slug=r.call.slug,
                number=r.call.batch_number or 0,
                cutoff=r.call.closes_at,
                status=r.call.status,
                proposals=r.proposals,
                decisions_due=r.decisions_due,
                decisions_released_at=r.call.decisions_released_at,
            )
            for r in ov.batches
        ],
    )


def _continuous(call: Call) -> Call:
    try:  # the refusal of ``batches.cut``, in the reader's language
        batches.require_continuous(call)
    except DomainError as exc:
        raise refused(exc) from exc
    return call


@router.get("/calls/{slug}/batches", response_model=BatchesOut, dependencies=[MANAGE])
def call_batches(slug: str = SLUG, api: Api = Depends(get_api)) -> BatchesOut:
    """A continuous call's batches (chair or user office): each is a call of its own
    (``/calls/{batch slug}``) that runs the cycle; the capacity its budget has left."""
    call = _continuous(chair_call(api, slug))
    return batches_out(batches.overview(api.db, call))


@router.post("/calls/{slug}/batches", response_model=BatchesOut, dependencies=[MANAGE])
def cut_batches(slug: str = SLUG, api: Api = Depends(get_api)) -> BatchesOut:
    """Cut the batches whose cut-offs have come (user office; ``opencall calls
    cut-batches`` does it for every call, from cron): what was submitted before each
    becomes a batch, closed for review at once; later proposals roll to the next."""
    call = _continuous(office_call_api(api, slug))
    with api.refusing(commit=True):
        batches.cut(api.db, call, actor_id=api.actor_id)
        out = batches_out(batches.overview(api.db, call))
    return out
