"""The outcomes report of a call for its user office: ``/api/v1/calls/{slug}/report``
(JSON). The report page and its downloads are in ``outcomes.report_views``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from opencall.calls.policies import may_administer
from opencall.calls.queries import call_by_slug
from opencall.outcomes import queries
from opencall.web.api import MANAGE, NOT_FOUND, SLUG, Api, get_api

api_router = APIRouter(prefix="/api/v1", tags=["outcomes"])


@api_router.get(
    "/calls/{slug}/report",
    responses={**NOT_FOUND, 200: {"content": {"application/json": {}}}},
    response_model=dict[str, Any],
    dependencies=[MANAGE],
)
def report(slug: str = SLUG, api: Api = Depends(get_api)) -> Response:
    user = api.require_user()
    call = call_by_slug(api.db, slug)
    if call is None or not may_administer(api.db, user, call):
        raise api.not_found()
    return JSONResponse(queries.report(api.db, call))
