"""Scheduling for slot-based resources (``CapacityPool.slot_hours`` set): each award's slots
are placed into the resource's calendar by ``opencall.optim.slots`` (unavailable periods,
the applicant's impossible dates, all-or-nothing bundles kept together when asked), stored
as one ``ScheduleEntry`` of kind ``slot`` per slot, and exported as iCalendar."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, delete, func, or_, select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.allocation.models import Award
from opencall.allocation.presenters import say
from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.facilities import domain as fac_domain
from opencall.facilities import services as fac_services
from opencall.facilities.models import CapacityPool, PoolUnavailability
from opencall.facilities.services import ScheduleClash
from opencall.people.models import User
from opencall.proposals.models import Proposal, Request
from opencall.reviews.queries import REVIEWABLE
from opencall.runs import Progress, Solve, SolverRun, no_progress, record_run
from opencall.scheduling import policies, queries
from opencall.scheduling.domain import explanation_details
from opencall.scheduling.models import ScheduleEntry
from opencall.scheduling.queries import awards_by_request, by_id
from opencall.web.i18n import N_, Translator
from opencall.web.mail import mail_text, queue_mail

log = logging.getLogger(__name__)

SLOT_KIND = "slot"
PERIOD_KIND = "period"
#: the schedule entry of an award on a resource without a calendar (a mail-in service
#: counted in samples): no dates, and this says why
NO_CALENDAR = "no dates: the resource has no calendar"


def require_awards(session: Session, call: Call) -> dict[int, list[Award]]:
    """The call's awards by request (:func:`awards_by_request`); refused when there are
    none to schedule."""
    missing = queries.awards_missing(session, call)  # not run, or it awarded nothing
    if missing is not None:
        raise missing
    return awards_by_request(session, call)


def check_problem(problem: Any) -> None:
    """A scheduling problem the solver can take (its ``validate`` passes), or the
    refusal naming what is wrong."""
    try:
        problem.validate()
    except ValueError as exc:
        raise DomainError("The scheduling problem is invalid: %(error)s", error=exc) from exc


def replace_schedule(
    session: Session,
    call: Call,
    solve: Solve,
    *,
    errors: list[str],
    plan: str | None = None,
    keep: Collection[int] = (),
    **run: Any,
) -> SolverRun:
    """What every schedule (telescope, slots) and logistics plan (cruise, courses,
    shipments; ``plan`` names it) shares once solved: refuse a result that fails its check
    (``errors``; nothing changes), else drop the call's old entries (but those in ``keep``,
    slots already begun) and record the run (``run``: the ``record_run`` fields)."""
    if errors:
        problems = "; ".join(errors[:5])
        if plan is None:
            raise DomainError("The schedule failed its check: %(errors)s", errors=problems)
        raise DomainError(
            "The %(what)s plan failed its check: %(errors)s", what=plan, errors=problems
        )
    stale = delete(ScheduleEntry).where(ScheduleEntry.call_id == call.id)
    if keep:
        stale = stale.where(ScheduleEntry.id.not_in(list(keep)))
    session.execute(stale)
    return record_run(session, call, "schedule", solve, **run)


def is_slot_based(pool: CapacityPool) -> bool:
    return pool.slot_hours is not None and pool.slot_hours > 0


def awarded_slot_pools(session: Session, call: Call) -> bool:
    """Whether any awarded resource of the call is slot-based."""
    ids = set(session.scalars(select(Award.pool_id).where(Award.call_id == call.id)))
    return any(cp.pool_id in ids and is_slot_based(cp.pool) for cp in call.pools)


def period_bounds(pool: CapacityPool) -> tuple[dt.datetime, dt.datetime]:
    """``[period_start, period_end + 1 day)``, each day beginning at the resource's
    ``day_start_hour`` on its site's wall clock (``time_zone``; UTC without one; the
    period is inclusive; ``facilities.domain.period_bounds``)."""
    lo, hi = fac_domain.period_bounds(
        pool.period_start, pool.period_end, pool.day_start_hour, pool.time_zone or ""
    )
    if lo is None or hi is None:
        raise DomainError(
            "The resource %(name)s has no calendar period; set its period start and end.",
            field="period_start",
            name=pool.name,
        )
    return lo, hi


def lead_span(
    pool: CapacityPool, details: Mapping[str, Any], proposal: Proposal, now: dt.datetime
) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    """The span of ``pool``'s period a request of ``proposal`` cannot be booked in under
    the resource's rules by country (``lead_days`` of the PI's country, or of the
    destination its ``country_field`` names): from the period's first instant to ``now``
    plus the lead time; none without a lead time or when it ends before the period."""
    if not pool.country_rules:
        return ()  # no rules: no lead time (and no read of the PI)
    iso3 = proposal.pi_member.country_iso3 if proposal.pi_member else None
    country, _shipped = fac_domain.rules_country(pool.country_rules, details, iso3)
    _barred, lead = fac_domain.country_rule(pool.country_rules, country)
    lo, _hi = period_bounds(pool)
    floor = now + dt.timedelta(days=lead)
    return ((lo, floor),) if lead and floor > lo else ()


def resource_of(
    pool: CapacityPool,
    taken: Sequence[tuple[dt.datetime, dt.datetime, str]] = (),
    now: dt.datetime | None = None,
    booked: Sequence[tuple[dt.datetime, dt.datetime, str]] = (),
) -> Any:
    """The resource's calendar for ``optim.slots``: its unavailable periods, ``taken``
    (the slots other calls have booked, :func:`booked_by_other_calls`) and, given ``now``,
    the slots begun by then: never booked (a rapid-access call decided in the middle of
    the period, a call scheduled again after an outage); its changeover, kept also next
    to ``booked`` (slots booked outside the schedule being made, by proposal id:
    :func:`owned_bookings`)."""
    from opencall.optim import slots as sl

    w0, w1 = period_bounds(pool)
    assert pool.slot_hours is not None
    return sl.Resource(
        id=str(pool.id),
        start=w0,
        end=w1,
        slot_hours=float(pool.slot_hours),
        unavailable=tuple((u.starts_at, u.ends_at, u.reason) for u in pool.unavailable)
        + tuple(taken),
        not_before=now,
        time_zone=pool.time_zone or "",
        changeover=pool.changeover_slots or 0,
        booked=tuple(booked),
        # a shared-use resource's slot holds several groups (a sample changer's 4 a shift)
        groups_per_slot=pool.groups_per_slot or 1,
        # an item of several out of service closes its share of the places (trialop20b),
        # counted once, by facilities (mend21)
        fewer=fac_services.closed_places(pool),
        # the local time the slots count from (the period may start at a skipped time)
        wall_start=fac_domain.period_wall_start(pool.period_start, pool.day_start_hour)
        if pool.period_start is not None
        else None,
    )


def calendar_for(
    session: Session,
    call: Call,
    pool: CapacityPool,
    kept: Collection[ScheduleEntry],
    ahead: Sequence[tuple[dt.datetime, dt.datetime, str]],
    now: dt.datetime,
) -> Any:
    """The calendar ``call``'s schedule places its awards of ``pool`` in: the slots other
    calls have booked and the call's ``kept`` slots still ``ahead`` are taken. On a shared
    resource (``groups_per_slot`` above 1) each such booking takes one place of its slot,
    not the whole slot: a slot of 4 places, 1 booked by another call, offers 3 (as the
    allocation counts places), and is closed only once all 4 are booked."""
    theirs = booked_by_other_calls(session, call, pool, now)
    if (pool.groups_per_slot or 1) > 1:
        return resource_of(pool, (), now, [*theirs, *ahead])
    # the instrument in use on another resource of its exclusive group (trialfac21b)
    in_use = instrument_in_use(session, call, pool, kept)
    return resource_of(
        pool, theirs + list(ahead) + in_use, now, owned_bookings(session, call, pool, kept, now)
    )


#: the reason of a slot whose instrument another resource of its group uses then
INSTRUMENT_IN_USE = "the shared instrument is booked on another resource"


def instrument_in_use(
    session: Session, call: Call, pool: CapacityPool, kept: Collection[ScheduleEntry]
) -> list[tuple[dt.datetime, dt.datetime, str]]:
    """The times the other resources of ``pool``'s exclusive group (``exclusive_group``:
    one instrument, at most one resource in use at once) are booked outside the schedule
    ``call`` is making: other calls' slots and the call's ``kept`` ones. The call's own
    awards on them are placed with it (``SlotProblem.exclusive``)."""
    others = [p.id for p in fac_services.instrument_siblings(session, pool)]
    if not others:
        return []
    rows = session.execute(
        select(ScheduleEntry.start, ScheduleEntry.end).where(
            ScheduleEntry.pool_id.in_(others),
            ScheduleEntry.call_id != call.id,
            ScheduleEntry.start.is_not(None),
            ScheduleEntry.end.is_not(None),
        )
    )
    mine = [(e.start, e.end) for e in kept if e.pool_id in others]
    return [
        (t0, t1, INSTRUMENT_IN_USE)
        for t0, t1 in [*rows, *mine]
        if t0 is not None and t1 is not None
    ]


def exclusive_groups(pools: Collection[CapacityPool]) -> tuple[tuple[str, ...], ...]:
    """The exclusive groups among ``pools`` (the resources of one schedule), as
    ``SlotProblem.exclusive`` names them: two resources or more of one facility's group."""
    by_group: dict[tuple[int, str], list[str]] = defaultdict(list)
    for p in pools:
        if p.exclusive_group and (p.groups_per_slot or 1) == 1:
            by_group[(p.facility_id, p.exclusive_group)].append(str(p.id))
    return tuple(tuple(sorted(ids)) for _k, ids in sorted(by_group.items()) if len(ids) > 1)


