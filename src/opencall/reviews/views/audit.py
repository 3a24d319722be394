"""The audit log of a call (the user office's page, also as CSV) and its hash chain
verified. Here rather than in ``calls.manage_views`` because it leaves out the events
of a proposal withheld from the reader (``reviews.policies.visible_events``): a call
manager on a proposal's team reads nothing of its review there either."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from opencall import auditlog
from opencall.calls.access import office_call
from opencall.calls.models import Call
from opencall.reviews import policies
from opencall.web.csv import csv_response, wants_csv
from opencall.web.pages import Page, get_page

router = APIRouter()


def _events(page: Page, call: Call) -> list[auditlog.AuditEvent]:
    events = auditlog.events_for_call(page.db, call.id)
    return policies.visible_events(page.db, page.user, call, events)


def _audit_page(
    page: Page, call: Call, events: list[auditlog.AuditEvent], report: auditlog.VerifyReport | None
) -> Response:
    """The office's audit page: ``events`` (those the reader may see), and the chain's
    verification ``report`` once asked for."""
    return page.render(
        "manage/audit.html",
        {
            "call": call,
            "events": events,
            "report": report,
            "withheld": policies.withheld(page.db, page.user, call),
            **audit_labels(page, events),
        },
    )


@router.get("/manage/calls/{slug}/audit", response_class=HTMLResponse)
def audit(slug: str, page: Page = Depends(get_page)) -> Response:
    call = office_call(page, slug)
    events = _events(page, call)
    if wants_csv(page):
        return csv_response(
            f"{call.slug}-audit.csv",
            ["id", "at", "actor_id", "action", "entity", "entity_id", "reason", "data", "hash"],
            (
                (
                    e.id,
                    e.at,
                    e.actor_id,
                    e.action,
                    e.entity,
                    e.entity_id,
                    e.reason,
                    json.dumps(e.data, sort_keys=True),
                    e.hash,
                )
                for e in events
            ),
        )
    return _audit_page(page, call, events, None)


@router.post("/manage/calls/{slug}/audit/verify", response_class=HTMLResponse)
def audit_verify(slug: str, page: Page = Depends(get_page)) -> Response:
    call = office_call(page, slug)
    report = auditlog.verify(page.db)
    return _audit_page(page, call, _events(page, call), report)


def audit_labels(page: Page, events: list[Any]) -> dict[str, Any]:
    """The audit log as people read it (the office's page): translated action and entity
    labels, and who acted by name (the office may see every name of its calls)."""
    from opencall.people.models import User
    from opencall.web.labels import audit_action, audit_entity

    ids = {e.actor_id for e in events if e.actor_id}
    names = (
        dict(page.db.execute(select(User.id, User.name).where(User.id.in_(ids))).tuples().all())
        if ids
        else {}
    )
    return {
        "action_label": lambda code: audit_action(page.t, code),
        "entity_label": lambda code: audit_entity(page.t, code),
        "actor_name": lambda uid: names.get(uid, "") if uid else "",
    }
