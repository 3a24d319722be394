"""``/api/v1/calls``: the calls a person may see (public ones, and drafts of
the calls they run), with their capacity pools."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from opencall.calls import policies
from opencall.calls.access import visible_call_api as visible_call
from opencall.calls.domain import parse_cutoffs
from opencall.calls.models import Call
from opencall.calls.queries import next_cutoff_of, providers_offered
from opencall.optim import wallclock
from opencall.web.api import (
    NOT_FOUND,
    SLUG,
    Api,
    ApiError,
    Paged,
    PageRequest,
    from_row,
    get_api,
    keyset_page,
    paging,
)

router = APIRouter(prefix="/api/v1", tags=["calls"])


class PoolOut(BaseModel):
    pool_id: int
    name: str
    pool_type: str
    unit: str
    amount: float
    max_per_request: float | None
    min_per_request: float | None


class CallProviderOut(BaseModel):
    slug: str
    name: str
    country: str = Field(description="the provider's country, ISO 3166-1 alpha-3")
    facilities: list[str] = Field(description="the facilities of its resources the call offers")


class CallOut(BaseModel):
    slug: str
    code: str
    title: str
    cycle: str
    facility: str
    facility_kind: str
    provider: str = Field(description="the name of the call's own provider")
    providers: list[CallProviderOut] = Field(
        description="every provider whose resources the call offers: its own first, then "
        "the accepted partners of a joint call"
    )
    status: str
    anonymity: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    time_zone: str = Field("", description="the IANA zone the call states its dates in; empty: UTC")
    closes_local: str = Field(
        "", description="closes_at in time_zone, ISO 8601 with its offset (empty: no zone)"
    )
    ranking_frozen_at: dt.datetime | None
    decisions_released_at: dt.datetime | None
    pools: list[PoolOut]
    mode: str = Field(
        description="deadline (one close) or continuous (proposals taken at any time, "
        "reviewed in batches at the cut-offs)"
    )
    cutoffs: list[dt.datetime] = Field(description="a continuous call's review cut-offs")
    next_cutoff: dt.datetime | None = Field(description="the next cut-off not yet cut")
    decision_days: int | None = Field(description="the days from a cut-off to the decisions")
    batch_of: str | None = Field(description="a batch: the slug of its continuous call")
    batch_number: int | None


class CallList(Paged[CallOut]):
    pass


def call_out(call: Call) -> CallOut:
    return from_row(
        CallOut,
        call,
        facility=call.facility.name,
        facility_kind=call.facility.kind,
        provider=call.provider.name,
        providers=[
            CallProviderOut(
                slug=p.slug,
                name=p.name,
                country=p.country_iso3,
                facilities=[f.name for f in facs],
            )
            for p, facs in providers_offered(call)
        ],
        time_zone=call.time_zone or "",
        closes_local=call.closes_at.astimezone(wallclock.zone(call.time_zone)).isoformat()
        if call.time_zone
        else "",
        cutoffs=parse_cutoffs(call.cutoffs),
        next_cutoff=next_cutoff_of(call),
        batch_of=call.parent.slug if call.parent_id is not None and call.parent else None,
        pools=[
            from_row(PoolOut, cp, name=cp.pool.name, pool_type=cp.pool.pool_type, unit=cp.pool.unit)
            for cp in call.pools
        ],
    )


@router.get("/calls", response_model=CallList)
def calls(api: Api = Depends(get_api), page: PageRequest = Depends(paging)) -> CallList:
    stmt = select(Call).where(policies.visible_calls_clause(api.user))
    keys = [(Call.closes_at, dt.datetime), (Call.id, int)]
    items, pg = keyset_page(api.db, stmt, keys, page, lambda c: (c.closes_at, c.id))
    return CallList(items=[call_out(c) for c in items], page=pg)


@router.get("/calls/{slug}", response_model=CallOut, responses=NOT_FOUND)
def call(slug: str = SLUG, api: Api = Depends(get_api)) -> CallOut:
    return call_out(visible_call(api, slug))


__all__ = ["ApiError", "router"]
