"""Scheduling: turn awards into a timetable for each facility kind —
telescope blocks in visibility windows, berths and dives on legs, seats in
course sessions, demonstration packages per season, sample shipments —
each checked (nothing overdrawn, nothing outside its window) and explained."""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections import defaultdict
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.allocation import services as allocation_services
from opencall.allocation.models import Award, Decision
from opencall.calls.models import Call
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.inputs import plain_number
from opencall.proposals.models import Proposal, Request
from opencall.runs import Progress, Solve, SolverRun
from opencall.runs import no_progress as _noop
from opencall.scheduling import queries
from opencall.scheduling.domain import explanation_details, label_details, message_details
from opencall.scheduling.models import ScheduleEntry
from opencall.scheduling.queries import awards_by_request, by_id
from opencall.scheduling.slot_services import (
    awarded_slot_pools,
    check_problem,
    replace_schedule,
    require_awards,
    schedule_slots,
)

PRIORITY = {"A": 1, "B": 2, "C": 3, "": 4}
MAX_BLOCK_H = 4.0  # FAST tracks a source for 4-6 h at most (FACTS.md 1.2)
_END_OF_DAY = dt.time(23, 59)


def _awarded(session: Session, call: Call) -> list[tuple[Request, list[Award]]]:
    """Each awarded request of the call with its awards, in award order."""
    awards = awards_by_request(session, call)
    reqs = by_id(session, Request, awards)
    return [(reqs[req_id], aw) for req_id, aw in awards.items()]


def add_entry(session: Session, run: SolverRun, **fields: Any) -> None:
    """A schedule entry of ``run`` (and so of its call)."""
    session.add(ScheduleEntry(call_id=run.call_id, run_id=run.id, **fields))


def _utc(day: dt.date, at: dt.time = dt.time()) -> dt.datetime:
    return dt.datetime.combine(day, at, dt.UTC)


def _decisions(session: Session, call: Call) -> dict[int, Decision]:
    return {
        d.proposal_id: d
        for d in session.scalars(select(Decision).where(Decision.call_id == call.id))
    }


def run_schedule(
    session: Session,
    call: Call,
    *,
    start: dt.date | None = None,
    days: int = 120,
    seed: int = 0,
    actor_id: int | None = None,
    progress: Progress = _noop,
    now: dt.datetime | None = None,
    pinned: dict[str, float] | None = None,
    keep_booked: bool = False,
) -> SolverRun:
    """Schedule the call's awards. Slot-based resources book only slots that begin at or
    after ``now`` (default: the time of the run), keeping the call's slots already begun
    (``keep_booked``: every slot booked). ``pinned``: telescope blocks (by block id) kept
    at their start (unix seconds)."""
    solve = Solve(seed, actor_id)
    kind = call.facility.kind
    require_awards(session, call)
    # a custom facility's resources are scheduled by their calendars (slots, or the
    # whole period), never as sample shipments in mg
    if kind == "custom" or awarded_slot_pools(session, call):
        return schedule_slots(
            session, call, solve, progress=progress, now=now, keep_booked=keep_booked
        )
    if kind == "telescope":
        return schedule_telescope(
            session, call, solve, start=start, days=days, progress=progress, pinned=pinned
        )
    if kind == "vessel":
        return schedule_cruise(session, call, solve)
    if kind == "programme":
        return schedule_courses(session, call, solve)
    return schedule_shipments(session, call, solve)


