"""The TAC chair's list page (trialtac18): the calibrated ranked list in the chair's order,
a move or a band with a reason for each proposal, the preview of what the chair's order does
to the allocation (who gains, who loses, who benefits by income group, UN region and LDC
status), the changes so far, and the lock. ``allocation.tac`` does the work."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from opencall.allocation import policies, tac
from opencall.allocation.models import TAC_BANDS
from opencall.allocation.presenters import BAND_LABELS
from opencall.calls.access import signed_in_call
from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.facilities.labels import unit_labels
from opencall.inputs import whole_number
from opencall.proposals.models import Proposal
from opencall.reviews import policies as review_policies
from opencall.reviews.presenters import proposal_rows
from opencall.web.csv import csv_response
from opencall.web.forms import MSG_CONFIRM
from opencall.web.i18n import N_
from opencall.web.labels import CUT_LABELS, group_label
from opencall.web.pages import Page, get_page

router = APIRouter()

CHANGE_LABELS = {
    "gains": N_("gains capacity"),
    "loses": N_("loses capacity"),
    "shifts": N_("other resources"),
    "same": N_("no change"),
}


def _call(page: Page, slug: str) -> Call:
    return signed_in_call(page, slug, policies.may_see_decisions)


#: what the chair's form sends, kept when the page refuses a change (nothing typed is lost)
TYPED = ("action", "direction", "places", "band", "reason")


def _typed(page: Page, proposal_id: int) -> dict[str, Any]:
    """What the chair typed in the form of proposal ``proposal_id``, shown again in that
    row when the change is refused (the reason cut to the length the form allows)."""
    kept: dict[str, Any] = {k: page.form.get(k, "") for k in TYPED}
    kept["reason"] = str(kept["reason"])[: tac.MAX_REASON]
    return {"proposal_id": proposal_id, **kept}


def _band_filter(page: Page) -> tuple[str | None, str]:
    """``?band=``: accept, reserve, reject, none (no band), or nothing (the whole list);
    with the error that an unknown band is."""
    raw = page.request.query_params.get("band", "").strip()
    if not raw:
        return None, ""
    if raw == "none":
        return "", ""
    if raw in TAC_BANDS:
        return raw, ""
    return None, page._("A band to show is accept, reserve, reject or none.")


def _page(
    page: Page,
    call: Call,
    status: int = 200,
    error: str = "",
    want_preview: bool = False,
    typed: dict[str, Any] | None = None,
) -> Response:
    db = page.db
    hidden = review_policies.withheld(db, page.user, call)
    shown, bad_band = _band_filter(page) if typed is None else (None, "")
    if bad_band and not error:
        error, status = bad_band, 400
    listed: tac.ChairList
    if want_preview and not error:
        try:
            listed = tac.preview(db, call, hidden)
        except DomainError as exc:
            error, listed = page.t.error(exc), tac.chair_list(db, call, hidden)
            status = 400
    else:
        listed = tac.chair_list(db, call, hidden)
    ids = [x.proposal_id for x in listed.places]
    counts = Counter(x.band for x in listed.places)
    places = [x for x in listed.places if shown is None or x.band == shown]
    rows = proposal_rows(page, call, list(db.scalars(select(Proposal).where(Proposal.id.in_(ids)))))
    pools = {cp.pool_id: cp.pool for cp in call.pools}
    return page.render(
        "allocation/tac.html",
        {
            "call": call,
            "listed": listed,
            "places": places,
            "band_counts": [(b, counts.get(b, 0)) for b in (*TAC_BANDS, "")],
            "shown_band": shown,
            "typed": typed or {},
            "rows": rows,
            "pools": pools,
            "withheld": hidden,
            "may_adjust": policies.may_adjust_list(db, page.user, call) and listed.locked is None,
            "may_unlock": listed.locked
            and call.decisions_released_at is None
            and policies.may_unlock_list(db, page.user, call),
            "version": tac.version(db, call),
            "error": error,
            "band_label": lambda b: page._(BAND_LABELS.get(b) or b),
            "change_label": lambda c: page._(CHANGE_LABELS.get(c) or c),
            "cut_label": lambda c: page._(CUT_LABELS.get(c) or c),
            "group_label": lambda g: group_label(page._, g),
            "unit_pool": pools.get(listed.unit_pool_id) if listed.unit_pool_id else None,
            **unit_labels(page),
        },
        status=status,
    )


@router.get("/manage/calls/{slug}/tac", response_class=HTMLResponse)
def tac_list(slug: str, page: Page = Depends(get_page)) -> Response:
    """The chair's list; ``?preview=1`` runs the allocation in both orders (nothing kept)."""
    call = _call(page, slug)
    return _page(page, call, want_preview=page.request.query_params.get("preview") == "1")


