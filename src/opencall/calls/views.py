"""Public pages of calls: home, the open calls with capacity, one call's rules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from opencall.calls import policies, queries
from opencall.calls.models import Call
from opencall.calls.schemas import call_form
from opencall.db import utcnow
from opencall.facilities.domain import unit_label
from opencall.web.i18n import N_
from opencall.web.pages import Page, get_page

router = APIRouter()

STATUS = {
    "draft": N_("draft"),
    "open": N_("open"),
    "closed": N_("closed"),
    "review": N_("in review"),
    "ranking": N_("ranking"),
    "allocation": N_("allocation"),
    "scheduling": N_("scheduling"),
    "published": N_("results published"),
    "archived": N_("archived"),
}
UNITS = {
    "h": N_("hours"),
    "berths": N_("berths"),
    "dives": N_("dives"),
    "mg": N_("mg"),
    "seats": N_("seats"),
    "packages": N_("packages"),
}
ANONYMITY = {
    "dual": N_(
        "Dual-anonymous review: reviewers do not see who you are, and you do not see who they are."
    ),
    "single": N_("Single-anonymous review: reviewers see the team; you do not see who reviewed."),
    "open": N_("Open review: names are visible on both sides."),
}


def unit_text(page: Page, unit: str, labels: Any = None, amount: float | None = None) -> str:
    """A pool's unit in the visitor's language: the resource's own labels when it has
    them (facilities.domain.unit_label), the presets' catalogued words otherwise."""
    if labels or unit not in UNITS:
        return unit_label(unit, labels, amount, page.lang)
    return page._(UNITS[unit])


def labels(page: Page) -> dict[str, object]:
    return {
        "status_label": lambda s: page._(STATUS[s]) if s in STATUS else s,
        "unit_label": lambda u, labels=None, amount=None: unit_text(page, u, labels, amount),
    }


def visible_call(page: Page, slug: str) -> Call:
    call = queries.call_by_slug(page.db, slug)
    if call is None or not policies.may_see_call(page.db, page.user, call):
        page.not_found()
    return call


@router.get("/", response_class=HTMLResponse)
def home(page: Page = Depends(get_page)) -> Response:
    now = utcnow()
    calls = [c for c in queries.list_calls(page.db, statuses=("open",)) if c.closes_at > now]
    published = queries.list_calls(page.db, statuses=policies.RESULTS_STATES)
    return page.render("calls/home.html", {"calls": calls, "published": published, **labels(page)})


@router.get("/calls", response_class=HTMLResponse)
def calls_list(page: Page = Depends(get_page)) -> Response:
    calls = queries.list_calls(page.db, statuses=policies.PUBLIC_STATES)
    return page.render("calls/list.html", {"calls": calls, **labels(page)})


@router.get("/calls/{slug}", response_class=HTMLResponse)
def call_detail(slug: str, page: Page = Depends(get_page)) -> Response:
    call = visible_call(page, slug)
    now = utcnow()
    return page.render(
        "calls/detail.html",
        {
            "call": call,
            "form": call_form(call.form),
            "anonymity": page._(ANONYMITY.get(call.anonymity, ANONYMITY["dual"])),
            "can_apply": policies.may_apply_to_call(page.user, call, now),
            "is_open": call.status == "open" and call.opens_at <= now < call.closes_at,
            "results": policies.results_are_public(call),
            **labels(page),
        },
    )
