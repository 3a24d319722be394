"""``/api/v1/proposals``: an applicant's own proposals (team members only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from opencall.people.api import MAX_ID, Api, Pagination, get_api, paginate, paging
from opencall.proposals import policies, services
from opencall.proposals.models import Proposal

router = APIRouter(prefix="/api/v1", tags=["proposals"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "not found (or not yours to see)"}
}


class ProposalOut(BaseModel):
    id: int
    code: str
    call: str
    title: str
    status: str
    submitted_at: dt.datetime | None
    outcome_released: bool


class ProposalDetail(ProposalOut):
    content: dict[str, Any]


class ProposalList(BaseModel):
    items: list[ProposalOut]
    page: Pagination


def _out(p: Proposal) -> dict[str, Any]:
    return {
        "id": p.id,
        "code": p.code,
        "call": p.call.slug,
        "title": p.title,
        "status": p.status,
        "submitted_at": p.submitted_at,
        "outcome_released": p.call.decisions_released_at is not None,
    }


@router.get("/proposals", response_model=ProposalList, responses={401: {"description": "no token"}})
def proposals(api: Api = Depends(get_api), page: tuple[int, int] = Depends(paging)) -> ProposalList:
    user = api.require_user()
    items, pg = paginate(services.member_proposals(api.db, user.id), page)
    return ProposalList(items=[ProposalOut(**_out(p)) for p in items], page=pg)


@router.get("/proposals/{proposal_id}", response_model=ProposalDetail, responses=NOT_FOUND)
def proposal(
    proposal_id: int = Path(ge=1, le=MAX_ID), api: Api = Depends(get_api)
) -> ProposalDetail:
    user = api.require_user()
    p = api.db.get(Proposal, proposal_id)
    if p is None or not policies.may_see_proposal(user, p):
        raise api.not_found()
    return ProposalDetail(**_out(p), content=services.snapshot(p))
