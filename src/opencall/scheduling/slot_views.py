"""Calendars of slot-based resources: the staff calendar of a resource (who has which slot,
unavailable periods with reasons), the applicant's own slots, and iCalendar exports of both,
plus a public busy/free calendar of a published call.

What each variant shows:

* staff (chair, user office): proposal code and title; the PI, institution and country only
  where ``may_see_identities`` (never to a chair of a dual-anonymous call before the ranking is
  frozen); until the decisions are released, not the slots of a proposal on whose team the
  reader is, or that they are conflicted with (``policies.hidden_schedule``: left out, as
  slots nobody of the call has);
* applicant team: their own proposal's slots and nothing about other proposals;
* public (call published): "booked" and the unavailable periods, no proposal at all.

A slot another call sharing the resource has booked is shown to the staff (page and
iCalendar) as "booked by another call" only: neither that call nor its proposal is named.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from opencall.calls.access import signed_in_call
from opencall.calls.models import Call
from opencall.calls.policies import RESULTS_STATES
from opencall.calls.queries import call_by_slug
from opencall.facilities.domain import unit_label
from opencall.facilities.labels import LOST_ITEM, item_out_reason, unavailable_reason
from opencall.facilities.models import CapacityPool
from opencall.proposals.access import outcome_for
from opencall.reviews import queries as rq
from opencall.reviews.policies import may_see_identities
from opencall.reviews.presenters import proposal_rows
from opencall.scheduling import ical, policies, presenters
from opencall.scheduling import slot_services as ss
from opencall.web.i18n import N_
from opencall.web.labels import labeller
from opencall.web.pages import Page, attachment_response, get_page

router = APIRouter()

UNAVAILABLE = N_("Unavailable")
BOOKED = N_("Booked")
OTHER_CALL = N_("Booked by another call")
#: a slot whose instrument is booked on another resource of its exclusive group
INSTRUMENT_IN_USE = N_("In use on another resource of the same instrument")
REASONS = {
    "no_usable_slots": N_("not enough usable slots"),
    "bundle": N_("its all-or-nothing bundle cannot be placed"),
    "unknown_resource": N_("unknown resource"),
    "capacity": N_("the slots went to higher-ranked awards"),
    "time_limit": N_("the time limit passed before it was tried"),
    "no_common_slots": N_("not enough slots usable on every resource of its bundle at once"),
    "same_time_lengths": N_("its bundle's requests at the same times differ in length"),
    "same_time_one_resource": N_(
        "two requests of its bundle at the same times are on one resource"
    ),
    "no_unbroken_run": N_("no unbroken run of usable slots is long enough"),
    # its slot taken by an urgent call, none free within its dates (trialfac24b)
    "preempted": N_("taken by an urgent call that may pre-empt bookings not yet begun"),
}


def unit_name(pool: CapacityPool, lang: str, n: int) -> str:
    """The resource's own unit label (``facilities.domain.unit_label``)."""
    return unit_label(pool.unit, pool.unit_labels, n, lang)


def _call(page: Page, slug: str) -> Call:
    return signed_in_call(page, slug, policies.may_see_schedule)


def _pool(page: Page, call: Call, pool_id: int) -> CapacityPool:
    pool = next((cp.pool for cp in call.pools if cp.pool_id == pool_id), None)
    if pool is None or not ss.is_slot_based(pool):
        page.not_found()
    return pool


def _stamp(page: Page, call: Call) -> dt.datetime:
    run = rq.latest_run(page.db, call, "schedule")
    return run.created_at if run is not None else dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _ics(filename: str, body: bytes) -> Response:
    return attachment_response(body, filename, "text/calendar; charset=utf-8", "calendar.ics")


def _absolute(page: Page, path: str) -> str:
    """``path`` on the site's public address (a calendar file is read outside the site)."""
    return page.settings.base_url.rstrip("/") + path


def _staff_rows(page: Page, call: Call, pool: CapacityPool) -> dict[int, dict[str, str]]:
    """The rows of the proposals the resource's calendar names (its slots, its requests
    not placed): not every proposal under review of the call (years of a call's history,
    each read with its team for the identities; scale20)."""
    return proposal_rows(
        page, call, rq.proposals_for_review(page.db, call, of=ss.proposals_on(call, pool))
    )


