"""The batches page of a continuous call (its staff): the cut-offs, what waits for the
next, the capacity its budget has left, each batch with its phase (each batch's own
cockpit runs its cycle), and the user office's button that cuts the batches due."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from opencall.calls.access import staff_call
from opencall.calls.models import Call
from opencall.calls.policies import may_administer
from opencall.cycle import batches
from opencall.errors import DomainError
from opencall.facilities.labels import unit_labels
from opencall.reviews.presenters import labels
from opencall.reviews.views.common import cockpit_error
from opencall.web.forms import MSG_CONFIRM
from opencall.web.pages import Page, get_page

router = APIRouter()


def _single_deadline(page: Page, call: Call) -> Response | None:
    """A call with one deadline has no batches: the refusal the API and ``opencall calls
    cut-batches --call`` say (:func:`batches.require_continuous`), with its status."""
    try:
        batches.require_continuous(call)
    except DomainError as exc:
        return cockpit_error(page, call, page.t.error(exc))
    return None


@router.get("/manage/calls/{slug}/batches", response_class=HTMLResponse)
def batches_page(slug: str, page: Page = Depends(get_page)) -> Response:
    call = staff_call(page, slug)
    if (refusal := _single_deadline(page, call)) is not None:
        return refusal
    return page.render(
        "reviews/batches.html",
        {
            "call": call,
            "heading": page._("Batches"),
            "ov": batches.overview(page.db, call),
            "office": may_administer(page.db, page.user, call),
            **labels(page),
            **unit_labels(page),
        },
    )


@router.post("/manage/calls/{slug}/batches/cut", response_class=HTMLResponse)
def cut_batches(slug: str, page: Page = Depends(get_page)) -> Response:
    """Cut the batches whose cut-offs have come (the user office), confirmed by a tick."""
    call = staff_call(page, slug)
    if not may_administer(page.db, page.user, call):
        page.not_found()
    if (refusal := _single_deadline(page, call)) is not None:
        return refusal
    if not page.confirmed:
        return cockpit_error(page, call, page._(MSG_CONFIRM))
    with page.attempt() as refused:
        batches.cut(page.db, call, actor_id=page.user.id, now=page.received_at)
    if refused:
        return cockpit_error(page, call, refused.message)
    return page.redirect(f"/manage/calls/{call.slug}/batches", "saved")
