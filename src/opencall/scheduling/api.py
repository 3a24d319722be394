"""``/api/v1/calls/{slug}/schedule``: the timetable (chair and user office)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from opencall.calls.access import CallListRequest
from opencall.facilities.models import CapacityPool
from opencall.proposals.models import Proposal
from opencall.reviews import queries as rq
from opencall.reviews.presenters import chair_list
from opencall.scheduling import policies
from opencall.scheduling.models import ScheduleEntry
from opencall.scheduling.queries import not_scheduled
from opencall.scheduling.services import UNPLACED
from opencall.scheduling.slot_services import needs_rescheduling
from opencall.web.api import MANAGE, NOT_FOUND, Paged, from_row

router = APIRouter(prefix="/api/v1", tags=["scheduling"])


class EntryOut(BaseModel):
    proposal_code: str
    kind: str
    label: str
    pool_id: int | None = Field(
        default=None,
        description="the resource the entry books (``/api/v1/resources/{pool_id}``); none "
        "for an entry of no one resource",
    )
    pool: str = Field(default="", description="that resource's name")
    start: dt.datetime | None
    end: dt.datetime | None
    amount: float
    unit: str = Field(
        default="",
        description="the unit of amount: the resource's unit key, as an award says it "
        '("mm2", "chip"); empty for an entry of no one resource',
    )
    explanation: str
    needs_rescheduling: bool = Field(
        default=False,
        description="booked inside an unavailable period of its resource recorded since "
        "(an outage): to be rescheduled",
    )


class EntryList(Paged[EntryOut]):
    not_scheduled: list[str] = Field(
        default_factory=list,
        description="the codes of the proposals awarded after the schedule was made (an "
        "offer to the next in line after a decline) that it has no entry for: not scheduled "
        "yet, rerun the schedule",
    )


@router.get(
    "/calls/{slug}/schedule", response_model=EntryList, responses=NOT_FOUND, dependencies=[MANAGE]
)
def schedule(chair: CallListRequest = Depends(chair_list)) -> EntryList:
    api, call = chair.api, chair.call
    if not policies.may_see_schedule(api.db, api.user, call):
        raise api.not_found()
    # services.entries with each proposal's code, paged in SQL; unplaced entries last
    start = func.coalesce(ScheduleEntry.start, UNPLACED)
    stmt = (
        select(ScheduleEntry, Proposal.code, Proposal.status)
        .join(Proposal, Proposal.id == ScheduleEntry.proposal_id)
        .where(ScheduleEntry.call_id == call.id)
    )
    # not the entries of a proposal of the caller's own team (or conflicted) before release
    hidden = policies.hidden_schedule(api.db, api.user, call)
    if hidden:
        stmt = stmt.where(ScheduleEntry.proposal_id.not_in(sorted(hidden)))
    keys = [(start, dt.datetime), (ScheduleEntry.id, int)]
    rows, pg = chair.rows(stmt, keys, lambda r: (r[0].start or UNPLACED, r[0].id))
    reschedule = needs_rescheduling(api.db, call, hidden=hidden)
    waiting = not_scheduled(api.db, call, hidden=hidden)
    # each booked resource's name and unit (an entry's amount is in its resource's unit)
    named = {
        i: (name, unit)
        for i, name, unit in api.db.execute(
            select(CapacityPool.id, CapacityPool.name, CapacityPool.unit).where(
                CapacityPool.id.in_({e.pool_id for e, _c, _s in rows if e.pool_id is not None})
            )
        ).tuples()
    }
    codes = {
        pid: code
        for pid, code in api.db.execute(
            select(Proposal.id, Proposal.code).where(Proposal.id.in_(waiting))
        ).tuples()
    }
    return EntryList(
        items=[
            from_row(
                EntryOut,
                e,
                proposal_code=code if code and status in rq.REVIEWABLE else "",
                pool=named.get(e.pool_id, ("", ""))[0] if e.pool_id is not None else "",
                unit=named.get(e.pool_id, ("", ""))[1] if e.pool_id is not None else "",
                explanation=str(e.details.get("explanation", "")),
                needs_rescheduling=e.id in reschedule,
            )
            for e, code, status in rows
        ],
        page=pg,
        not_scheduled=[codes[pid] for pid in waiting],
    )
