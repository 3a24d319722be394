"""The JSON API of running a call's review: phase transitions (through
``opencall.cycle``, as on the cockpit and in the CLI: closing the call closes its
proposals), the cycle's steps as jobs
(conflicts, affinity, assignment, calibration, allocation, scheduling) and their
progress, assignments by hand, the ranking's freeze, the reviewer pool and
invitations, conflicts (declared by a reviewer; listed for the chair), a reviewer's
answer to an assignment, and technical reviews.

Same services and policies as ``reviews.views`` and ``reviews.recruitment_views``:
identities of a dual-anonymous call are shown exactly where the pages show them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from opencall import jobs
from opencall.calls import policies as call_policies
from opencall.calls.domain import CALL_TRANSITIONS
from opencall.calls.models import Call
from opencall.calls.presenters import PhaseOut, phase_out
from opencall.calls.queries import call_by_slug
from opencall.cycle import services as cycle
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.reviews import policies, recruitment, services
from opencall.reviews import queries as q
from opencall.reviews.api import AssignmentOut
from opencall.reviews.models import Conflict, ReviewAssignment, ReviewInvitation, TechnicalReview
from opencall.reviews.policies import reviewer_content
from opencall.reviews.presenters import CONFLICT_MASKED, STEPS, chair_call, open_assignment
from opencall.web.api import MANAGE, MAX_ID, REVIEW, SLUG, Api, ApiError, get_api

router = APIRouter(prefix="/api/v1", tags=["reviews"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "refused: the message says why (nothing changed)"},
    404: {"description": "not found (or not yours)"},
}


def _id() -> Any:
    return Path(ge=1, le=MAX_ID)


def office_call(api: Api, slug: str) -> Call:
    user = api.require_user()
    call = call_by_slug(api.db, slug)
    if call is None or not call_policies.may_administer(api.db, user, call):
        raise api.not_found()
    return call


# ---------------------------------------------------------------- phases and steps


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: Literal["open", "closed", "review", "ranking", "allocation", "scheduling", "archived"]
    reason: str = Field(
        "", max_length=2000, description="required to close before the deadline (logged)"
    )


@router.post(
    "/calls/{slug}/transition", response_model=PhaseOut, responses=ERRORS, dependencies=[MANAGE]
)
def transition(body: TransitionIn, slug: str = SLUG, api: Api = Depends(get_api)) -> PhaseOut:
    """Move the call to its next phase (user office). Closing also closes its draft
    proposals, as the cockpit and ``opencall calls transition`` do; publishing is
    ``POST /calls/{slug}/publish``."""
    call = office_call(api, slug)
    actor = api.user.id if api.user else None
    if body.target not in CALL_TRANSITIONS.get(call.status, ()):
        raise ApiError(400, f"target: a call that is {call.status} cannot become {body.target}.")
    with api.refusing():
        cycle.transition_call(api.db, call, body.target, actor_id=actor, reason=body.reason.strip())
        out = phase_out(call)
        api.db.commit()
    return out


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = Field(0, ge=0, le=10**8)
    objective: Literal["total", "fair"] | None = Field(None, description="assignment only")
    days: int | None = Field(None, ge=1, le=366, description="scheduling only")
    start: dt.date | None = Field(None, description="scheduling only")


class JobOut(BaseModel):
    id: int
    kind: str
    status: str
    progress: int
    message: str
    error: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


def job_out(j: jobs.Job) -> JobOut:
    return JobOut(
        id=j.id,
        kind=j.kind,
        status=j.status,
        progress=j.progress,
        message=j.message,
        error=j.error,
        created_at=j.created_at,
        finished_at=j.finished_at,
    )


@router.post(
    "/calls/{slug}/steps/{step}",
    response_model=JobOut,
    status_code=202,
    responses=ERRORS,
    dependencies=[MANAGE],
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
    kind, _label, states = STEPS[step]
    if call.status not in states:
        raise ApiError(400, f"This step cannot run while the call is {call.status}.")
    payload: dict[str, Any] = {"call_id": call.id, "seed": body.seed}
    if step == "assignment" and body.objective:
        payload["objective"] = body.objective
    if step == "scheduling":
        if body.days:
            payload["days"] = body.days
        if body.start:
            payload["start"] = body.start.isoformat()
    job = jobs.enqueue(
        api.db,
        kind,
        payload,
        call_id=call.id,
        created_by=api.user.id if api.user else None,
        max_attempts=2,
    )
    out = job_out(job)
    api.db.commit()
    return out


@router.get("/jobs/{job_id}", response_model=JobOut, responses=ERRORS)
def job(job_id: int = _id(), api: Api = Depends(get_api)) -> JobOut:
    """A job's progress (the staff of its call)."""
    user = api.require_user()
    j = api.db.get(jobs.Job, job_id)
    call = api.db.get(Call, j.call_id) if j is not None and j.call_id else None
    if j is None or call is None or not call_policies.may_manage_call(api.db, user, call):
        raise api.not_found()
    return job_out(j)