def owned_bookings(
    session: Session,
    call: Call,
    pool: CapacityPool,
    kept: Collection[ScheduleEntry],
    now: dt.datetime | None = None,
) -> list[tuple[dt.datetime, dt.datetime, str]]:
    """The slots of ``pool`` booked outside the schedule ``call`` is making, with whose
    they are: other calls' slots ("another call") and the call's own ``kept`` slots
    (begun; their proposal's id, as the awards name it). The changeover is kept next to
    them; none when the resource has no changeover."""
    if not pool.changeover_slots:
        return []
    # another call's proposal is none of this call's: one owner for them all, so that the
    # run's stored inputs name none of them
    theirs = [
        (t0, t1, "another call") for t0, t1, _ in booked_by_other_calls(session, call, pool, now)
    ]
    mine = [
        (e.start, e.end, str(e.proposal_id))
        for e in kept
        if e.pool_id == pool.id and e.start is not None and e.end is not None
    ]
    return theirs + mine


def booked_by_other_calls(
    session: Session, call: Call, pool: CapacityPool, now: dt.datetime | None = None
) -> list[tuple[dt.datetime, dt.datetime, str]]:
    """The slots of ``pool`` that other calls sharing it have booked: not free for
    ``call``'s schedule (two calls never book the same session). Given ``now``, an urgent
    call's (:func:`preempts`) are only those begun by then or booked by other urgent
    calls: the rest it may take (:func:`preempt_bookings`)."""
    rows = session.execute(
        select(ScheduleEntry.start, ScheduleEntry.end, ScheduleEntry.call_id).where(
            ScheduleEntry.pool_id == pool.id,
            ScheduleEntry.call_id != call.id,
            ScheduleEntry.kind != PERIOD_KIND,
            ScheduleEntry.start.is_not(None),
            ScheduleEntry.end.is_not(None),
        )
    ).all()
    urgent = preempting_calls(session, {r.call_id for r in rows}) if preempts(call) else set()
    return [
        (start, end, "booked by another call")
        for start, end, call_id in rows
        if start is not None
        and end is not None
        and (now is None or not preempts(call) or start < now or call_id in urgent)
    ]