def schedule_telescope(
    session: Session,
    call: Call,
    solve: Solve,
    *,
    start: dt.date | None = None,
    days: int = 120,
    progress: Progress = _noop,
    pinned: dict[str, float] | None = None,
) -> SolverRun:
    from opencall.optim import scheduling as sch
    from opencall.optim import sky

    if not 1 <= days <= 400:
        raise DomainError("The scheduling window must be between 1 and 400 days.", field="days")
    attrs = call.facility.attributes
    site = sky.Site(lat_deg=attrs["lat_deg"], lon_deg=attrs["lon_deg"], height_m=attrs["height_m"])
    start = start or (call.closes_at + dt.timedelta(days=30)).date()
    w0 = dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC)
    w1 = w0 + dt.timedelta(days=days)
    decisions = _decisions(session, call)
    awarded = _awarded(session, call)
    props = by_id(session, Proposal, {req.proposal_id for req, _ in awarded})
    blocks: list[Any] = []
    meta: dict[str, dict[str, Any]] = {}
    for req, aw in awarded:
        prop = props.get(req.proposal_id)
        assert prop is not None
        fraction = aw[0].fraction
        pr = PRIORITY.get(decisions[prop.id].priority if prop.id in decisions else "", 4)
        for ti, t in enumerate(req.details["targets"]):
            hours = t["hours"] * fraction
            n = max(1, math.ceil(hours / MAX_BLOCK_H - 1e-9))
            for k in range(n):
                bid = f"{prop.code}/{ti}/{k}"
                dur = hours / n * 3600.0
                blocks.append(
                    sch.FastBlock(
                        id=bid,
                        ra_deg=t["ra_deg"],
                        dec_deg=t["dec_deg"],
                        duration_s=round(dur),
                        priority=pr,
                        max_zenith_deg=attrs.get("max_zenith_deg", 40.0),
                        splittable=bool(req.details.get("splittable")) and dur > 3600,
                        min_chunk_s=1800.0,
                        fixed_start_unix=(pinned or {}).get(bid),
                    )
                )
                meta[bid] = {
                    "proposal_id": prop.id,
                    "award_id": aw[0].id,
                    "target": t["name"],
                    "code": prop.code,
                    "pool_id": aw[0].pool_id,
                }
    problem = sch.FastScheduleProblem(
        window_start_unix=w0.timestamp(),
        window_end_unix=w1.timestamp(),
        blocks=tuple(blocks),
        site=site,
    )
    check_problem(problem)
    progress(20, f"placing {len(blocks)} blocks over {days} days")
    res = sch.schedule_fast(problem, seed=solve.seed)
    run = replace_schedule(
        session,
        call,
        solve,
        errors=res.check(problem),
        inputs={"blocks": [b.__dict__ for b in blocks], "w": [w0, w1]},
        parameters={
            "start": str(start),
            "days": days,
            "setup_s": problem.setup_s,
            "slew_deg_per_s": problem.slew_deg_per_s,
        },
        objective=res.priority_weighted_hours,
        summary={
            "blocks": len(blocks),
            "placed": len({e.block_id for e in res.entries}),
            "observed_hours": res.observed_hours,
            "observing_fraction": res.observing_fraction,
            "full_gain_fraction": res.full_gain_fraction,
            "method": res.stats.method,
            # the search's bounded effort (a count, not a clock): True when it stopped the
            # search and the schedule is the best found by then
            "work_used": res.stats.work_used,
            "work_limit_reached": res.stats.work_limit_reached,
            "unscheduled": {u.block_id: u.reason for u in res.unscheduled},
        },
    )

    def add_block(block_id: str, *, details: dict[str, Any], **fields: Any) -> None:
        """The entry of one telescope block: placed, or unscheduled with its reason."""
        m = meta[block_id]
        add_entry(
            session,
            run,
            proposal_id=m["proposal_id"],
            award_id=m["award_id"],
            pool_id=m["pool_id"],
            kind="fast",
            label=f"{m['code']} {m['target']}",
            details={"target": m["target"], "block": block_id, **details},
            **fields,
        )

    for e in res.entries:
        add_block(
            e.block_id,
            start=dt.datetime.fromtimestamp(e.start_unix, dt.UTC),
            end=dt.datetime.fromtimestamp(e.end_unix, dt.UTC),
            amount=(e.end_unix - e.start_unix) / 3600.0,
            details={"chunk": e.chunk},
        )
    for u in res.unscheduled:
        add_block(
            u.block_id,
            start=None,
            end=None,
            amount=0.0,
            details={"unscheduled": u.reason, "why": u.detail, **message_details(u.message)},
        )
    session.flush()
    progress(100, "schedule done")
    return run


