"""The chair's API of a call's reviewers: the conflicts (masked where the teams may
not be seen), the provider's reviewer pool, and invitations withdrawn."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from opencall.calls.access import CallListRequest
from opencall.people.models import User
from opencall.reviews import policies, recruitment
from opencall.reviews import queries as q
from opencall.reviews.api_write.common import row_of_call
from opencall.reviews.api_write.reviewer import ConflictOut
from opencall.reviews.models import Conflict, ReviewInvitation
from opencall.reviews.presenters import chair_call, chair_list, staff_pairs_query
from opencall.web.api import MANAGE, SLUG, WRITE_ERRORS, Api, Paged, get_api, id_param

# every route is the chair's: the manage scope, and the refusals documented
router = APIRouter(responses=WRITE_ERRORS, dependencies=[MANAGE])


class ConflictList(Paged[ConflictOut]):
    pass


@router.get("/calls/{slug}/conflicts", response_model=ConflictList)
def conflicts(chair: CallListRequest = Depends(chair_list)) -> ConflictList:
    """The call's conflicts (chair and user office), a page at a time in the order they
    were recorded. Where the caller may not see the teams, a detected conflict's source
    and detail are masked (a source such as "member of the team" beside a reviewer's
    name would tell who is on the team)."""
    api, call = chair.api, chair.call
    show = policies.may_see_identities(api.db, api.user, call)
    stmt = staff_pairs_query(Conflict, call, api.user)
    rows, pg = chair.rows(stmt, [(Conflict.id, int)], lambda r: (r[0].id,))
    return ConflictList(
        items=[
            ConflictOut.of(
                c,
                code if status in q.REVIEWABLE else "",
                name,
                plain=show or c.source == "declared_reviewer",
            )
            for c, code, status, name in rows
        ],
        page=pg,
    )


class PoolMemberOut(BaseModel):
    user_id: int
    name: str
    email: str
    reviewed_calls: int


class PoolList(Paged[PoolMemberOut]):
    pass


@router.get("/calls/{slug}/reviewer-pool", response_model=PoolList)
def reviewer_pool(chair: CallListRequest = Depends(chair_list)) -> PoolList:
    """The provider's reviewer pool (anyone who held a reviewing role on it), by name, a
    page at a time."""
    rows, pg = chair.rows(
        recruitment.pool_query(chair.call),
        [(User.name, str), (User.id, int)],
        lambda r: (r[0].name, r[0].id),
    )
    return PoolList(
        items=[
            PoolMemberOut(user_id=u.id, name=u.name, email=u.email, reviewed_calls=int(n))
            for u, n in rows
        ],
        page=pg,
    )


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
