"""The editor's request forms posted: add, change, remove, and all-or-nothing
bundles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from opencall.facilities.models import CapacityPool
from opencall.proposals import services
from opencall.proposals.labels import ROWS
from opencall.proposals.models import Proposal, Request
from opencall.proposals.views.editor import editable_for, editor, save_change, stale, try_change
from opencall.proposals.views.request_forms import (
    custom_field_name,
    domain_field,
    parse_custom_form,
    parse_request_form,
)
from opencall.web.forms import MSG_INVALID
from opencall.web.i18n import N_
from opencall.web.pages import Page, get_page

router = APIRouter()


def _save_request(page: Page, proposal: Proposal, kind: str, req: Request | None) -> Response:
    values = dict(page.form)
    if req is not None:
        values["pool_id"] = str(req.pool_id or "")  # a saved request keeps its pool
    if kind == "custom":
        parsed = parse_custom_form(page, proposal.call, values)
    else:
        parsed = parse_request_form(page, proposal.call, kind, values)
    errors = parsed.errors
    extra: dict[str, Any] = {"req_values": values, "req_errors": errors}
    if req is None:
        extra["new_kind"] = kind
        extra["new_pool"] = parsed.pool_id
    else:
        extra["req_id"] = req.id
    if not errors:
        if req is None:
            refused = try_change(
                page,
                proposal,
                services.add_request,
                kind,
                parsed.details,
                pool_id=parsed.pool_id,
            )
        else:
            refused = try_change(page, proposal, services.update_request, req, parsed.details)
        if refused is None:
            return page.redirect(f"/proposals/{proposal.id}#requests", "request_saved")
        if refused.code == "stale":
            return stale(page, proposal, **extra)
        rows_name = ROWS[kind][0] if kind in ROWS else None
        if kind == "custom":
            pool = page.db.get(CapacityPool, parsed.pool_id) if parsed.pool_id else None
            name = custom_field_name(refused.field, pool)
        else:
            name = domain_field(refused.field, parsed.row_map, rows_name)
        errors[name] = page.t.message(refused.message)
    return editor(page, proposal, 400, **extra)


@router.post("/proposals/{proposal_id}/requests", response_class=HTMLResponse)
def add_request(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = editable_for(page, proposal_id)
    kind = page.form.get("kind", "")
    if kind not in services.KIND_FOR_FACILITY.get(proposal.call.facility.kind, ()):
        return editor(page, proposal, 400, error=page._(MSG_INVALID))
    return _save_request(page, proposal, kind, None)


MSG_BUNDLE_NAME = N_("Give the bundle a name.")


@router.post("/proposals/{proposal_id}/bundle", response_class=HTMLResponse)
def bundle_requests(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    """Mark the ticked requests all-or-nothing (a bundle: awarded together or not at
    all), or take them out of their bundle."""
    proposal = editable_for(page, proposal_id)
    f = page.form
    ids = [r.id for r in proposal.requests if f.get(f"req-{r.id}", "") in ("on", "1", "true")]
    unbundle = f.get("action", "") == "unbundle"
    name = f.get("bundle", "").strip()
    errors: dict[str, str] = {}
    if not unbundle and not name:
        errors["bundle"] = page._(MSG_BUNDLE_NAME)
    extra: dict[str, Any] = {"bundle_form": f, "bundle_errors": errors}
    if not errors:
        refused = try_change(
            page, proposal, services.set_bundle, ids, None if unbundle else name[:60]
        )
        if refused is None:
            return page.redirect(f"/proposals/{proposal.id}#requests", "saved")
        if refused.code == "stale":
            return stale(page, proposal, **extra)
        errors["bundle"] = page.t.message(refused.message)
    return editor(page, proposal, 400, **extra)


def _request_of(page: Page, proposal: Proposal, request_id: int) -> Request:
    req = page.db.get(Request, request_id)
    if req is None or req.proposal_id != proposal.id:
        page.not_found()
    return req


@router.post("/proposals/{proposal_id}/requests/{request_id}", response_class=HTMLResponse)
def update_request(proposal_id: int, request_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = editable_for(page, proposal_id)
    req = _request_of(page, proposal, request_id)
    return _save_request(page, proposal, req.kind, req)


@router.post("/proposals/{proposal_id}/requests/{request_id}/remove", response_class=HTMLResponse)
def remove_request(proposal_id: int, request_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = editable_for(page, proposal_id)
    req = _request_of(page, proposal, request_id)
    return save_change(
        page, proposal, services.remove_request, req, section="requests", done="removed"
    )