def schedule_cruise(session: Session, call: Call, solve: Solve) -> SolverRun:
    from opencall.optim import logistics as lg

    legs: dict[str, dict[str, Any]] = {}
    for cp in call.pools:
        a = cp.pool.attributes
        leg_d = legs.setdefault(a["leg"], {"attrs": a, "berths": 0, "dives": 0, "pools": {}})
        leg_d[cp.pool.pool_type] = int(cp.amount)
        leg_d["pools"][cp.pool.pool_type] = cp.pool_id
    max_depth = call.facility.attributes.get("max_dive_depth_m", 11000.0)
    leg_objs = tuple(
        lg.Leg(
            id=name,
            start=dt.date.fromisoformat(v["attrs"]["start_date"]),
            end=dt.date.fromisoformat(v["attrs"]["end_date"]),
            ports=(v["attrs"]["from_port"], v["attrs"]["to_port"]),
            route=tuple(tuple(x) for x in v["attrs"]["route"]),
            berths=v["berths"],
            dive_slots=v["dives"],
            max_dive_depth_m=v["attrs"].get("max_depth_m") or max_depth,
            max_dives_per_day=call.facility.attributes.get("dives_per_day", 1),
        )
        for name, v in legs.items()
    )
    pool_leg = {cp.pool_id: cp.pool.attributes["leg"] for cp in call.pools}
    merit = queries.merit(session, call)
    per_prop: dict[int, dict[str, Any]] = {}
    for req, aw in _awarded(session, call):
        d = per_prop.setdefault(req.proposal_id, {"berths": 0, "dives": [], "legs": set()})
        d["legs"].add(pool_leg[aw[0].pool_id])
        if req.kind == "berth":
            d["berths"] += int(round(sum(a.amount for a in aw)))
        elif req.kind == "dive":
            n = int(round(sum(a.amount for a in aw)))
            d["dives"] += [
                lg.DiveSite(site_id=s["name"], lat=s["lat"], lon=s["lon"], depth_m=s["depth_m"])
                for s in req.details["sites"][:n]
            ]
    requests = tuple(
        lg.CruiseRequest(
            id=str(pid),
            merit=merit.get(pid, 1.0),
            berths=d["berths"],
            dives=tuple(d["dives"]),
            legs=tuple(sorted(d["legs"])),
        )
        for pid, d in per_prop.items()
    )
    problem = lg.CruiseProblem(legs=leg_objs, requests=requests)
    res = lg.solve_cruise(problem, seed=solve.seed)
    run = replace_schedule(
        session,
        call,
        solve,
        plan="cruise",
        errors=res.check(problem),
        inputs={"requests": [r.id for r in requests]},
        parameters={"max_route_distance_km": problem.max_route_distance_km},
        objective=res.objective,
        bound=res.bound,
        gap=res.mip_gap,
        summary={"explanations": {k: v.detail for k, v in res.explanations.items()}},
    )
    legs_by_id = {leg.id: leg for leg in leg_objs}
    for r in requests:
        lid = res.leg_of.get(r.id)
        leg = legs_by_id.get(lid) if lid else None
        if leg is not None and r.berths == 0:
            label, said = label_details("dives only on %(leg)s", leg=lid)
        elif lid:
            label, said = label_details("%(n)s berth(s) on %(leg)s", n=r.berths, leg=lid)
        else:
            label, said = label_details("no berth")
        add_entry(
            session,
            run,
            proposal_id=int(r.id),
            kind="berth",
            label=label,
            start=_utc(leg.start) if leg else None,
            end=_utc(leg.end, _END_OF_DAY) if leg else None,
            amount=float(r.berths) if leg else 0.0,
            details={"leg": lid, **explanation_details(res.explanations[r.id]), **said},
        )
    for dv in res.dives:
        label, said = label_details("dive at %(site)s (%(leg)s)", site=dv.site_id, leg=dv.leg_id)
        add_entry(
            session,
            run,
            proposal_id=int(dv.request_id),
            kind="dive",
            label=label,
            start=_utc(dv.day),
            end=_utc(dv.day, _END_OF_DAY),
            amount=1.0,
            details={"leg": dv.leg_id, "site": dv.site_id, **said},
        )
    session.flush()
    return run


