"""``/api/v1/calls``: the calls a person may see (public ones, and drafts of
the calls they run), with their capacity pools."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import noload

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


def _computed(call: Call) -> dict[str, Callable[[], Any]]:
    """The fields of a call's answer that are not its own columns, each computed when
    asked (``pools`` and ``providers`` read the call's resources)."""
    return {
        "facility": lambda: call.facility.name,
        "facility_kind": lambda: call.facility.kind,
        "provider": lambda: call.provider.name,
        "providers": lambda: [
            CallProviderOut(
                slug=p.slug,
                name=p.name,
                country=p.country_iso3,
                facilities=[f.name for f in facs],
            )
            for p, facs in providers_offered(call)
        ],
        "time_zone": lambda: call.time_zone or "",
        "closes_local": lambda: wallclock.zone_iso(call.closes_at, call.time_zone or ""),
        "cutoffs": lambda: parse_cutoffs(call.cutoffs),
        "next_cutoff": lambda: next_cutoff_of(call),
        "batch_of": lambda: (
            call.parent.slug if call.parent_id is not None and call.parent else None
        ),
        "pools": lambda: [
            from_row(PoolOut, cp, name=cp.pool.name, pool_type=cp.pool.pool_type, unit=cp.pool.unit)
            for cp in call.pools
        ],
    }


def call_out(call: Call) -> CallOut:
    computed = _computed(call)
    return from_row(CallOut, call, **{name: f() for name, f in computed.items()})


#: the fields that read a call's resources (``Call.pools``)
RESOURCE_FIELDS = frozenset({"pools", "providers"})


def call_fields(
    fields: str | None = Query(
        None,
        max_length=1000,
        description="a comma-separated list of the fields each call answers (e.g. "
        "`slug,title,status,closes_at`); every field when left out. Without `pools` and "
        "`providers` no resource of the calls is read",
    ),
) -> tuple[str, ...] | None:
    """The fields asked, in the answer's order; None: all of them. An unknown field is a
    400 naming it."""
    if fields is None:
        return None
    names = {f.strip() for f in fields.split(",") if f.strip()}
    if not names:
        raise ApiError(400, "fields: name at least one field, or leave the parameter out.")
    unknown = sorted(names - set(CallOut.model_fields))
    if unknown:
        raise ApiError(
            400,
            f"fields: unknown field {', '.join(unknown)}; the fields are "
            + ", ".join(CallOut.model_fields)
            + ".",
        )
    return tuple(f for f in CallOut.model_fields if f in names)


def call_part(call: Call, fields: tuple[str, ...]) -> dict[str, Any]:
    """The fields ``fields`` of the call's answer, as JSON (what the whole answer writes)."""
    computed = _computed(call)
    given = {f: computed[f]() if f in computed else getattr(call, f) for f in fields}
    return CallOut.model_construct(**given).model_dump(mode="json", include=set(fields))


@router.get("/calls", response_model=CallList)
def calls(
    api: Api = Depends(get_api),
    page: PageRequest = Depends(paging),
    fields: tuple[str, ...] | None = Depends(call_fields),
) -> CallList | JSONResponse:
    stmt = select(Call).where(policies.visible_calls_clause(api.user))
    if fields is not None and not RESOURCE_FIELDS & set(fields):
        stmt = stmt.options(noload(Call.pools))
    keys = [(Call.closes_at, dt.datetime), (Call.id, int)]
    items, pg = keyset_page(api.db, stmt, keys, page, lambda c: (c.closes_at, c.id))
    if fields is not None:
        return JSONResponse(
            {"items": [call_part(c, fields) for c in items], "page": pg.model_dump(mode="json")}
        )
    return CallList(items=[call_out(c) for c in items], page=pg)


@router.get("/calls/{slug}", response_model=CallOut, responses=NOT_FOUND)
def call(
    slug: str = SLUG,
    api: Api = Depends(get_api),
    fields: tuple[str, ...] | None = Depends(call_fields),
) -> CallOut | JSONResponse:
    found = visible_call(api, slug, resources=fields is None or bool(RESOURCE_FIELDS & set(fields)))
    if fields is not None:
        return JSONResponse(call_part(found, fields))
    return call_out(found)


__all__ = ["ApiError", "router"]
