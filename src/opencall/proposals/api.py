"""``/api/v1/proposals``: an applicant's own proposals (team members only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from opencall.proposals import policies, services
from opencall.proposals.models import Proposal
from opencall.proposals.presenters import BatchOut, batch_out
from opencall.proposals.queries import member_proposals_query, submission_due, submission_dues
from opencall.web.api import (
    NOT_FOUND,
    Api,
    Paged,
    PageRequest,
    get_api,
    id_param,
    keyset_page,
    paging,
)

router = APIRouter(prefix="/api/v1", tags=["proposals"])


class ProposalOut(BaseModel):
    id: int
    code: str
    call: str
    title: str
    status: str
    submitted_at: dt.datetime | None
    outcome_released: bool
    batch: BatchOut | None = Field(
        description="a continuous call: the batch the proposal is in, or enters next"
    )
    deadline: dt.datetime = Field(
        description="when this proposal may last be submitted (UTC): its call's deadline, "
        "or later where the user office extended it for this proposal alone"
    )


class ProposalDetail(ProposalOut):
    content: dict[str, Any]


class ProposalList(Paged[ProposalOut]):
    pass


def _out(p: Proposal, deadline: dt.datetime) -> dict[str, Any]:
    return {
        "deadline": deadline,
        "id": p.id,
        "code": p.code,
        "call": p.call.slug,
        "title": p.title,
        "status": p.status,
        "submitted_at": p.submitted_at,
        "outcome_released": p.call.decisions_released_at is not None,
        "batch": batch_out(p),
    }


@router.get("/proposals", response_model=ProposalList, responses={401: {"description": "no token"}})
def proposals(api: Api = Depends(get_api), page: PageRequest = Depends(paging)) -> ProposalList:
    user = api.require_user()
    # services.member_proposals, paged in SQL (latest first)
    stmt = member_proposals_query(user.id)
    keys = [(Proposal.updated_at, dt.datetime), (Proposal.id, int)]
    items, pg = keyset_page(
        api.db, stmt, keys, page, lambda p: (p.updated_at, p.id), descending=True
    )
    # each one's own deadline (an extension) read for the whole page in one statement
    extended = submission_dues(api.db, (p.id for p in items))
    return ProposalList(
        items=[ProposalOut(**_out(p, extended.get(p.id, p.call.closes_at))) for p in items],
        page=pg,
    )


@router.get("/proposals/{proposal_id}", response_model=ProposalDetail, responses=NOT_FOUND)
def proposal(proposal_id: int = id_param(), api: Api = Depends(get_api)) -> ProposalDetail:
    user = api.require_user()
    p = api.get_visible(Proposal, proposal_id, lambda row: policies.may_see_proposal(user, row))
    return ProposalDetail(**_out(p, submission_due(api.db, p)), content=services.snapshot(p))