@router.post(
    "/calls/{slug}/ranking/freeze",
    response_model=PhaseOut,
    responses=ERRORS,
    dependencies=[MANAGE],
)
def freeze(slug: str = SLUG, api: Api = Depends(get_api)) -> PhaseOut:
    """Freeze the ranking (chair or user office): the input of the allocation."""
    call = chair_call(api, slug)
    with api.refusing():
        services.freeze_ranking(api.db, call, actor_id=api.user.id if api.user else None)
        out = phase_out(call)
        api.db.commit()
    return out


# ---------------------------------------------------------------- assignments by hand


class PairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    proposal_id: int = Field(ge=1, le=MAX_ID)
    reviewer_id: int = Field(ge=1, le=MAX_ID)


class PairMade(BaseModel):
    id: int
    proposal_id: int
    reviewer_id: int
    status: str
    source: str


@router.post(
    "/calls/{slug}/assignments",
    response_model=PairMade,
    status_code=201,
    responses=ERRORS,
    dependencies=[MANAGE],
)
def add_assignment(body: PairIn, slug: str = SLUG, api: Api = Depends(get_api)) -> PairMade:
    """Assign a reviewer to a proposal by hand (conflicted pairs are refused)."""
    call = chair_call(api, slug)
    p = api.db.get(Proposal, body.proposal_id)
    r = api.db.get(User, body.reviewer_id)
    if p is None or p.call_id != call.id:
        raise ApiError(400, "proposal_id: not a proposal of this call.")
    if r is None:
        raise ApiError(400, "reviewer_id: no such person.")
    with api.refusing():
        a = services.add_assignment(api.db, call, p, r, actor_id=api.user.id if api.user else None)
        out = PairMade(
            id=a.id,
            proposal_id=a.proposal_id,
            reviewer_id=a.reviewer_id,
            status=a.status,
            source=a.source,
        )
        api.db.commit()
    return out


@router.delete(
    "/calls/{slug}/assignments/{assignment_id}",
    status_code=204,
    responses=ERRORS,
    dependencies=[MANAGE],
)
def remove_assignment(
    slug: str = SLUG,
    assignment_id: int = _id(),
    reason: str = Query("", max_length=2000),
    api: Api = Depends(get_api),
) -> Response:
    call = chair_call(api, slug)
    a = api.db.get(ReviewAssignment, assignment_id)
    if a is None or a.call_id != call.id:
        raise api.not_found()
    with api.refusing():
        services.remove_assignment(
            api.db, a, actor_id=api.user.id if api.user else None, reason=reason
        )
        api.db.commit()
    return Response(status_code=204)


# ---------------------------------------------------------------- the reviewer's side


class RespondIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accept: bool


class ConflictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=2000, description="why (kept for the chair)")


class ConflictOut(BaseModel):
    id: int
    proposal_code: str
    reviewer_id: int
    reviewer: str
    source: str
    detail: str