@router.get("/manage/calls/{slug}/resources/{pool_id}/calendar", response_class=HTMLResponse)
def staff_calendar(slug: str, pool_id: int, page: Page = Depends(get_page)) -> Response:
    call = _call(page, slug)
    pool = _pool(page, call, pool_id)
    rows = _staff_rows(page, call, pool)
    hidden = policies.hidden_schedule(page.db, page.user, call)
    cal = ss.calendar(page.db, call, pool, hidden=hidden)
    return page.render(
        "scheduling/resource_calendar.html",
        {
            "call": call,
            "pool": pool,
            "cal": cal,
            "rows": rows,
            "unplaced": ss.unplaced(page.db, call, pool, hidden=hidden),
            "withheld_schedule": bool(hidden),
            "reason_label": labeller(page, REASONS),
            "explain": lambda e: presenters.explanation(page.t, e.details or {}),
            "show_identity": may_see_identities(page.db, page.user, call),
            "unavailable": sorted(pool.unavailable, key=lambda u: u.starts_at),
            "unavailable_reason": lambda u: unavailable_reason(u, page._),
            "items_out": list(pool.item_outages),
            "item_out_reason": lambda u: item_out_reason(u, pool.items, page._),
            # a slot's: a lost item's in the reader's language
            "slot_reason": lambda c: (
                page._(LOST_ITEM, item=c.lost_item) if c.lost_item else c.unavailable
            ),
            "booked": sum(1 for c in cal if c.entry is not None),
            "free": sum(
                1
                for c in cal
                if c.entry is None and not c.unavailable and not c.other_call and not c.instrument
            ),
            "instrument_busy": sum(1 for c in cal if c.entry is None and c.instrument),
            "other_calls": sum(1 for c in cal if c.entry is None and c.other_call),
            "unit": unit_name(pool, page.lang, 2),
        },
    )


@router.get("/manage/calls/{slug}/resources/{pool_id}/calendar.ics")
def staff_calendar_ics(slug: str, pool_id: int, page: Page = Depends(get_page)) -> Response:
    call = _call(page, slug)
    pool = _pool(page, call, pool_id)
    rows = _staff_rows(page, call, pool)
    here = _absolute(page, f"/manage/calls/{call.slug}/resources/{pool.id}/calendar")
    hidden = policies.hidden_schedule(page.db, page.user, call)
    events = []
    for c in ss.calendar(page.db, call, pool, hidden=hidden):
        if c.entry is None and c.other_call:  # busy, but nothing of that call is said
            events.append(_busy_event(page, call, pool, c, OTHER_CALL))
            continue
        if c.entry is None and c.instrument:  # its instrument in use on another resource
            events.append(_busy_event(page, call, pool, c, INSTRUMENT_IN_USE))
            continue
        if c.entry is None:
            continue
        row = rows.get(c.entry.proposal_id, {})
        who = ", ".join(x for x in (row.get("pi"), row.get("institution")) if x)
        events.append(
            ical.CalendarEvent(
                uid=ss.entry_uid(call, pool, c.entry),
                start=c.start,
                end=c.end,
                summary=f"{row.get('code', '')} · {pool.name}",
                description="\n".join(x for x in (row.get("title", ""), who) if x),
                location=pool.name,
                time_zone=pool.time_zone or "",
                url=here,
            )
        )
    return _pool_ics(page, call, pool, events, "-staff")


def _busy_event(
    page: Page, call: Call, pool: CapacityPool, cell: ss.CalendarRow, summary: str
) -> ical.CalendarEvent:
    """A slot of the resource's calendar said only to be busy (``summary``, translated):
    nothing of the proposal in it."""
    return ical.CalendarEvent(
        uid=ss.slot_uid(call, pool.id, cell.start),
        start=cell.start,
        end=cell.end,
        summary=page._(summary),
        location=pool.name,
        time_zone=pool.time_zone or "",
    )


def _pool_ics(
    page: Page, call: Call, pool: CapacityPool, events: list[ical.CalendarEvent], suffix: str
) -> Response:
    """The resource's calendar file: ``events`` and its unavailable periods."""
    events = events + _unavailable_events(page, call, pool)
    return _ics(
        f"{call.slug}-{pool.id}{suffix}.ics",
        ical.to_ics(f"{call.title} · {pool.name}", events, stamp=_stamp(page, call)),
    )