def schedule_courses(session: Session, call: Call, solve: Solve) -> SolverRun:
    from opencall.optim import logistics as lg

    sessions, seasons = [], []
    # sessions and seasons are named in explanations, so their names are the optimiser's ids
    pool_by_name = {cp.pool.name: cp for cp in call.pools}
    name_of = {cp.pool_id: cp.pool.name for cp in call.pools}
    for cp in call.pools:
        a = cp.pool.attributes
        if cp.pool.pool_type == "seats":
            sessions.append(
                lg.CourseSession(
                    id=cp.pool.name,
                    start=dt.date.fromisoformat(a["start_date"]),
                    end=dt.date.fromisoformat(a["end_date"]),
                    place=a["place"],
                    seats=int(cp.amount),
                    technology=a["technology"],
                )
            )
        else:
            seasons.append(
                lg.PackageSeason(
                    id=cp.pool.name, technology=a["technology"], packages=int(cp.amount)
                )
            )
    merit = queries.merit(session, call)
    seat_reqs, pkg_reqs = [], []
    awarded = _awarded(session, call)
    req_of = {str(req.id): req for req, _ in awarded}
    for req, aw in awarded:
        amount = int(round(sum(a.amount for a in aw)))
        if amount < 1:
            continue
        if req.kind == "seat":
            seat_reqs.append(
                lg.SeatRequest(
                    id=str(req.id),
                    merit=merit.get(req.proposal_id, 1.0),
                    count=amount,
                    preferred=(name_of[aw[0].pool_id],),
                )
            )
        else:
            pkg_reqs.append(
                lg.PackageRequest(
                    id=str(req.id),
                    merit=merit.get(req.proposal_id, 1.0),
                    technology=req.details["technology"],
                    site_id=req.details["site"]["place"],
                    count=amount,
                    seasons=(name_of[aw[0].pool_id],),
                )
            )
    courses = lg.CourseProblem(sessions=tuple(sessions), requests=tuple(seat_reqs))
    packages = lg.PackageProblem(seasons=tuple(seasons), requests=tuple(pkg_reqs))
    cres = lg.solve_courses(courses, seed=solve.seed)
    pres = lg.solve_packages(packages, seed=solve.seed)
    errors = cres.check(courses) + pres.check(packages)
    run = replace_schedule(
        session,
        call,
        solve,
        plan="course",
        errors=errors,
        inputs={"seats": [r.id for r in seat_reqs], "packages": [r.id for r in pkg_reqs]},
        parameters={},
        objective=cres.objective + pres.objective,
    )
    for res, kind in ((cres, "seat"), (pres, "package")):
        for rid, placement in res.placements.items():
            req = req_of[rid]
            placed_cp = pool_by_name[placement.bin_id] if placement else None
            a = placed_cp.pool.attributes if placed_cp else {}
            # a session's or season's name is what people typed: not a message
            label, said = (placed_cp.pool.name, {}) if placed_cp else label_details("not placed")
            dated = kind == "seat" and placed_cp is not None
            add_entry(
                session,
                run,
                proposal_id=req.proposal_id,
                pool_id=placed_cp.pool_id if placed_cp else None,
                kind=kind,
                label=label,
                start=_utc(dt.date.fromisoformat(a["start_date"])) if dated else None,
                end=_utc(dt.date.fromisoformat(a["end_date"])) if dated else None,
                amount=float(placement.count) if placement else 0.0,
                details={**explanation_details(res.explanations[rid]), **said},
            )
    session.flush()
    return run


