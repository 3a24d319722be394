"""The managers' report page of a call (``/manage/calls/{slug}/report``) with
inline SVG charts, and its CSV, JSON and PDF downloads."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from opencall.calls.access import office_call
from opencall.outcomes import queries
from opencall.outcomes.report import (
    _group,
    chart_alt,
    report_charts,
    report_document,
    report_pdf,
    trend_programmes_note,
    women_trained,
)
from opencall.web.pages import Page, attachment_response, get_page

router = APIRouter()
FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json", "pdf": "application/pdf"}


@router.get("/manage/calls/{slug}/report", response_class=HTMLResponse)
def report_page(slug: str, page: Page = Depends(get_page)) -> Response:
    call = office_call(page, slug)
    data = queries.cached_report(page.db, call)
    # as data: images, so that the charts keep their own styles under the page's CSP
    charts = [
        {
            "title": c["title"],
            "src": "data:image/svg+xml;base64," + base64.b64encode(c["svg"].encode()).decode(),
            # the alt text says what the chart shows: its data, as the SVG's <desc> has it
            "alt": chart_alt(c["title"], c["table"]),
            "table": c["table"],
        }
        for c in report_charts(data, page._)
    ]
    return page.render(
        "manage/report.html",
        {
            "call": call,
            "data": data,
            "charts": charts,
            "doc": report_document(data, page._),
            # the trend's programmes begun, where an award renews one (outcomes20): the
            # column and its note
            "trend_begun": trend_programmes_note(page._, data),
            # readable group names for the sections included in the page
            "group_label": lambda g: _group(page._, g),
            # the women among the people trained, "of" those counted where some were not
            "women_trained": lambda f: women_trained(page._, f),
        },
    )


@router.get("/manage/calls/{slug}/report.{fmt}")
def report_download(slug: str, fmt: str, page: Page = Depends(get_page)) -> Response:
    call = office_call(page, slug)
    if fmt not in FORMATS:
        page.not_found()
    data = queries.cached_report(page.db, call)
    body: str | bytes
    if fmt == "csv":
        body = "\ufeff" + queries.report_csv(data)
    elif fmt == "json":
        body = queries.report_json(data)
    else:
        body = report_pdf(data, page._, page.lang)
    return attachment_response(body, f"{call.slug}-outcomes.{fmt}", FORMATS[fmt], "outcomes")
