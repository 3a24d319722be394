"""The outcomes report of a call for its user office: ``/api/v1/calls/{slug}/report``
(JSON), and the managers' report page with inline SVG charts and CSV, JSON
and PDF downloads (``/manage/calls/{slug}/report``)."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, JSONResponse, Response

from opencall.calls.api import SLUG
from opencall.calls.manage_views import office_call
from opencall.calls.queries import call_by_slug
from opencall.outcomes import queries
from opencall.people.api import MANAGE, Api, get_api
from opencall.reviews.api import NOT_FOUND
from opencall.reviews.policies import may_administer
from opencall.web.pages import Page, get_page

router = APIRouter()
api_router = APIRouter(prefix="/api/v1", tags=["outcomes"])
FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json", "pdf": "application/pdf"}


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


@router.get("/manage/calls/{slug}/report", response_class=HTMLResponse)
def report_page(slug: str, page: Page = Depends(get_page)) -> Response:
    call = office_call(page, slug)
    data = queries.report(page.db, call)
    # as data: images, so that the charts keep their own styles under the page's CSP
    charts = [
        {
            "title": page._(c["title"]),
            "src": "data:image/svg+xml;base64," + base64.b64encode(c["svg"].encode()).decode(),
        }
        for c in queries.report_charts(data, page._)
    ]
    return page.render("manage/report.html", {"call": call, "data": data, "charts": charts})


@router.get("/manage/calls/{slug}/report.{fmt}")
def report_download(slug: str, fmt: str, page: Page = Depends(get_page)) -> Response:
    call = office_call(page, slug)
    if fmt not in FORMATS:
        page.not_found()
    data = queries.report(page.db, call)
    body: str | bytes
    if fmt == "csv":
        body = "\ufeff" + queries.report_csv(data)
    elif fmt == "json":
        body = queries.report_json(data)
    else:
        body = queries.report_pdf(data)
    return Response(
        body,
        media_type=FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{call.slug}-outcomes.{fmt}"'},
    )