def schedule_shipments(session: Session, call: Call, solve: Solve) -> SolverRun:
    from opencall.optim import logistics as lg

    types = tuple(
        lg.SampleType(id=str(cp.pool_id), inventory_mg=float(cp.amount), label=cp.pool.name)
        for cp in call.pools
    )
    merit = queries.merit(session, call)
    masses: dict[int, dict[str, float]] = defaultdict(dict)
    for _req_id, aw in awards_by_request(session, call).items():
        for a in aw:
            masses[a.proposal_id][str(a.pool_id)] = (
                masses[a.proposal_id].get(str(a.pool_id), 0.0) + a.amount
            )
    # an award of 0 mg lends nothing: no loan, so no shipment with no items
    loans = tuple(
        lg.SampleLoan(id=str(pid), merit=merit.get(pid, 1.0), recipient=str(pid), masses=m)
        for pid, m in masses.items()
        if any(mg > 0 for mg in m.values())
    )
    problem = lg.SampleProblem(types=types, loans=loans)
    plan = lg.plan_shipments(problem, seed=solve.seed)
    run = replace_schedule(
        session,
        call,
        solve,
        plan="shipment",
        errors=plan.check(problem),
        inputs={"loans": [(x.id, x.masses) for x in loans]},
        parameters={},
        summary={"remaining_mg": dict(plan.remaining_mg)},
    )
    names = {t.id: t.label for t in types}
    for s in plan.shipments:
        for tid, mg in s.items:
            label, said = label_details(
                "%(mg)s mg of %(name)s", mg=plain_number(mg), name=names[tid]
            )
            add_entry(
                session,
                run,
                proposal_id=int(s.loan_id),
                pool_id=int(tid),
                kind="shipment",
                label=label,
                amount=float(mg),
                details={**explanation_details(plan.explanations[s.loan_id]), **said},
            )
    session.flush()
    return run


log = logging.getLogger(__name__)


def _entry_key(e: ScheduleEntry) -> tuple[Any, ...]:
    """What an entry books, for the comparison of two schedules (not its ids)."""
    return (
        e.proposal_id,
        e.kind,
        e.pool_id,
        e.label,
        e.start,
        e.end,
        round(e.amount, 9),
        repr(sorted((k, repr(v)) for k, v in (e.details or {}).items() if k != "request_id")),
    )


_BOOKED_FIELDS = ("award_id", "pool_id", "kind", "label", "start", "end", "amount", "details")


def book_offered(
    session: Session, call: Call, proposal: Proposal, actor_id: int | None = None
) -> bool | None:
    """Book an award offered after a decline (``allocation.services.offer_award``) on the
    call's stored schedule when it fits without moving anyone: the schedule is made again,
    as it was made (its run's start, window and seed; a telescope's stored blocks pinned at
    their times, a slot-based resource's booked slots kept), inside a savepoint that is then
    rolled back; when every other proposal's entries come out exactly as they are stored
    and the offered proposal's entries are all placed, those entries are added to the
    stored schedule (the others' rows are left as they are) and audited
    (``schedule.offer_booked``). Otherwise nothing changes and the schedule page keeps
    listing the award as not scheduled (``queries.not_scheduled``). Whether it was booked;
    None where there is nothing to book it on (no stored schedule) or it has entries
    already."""
    stored = list(session.scalars(select(ScheduleEntry).where(ScheduleEntry.call_id == call.id)))
    if not stored or any(e.proposal_id == proposal.id for e in stored):
        return None
    last = session.scalar(
        select(SolverRun)
        .where(SolverRun.call_id == call.id, SolverRun.kind == "schedule")
        .order_by(SolverRun.id.desc())
        .limit(1)
    )
    params = dict(last.parameters) if last is not None else {}
    kw: dict[str, Any] = {"seed": last.seed if last is not None else 0}
    if isinstance(params.get("start"), str):
        kw["start"] = dt.date.fromisoformat(params["start"])
    if isinstance(params.get("days"), int):
        kw["days"] = params["days"]
    if call.facility.kind == "custom" or awarded_slot_pools(session, call):
        kw["keep_booked"] = True  # every booked slot kept, the new award placed around
    elif call.facility.kind == "telescope":
        # every stored block kept where it is (a block stored in several chunks cannot be)
        chunks: dict[str, int] = defaultdict(int)
        for e in stored:
            chunks[str(e.details.get("block"))] += 1
        kw["pinned"] = {
            str(e.details["block"]): e.start.timestamp()
            for e in stored
            if e.start is not None and chunks[str(e.details.get("block"))] == 1
        }
    before = sorted(map(_entry_key, stored), key=repr)
    dated = any(e.start is not None for e in stored)
    savepoint = session.begin_nested()
    again: list[ScheduleEntry] = []
    try:
        run_schedule(session, call, **kw)
        again = list(session.scalars(select(ScheduleEntry).where(ScheduleEntry.call_id == call.id)))
        others = sorted((_entry_key(e) for e in again if e.proposal_id != proposal.id), key=repr)
        mine = [
            {f: getattr(e, f) for f in _BOOKED_FIELDS}
            for e in again
            if e.proposal_id == proposal.id
        ]
    except Exception:  # the offer stands whatever the trial meets: the award stays listed
        log.warning("offered award of proposal %s not booked: the trial failed", proposal.id,
                    exc_info=True)  # fmt: skip
        again, others, mine = [], [], []
    finally:
        savepoint.rollback()
    # the rows the trial made are gone with its savepoint: none stays in the session (a
    # row added next may take one of their ids)
    own = {id(e) for e in stored}
    for e in again:
        if id(e) not in own and e in session:
            session.expunge(e)
    fits = (
        others == before
        and bool(mine)
        and all(
            "unscheduled" not in (m["details"] or {}) and (m["start"] is not None or not dated)
            for m in mine
        )
    )
    if not fits:
        return False
    run_id = stored[0].run_id if last is None else last.id
    for m in mine:
        session.add(ScheduleEntry(call_id=call.id, proposal_id=proposal.id, run_id=run_id, **m))
    session.flush()
    auditlog.record(
        session,
        "schedule.offer_booked",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=call.id,
        data={
            "entries": len(mine),
            "slots": [
                [str(m["start"]) if m["start"] else None, str(m["end"]) if m["end"] else None]
                for m in mine
            ],
        },
    )
    return True


