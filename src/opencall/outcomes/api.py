"""The outcomes report of a call for its user office: ``/api/v1/calls/{slug}/report``
(JSON). The report page and its downloads are in ``outcomes.report_views``."""

from __future__ import annotations

from dataclasses import field
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.dataclasses import dataclass as pydantic_dataclass

from opencall.calls.access import office_call_api
from opencall.outcomes import queries
from opencall.outcomes.domain import FunnelRow, ResourceRow
from opencall.web.api import MANAGE, NOT_FOUND, SLUG, Api, get_api

api_router = APIRouter(prefix="/api/v1", tags=["outcomes"])


class ReportBatch(BaseModel):
    number: int
    slug: str
    cutoff: str
    status: str
    n_applications: int


class ReportCall(BaseModel):
    id: int
    code: str
    title: str
    status: str
    facility: str
    cycle: str
    units: list[str] = Field(description="the capacity units of the amounts")
    higher_is_better: bool
    batches: list[ReportBatch] = Field(
        default_factory=list,
        description="a continuous call: its batches, whose proposals the report counts",
    )
    batch_number: int | None = Field(None, description="a batch: its number in its call")


class ReportStage(BaseModel):
    key: str
    label: str
    base: str | None
    side: bool
    amount_kind: str | None
    dropped: str | None = Field(description="why the stage is not shown (null: shown)")


# the domain's row as documented by the API: its fields, a few of them described here
@pydantic_dataclass(frozen=True)
class FunnelRowOut(FunnelRow):
    """One group at one stage of the funnel (``outcomes.domain.FunnelRow``)."""

    group: Annotated[str, Field(description='a group of the grouping, or "all"')]
    count: Annotated[int, Field(description="applications of the group that reached the stage")]
    amounts: Annotated[dict[str, float], Field(description="per capacity unit")] = field(
        default_factory=dict
    )


@pydantic_dataclass(frozen=True)
class ResourceRowOut(ResourceRow):
    """Who benefits at one resource the requests name, one group
    (``outcomes.domain.ResourceRow``)."""

    group: Annotated[str, Field(description='a group of the grouping, or "all"')]
    applied: Annotated[int, Field(description="applications whose requests name it")]
    awarded: Annotated[int, Field(description="of those, the ones awarded some of it")]


class ReportOut(BaseModel):
    """Who benefits: the call's funnel by income group, UN region, LDC status and host
    country, with the tested differences (one false-discovery family), the context, the
    trend across cycles, reviewer effects and what happened after the award."""

    model_config = ConfigDict(extra="allow")

    call: ReportCall
    generated_at: str
    n_applications: int
    attribution: str
    method: dict[str, Any]
    stages: list[ReportStage]
    funnels: dict[str, list[FunnelRowOut]] = Field(
        description="per grouping (income_group, un_region, ldc, host): its rows"
    )
    suppressed: dict[str, Any]
    resources: list[ResourceRowOut] = Field(
        default_factory=list,
        description="who benefits at each resource the requests name (a node of an "
        'instrument network, a flight\'s power), per grouping and group, then "all": '
        "amounts in the resource's unit, never added up over resources",
    )
    findings: list[dict[str, Any]] = Field(default_factory=list)


@api_router.get(
    "/calls/{slug}/report",
    responses=NOT_FOUND,
    response_model=ReportOut,
    dependencies=[MANAGE],
)
def report(slug: str = SLUG, api: Api = Depends(get_api)) -> Response:
    return JSONResponse(queries.cached_report(api.db, office_call_api(api, slug)))