def preempts(call: Call) -> bool:
    """Whether ``call``'s published policy makes it urgent: its schedule may take the
    slots other calls booked that have not begun (``AllocationPolicyDoc.preempts``)."""
    return bool((call.allocation_policy or {}).get("preempts"))


def preempting_calls(session: Session, call_ids: Collection[int]) -> set[int]:
    """The urgent calls among ``call_ids``: one urgent call never takes another's slots."""
    if not call_ids:
        return set()
    rows = session.execute(select(Call.id, Call.allocation_policy).where(Call.id.in_(call_ids)))
    return {cid for cid, policy in rows if (policy or {}).get("preempts")}


def begun_by_call(session: Session, pool_id: int, now: dt.datetime) -> dict[int, int]:
    """How many slots of the resource ``pool_id`` each call has booked that have begun by
    ``now``: used (or under way), so no longer held ahead (``calls.services.slots_left``)."""
    rows = session.execute(
        select(ScheduleEntry.call_id, func.count())
        .where(
            ScheduleEntry.pool_id == pool_id,
            ScheduleEntry.kind == SLOT_KIND,
            ScheduleEntry.start.is_not(None),
            ScheduleEntry.start < now,
        )
        .group_by(ScheduleEntry.call_id)
    )
    return {cid: int(n) for cid, n in rows}


if begun_by_call not in call_services.BEGUN_COUNTERS:
    call_services.BEGUN_COUNTERS.append(begun_by_call)


#: later than any slot (``kept_slots(every_booked=True)``)
UNPLACED_AFTER = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


def kept_slots(
    session: Session,
    call: Call,
    awards_by_req: dict[int, list[Award]],
    now: dt.datetime,
    *,
    every_booked: bool = False,
) -> dict[int, list[ScheduleEntry]]:
    """The call's booked slots that have already begun, by request: a schedule made again
    keeps them as they are (they were used, or are being used) and places only the rest
    of each award. A begun slot inside an unavailable period of its resource (the beam
    lost during the shift) is not kept: the award gets it again, in the future.
    ``every_booked``: every booked slot is kept, begun or not (an award offered after a
    decline placed around the others, ``services.book_offered``)."""
    from opencall.optim import slots as sl

    out: dict[int, list[ScheduleEntry]] = defaultdict(list)
    pools = {cp.pool_id: cp.pool for cp in call.pools}
    rows = session.scalars(
        select(ScheduleEntry)
        .where(
            ScheduleEntry.call_id == call.id,
            ScheduleEntry.kind == SLOT_KIND,
            ScheduleEntry.start.is_not(None),
            ScheduleEntry.start < (UNPLACED_AFTER if every_booked else now),
        )
        .order_by(ScheduleEntry.start, ScheduleEntry.id)
    )
    outages: dict[int, Any] = {}  # pool id: its unavailable periods, sorted once
    for e in rows:
        req_id = e.details.get("request_id")
        if not isinstance(req_id, int) or req_id not in awards_by_req:
            continue  # no longer awarded: not kept
        aw = awards_by_req[req_id]
        if e.pool_id != aw[0].pool_id:
            continue  # no longer awarded there: not kept
        pool, t0, t1 = pools.get(e.pool_id), e.start, e.end
        if pool is None or t0 is None or t1 is None:
            continue
        if pool.id not in outages:
            outages[pool.id] = sl.PeriodIndex((u.starts_at, u.ends_at) for u in pool.unavailable)
        if outages[pool.id].overlaps(t0, t1):
            continue  # lost to an outage recorded since: placed again
        if len(out[req_id]) < int(round(sum(a.amount for a in aw))):
            out[req_id].append(e)
    return out