if book_offered not in allocation_services.OFFER_HOOKS:
    allocation_services.OFFER_HOOKS.append(book_offered)


def drop_entries(session: Session, call: Call, proposal: Proposal) -> None:
    """Remove ``proposal``'s entries from ``call``'s stored schedule (its awards are
    replaced by a chair's override): the placed items of an award that is no more, or
    that the step has not placed yet (``allocation.services.AWARD_DROP_HOOKS``)."""
    session.execute(
        delete(ScheduleEntry).where(
            ScheduleEntry.proposal_id == proposal.id,
            ScheduleEntry.award_id.in_(
                select(Award.id).where(Award.call_id == call.id, Award.proposal_id == proposal.id)
            ),
        )
    )


if drop_entries not in allocation_services.AWARD_DROP_HOOKS:
    allocation_services.AWARD_DROP_HOOKS.append(drop_entries)


#: unplaced entries (no start) sort after every start, on every backend
UNPLACED = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
#: the one order of a call's schedule: the page, the API and the CSV list it alike
ENTRY_ORDER = (func.coalesce(ScheduleEntry.start, UNPLACED), ScheduleEntry.id)


def entries(session: Session, call: Call, *, placed_only: bool = False) -> list[ScheduleEntry]:
    stmt = select(ScheduleEntry).where(ScheduleEntry.call_id == call.id)
    if placed_only:
        stmt = stmt.where(ScheduleEntry.start.is_not(None))
    return list(session.scalars(stmt.order_by(*ENTRY_ORDER)))


def week(session: Session, call: Call, monday: dt.date) -> list[ScheduleEntry]:
    w0 = dt.datetime(monday.year, monday.month, monday.day, tzinfo=dt.UTC)
    w1 = w0 + dt.timedelta(days=7)
    stmt = select(ScheduleEntry).where(
        ScheduleEntry.call_id == call.id, ScheduleEntry.start < w1, ScheduleEntry.end > w0
    )
    return list(session.scalars(stmt.order_by(ScheduleEntry.start)))


def publish(session: Session, call: Call, *, actor_id: int | None = None) -> Call:
    """Publish the call's results (the workflow's transition, :mod:`opencall.cycle`)."""
    return cycle.transition_call(session, call, "published", actor_id=actor_id)