def _unavailable_events(page: Page, call: Call, pool: CapacityPool) -> list[ical.CalendarEvent]:
    return [
        ical.CalendarEvent(
            uid=ss.unavailable_uid(call, pool.id, u.id),
            start=u.starts_at,
            end=u.ends_at,
            summary=(
                f"{page._(UNAVAILABLE)}: {unavailable_reason(u, page._)}"
                if unavailable_reason(u, page._)
                else page._(UNAVAILABLE)
            ),
            location=pool.name,
            time_zone=pool.time_zone or "",
            transparent=True,
        )
        for u in sorted(pool.unavailable, key=lambda u: u.starts_at)
    ] + [
        ical.CalendarEvent(
            uid=ss.unavailable_uid(call, pool.id, u.id).replace("-unavailable-", "-item-out-"),
            start=u.starts_at,
            end=u.ends_at,
            summary=item_out_reason(u, pool.items, page._),
            location=pool.name,
            time_zone=pool.time_zone or "",
            transparent=True,
        )
        for u in pool.item_outages
    ]


@router.get("/calls/{slug}/resources/{pool_id}/calendar.ics")
def public_calendar_ics(slug: str, pool_id: int, page: Page = Depends(get_page)) -> Response:
    """Busy/free of a published call's resource: no proposal, code or name."""
    call = call_by_slug(page.db, slug)
    if call is None or call.status not in RESULTS_STATES:
        page.not_found()
    pool = _pool(page, call, pool_id)
    # a shared slot is one busy event, however many groups booked it
    # a slot whose instrument another resource of its group uses is busy too (trialfac21b)
    booked = {
        c.start: c
        for c in ss.calendar(page.db, call, pool)
        if c.entry is not None or (c.instrument and not c.unavailable)
    }
    events = [_busy_event(page, call, pool, c, BOOKED) for c in booked.values()]
    return _pool_ics(page, call, pool, events, "")


def _pools_of(page: Page, entries: list[Any]) -> dict[int, CapacityPool]:
    ids = {e.pool_id for e in entries if e.pool_id is not None}
    return {i: p for i in ids if (p := page.db.get(CapacityPool, i)) is not None}


@router.get("/proposals/{proposal_id}/slots", response_class=HTMLResponse)
def my_slots(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = outcome_for(page, proposal_id)
    entries = ss.proposal_slots(page.db, proposal)
    pools = _pools_of(page, entries)
    placed = [e for e in entries if e.start is not None]
    return page.render(
        "scheduling/my_slots.html",
        {
            "p": proposal,
            "placed": placed,
            "unplaced": [e for e in entries if e.start is None],
            "pools": pools,
            # a shared slot: how many of its places are booked, never by whom
            "places": ss.places_used(page.db, placed, pools),
            "reason_label": labeller(page, REASONS),
            # a booking an urgent call took: where it went, or why it is not placed
            "explain": lambda e: presenters.explanation(page.t, e.details or {}),
        },
    )


@router.get("/proposals/{proposal_id}/slots.ics")
def my_slots_ics(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = outcome_for(page, proposal_id)
    call = proposal.call
    entries = [e for e in ss.proposal_slots(page.db, proposal) if e.start and e.end]
    pools = _pools_of(page, entries)
    events = [
        ical.CalendarEvent(
            uid=ss.entry_uid(call, pools[e.pool_id], e)
            if e.pool_id in pools
            else ss.slot_uid(call, e.pool_id, e.start),
            start=e.start,
            end=e.end,
            summary=f"{proposal.code} · {pools[e.pool_id].name if e.pool_id in pools else ''}",
            description=proposal.title,
            location=pools[e.pool_id].name if e.pool_id in pools else "",
            url=_absolute(page, f"/proposals/{proposal.id}/slots"),
            time_zone=(pools[e.pool_id].time_zone or "") if e.pool_id in pools else "",
        )
        for e in entries
        if e.start is not None and e.end is not None
    ]
    return _ics(
        f"{proposal.code}-slots.ics",
        ical.to_ics(f"{proposal.code} · {call.title}", events, stamp=_stamp(page, call)),
    )


SERVICE_MESSAGES = (
    N_("The resource %(name)s has no calendar period; set its period start and end."),
    N_("Request %(id)s has malformed impossible dates: %(why)s"),
)
