"""The chair's API of assignments by hand: a pair added (conflicted pairs are refused,
the reviewer is invited by e-mail) or removed; the proposals the automatic assignment
left short of suitable reviewers; and a reviewer's review deadline extended."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from opencall.calls.schemas import day_ends
from opencall.db import utcnow
from opencall.inputs import BoundedDateTime
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.reviews import policies, services
from opencall.reviews import queries as q
from opencall.reviews.api_write.common import row_of_call
from opencall.reviews.models import ReviewAssignment
from opencall.reviews.presenters import chair_call
from opencall.reviews.shortfall import uncovered_rows
from opencall.reviews.views.chair_assignments import assign_by_hand
from opencall.web import serving
from opencall.web.api import MANAGE, MAX_ID, SLUG, WRITE_ERRORS, Api, ApiError, get_api, id_param
from opencall.web.i18n import Translator

# every route is the chair's: the manage scope, and the refusals documented
router = APIRouter(responses=WRITE_ERRORS, dependencies=[MANAGE])


class PairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    proposal_id: int = Field(ge=1, le=MAX_ID)
    reviewer_id: int = Field(ge=1, le=MAX_ID)


class PairMade(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    proposal_id: int
    reviewer_id: int
    status: str
    source: str


@router.post("/calls/{slug}/assignments", response_model=PairMade, status_code=201)
def add_assignment(body: PairIn, slug: str = SLUG, api: Api = Depends(get_api)) -> PairMade:
    """Assign a reviewer to a proposal by hand (conflicted pairs are refused); the reviewer
    is invited by e-mail, as from the web's form."""
    call = chair_call(api, slug)
    p = api.db.get(Proposal, body.proposal_id)
    r = api.db.get(User, body.reviewer_id)
    if p is None or p.call_id != call.id:
        raise ApiError(400, "proposal_id: not a proposal of this call.")
    if r is None:
        raise ApiError(400, "reviewer_id: no such person.")
    with api.refusing(commit=True):
        a = assign_by_hand(
            api.db, api.request.app.state.settings, call, p, r, actor_id=api.actor_id
        )
        out = PairMade.model_validate(a)
    return out


class ShortOut(BaseModel):
    proposal_code: str
    title: str
    needed: int
    assigned: int
    reason: str = Field(
        description="pool, conflicts, capacity, diversity, no_expertise, withdrawn or overdue"
    )
    explanation: str


class ShortList(BaseModel):
    items: list[ShortOut]


@router.get("/calls/{slug}/assignments/uncovered", response_model=ShortList)
def uncovered(slug: str = SLUG, api: Api = Depends(get_api)) -> ShortList:
    """The proposals short of suitable reviewers after the last automatic assignment (and
    still short now), or whose reviewers have no affinity with them, and why: the chair's
    list to recruit for, as on the assignment page. A proposal withheld from the caller
    (their own team's, or one they are conflicted with) is left out."""
    call = chair_call(api, slug)
    hidden = policies.withheld(api.db, api.user, call)
    rows = uncovered_rows(api.db, call, hidden, Translator("en"))
    return ShortList(items=[ShortOut(**r) for r in rows])


class DeclineOut(BaseModel):
    assignment_id: int
    proposal_id: int
    proposal_code: str
    reviewer_id: int
    reviewer_name: str | None = Field(description="null for an account since deleted")
    declined_at: dt.datetime
    reason: str = Field(description='the reviewer\'s reason, as they wrote it ("" for none)')


class DeclineList(BaseModel):
    items: list[DeclineOut]


@router.get("/calls/{slug}/assignments/declined", response_model=DeclineList)
def declined(slug: str = SLUG, api: Api = Depends(get_api)) -> DeclineList:
    """The invitations to review that reviewers declined, with when and their reason,
    oldest first: as on the assignment page and its CSV (trialop20). A proposal withheld
    from the caller (their own team's, or one they are conflicted with) is left out."""
    call = chair_call(api, slug)
    rows = q.declined_rows(api.db, call, policies.withheld(api.db, api.user, call))
    codes: dict[int, str | None] = {
        pid: code
        for pid, code in api.db.execute(
            select(Proposal.id, Proposal.code).where(
                Proposal.id.in_({r["proposal_id"] for r in rows})
            )
        )
    }
    return DeclineList(
        items=[DeclineOut(**r, proposal_code=codes.get(r["proposal_id"]) or "") for r in rows]
    )


@router.delete("/calls/{slug}/assignments/{assignment_id}", status_code=204)
def remove_assignment(
    slug: str = SLUG,
    assignment_id: int = id_param(),
    reason: str = Query("", max_length=2000),
    submitted_review: bool = Query(
        False,
        description="remove a submitted review (its grade set aside after misconduct, "
        "say): required for one, refused for any other; needs a reason and an unfrozen "
        "ranking, as on the assignment page",
    ),
    api: Api = Depends(get_api),
) -> Response:
    """Remove an assignment (the reviewer is told nothing more to do), or with
    ``submitted_review`` a submitted review, whose grade then no longer counts (the chair
    calibrates again); both audited with the reason."""
    call = chair_call(api, slug)
    a = row_of_call(api, ReviewAssignment, assignment_id, call)
    with api.refusing(commit=True):
        services.remove_assignment(
            api.db,
            a,
            actor_id=api.actor_id,
            reason=reason,
            submitted_review=submitted_review,
        )
    return Response(status_code=204)


class ExtensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: BoundedDateTime = Field(
        description="the reviewer's new deadline (UTC when no offset; a date alone ends "
        "with that day, 23:59:59 UTC)"
    )
    reason: str = Field("", max_length=2000, description="why (logged)")

    _a_day_ends = field_validator("until", mode="before")(day_ends)


class ExtensionOut(BaseModel):
    reviewer_id: int
    until: dt.datetime


@router.put("/calls/{slug}/reviewers/{reviewer_id}/deadline", response_model=ExtensionOut)
def extend_deadline(
    body: ExtensionIn,
    slug: str = SLUG,
    reviewer_id: int = id_param(),
    api: Api = Depends(get_api),
) -> ExtensionOut:
    """Extend one reviewer's review deadline in the call (later than the call's deadline
    and than now; the reviewer must have a review still to write): their reviews are
    accepted until then. Audited, with the reason."""
    call = chair_call(api, slug)
    r = api.db.get(User, reviewer_id)
    if r is None:
        raise ApiError(400, "reviewer_id: no such person.")
    received = serving.received_at(api.request.scope) or utcnow()
    with api.refusing(commit=True):
        ext = services.extend_review_deadline(
            api.db, call, r, body.until, actor_id=api.actor_id, now=received, reason=body.reason
        )
        out = ExtensionOut(reviewer_id=ext.reviewer_id, until=ext.until)
    return out
