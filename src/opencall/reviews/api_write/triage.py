"""The chair's API of triage: the proposals set aside before the review, and a proposal
set aside (out of scope, technically infeasible, incomplete, with the reason its
applicant reads) or returned to the review, as ``reviews.services.triage`` allows."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from opencall.proposals.models import Proposal, TriageDecision
from opencall.reviews import policies, services
from opencall.reviews.api_write.common import row_of_call
from opencall.reviews.presenters import chair_call
from opencall.web.api import MANAGE, SLUG, WRITE_ERRORS, Api, get_api, id_param
from opencall.web.i18n import Translator
from opencall.web.labels import TRIAGE_CATEGORIES

router = APIRouter(responses=WRITE_ERRORS, dependencies=[MANAGE])

Category = Literal["out_of_scope", "infeasible", "incomplete"]


class TriageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    set_aside: bool = Field(description="true: set it aside; false: return it to the review")
    category: Category | None = Field(None, description="why, when set aside")
    reason: str = Field(
        "",
        max_length=2000,
        description="what the applicant reads (required to set aside); logged either way",
    )


class TriageOut(BaseModel):
    proposal_id: int
    proposal_code: str
    status: str
    category: str = ""
    category_label: str = ""
    reason: str = ""
    decided_at: dt.datetime | None = None


class TriageList(BaseModel):
    items: list[TriageOut]


def _out(p: Proposal, row: TriageDecision | None) -> TriageOut:
    t = Translator("en")
    if row is None:
        return TriageOut(proposal_id=p.id, proposal_code=p.code, status=p.status)
    return TriageOut(
        proposal_id=p.id,
        proposal_code=p.code,
        status=p.status,
        category=row.category,
        category_label=t(TRIAGE_CATEGORIES[row.category]),
        reason=row.reason,
        decided_at=row.decided_at,
    )


@router.get("/calls/{slug}/triage", response_model=TriageList)
def set_aside_list(slug: str = SLUG, api: Api = Depends(get_api)) -> TriageList:
    """The call's proposals set aside at triage, with why (no team: the call's anonymity
    holds); a proposal withheld from the caller (their own team's, or one they are
    conflicted with) is left out."""
    call = chair_call(api, slug)
    hidden = policies.withheld(api.db, api.user, call)
    rows = api.db.execute(
        select(Proposal, TriageDecision)
        .join(TriageDecision, TriageDecision.proposal_id == Proposal.id)
        .where(Proposal.call_id == call.id)
        .order_by(Proposal.code)
    ).all()
    return TriageList(items=[_out(p, row) for p, row in rows if p.id not in hidden])


@router.put("/calls/{slug}/proposals/{proposal_id}/triage", response_model=TriageOut)
def triage(
    body: TriageIn, slug: str = SLUG, proposal_id: int = id_param(), api: Api = Depends(get_api)
) -> TriageOut:
    """Set a proposal aside before the review (``set_aside``: true, with its ``category``
    and the ``reason`` its applicant reads) or return it to the review (false): audited,
    and refused once the call's reviews are assigned, and to a caller on its team or with
    a conflict of interest with it (another member of the staff decides)."""
    call = chair_call(api, slug)
    p = row_of_call(api, Proposal, proposal_id, call)
    with api.refusing(commit=True):
        if body.set_aside:
            row = services.set_aside(
                api.db, call, p, body.category or "", body.reason, actor_id=api.actor_id
            )
            out = _out(p, row)
        else:
            services.return_to_review(api.db, call, p, actor_id=api.actor_id, reason=body.reason)
            out = _out(p, None)
    return out