@router.post(
    "/assignments/{assignment_id}/respond",
    response_model=AssignmentOut,
    responses=ERRORS,
    dependencies=[REVIEW],
)
def respond(
    body: RespondIn, assignment_id: int = _id(), api: Api = Depends(get_api)
) -> AssignmentOut:
    """Accept or decline an assignment."""
    a = open_assignment(api, assignment_id)
    user = api.require_user()
    with api.refusing():
        services.respond_to_assignment(api.db, a, user, accept=body.accept)
        p = api.db.get(Proposal, a.proposal_id)
        assert p is not None
        out = AssignmentOut(
            id=a.id, call=p.call.slug, proposal_code=p.code, title=p.title, status=a.status
        )
        api.db.commit()
    return out


@router.post(
    "/assignments/{assignment_id}/conflict",
    response_model=ConflictOut,
    status_code=201,
    responses=ERRORS,
    dependencies=[REVIEW],
)
def declare_conflict(
    body: ConflictIn, assignment_id: int = _id(), api: Api = Depends(get_api)
) -> ConflictOut:
    """Declare a conflict with the assigned proposal: the assignment is removed."""
    a = open_assignment(api, assignment_id)
    user = api.require_user()
    with api.refusing():
        c = services.declare_conflict(api.db, a, user, body.reason)
        p = api.db.get(Proposal, c.proposal_id)
        assert p is not None
        out = ConflictOut(
            id=c.id,
            proposal_code=p.code,
            reviewer_id=user.id,
            reviewer=user.name,
            source=c.source,
            detail=c.detail,
        )
        api.db.commit()
    return out


@router.get(
    "/calls/{slug}/conflicts",
    response_model=list[ConflictOut],
    responses=ERRORS,
    dependencies=[MANAGE],
)
def conflicts(slug: str = SLUG, api: Api = Depends(get_api)) -> list[ConflictOut]:
    """The call's conflicts (chair and user office). Where the caller may not see the
    teams, a detected conflict's source and detail are masked (a source such as "member
    of the team" beside a reviewer's name would tell who is on the team)."""
    call = chair_call(api, slug)
    show = policies.may_see_identities(api.db, api.user, call)
    rows = api.db.execute(
        select(Conflict, Proposal.code, Proposal.status, User.name)
        .join(Proposal, Proposal.id == Conflict.proposal_id)
        .join(User, User.id == Conflict.reviewer_id)
        .where(Conflict.call_id == call.id)
        .order_by(Conflict.id)
    ).all()
    out = []
    for c, code, status, name in rows:
        plain = show or c.source == "declared_reviewer"
        out.append(
            ConflictOut(
                id=c.id,
                proposal_code=code if status in q.REVIEWABLE else "",
                reviewer_id=c.reviewer_id,
                reviewer=name,
                source=c.source if plain else CONFLICT_MASKED,
                detail=c.detail if plain else "",
            )
        )
    return out


# ---------------------------------------------------------------- reviewer pool and invitations


class PoolMemberOut(BaseModel):
    user_id: int
    name: str
    email: str
    reviewed_calls: int


@router.get(
    "/calls/{slug}/reviewer-pool",
    response_model=list[PoolMemberOut],
    responses=ERRORS,
    dependencies=[MANAGE],
)
def reviewer_pool(slug: str = SLUG, api: Api = Depends(get_api)) -> list[PoolMemberOut]:
    """The provider's reviewer pool (anyone who held a reviewing role on it)."""
    call = chair_call(api, slug)
    return [
        PoolMemberOut(
            user_id=m.user.id, name=m.user.name, email=m.user.email, reviewed_calls=m.reviewed_calls
        )
        for m in recruitment.reviewer_pool(api.db, call)
    ]


class WithdrawnOut(BaseModel):
    id: int
    email: str
    status: str