def schedule_slots(
    session: Session,
    call: Call,
    solve: Solve,
    *,
    progress: Progress = no_progress,
    time_limit_s: float = 60.0,
    now: dt.datetime | None = None,
    keep_booked: bool = False,
) -> SolverRun:
    """Place the awards of the call's slot-based resources into slots and store them.

    Only slots that begin at or after ``now`` (the time of the run) are booked; the call's
    slots that have already begun are kept and count towards their awards (``keep_booked``:
    every slot booked, begun or not, is kept, and taken from the others). Awards on
    resources that are not slot-based get one entry spanning the resource's period (or no
    dates when it has none). Replaces the rest of the call's previous schedule.
    """
    from opencall.optim import slots as sl

    now = now or utcnow()
    pools = {cp.pool_id: cp.pool for cp in call.pools}
    awards_by_req = require_awards(session, call)
    reqs = by_id(session, Request, awards_by_req)
    props = by_id(session, Proposal, {r.proposal_id for r in reqs.values()})
    merit = queries.merit(session, call)
    used_pools = {aw[0].pool_id for aw in awards_by_req.values()}
    kept = kept_slots(session, call, awards_by_req, now, every_booked=keep_booked)
    kept_rows = [e for rows in kept.values() for e in rows]
    # kept slots not yet begun are nobody else's (begun ones are before ``now`` anyway)
    ahead: dict[int, list[tuple[dt.datetime, dt.datetime, str]]] = defaultdict(list)
    for e in kept_rows:
        if e.pool_id is not None and e.start is not None and e.end is not None and e.start >= now:
            ahead[e.pool_id].append((e.start, e.end, "booked"))
    resources = tuple(
        calendar_for(session, call, pools[pid], kept_rows, ahead[pid], now)
        for pid in sorted(used_pools)
        if is_slot_based(pools[pid])
    )
    slot_awards: list[Any] = []
    other: list[tuple[Request, list[Award]]] = []
    # a bundle is kept together when any of its requests asks for it
    together: dict[tuple[int, str], bool] = defaultdict(bool)
    same_time: dict[tuple[int, str], bool] = defaultdict(bool)
    for req in reqs.values():
        if req.bundle:
            together[(req.proposal_id, req.bundle)] |= bool(req.details.get("bundle_together"))
            same_time[(req.proposal_id, req.bundle)] |= bool(req.details.get("bundle_same_time"))
    for req_id, aw in sorted(awards_by_req.items()):
        req = reqs[req_id]
        pool = pools.get(aw[0].pool_id)
        if pool is None or not is_slot_based(pool):
            other.append((req, aw))
            continue
        n = int(round(sum(a.amount for a in aw))) - len(kept.get(req_id, []))
        if n < 1:
            continue
        try:
            # the applicant's impossible days are days of the resource's site
            impossible = sl.date_ranges(
                req.details.get("impossible_dates") or [], pool.time_zone or ""
            )
        except (TypeError, ValueError) as exc:
            raise DomainError(
                "Request %(id)s has malformed impossible dates: %(why)s",
                field="impossible_dates",
                id=req.id,
                why=exc,
            ) from exc
        # the lead time of the team's country (or the shipment's destination): none of
        # its slots before it (trialfac22: the allocation counts the slots after it)
        impossible = (*impossible, *lead_span(pool, req.details, props[req.proposal_id], now))
        slot_awards.append(
            sl.SlotAward(
                id=str(req.id),
                resource=str(pool.id),
                slots=n,
                proposal=str(req.proposal_id),
                impossible=impossible,
                bundle=req.bundle or None,
                together=together[(req.proposal_id, req.bundle)] if req.bundle else False,
                same_time=same_time[(req.proposal_id, req.bundle)] if req.bundle else False,
                weight=merit.get(req.proposal_id, 1.0),
                unbroken=bool(pool.unbroken),
            )
        )
    slot_pools = [pools[pid] for pid in sorted(used_pools) if is_slot_based(pools[pid])]
    problem = sl.SlotProblem(
        resources=resources, awards=tuple(slot_awards), exclusive=exclusive_groups(slot_pools)
    )
    check_problem(problem)
    progress(20, f"placing {sum(a.slots for a in slot_awards)} slots of {len(slot_awards)} awards")
    res = sl.solve_slots(problem, time_limit_s=time_limit_s, seed=solve.seed)
    run = replace_schedule(
        session,
        call,
        solve,
        errors=res.check(problem),
        keep=[e.id for begun_rows in kept.values() for e in begun_rows],
        inputs={
            "resources": [r.__dict__ for r in resources],
            "awards": [a.__dict__ for a in slot_awards],
            "exclusive": [list(g) for g in problem.exclusive],
        },
        parameters={"time_limit_s": time_limit_s},
        objective=res.value,
        summary={
            "method": res.method,
            "stages": res.stages,
            "placed": len(res.starts),
            "span_hours": res.span_hours,
            "runs": res.runs,
            "unscheduled": {k: u.reason for k, u in res.unplaced.items()},
            "kept_begun": sum(len(rows) for rows in kept.values()),
        },
    )
    for req_id, begun_rows in kept.items():  # kept as booked, under this run and award
        for e in begun_rows:
            e.award_id, e.run_id = awards_by_req[req_id][0].id, run.id
    slot_ends = {r.id: {g.start: g.end for g in sl.slot_grid(r)} for r in resources}
    for sa in slot_awards:
        req = reqs[int(sa.id)]
        aw = awards_by_req[req.id]
        pool = pools[aw[0].pool_id]
        code = props[req.proposal_id].code
        # each slot ends where the grid says: on the night a site's clocks change, a
        # local 00:00-08:00 shift lasts 7 or 9 hours
        ends = slot_ends[str(pool.id)]
        base = {"request_id": req.id, "bundle": req.bundle}
        # each placed slot is one entry; an unplaced request is one entry without times
        rows: list[tuple[dt.datetime | None, dt.datetime | None, float, dict[str, Any]]]
        done = len(kept.get(req.id, []))
        if sa.id in res.starts:
            rows = [
                (t, ends[t], 1.0, {**base, "index": done + i + 1, "of": done + sa.slots})
                for i, t in enumerate(res.starts[sa.id])
            ]
        else:
            u = res.unplaced[sa.id]
            rows = [(None, None, 0.0, {**base, "unscheduled": u.reason, **explanation_details(u)})]
        for start, end, amount, details in rows:
            session.add(
                ScheduleEntry(
                    call_id=call.id,
                    proposal_id=req.proposal_id,
                    award_id=aw[0].id,
                    pool_id=pool.id,
                    kind=SLOT_KIND,
                    label=f"{code} · {pool.name}",
                    start=start,
                    end=end,
                    amount=amount,
                    details=details,
                    run_id=run.id,
                )
            )
    for req, aw in other:
        pool = pools.get(aw[0].pool_id)
        bounds = period_bounds(pool) if pool and pool.period_start and pool.period_end else None
        session.add(
            ScheduleEntry(
                call_id=call.id,
                proposal_id=req.proposal_id,
                award_id=aw[0].id,
                pool_id=aw[0].pool_id,
                kind=PERIOD_KIND,
                label=f"{props[req.proposal_id].code} · {pool.name if pool else ''}",
                start=bounds[0] if bounds else None,
                end=bounds[1] if bounds else None,
                amount=float(sum(a.amount for a in aw)),
                details={
                    "request_id": req.id,
                    "explanation": "the whole period" if bounds else NO_CALENDAR,
                },
                run_id=run.id,
            )
        )
    session.flush()
    if preempts(call):
        preempt_bookings(session, call, solve, now)
    progress(100, "schedule done")
    return run


