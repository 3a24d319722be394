"""The timetable of a call: every entry (telescope blocks, berths, dives,
seats, packages, shipments), the FAST week view, and publishing the call."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from opencall.calls.access import signed_in_call
from opencall.calls.models import Call
from opencall.facilities.labels import unit_labels
from opencall.inputs import calendar_date, plain_number
from opencall.optim import wallclock
from opencall.proposals.models import Proposal
from opencall.reviews import queries as rq
from opencall.reviews.presenters import labels, proposal_rows
from opencall.scheduling import policies, presenters, queries, services
from opencall.scheduling import slot_services as ss
from opencall.scheduling.models import ScheduleEntry
from opencall.web.csv import csv_response, wants_csv
from opencall.web.forms import MSG_CONFIRM
from opencall.web.i18n import N_
from opencall.web.pages import Page, get_page
from opencall.web.paging import paginate_query

router = APIRouter()

DAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))

#: Schedule entries listed on one page (the CSV has them all); a large call's was 340 KB.
PER_PAGE = 100


def _call(page: Page, slug: str) -> Call:
    return signed_in_call(page, slug, policies.may_see_schedule)


def week_grid(entries: list[ScheduleEntry], monday: dt.date) -> list[dict[str, Any]]:
    """Seven day columns; each entry clipped to its day, as a percentage of 24 h
    (top and height), so that a CSS grid draws it without JavaScript."""
    days = []
    for i in range(7):
        d0 = dt.datetime.combine(monday + dt.timedelta(days=i), dt.time(), dt.UTC)
        d1 = d0 + dt.timedelta(days=1)
        items = []
        for e in entries:
            if e.start is None or e.end is None or e.end <= d0 or e.start >= d1:
                continue
            s, t = max(e.start, d0), min(e.end, d1)
            items.append(
                {
                    "e": e,
                    "top": round((s - d0).total_seconds() / 864, 2),
                    "height": max(0.8, round((t - s).total_seconds() / 864, 2)),
                    "from": s.strftime("%H:%M"),
                    "to": t.strftime("%H:%M"),
                }
            )
        days.append({"date": d0.date(), "items": items})
    return days


def _schedule_csv(page: Page, call: Call) -> Response:
    """Every entry (the page shows one page of them)."""
    hidden = policies.hidden_schedule(page.db, page.user, call)
    entries = [e for e in services.entries(page.db, call) if e.proposal_id not in hidden]
    # the entries' proposals as columns: no team, request or file
    rows = rq.codes_and_titles(
        page.db, call, select(ScheduleEntry.proposal_id).where(ScheduleEntry.call_id == call.id)
    )
    # the site's own clock beside UTC, for a resource with a time zone (Europe/Berlin)
    zones = {cp.pool_id: cp.pool.time_zone or "" for cp in call.pools}
    # the resource booked, by id and name as the API's entries say it: a beamline's two
    # machine modes offered as two resources are told apart without reading the label
    names = {cp.pool_id: cp.pool.name for cp in call.pools}
    # the unit of each entry's amount (die area in mm2 and packaged chips side by side)
    units = {cp.pool_id: cp.pool.unit for cp in call.pools}

    return csv_response(
        f"{call.slug}-schedule.csv",
        [
            "proposal",
            "kind",
            "label",
            "start",
            "end",
            "amount",
            "explanation",
            "time_zone",
            "local_start",
            "local_end",
            "resource_id",
            "resource",
            "unit",
        ],  # fmt: skip
        (
            (
                rows[e.proposal_id]["code"] if e.proposal_id in rows else "",
                e.kind,
                e.label,
                e.start,
                e.end,
                plain_number(e.amount),
                e.details.get("explanation", ""),
                zones.get(e.pool_id or 0, ""),
                wallclock.zone_iso(e.start, zones.get(e.pool_id or 0, "")),
                wallclock.zone_iso(e.end, zones.get(e.pool_id or 0, "")),
                e.pool_id or "",
                names.get(e.pool_id or 0, ""),
                units.get(e.pool_id or 0, ""),
            )
            for e in entries
        ),
    )


@router.get("/manage/calls/{slug}/schedule", response_class=HTMLResponse)
def schedule(slug: str, page: Page = Depends(get_page)) -> Response:
    call = _call(page, slug)
    if wants_csv(page):
        return _schedule_csv(page, call)
    db = page.db
    # not the entries of a proposal of the reader's own team (or conflicted) before release
    hidden = policies.hidden_schedule(db, page.user, call)
    raw = page.request.query_params.get("week", "")
    # a week outside the calendar's years is no week, as an unreadable one
    monday: dt.date | None = calendar_date(raw) if raw else None
    if monday is None:
        first = db.scalar(
            select(func.min(ScheduleEntry.start)).where(
                ScheduleEntry.call_id == call.id, ScheduleEntry.proposal_id.not_in(sorted(hidden))
            )
        )
        monday = first.date() if first is not None else None
    grid: list[dict[str, Any]] = []
    if monday is not None and call.facility.kind == "telescope":
        monday = monday - dt.timedelta(days=monday.weekday())
        week = [e for e in services.week(db, call, monday) if e.proposal_id not in hidden]
        grid = week_grid(week, monday)
    # one page of the entries read, by start (unplaced last), as services.entries
    stmt = (
        select(ScheduleEntry)
        .where(ScheduleEntry.call_id == call.id, ScheduleEntry.proposal_id.not_in(sorted(hidden)))
        .order_by(*services.ENTRY_ORDER)
    )
    shown, pager = paginate_query(db, stmt, page.request.query_params, PER_PAGE, "#entries")
    # booked items that an unavailable period recorded since (an outage) now covers
    reschedule = {
        k: page._(why) if why == ss.CHANGEOVER_BROKEN else why
        for k, why in ss.needs_rescheduling(db, call, hidden=hidden).items()
    }
    to_reschedule = (
        list(
            db.scalars(
                select(ScheduleEntry)
                .where(ScheduleEntry.id.in_(reschedule))
                .order_by(ScheduleEntry.start, ScheduleEntry.id)
            )
        )
        if reschedule
        else []
    )
    # awarded after the schedule was made (an offer after a decline): no entry yet
    waiting = queries.not_scheduled(db, call, hidden=hidden)
    named = {e.proposal_id for e in [*shown, *to_reschedule]} | set(waiting)
    proposals = db.scalars(
        select(Proposal)
        .where(
            Proposal.call_id == call.id,
            Proposal.status.in_(rq.REVIEWABLE),
            Proposal.id.in_(named),
        )
        .order_by(Proposal.id)
    )
    rows = proposal_rows(page, call, list(proposals))
    return page.render(
        "scheduling/schedule.html",
        {
            "call": call,
            "entries": shown,
            # the site's time zone of each resource that has one (times shown beside UTC)
            "zones": {cp.pool_id: cp.pool.time_zone for cp in call.pools if cp.pool.time_zone},
            # each resource's unit and words: an entry's amount is said with its unit
            "pools": {cp.pool_id: cp.pool for cp in call.pools},
            **unit_labels(page),
            "reschedule": reschedule,
            "to_reschedule": to_reschedule,
            "not_scheduled": waiting,
            "pager": pager,
            "rows": rows,
            "grid": grid,
            "monday": monday,
            "prev": (monday - dt.timedelta(days=7)).isoformat() if monday else "",
            "next": (monday + dt.timedelta(days=7)).isoformat() if monday else "",
            "day_names": [page._(d) for d in DAYS],
            "run": rq.latest_run(db, call, "schedule"),
            # which step the schedule waits for, when the call has no entry at all
            "why_unscheduled": page.t.error(why)
            if (why := queries.why_unscheduled(db, call))
            else "",
            "may_publish": policies.may_publish(db, page.user, call),
            "withheld_schedule": bool(hidden),
            "explain": lambda e: presenters.explanation(page.t, e.details or {}),
            "entry_label": lambda e: presenters.label(page.t, e),
            **labels(page),
        },
    )


@router.post("/manage/calls/{slug}/publish", response_class=HTMLResponse)
def publish(slug: str, page: Page = Depends(get_page)) -> Response:
    call = signed_in_call(page, slug, policies.may_publish)
    if not page.confirmed:
        return page.render(
            "manage/message.html",
            {
                "message": page._(MSG_CONFIRM),
                "back": f"/manage/calls/{slug}/schedule",
            },
            status=400,
        )
    with page.attempt() as refused:
        services.publish(page.db, call, actor_id=page.user.id)
    if refused:
        return page.render(
            "manage/message.html",
            {"message": refused.message, "back": f"/manage/calls/{slug}/schedule"},
            status=400,
        )
    # back to the call's cockpit in Manage (which links to the public page), not outside it
    return page.redirect(f"/manage/calls/{call.slug}", "published")


SERVICE_MESSAGES = (
    N_("Release the decisions before publishing the call."),
    N_("There are no awards to schedule; run the allocation first."),
)
