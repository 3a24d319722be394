"""A technical reviewer's API: the proposals they may assess, and the technical review
of one (recorded or replaced)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from opencall.calls.access import CallListRequest, call_list
from opencall.proposals.models import Proposal
from opencall.reviews import policies, services
from opencall.reviews import queries as q
from opencall.reviews.policies import reviewer_content
from opencall.web.api import REVIEW, WRITE_ERRORS, Api, Paged, get_api, id_param

# every route is the technical reviewer's: the review scope, and the refusals documented
router = APIRouter(responses=WRITE_ERRORS, dependencies=[REVIEW])


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


class TechnicalList(Paged[TechnicalItem]):
    pass


def reviewable_rows(listed: CallListRequest) -> tuple[list[Proposal], Any]:
    """A page of the proposals of the listed call that the technical reviewer (or the
    safety officer) may assess: not their own, not conflicted; by id."""
    api = listed.api
    return listed.rows(
        policies.technical_review_query(api.db, api.require_user(), listed.call),
        [(Proposal.id, int)],
        lambda p: (p.id,),
    )


@router.get("/technical/calls/{slug}", response_model=TechnicalList)
def technical_list(
    listed: CallListRequest = Depends(call_list(policies.may_technical_review)),
) -> TechnicalList:
    """The proposals a technical reviewer may assess (not their own, not conflicted), by
    id, a page at a time."""
    api = listed.api
    rows, pg = reviewable_rows(listed)
    done = q.technical_reviews_of(api.db, [p.id for p in rows])
    return TechnicalList(
        items=[
            TechnicalItem(
                proposal_id=p.id,
                code=p.code,
                title=p.title,
                verdict=done[p.id].verdict if p.id in done else None,
            )
            for p in rows
        ],
        page=pg,
    )


def _technical_proposal(api: Api, proposal_id: int) -> Proposal:
    return api.found(policies.technical_review_proposal(api.db, api.require_user(), proposal_id))


def _technical_out(api: Api, p: Proposal) -> TechnicalOut:
    tr = q.technical_review_of(api.db, p.id)
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


@router.get("/technical/proposals/{proposal_id}", response_model=TechnicalOut)
def technical_get(proposal_id: int = id_param(), api: Api = Depends(get_api)) -> TechnicalOut:
    return _technical_out(api, _technical_proposal(api, proposal_id))


@router.post("/technical/proposals/{proposal_id}", response_model=TechnicalOut)
def technical_save(
    body: TechnicalIn, proposal_id: int = id_param(), api: Api = Depends(get_api)
) -> TechnicalOut:
    """Record (or replace) the technical review of a proposal."""
    p = _technical_proposal(api, proposal_id)
    with api.refusing(commit=True):
        services.submit_technical_review(api.db, p, api.require_user(), **body.model_dump())
        api.db.flush()
        out = _technical_out(api, p)
    return out