#: the reason of a booked slot an urgent call took (``details["unscheduled"]`` of an
#: entry not placed again; its words: ``slot_views.REASONS``)
PREEMPTED = "preempted"
PREEMPTED_MOVED = N_(
    "moved: its slot of %(was)s was taken by the urgent call %(call)s, which may pre-empt "
    "bookings not yet begun"
)
PREEMPTED_LOST = N_(
    "not placed again: its slot of %(was)s was taken by the urgent call %(call)s, which may "
    "pre-empt bookings not yet begun, and no slot within its dates is free"
)


def _preempted_details(
    details: Mapping[str, Any], taken: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """An entry's ``details`` once an urgent call took the slots ``taken`` describes (one
    for an entry placed again; all those of its request not placed again for an unplaced
    entry, whose reason becomes :data:`PREEMPTED`), said in any language."""
    placed = "unscheduled" not in details
    template = PREEMPTED_MOVED if placed else PREEMPTED_LOST
    was = ", ".join(t["start"][:16].replace("T", " ") + " UTC" for t in taken)
    params = {"was": was, "call": taken[0]["call"]}
    out = {**details, "preempted": [dict(t) for t in taken], "explanation": template % params}
    out.update({"detail_msg": template, "detail_params": params})
    if not placed:
        out["unscheduled"] = PREEMPTED
    return out


def preempt_bookings(
    session: Session, call: Call, solve: Solve, now: dt.datetime
) -> list[ScheduleEntry]:
    """Free the places the urgent ``call``'s new slots need (its schedule was made as if
    the other calls' bookings not yet begun were not there, :func:`booked_by_other_calls`):
    in each slot of its holding more bookings than the resource's places, the other
    non-urgent calls' bookings give way, the lowest in their own call's ranking first
    (then the latest booked). Each is audited (``schedule.preempted``) and placed again
    by its own call's schedule around everything booked (``keep_booked``: nobody else
    moves), inside its dates; one that finds no free slot stays unplaced with the reason
    :data:`PREEMPTED`. The team of each moved booking is mailed. The entries moved."""
    mine = [
        e
        for e in session.scalars(
            select(ScheduleEntry).where(
                ScheduleEntry.call_id == call.id,
                ScheduleEntry.kind == SLOT_KIND,
                ScheduleEntry.start >= now,
            )
        )
        if e.start is not None and e.end is not None and e.pool_id is not None
    ]
    moved: list[ScheduleEntry] = []
    merits: dict[int, dict[int, float]] = {}
    urgent_ids: set[int] = set()
    for pool_id in sorted({e.pool_id for e in mine if e.pool_id is not None}):
        pool = session.get(CapacityPool, pool_id)
        places = (pool.groups_per_slot or 1) if pool is not None else 1
        others = list(
            session.scalars(
                select(ScheduleEntry)
                .where(
                    ScheduleEntry.pool_id == pool_id,
                    ScheduleEntry.call_id != call.id,
                    ScheduleEntry.kind == SLOT_KIND,
                    ScheduleEntry.start >= now,
                )
                .order_by(ScheduleEntry.id)
            )
        )
        urgent_ids |= preempting_calls(session, {e.call_id for e in others})
        by_slot: dict[tuple[dt.datetime, dt.datetime], int] = defaultdict(int)
        for e in mine:
            if e.pool_id == pool_id and e.start is not None and e.end is not None:
                by_slot[(e.start, e.end)] += 1
        for (t0, t1), n in sorted(by_slot.items()):
            there = [o for o in others if o.start is not None and o.end is not None
                     and o.start < t1 and t0 < o.end and o not in moved]  # fmt: skip
            excess = n + len(there) - places
            if excess <= 0:
                continue
            for o in there:
                if o.call_id not in merits and o.call_id not in urgent_ids:
                    merits[o.call_id] = queries.merit(session, session.get_one(Call, o.call_id))
            yielding = sorted(
                (o for o in there if o.call_id not in urgent_ids),
                key=lambda o: (merits[o.call_id].get(o.proposal_id, 1.0), -o.id),
            )
            moved.extend(yielding[:excess])
    if not moved:
        return []
    taken: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for e in moved:
        assert e.start is not None and e.end is not None
        was = {"start": e.start.isoformat(), "end": e.end.isoformat(), "call": call.title,
               "call_id": call.id}  # fmt: skip
        taken[(e.call_id, int(e.details.get("request_id") or 0))].append(was)
        auditlog.record(session, "schedule.preempted", "proposal", e.proposal_id,
                        actor_id=solve.actor_id, call_id=e.call_id,
                        data={"start": was["start"], "by_call": call.id})  # fmt: skip
        e.start, e.end, e.amount = None, None, 0.0
        e.details = {**e.details, "unscheduled": PREEMPTED}
    session.flush()
    out: list[ScheduleEntry] = []
    for other_id in sorted({cid for cid, _req in taken}):
        other = session.get_one(Call, other_id)
        before = set(
            session.scalars(select(ScheduleEntry.id).where(ScheduleEntry.call_id == other_id))
        )
        try:
            with session.begin_nested():  # placed again around every booking; or left out
                schedule_slots(session, other, Solve(solve.seed, solve.actor_id), now=now,
                               keep_booked=True)  # fmt: skip
        except DomainError:
            log.warning("bookings of call %s taken by call %s not placed again", other_id, call.id)
        rows = session.scalars(
            select(ScheduleEntry)
            .where(ScheduleEntry.call_id == other_id, ScheduleEntry.kind == SLOT_KIND)
            .order_by(ScheduleEntry.id)
        )
        for e in rows:
            left = taken.get((other_id, int(e.details.get("request_id") or 0)))
            if left and (e.id not in before or e.details.get("unscheduled") == PREEMPTED):
                # a slot placed again is one of those taken; the request's one unplaced
                # entry stands for all those left
                lost = [left.pop(0)] if e.start is not None else left[:]
                if e.start is None:
                    left.clear()
                e.details = _preempted_details(e.details, lost)
                out.append(e)
    session.flush()
    mail_preempted(session, out)
    return out


#: the stand-in site address of the links of :func:`mail_preempted`
MAIL_SITE = "https://opencall.invalid"
SUBJECT_PREEMPTED = N_("A booking of your proposal %(code)s was taken by an urgent call")


def mail_preempted(session: Session, moved: Sequence[ScheduleEntry]) -> None:
    """Tell each accepted member of the teams whose bookings an urgent call took, in their
    language, where each now is (or that it is not placed again) and why; the urgent
    call's title only, never its proposals nor who asked."""
    by_proposal: dict[int, list[ScheduleEntry]] = defaultdict(list)
    for e in moved:
        by_proposal[e.proposal_id].append(e)
    for pid, rows in sorted(by_proposal.items()):
        p = session.get(Proposal, pid)
        if p is None:
            continue
        for m in p.members:
            if m.status != "accepted":
                continue
            user = session.get(User, m.user_id) if m.user_id else None
            lang = user.language if user else "en"
            t = Translator(lang)
            lines = [say(t, {"msg": e.details["detail_msg"], "params": e.details["detail_params"]})
                     for e in rows]  # fmt: skip
            body = mail_text("scheduling/mail_preempted.txt", lang, {
                "name": m.name, "code": p.code, "title": p.title, "lines": lines,
                "link": f"{MAIL_SITE}/proposals/{p.id}/slots"})  # fmt: skip
            subject = t.plain(SUBJECT_PREEMPTED, code=p.code)
            # the link is written with a stand-in address the sender replaces with the
            # site's (``web.mail.relinked``): a schedule step runs without a request
            queue_mail(session, m.email, subject, body, base_url=MAIL_SITE)


# ------------------------------------------------------------------------------ calendars


@dataclass(frozen=True)
class CalendarRow:
    start: dt.datetime
    end: dt.datetime
    entry: ScheduleEntry | None
    unavailable: str  # the reason, "" when the slot is usable
    other_call: bool = False  # booked by another call sharing the resource (nothing more said)
    #: the item whose loss made the slot unavailable (its reason said in the reader's
    #: language, ``facilities.labels.unavailable_reason``), "" for none
    lost_item: str = ""
    #: the other resource of its exclusive group booked at an overlapping time (the one
    #: instrument in use there, trialfac21b; any call, nothing of it said), "" none
    instrument: str = ""


def instrument_busy(
    session: Session, pool: CapacityPool
) -> list[tuple[dt.datetime, dt.datetime, str]]:
    """The booked slots of the other resources of ``pool``'s exclusive group, in any call,
    with their resource's name: the times ``pool``'s instrument is in use elsewhere."""
    names = {p.id: p.name for p in fac_services.instrument_siblings(session, pool)}
    if not names:
        return []
    rows = session.execute(
        select(ScheduleEntry.start, ScheduleEntry.end, ScheduleEntry.pool_id)
        .where(
            ScheduleEntry.pool_id.in_(names),
            ScheduleEntry.start.is_not(None),
            ScheduleEntry.end.is_not(None),
        )
        .order_by(ScheduleEntry.start)
    )
    return [
        (t0, t1, names[pid])
        for t0, t1, pid in rows
        if t0 is not None and t1 is not None and pid is not None
    ]


def calendar(
    session: Session, call: Call, pool: CapacityPool, *, hidden: Collection[int] = ()
) -> list[CalendarRow]:
    """Every slot of the resource's period (a row per booking of a shared slot): who has it, whether another call sharing the
    resource booked it (:func:`booked_by_other_calls`: taken, but nothing of that call is
    said), or why it is unavailable. The slots of the proposals ``hidden`` from the
    reader (:func:`opencall.scheduling.policies.hidden_schedule`) are left out (shown as
    any slot nobody of the call has)."""
    from opencall.optim import slots as sl

    grid = sl.slot_grid(resource_of(pool))
    # the other calls' bookings sorted once: whether one overlaps a slot is a bisection,
    # not a scan per slot
    theirs = sl.PeriodIndex((t0, t1) for t0, t1, _why in booked_by_other_calls(session, call, pool))
    # a shared slot (``groups_per_slot`` above 1) holds several bookings: a row each, in
    # the order they were stored (a dict by start kept only the last one)
    placed: dict[dt.datetime, list[ScheduleEntry]] = {}
    for e in _slot_entries(session, call, pool, hidden, placed=True):
        if e.start is not None:
            placed.setdefault(e.start, []).append(e)
    lost = [(u.starts_at, u.ends_at, u.lost_item) for u in pool.unavailable if u.lost_item]
    elsewhere = instrument_busy(session, pool)
    in_use = sl.PeriodIndex((t0, t1) for t0, t1, _name in elsewhere)
    return [
        CalendarRow(
            s.start,
            s.end,
            entry,
            s.reason,
            other_call=theirs.overlaps(s.start, s.end),
            lost_item=next((i for t0, t1, i in lost if t0 < s.end and s.start < t1), "")
            if s.reason and lost
            else "",
            instrument=next(n for t0, t1, n in elsewhere if t0 < s.end and s.start < t1)
            if elsewhere and in_use.overlaps(s.start, s.end)
            else "",
        )
        for s in grid
        for entry in _or_none(placed.get(s.start, []))
    ]


def _or_none(entries: list[ScheduleEntry]) -> list[ScheduleEntry | None]:
    """The bookings of a slot, or one ``None`` for a slot nobody of the call has."""
    return [*entries] if entries else [None]


def proposals_on(call: Call, pool: CapacityPool) -> Select[int]:
    """The ids of the proposals with a slot request on the resource (placed or not), as
    a select: what its calendar names (:func:`calendar`, :func:`unplaced`)."""
    return select(ScheduleEntry.proposal_id).where(
        ScheduleEntry.call_id == call.id,
        ScheduleEntry.pool_id == pool.id,
        ScheduleEntry.kind == SLOT_KIND,
    )


def unplaced(
    session: Session, call: Call, pool: CapacityPool, *, hidden: Collection[int] = ()
) -> list[ScheduleEntry]:
    """The resource's requests the schedule could not place (less those ``hidden``)."""
    return _slot_entries(session, call, pool, hidden, placed=False)


def _slot_entries(
    session: Session, call: Call, pool: CapacityPool, hidden: Collection[int], *, placed: bool
) -> list[ScheduleEntry]:
    """The call's slot entries on ``pool``, placed (a start) or not, less those of the
    proposals ``hidden``, in the order they were stored."""
    return list(
        session.scalars(
            select(ScheduleEntry)
            .where(
                ScheduleEntry.call_id == call.id,
                ScheduleEntry.pool_id == pool.id,
                ScheduleEntry.kind == SLOT_KIND,
                ScheduleEntry.start.is_not(None) if placed else ScheduleEntry.start.is_(None),
                ScheduleEntry.proposal_id.not_in(list(hidden)),
            )
            .order_by(ScheduleEntry.id)
        )
    )


def places_used(
    session: Session, entries: Collection[ScheduleEntry], pools: Mapping[int, CapacityPool]
) -> dict[int, tuple[int, int]]:
    """Of each booked entry on a shared resource (``groups_per_slot`` above 1), the places
    of its slot booked (by any call: a count, never whose) and the places it has, by the
    entry's id; a team reads how full its shared slot is and nothing of the others. One
    statement, grouped by resource and start, however many entries (mend21: one COUNT an
    entry before)."""
    shared = [
        (e, pool)
        for e in entries
        if e.pool_id is not None
        and e.start is not None
        and (pool := pools.get(e.pool_id)) is not None
        and (pool.groups_per_slot or 1) > 1
    ]
    if not shared:
        return {}
    rows = session.execute(
        select(ScheduleEntry.pool_id, ScheduleEntry.start, func.count(ScheduleEntry.id))
        .where(
            ScheduleEntry.pool_id.in_(sorted({pool.id for _e, pool in shared})),
            ScheduleEntry.kind == SLOT_KIND,
            ScheduleEntry.start.in_(sorted({e.start for e, _p in shared if e.start is not None})),
        )
        .group_by(ScheduleEntry.pool_id, ScheduleEntry.start)
    )
    booked = {(pool_id, start): int(n) for pool_id, start, n in rows}
    return {e.id: (booked.get((pool.id, e.start), 0), pool.groups_per_slot) for e, pool in shared}


def proposal_slots(session: Session, proposal: Proposal) -> list[ScheduleEntry]:
    return list(
        session.scalars(
            select(ScheduleEntry)
            .where(ScheduleEntry.proposal_id == proposal.id, ScheduleEntry.kind == SLOT_KIND)
            .order_by(ScheduleEntry.start, ScheduleEntry.id)
        )
    )


def slot_uid(call: Call, pool_id: int | None, start: dt.datetime) -> str:
    """The same slot has the same UID in every export (staff, public, applicant)."""
    return f"{call.slug}-{pool_id}-{start.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}@opencall"


def entry_uid(call: Call, pool: CapacityPool, entry: ScheduleEntry) -> str:
    """A booked slot's UID in the staff's and the applicant's exports: the slot's own
    (:func:`slot_uid`), and on a shared resource that UID with the booking's id, so that
    two groups' bookings of one slot are two events (one UID made a calendar keep one)."""
    assert entry.start is not None
    uid = slot_uid(call, pool.id, entry.start)
    if (pool.groups_per_slot or 1) > 1:
        return uid.replace("@opencall", f"-{entry.id}@opencall")
    return uid


def unavailable_uid(call: Call, pool_id: int, row_id: int) -> str:
    return f"{call.slug}-{pool_id}-unavailable-{row_id}@opencall"


# ------------------------------------------------------------------ unavailable after the fact


def _clash_rows(session: Session, where: Any) -> list[tuple[ScheduleEntry, Proposal, Call]]:
    stmt = (
        select(ScheduleEntry, Proposal, Call)
        .join(Proposal, Proposal.id == ScheduleEntry.proposal_id)
        .join(Call, Call.id == ScheduleEntry.call_id)
        .where(
            ScheduleEntry.kind != PERIOD_KIND,
            ScheduleEntry.start.is_not(None),
            ScheduleEntry.end.is_not(None),
            where,
        )
        .order_by(ScheduleEntry.start, ScheduleEntry.id)
    )
    return [(e, p, c) for e, p, c in session.execute(stmt).tuples()]


def _clash(entry: ScheduleEntry, proposal: Proposal, call: Call, visible: bool) -> ScheduleClash:
    assert entry.start is not None and entry.end is not None
    shown = visible and proposal.status in REVIEWABLE
    return ScheduleClash(
        call_id=call.id if visible else 0,
        call_slug=call.slug if visible else "",
        call_title=call.title if visible else "",
        proposal_id=proposal.id if visible else 0,
        proposal_code=proposal.code if shown else "",
        award_id=entry.award_id if visible else None,
        entry_id=entry.id if visible else 0,
        starts_at=entry.start,
        ends_at=entry.end,
        visible=visible,
    )


def outage_clashes(
    session: Session,
    pool: CapacityPool,
    periods: Sequence[tuple[dt.datetime, dt.datetime]],
    viewer: Any = None,
) -> list[ScheduleClash]:
    """The booked items of the resource, in calls not archived, that overlap one of
    ``periods`` (registered in ``facilities.services.SCHEDULE_CLASH_FINDERS``). With a
    ``viewer``, an item of a call whose schedule that person may not see keeps only its
    times; a proposal's code is given only as the schedule pages give it."""
    overlap = or_(*(and_(ScheduleEntry.start < e, ScheduleEntry.end > s) for s, e in periods))
    rows = _clash_rows(
        session, and_(ScheduleEntry.pool_id == pool.id, Call.status != "archived", overlap)
    )
    return _clashes_seen_by(session, rows, viewer)


def _clashes_seen_by(
    session: Session, rows: Sequence[tuple[ScheduleEntry, Proposal, Call]], viewer: Any
) -> list[ScheduleClash]:
    """``rows`` as clashes, each call's told only to a ``viewer`` who may see its schedule."""
    seen: dict[int, bool] = {}
    out = []
    for entry, proposal, call in rows:
        if call.id not in seen:
            seen[call.id] = viewer is None or policies.may_see_schedule(session, viewer, call)
        out.append(_clash(entry, proposal, call, seen[call.id]))
    return out


if outage_clashes not in fac_services.SCHEDULE_CLASH_FINDERS:
    fac_services.SCHEDULE_CLASH_FINDERS.append(outage_clashes)


#: why a booked slot needs rescheduling when a changeover raised since no longer holds
CHANGEOVER_BROKEN = N_("closer to another proposal's booking than the changeover")


def changeover_breaks(
    session: Session, pool: CapacityPool, viewer: Any = None
) -> list[ScheduleClash]:
    """The booked slots of the resource, in calls not archived, that a slot of another
    proposal (of any call) follows or precedes within its changeover, counted on its
    grid: both slots of each such pair (registered in
    ``facilities.services.CHANGEOVER_CLASH_FINDERS``)."""
    from opencall.optim import slots as sl

    gap = pool.changeover_slots or 0
    if not gap or pool.slot_hours is None:
        return []
    rows = _clash_rows(
        session,
        and_(
            ScheduleEntry.pool_id == pool.id,
            ScheduleEntry.kind == SLOT_KIND,
            Call.status != "archived",
        ),
    )
    index = {g.start: i for i, g in enumerate(sl.slot_grid(resource_of(pool)))}
    on_grid = [(e, p, c) for e, p, c in rows if e.start in index]
    at = [index[e.start] for e, _p, _c in on_grid if e.start is not None]
    broken: set[int] = set()
    for k in range(len(on_grid) - 1):
        (e1, p1, _c1), (e2, p2, _c2) = on_grid[k], on_grid[k + 1]
        if p1.id != p2.id and at[k + 1] - at[k] <= gap:
            broken.update((e1.id, e2.id))
    return _clashes_seen_by(session, [row for row in on_grid if row[0].id in broken], viewer)


if changeover_breaks not in fac_services.CHANGEOVER_CLASH_FINDERS:
    fac_services.CHANGEOVER_CLASH_FINDERS.append(changeover_breaks)


def grid_items(session: Session, pool: CapacityPool) -> list[fac_services.GridItem]:
    """The stored schedule items placed on the resource (booked slots, whole-period
    entries) by calls not archived (registered in
    ``facilities.services.GRID_ITEM_FINDERS``)."""
    rows = session.execute(
        select(Call.code, ScheduleEntry.kind, ScheduleEntry.start, ScheduleEntry.end)
        .join(Call, Call.id == ScheduleEntry.call_id)
        .where(
            ScheduleEntry.pool_id == pool.id,
            ScheduleEntry.start.is_not(None),
            Call.status != "archived",
        )
        .order_by(ScheduleEntry.start, ScheduleEntry.id)
    )
    return [
        fac_services.GridItem(code, start, end or start, kind != PERIOD_KIND)
        for code, kind, start, end in rows.tuples()
        if start is not None
    ]


if grid_items not in fac_services.GRID_ITEM_FINDERS:
    fac_services.GRID_ITEM_FINDERS.append(grid_items)


def needs_rescheduling(
    session: Session, call: Call, *, hidden: Collection[int] = ()
) -> dict[int, str]:
    """The call's booked items that now fall in an unavailable period of their resource
    (an outage recorded after the schedule was made): entry id -> the period's reason;
    and those closer to another proposal's booking than a changeover raised since
    (:data:`CHANGEOVER_BROKEN`). Less the items of the proposals ``hidden`` from the
    reader."""
    stmt = (
        select(ScheduleEntry.id, PoolUnavailability.reason)
        .join(PoolUnavailability, PoolUnavailability.pool_id == ScheduleEntry.pool_id)
        .where(
            ScheduleEntry.call_id == call.id,
            ScheduleEntry.kind != PERIOD_KIND,
            ScheduleEntry.proposal_id.not_in(list(hidden)),
            ScheduleEntry.start < PoolUnavailability.ends_at,
            ScheduleEntry.end > PoolUnavailability.starts_at,
        )
        .order_by(ScheduleEntry.id, PoolUnavailability.starts_at)
    )
    out: dict[int, str] = {}
    for entry_id, reason in session.execute(stmt).tuples():
        out.setdefault(entry_id, reason or "")
    # and those beyond the places an item out of service leaves (trialop20b): the
    # items, as the reason
    for cp in call.pools:
        for c in fac_services.item_clashes(session, cp.pool):
            if c.call_id == call.id and c.proposal_id not in hidden:
                items = (
                    u.item
                    for u in cp.pool.item_outages
                    if u.starts_at < c.ends_at and c.starts_at < u.ends_at
                )
                out.setdefault(c.entry_id, ", ".join(sorted(set(items))))
    # and those a changeover raised since puts too close to another proposal's booking
    for cp in call.pools:
        for c in changeover_breaks(session, cp.pool):
            if c.call_id == call.id and c.proposal_id not in hidden:
                out.setdefault(c.entry_id, CHANGEOVER_BROKEN)
    return out
