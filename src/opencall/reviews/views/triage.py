"""The chair's triage page: the call's proposals in review, each with a form to set it
aside before the review (out of scope, technically infeasible, incomplete, with the
reason its applicant reads), and those set aside, each with a form to return it to the
review (``reviews.services.triage``). The proposals withheld from the reader (their own
team's, or conflicted) are left out: another member of the staff decides on them."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from opencall.calls.access import staff_call
from opencall.calls.models import Call
from opencall.proposals.models import Proposal, TriageDecision
from opencall.reviews import policies, services
from opencall.reviews.services.triage import TRIAGE_STATES
from opencall.reviews.views.common import call_proposals, change_or_show
from opencall.web.labels import TRIAGE_CATEGORIES, labeller
from opencall.web.pages import Page, get_page

router = APIRouter()
PER_PAGE = 50


@router.get("/manage/calls/{slug}/triage", response_class=HTMLResponse)
def triage(slug: str, page: Page = Depends(get_page)) -> Response:
    call = staff_call(page, slug)
    return _triage_page(page, call)


def _triage_page(page: Page, call: Call, status: int = 200, error: str = "") -> Response:
    withheld = policies.withheld(page.db, page.user, call)
    proposals, pager = call_proposals(
        page, call, ("under_review", "set_aside"), withheld, "triage", "#triage", PER_PAGE
    )
    ids = [p.id for p in proposals]
    decided = {
        t.proposal_id: t
        for t in page.db.scalars(select(TriageDecision).where(TriageDecision.proposal_id.in_(ids)))
    }
    return page.render(
        "reviews/triage.html",
        {
            "call": call,
            "proposals": proposals,
            "pager": pager,
            "decided": decided,
            "open": call.status in TRIAGE_STATES,
            "categories": [(k, page._(v)) for k, v in TRIAGE_CATEGORIES.items()],
            "category_label": labeller(page, TRIAGE_CATEGORIES),
            "error": error,
            "withheld": withheld,
        },
        status=status,
    )


def _proposal(page: Page, call: Call, proposal_id: int) -> Proposal:
    return page.get_visible(Proposal, proposal_id, lambda p: p.call_id == call.id)


@router.post("/manage/calls/{slug}/triage/{proposal_id}/set-aside", response_class=HTMLResponse)
def set_aside(slug: str, proposal_id: int, page: Page = Depends(get_page)) -> Response:
    call = staff_call(page, slug)
    p = _proposal(page, call, proposal_id)
    category = page.form.get("category", "")[:40]
    reason = page.form.get("reason", "")[:4000]
    return _change(
        page,
        call,
        lambda: services.set_aside(page.db, call, p, category, reason, actor_id=page.user.id),
        "saved",
    )


@router.post("/manage/calls/{slug}/triage/{proposal_id}/return", response_class=HTMLResponse)
def return_to_review(slug: str, proposal_id: int, page: Page = Depends(get_page)) -> Response:
    call = staff_call(page, slug)
    p = _proposal(page, call, proposal_id)
    reason = page.form.get("reason", "")[:2000]
    return _change(
        page,
        call,
        lambda: services.return_to_review(page.db, call, p, actor_id=page.user.id, reason=reason),
        "saved",
    )


def _change(page: Page, call: Call, change: Callable[[], object], flash: str) -> Response:
    """Make ``change`` and commit it, then back to the page; a refusal is shown on the
    page and changes nothing."""
    return change_or_show(page, call, change, _triage_page, "triage", flash)
