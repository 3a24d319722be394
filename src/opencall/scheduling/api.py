"""``/api/v1/calls/{slug}/schedule``: the timetable (chair and user office)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from opencall.calls.api import SLUG
from opencall.people.api import Api, PageRequest, Pagination, get_api, paginate, paging
from opencall.reviews import queries as rq
from opencall.reviews.api import NOT_FOUND, chair_call
from opencall.scheduling import policies, services

router = APIRouter(prefix="/api/v1", tags=["scheduling"])


class EntryOut(BaseModel):
    proposal_code: str
    kind: str
    label: str
    start: dt.datetime | None
    end: dt.datetime | None
    amount: float
    explanation: str


class EntryList(BaseModel):
    items: list[EntryOut]
    page: Pagination


@router.get("/calls/{slug}/schedule", response_model=EntryList, responses=NOT_FOUND)
def schedule(
    slug: str = SLUG, api: Api = Depends(get_api), page: PageRequest = Depends(paging)
) -> EntryList:
    call = chair_call(api, slug)
    if not policies.may_see_schedule(api.db, api.user, call):
        raise api.not_found()
    codes = {p.id: p.code for p in rq.proposals_for_review(api.db, call)}
    items, pg = paginate(services.entries(api.db, call), page)
    return EntryList(
        items=[
            EntryOut(
                proposal_code=codes.get(e.proposal_id, ""),
                kind=e.kind,
                label=e.label,
                start=e.start,
                end=e.end,
                amount=e.amount,
                explanation=str(e.details.get("explanation", "")),
            )
            for e in items
        ],
        page=pg,
    )