@router.get("/manage/calls/{slug}/tac.csv")
def tac_csv(slug: str, page: Page = Depends(get_page)) -> Response:
    """The list as CSV, in the chair's order: each proposal's place, calibrated place, the
    places it is tied over (if any), its band, and its changes with their reasons in the
    order made (one line each). None of the proposals withheld from the reader (a chair
    conflicted with one), nor their changes. Cells that could start a formula are
    neutralised (``csv_response``)."""
    call = _call(page, slug)
    db = page.db
    listed = tac.chair_list(db, call, review_policies.withheld(db, page.user, call))
    ids = [x.proposal_id for x in listed.places]
    named = {p.id: p for p in db.scalars(select(Proposal).where(Proposal.id.in_(ids)))}
    changes: dict[int, list[tuple[str, str]]] = {}
    for a in listed.adjustments:
        what = (
            f"band {a.band or 'none'}"
            if a.kind == "band"
            else (f"up {a.steps}" if a.steps > 0 else f"down {-a.steps}")
        )
        changes.setdefault(a.proposal_id, []).append((what, a.reason))
    return csv_response(
        f"{call.slug}-tac.csv",
        ["chair_place", "calibrated_place", "tied_first", "tied_last", "proposal", "title",
         "band", "changes", "reasons"],
        [
            (
                x.chair,
                x.calibrated,
                x.tie[0] if x.tie else "",
                x.tie[1] if x.tie else "",
                named[x.proposal_id].code,
                named[x.proposal_id].title,
                x.band,
                "; ".join(w for w, _r in changes.get(x.proposal_id, [])),
                "\n".join(r for _w, r in changes.get(x.proposal_id, [])),
            )
            for x in listed.places
        ],
    )  # fmt: skip


def _places(page: Page) -> int:
    raw = page.form.get("places", "").strip()
    try:
        n = int(raw)
    except ValueError:
        raise DomainError("The number of places is a whole number.", field="places") from None
    return n if page.form.get("direction", "up") == "up" else -n


def _seen(page: Page) -> int | None:
    """The version of the list the form was read at (none sent: not checked)."""
    return whole_number(page.form.get("seen", ""))


@router.post("/manage/calls/{slug}/tac/lock", response_class=HTMLResponse)
def lock(slug: str, page: Page = Depends(get_page)) -> Response:
    call = _call(page, slug)
    if not page.confirmed:
        return _page(page, call, 400, page._(MSG_CONFIRM))
    with page.attempt() as refused:
        tac.lock(page.db, call, actor_id=page.user.id)
    if refused:
        return _page(page, call, 400, refused.message)
    return page.redirect(f"/manage/calls/{call.slug}/tac", "saved")


@router.post("/manage/calls/{slug}/tac", response_class=HTMLResponse)
def unlock(slug: str, page: Page = Depends(get_page)) -> Response:
    """The user office reopens the locked list, with a ``reason`` (audited): the one form
    a locked list's page posts, to the list itself (``POST /api/v1/calls/{slug}/tac/unlock``
    in the API)."""
    call = _call(page, slug)
    if not policies.may_unlock_list(page.db, page.user, call):
        page.not_found()
    with page.attempt() as refused:
        reason = page.form.get("reason", "")[: tac.MAX_REASON + 1]
        tac.unlock(page.db, call, reason=reason, actor_id=page.user.id)
    if refused:
        return _page(page, call, 400, refused.message)
    return page.redirect(f"/manage/calls/{call.slug}/tac", "saved")


@router.post("/manage/calls/{slug}/tac/{proposal_id}", response_class=HTMLResponse)
def adjust(slug: str, proposal_id: int, page: Page = Depends(get_page)) -> Response:
    """A move (``action=move``: ``places``, ``direction`` up or down) or a band
    (``action=band``: ``band``), with its ``reason``."""
    call = _call(page, slug)
    hidden = review_policies.withheld(page.db, page.user, call)
    p = page.get_visible(
        Proposal, proposal_id, lambda x: x.call_id == call.id and x.id not in hidden
    )
    with page.attempt() as refused:
        kw: dict[str, Any] = (
            {"move": _places(page)}
            if page.form.get("action") == "move"
            else {"band": page.form.get("band", "")}
        )
        tac.adjust(
            page.db,
            call,
            p,
            reason=page.form.get("reason", "")[: tac.MAX_REASON + 1],
            actor_id=page.user.id,
            seen=_seen(page),
            **kw,
        )
    if refused:
        return _page(page, call, 400, refused.message, typed=_typed(page, p.id))
    # back to the list as the chair filtered it (a band it knows, nothing else)
    shown = page.form.get("shown", "")
    back = f"?band={shown}" if shown in (*TAC_BANDS, "none") else ""
    return page.redirect(f"/manage/calls/{call.slug}/tac{back}#t{p.id}", "saved")
