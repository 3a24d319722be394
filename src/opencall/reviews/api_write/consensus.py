"""The chair's API of the panel's consensus (trialchair23): the panel's grade of a
proposal and the consensus comment its applicants read, recorded at the meeting as
``reviews.services.consensus`` allows."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from opencall.calls.schemas import review_settings
from opencall.proposals.models import Proposal
from opencall.reviews import services
from opencall.reviews.api_write.common import row_of_call
from opencall.reviews.presenters import chair_call
from opencall.web.api import MANAGE, SLUG, WRITE_ERRORS, Api, get_api, id_param

router = APIRouter(responses=WRITE_ERRORS, dependencies=[MANAGE])


class ConsensusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grade: float | str = Field(
        description="the panel's grade on the call's scale; on a call graded with letters "
        "or words, the label (or its position, 1 the best)"
    )
    comment: str = Field(
        max_length=20000, description="the consensus comment the applicants read (required)"
    )


class ConsensusOut(BaseModel):
    proposal_id: int
    proposal_code: str
    grade: float
    grade_label: str | None = Field(
        description="the grade's label on a letter or word scale; null on a numeric one"
    )
    comment: str
    recorded_at: dt.datetime


@router.put("/calls/{slug}/proposals/{proposal_id}/consensus", response_model=ConsensusOut)
def consensus(
    body: ConsensusIn, slug: str = SLUG, proposal_id: int = id_param(), api: Api = Depends(get_api)
) -> ConsensusOut:
    """Record (or replace) the panel's consensus on a proposal under review: its grade
    ranks the proposal in place of the calibrated score at the next calibration, its
    comment reaches the applicants with the outcome (no reviewer named). Audited; refused
    once the ranking is frozen, and to a caller on the proposal's team or with a conflict
    of interest with it (another chair of the call records it)."""
    call = chair_call(api, slug)
    p = row_of_call(api, Proposal, proposal_id, call)
    with api.refusing(commit=True):
        row = services.record_consensus(
            api.db, call, p, api.require_user(), grade=body.grade, comment=body.comment
        )
        out = ConsensusOut(
            proposal_id=p.id,
            proposal_code=p.code,
            grade=row.grade,
            grade_label=review_settings(call.review_settings).grade_label(row.grade) or None,
            comment=row.comment,
            recorded_at=row.recorded_at,
        )
    return out
