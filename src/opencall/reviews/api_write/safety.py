"""The safety officer's API (trialfac24): the proposals of a call with a safety review
whose samples they may review, and the safety review of one (recorded or replaced)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from opencall.calls.access import CallListRequest, call_list
from opencall.calls.schemas import review_settings
from opencall.proposals.models import Proposal
from opencall.reviews import policies, services
from opencall.reviews import queries as q
from opencall.reviews.api_write.technical import reviewable_rows
from opencall.reviews.policies import reviewer_content
from opencall.web.api import REVIEW, WRITE_ERRORS, Api, Paged, get_api, id_param

# every route is the safety officer's (a technical reviewer of the call): the review scope
router = APIRouter(responses=WRITE_ERRORS, dependencies=[REVIEW])


class SafetyItem(BaseModel):
    proposal_id: int
    code: str
    title: str
    hazard_class: str | None
    decision: str | None


class SafetyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hazard_class: str = Field(max_length=40, description="one of the call's hazard_classes")
    decision: Literal["pending", "approved", "refused"]
    notes_to_panel: str = Field("", max_length=20000)
    notes_to_applicants: str = Field("", max_length=20000)


class SafetyOut(BaseModel):
    proposal_id: int
    code: str
    title: str
    content: dict[str, Any] = Field(description="as reviewers see it (anonymised if dual)")
    hazard_classes: list[str]
    hazard_class: str | None
    decision: str | None
    needs_approval: bool = Field(description="its class needs the officer's approval")
    notes_to_panel: str
    notes_to_applicants: str


class SafetyList(Paged[SafetyItem]):
    pass


@router.get("/safety/calls/{slug}", response_model=SafetyList)
def safety_list(
    listed: CallListRequest = Depends(call_list(policies.may_safety_review)),
) -> SafetyList:
    """The proposals whose samples the safety officer may review (not their own, not
    conflicted), by id, a page at a time."""
    api = listed.api
    rows, pg = reviewable_rows(listed)
    done = q.safety_reviews_of(api.db, [p.id for p in rows])
    return SafetyList(
        items=[
            SafetyItem(
                proposal_id=p.id,
                code=p.code,
                title=p.title,
                hazard_class=done[p.id].hazard_class if p.id in done else None,
                decision=done[p.id].decision if p.id in done else None,
            )
            for p in rows
        ],
        page=pg,
    )


def _safety_proposal(api: Api, proposal_id: int) -> Proposal:
    return api.found(policies.safety_review_proposal(api.db, api.require_user(), proposal_id))


def _safety_out(api: Api, p: Proposal) -> SafetyOut:
    sr = q.safety_reviews_of(api.db, [p.id]).get(p.id)
    rs = review_settings(p.call.review_settings)
    return SafetyOut(
        proposal_id=p.id,
        code=p.code,
        title=p.title,
        content=reviewer_content(api.db, p),
        hazard_classes=rs.hazard_classes,
        hazard_class=sr.hazard_class if sr else None,
        decision=sr.decision if sr else None,
        needs_approval=sr is not None and sr.hazard_class in rs.approval_required,
        notes_to_panel=sr.notes_to_panel if sr else "",
        notes_to_applicants=sr.notes_to_applicants if sr else "",
    )


@router.get("/safety/proposals/{proposal_id}", response_model=SafetyOut)
def safety_get(proposal_id: int = id_param(), api: Api = Depends(get_api)) -> SafetyOut:
    return _safety_out(api, _safety_proposal(api, proposal_id))


@router.post("/safety/proposals/{proposal_id}", response_model=SafetyOut)
def safety_save(
    body: SafetyIn, proposal_id: int = id_param(), api: Api = Depends(get_api)
) -> SafetyOut:
    """Record (or replace) the safety review of a proposal's samples: its hazard class
    (one of the call's) and the decision; a refusal keeps it out of the allocation, and
    a class the call says needs approval holds the release until it is approved."""
    p = _safety_proposal(api, proposal_id)
    with api.refusing(commit=True):
        services.submit_safety_review(api.db, p, api.require_user(), **body.model_dump())
        api.db.flush()
        out = _safety_out(api, p)
    return out
