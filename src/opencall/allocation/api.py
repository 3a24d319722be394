"""``/api/v1/calls/{slug}/decisions`` (chair) and ``/awards`` (chair; anyone once published)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import select

from opencall.allocation import policies, services
from opencall.allocation.models import Award
from opencall.calls.api import SLUG, visible_call
from opencall.facilities.models import CapacityPool
from opencall.people.api import MANAGE, Api, Pagination, get_api, paginate, paging
from opencall.reviews import queries as rq
from opencall.reviews.api import NOT_FOUND, chair_call, proposal_dicts

router = APIRouter(prefix="/api/v1", tags=["allocation"])


class DecisionOut(BaseModel):
    proposal_code: str
    title: str
    outcome: str
    priority: str
    explanation: str
    overridden: bool
    override_reason: str
    pi: str | None = None
    country: str | None = None


class DecisionList(BaseModel):
    items: list[DecisionOut]
    page: Pagination
    released: bool


@router.get(
    "/calls/{slug}/decisions",
    response_model=DecisionList,
    responses=NOT_FOUND,
    dependencies=[MANAGE],
)
def decisions(
    slug: str = SLUG, api: Api = Depends(get_api), page: tuple[int, int] = Depends(paging)
) -> DecisionList:
    call = chair_call(api, slug)
    rows = proposal_dicts(api, call, rq.proposals_for_review(api.db, call))
    ds = [d for d in services.decisions(api.db, call) if d.proposal_id in rows]
    items, pg = paginate(ds, page)
    return DecisionList(
        items=[
            DecisionOut(
                proposal_code=rows[d.proposal_id]["code"],
                title=rows[d.proposal_id]["title"],
                outcome=d.outcome,
                priority=d.priority,
                explanation=d.explanation,
                overridden=d.overridden_by is not None,
                override_reason=d.override_reason,
                pi=rows[d.proposal_id].get("pi"),
                country=rows[d.proposal_id].get("country"),
            )
            for d in items
        ],
        page=pg,
        released=call.decisions_released_at is not None,
    )


class AwardOut(BaseModel):
    proposal_code: str
    title: str
    pool: str
    unit: str
    amount: float
    fraction: float


class AwardList(BaseModel):
    items: list[AwardOut]
    page: Pagination


@router.get(
    "/calls/{slug}/awards", response_model=AwardList, responses=NOT_FOUND, dependencies=[MANAGE]
)
def awards(
    slug: str = SLUG, api: Api = Depends(get_api), page: tuple[int, int] = Depends(paging)
) -> AwardList:
    call = visible_call(api, slug)
    if not policies.awards_are_public(call) and not policies.may_see_decisions(
        api.db, api.user, call
    ):
        raise api.not_found()
    props = {p.id: p for p in rq.proposals_for_review(api.db, call)}
    rows = list(
        api.db.execute(
            select(Award, CapacityPool)
            .join(CapacityPool, CapacityPool.id == Award.pool_id)
            .where(Award.call_id == call.id)
            .order_by(Award.id)
        )
    )
    items, pg = paginate([(a, pl) for a, pl in rows if a.proposal_id in props], page)
    return AwardList(
        items=[
            AwardOut(
                proposal_code=props[a.proposal_id].code,
                title=props[a.proposal_id].title,
                pool=pl.name,
                unit=pl.unit,
                amount=a.amount,
                fraction=a.fraction,
            )
            for a, pl in items
        ],
        page=pg,
    )