@router.post(
    "/calls/{slug}/reviewer-invitations/{invitation_id}/withdraw",
    response_model=WithdrawnOut,
    responses=ERRORS,
    dependencies=[MANAGE],
)
def withdraw_invitation(
    slug: str = SLUG, invitation_id: int = _id(), api: Api = Depends(get_api)
) -> WithdrawnOut:
    """Withdraw a pending invitation to review."""
    call = chair_call(api, slug)
    inv = api.db.get(ReviewInvitation, invitation_id)
    if inv is None or inv.call_id != call.id:
        raise api.not_found()
    with api.refusing():
        recruitment.withdraw(api.db, inv, actor_id=api.user.id if api.user else None)
        out = WithdrawnOut(id=inv.id, email=inv.email, status=inv.status)
        api.db.commit()
    return out


# ---------------------------------------------------------------- technical review


class TechnicalItem(BaseModel):
    proposal_id: int
    code: str
    title: str
    verdict: str | None


class TechnicalIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    verdict: Literal["feasible", "feasible_with_changes", "not_feasible"]
    amount_needed: float | None = Field(None, ge=0)
    notes_to_panel: str = Field("", max_length=20000)
    notes_to_applicants: str = Field("", max_length=20000)


class TechnicalOut(BaseModel):
    proposal_id: int
    code: str
    title: str
    content: dict[str, Any] = Field(description="as reviewers see it (anonymised if dual)")
    verdict: str | None
    amount_needed: float | None
    notes_to_panel: str
    notes_to_applicants: str


@router.get(
    "/technical/calls/{slug}",
    response_model=list[TechnicalItem],
    responses=ERRORS,
    dependencies=[REVIEW],
)
def technical_list(slug: str = SLUG, api: Api = Depends(get_api)) -> list[TechnicalItem]:
    """The proposals a technical reviewer may assess (not their own, not conflicted)."""
    user = api.require_user()
    call = call_by_slug(api.db, slug)
    if call is None or not policies.may_technical_review(api.db, user, call):
        raise api.not_found()
    done = q.technical_reviews(api.db, call)
    return [
        TechnicalItem(
            proposal_id=p.id,
            code=p.code,
            title=p.title,
            verdict=done[p.id].verdict if p.id in done else None,
        )
        for p in policies.technical_review_proposals(api.db, user, call)
    ]


def _technical_proposal(api: Api, proposal_id: int) -> Proposal:
    p = policies.technical_review_proposal(api.db, api.require_user(), proposal_id)
    if p is None:
        raise api.not_found()
    return p


def _technical_out(api: Api, p: Proposal) -> TechnicalOut:
    tr = api.db.scalar(select(TechnicalReview).where(TechnicalReview.proposal_id == p.id))
    return TechnicalOut(
        proposal_id=p.id,
        code=p.code,
        title=p.title,
        content=reviewer_content(api.db, p),
        verdict=tr.verdict if tr else None,
        amount_needed=tr.amount_needed if tr else None,
        notes_to_panel=tr.notes_to_panel if tr else "",
        notes_to_applicants=tr.notes_to_applicants if tr else "",
    )


@router.get(
    "/technical/proposals/{proposal_id}",
    response_model=TechnicalOut,
    responses=ERRORS,
    dependencies=[REVIEW],
)
def technical_get(proposal_id: int = _id(), api: Api = Depends(get_api)) -> TechnicalOut:
    return _technical_out(api, _technical_proposal(api, proposal_id))


@router.post(
    "/technical/proposals/{proposal_id}",
    response_model=TechnicalOut,
    responses=ERRORS,
    dependencies=[REVIEW],
)
def technical_save(
    body: TechnicalIn, proposal_id: int = _id(), api: Api = Depends(get_api)
) -> TechnicalOut:
    """Record (or replace) the technical review of a proposal."""
    p = _technical_proposal(api, proposal_id)
    with api.refusing():
        services.submit_technical_review(
            api.db,
            p,
            api.require_user(),
            verdict=body.verdict,
            amount_needed=body.amount_needed,
            notes_to_panel=body.notes_to_panel,
            notes_to_applicants=body.notes_to_applicants,
        )
        api.db.flush()
        out = _technical_out(api, p)
        api.db.commit()
    return out
