"""The chair's API of a call's reviewers: the conflicts (masked where the teams may
not be seen), the provider's reviewer pool, and invitations withdrawn."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.reviews import policies, recruitment
from opencall.reviews import queries as q
from opencall.reviews.api_write.common import row_of_call
from opencall.reviews.api_write.reviewer import ConflictOut
from opencall.reviews.models import Conflict, ReviewInvitation
from opencall.reviews.presenters import chair_call
from opencall.web.api import MANAGE, SLUG, WRITE_ERRORS, Api, get_api, id_param

# every route is the chair's: the manage scope, and the refusals documented
router = APIRouter(responses=WRITE_ERRORS, dependencies=[MANAGE])


@router.get("/calls/{slug}/conflicts", response_model=list[ConflictOut])
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
        .where(
            Conflict.call_id == call.id,
            Conflict.proposal_id.not_in(policies.withheld_query(api.user, call)),
        )
        .order_by(Conflict.id)
    ).all()
    return [
        ConflictOut.of(
            c,
            code if status in q.REVIEWABLE else "",
            name,
            plain=show or c.source == "declared_reviewer",
        )
        for c, code, status, name in rows
    ]


class PoolMemberOut(BaseModel):
    user_id: int
    name: str
    email: str
    reviewed_calls: int


@router.get("/calls/{slug}/reviewer-pool", response_model=list[PoolMemberOut])
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
    model_config = ConfigDict(from_attributes=True)  # read from the ReviewInvitation row

    id: int
    email: str
    status: str


@router.post(
    "/calls/{slug}/reviewer-invitations/{invitation_id}/withdraw", response_model=WithdrawnOut
)
def withdraw_invitation(
    slug: str = SLUG, invitation_id: int = id_param(), api: Api = Depends(get_api)
) -> WithdrawnOut:
    """Withdraw a pending invitation to review."""
    call = chair_call(api, slug)
    inv = row_of_call(api, ReviewInvitation, invitation_id, call)
    with api.refusing(commit=True):
        recruitment.withdraw(api.db, inv, actor_id=api.actor_id)
        out = WithdrawnOut.model_validate(inv)
    return out
