"""Scheduling a call whose awarded resources are slot-based: the schedule job places each
award's sessions into the microscopes' calendars — around the maintenance week, off the
applicant's impossible dates, the all-or-nothing bundle kept together — and stores them."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from opencall import jobs
from opencall.allocation.models import Award
from opencall.calls import services as call_services
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.facilities import api as fac_api
from opencall.facilities import services as fac_services
from opencall.facilities.models import CapacityPool, PoolUnavailability
from opencall.optim import slots as sl
from opencall.runs import Solve, SolverRun
from opencall.scheduling import jobs as scheduling_jobs
from opencall.scheduling import presenters, services, slot_services
from opencall.scheduling.models import ScheduleEntry
from opencall.web.i18n import Translator
from tests.scheduling.conftest import IMPOSSIBLE, MAINT, SlotWorld, get_call

DAY = dt.timedelta(days=1)


def placed(s: Session, w: SlotWorld, key: str) -> list[ScheduleEntry]:
    return list(
        s.scalars(
            select(ScheduleEntry)
            .join(Award, Award.id == ScheduleEntry.award_id)
            .where(Award.request_id == w.requests[key], ScheduleEntry.start.is_not(None))
            .order_by(ScheduleEntry.start)
        )
    )


def scheduled(s: Session, w: SlotWorld) -> list[int]:
    """Schedules the call, commits, and gives the ids of its entries."""
    services.run_schedule(s, get_call(s, w))
    s.commit()
    return list(s.scalars(select(ScheduleEntry.id)).all())


def run_job(factory: sessionmaker[Session], w: SlotWorld) -> None:
    reg = jobs.JobRegistry()
    scheduling_jobs.register(reg)
    with factory() as s:
        call = get_call(s, w)
        path = ["closed", "review", "ranking", "allocation", "scheduling"]
        for target in path[path.index(call.status) + 1 :]:  # the job runs in scheduling
            cycle.transition_call(s, call, target)
        job = jobs.enqueue(s, "schedule.run", {"call_id": w.call_id}, call_id=w.call_id)
        s.commit()
        job_id = job.id
    assert jobs.run_pending(factory, reg, ids=[job_id]) == 1
    with factory() as s:
        job = s.get(jobs.Job, job_id)
        assert job is not None and job.status == "done", job and job.error


def test_schedule_job_places_sessions_around_maintenance_and_impossible_dates(
    factory: sessionmaker[Session], sw: SlotWorld
) -> None:
    run_job(factory, sw)
    with factory() as s:
        screen, collect, loner = (placed(s, sw, k) for k in ("screen", "collect", "loner"))
        assert [len(x) for x in (screen, collect, loner)] == [1, 2, 5]
        for e in screen + collect + loner:
            assert e.kind == "slot" and e.end is not None and e.start is not None
            assert e.end - e.start == DAY
        # nothing on Krios B in its maintenance week
        for e in collect + loner:
            assert e.pool_id == sw.pools["b"]
            assert not (e.start < MAINT[1] and MAINT[0] < e.end)
        # the PI's collection is off the declared impossible dates (inclusive range)
        i0 = dt.datetime.fromisoformat(IMPOSSIBLE[0]).replace(tzinfo=dt.UTC)
        i1 = dt.datetime.fromisoformat(IMPOSSIBLE[1]).replace(tzinfo=dt.UTC) + DAY
        assert all(not (e.start < i1 and i0 < e.end) for e in collect)
        # the bundle is kept together: screening on A next to the two collection days on B
        starts = [e.start for e in screen + collect]
        ends = [e.end for e in screen + collect]
        assert max(ends) - min(starts) == 2 * DAY
        # the collection days are contiguous, and so are the loner's five
        assert collect[1].start == collect[0].end
        assert all(b.start == a.end for a, b in zip(loner, loner[1:], strict=False))
        # one slot per session per resource
        keys = [(e.pool_id, e.start) for e in screen + collect + loner]
        assert len(keys) == len(set(keys))
        run = s.scalar(select(jobs.Job).where(jobs.Job.kind == "schedule.run"))
        assert run is not None


def test_bundle_is_all_or_nothing(factory: sessionmaker[Session], sw: SlotWorld) -> None:
    # the collection cannot be placed (impossible over the whole period): the screening is
    # not placed either, and both say why
    with factory() as s:
        from opencall.proposals.models import Request

        req = s.get(Request, sw.requests["collect"])
        assert req is not None
        req.details = {**req.details, "impossible_dates": [["2027-09-01", "2027-11-30"]]}
        s.commit()
    with factory() as s:
        services.run_schedule(s, get_call(s, sw))
        s.commit()
    with factory() as s:
        assert placed(s, sw, "screen") == [] and placed(s, sw, "collect") == []
        assert len(placed(s, sw, "loner")) == 5
        why = {
            e.details["request_id"]: e.details["unscheduled"]
            for e in s.scalars(select(ScheduleEntry).where(ScheduleEntry.start.is_(None)))
        }
        assert why == {
            sw.requests["collect"]: "no_usable_slots",
            sw.requests["screen"]: "bundle",
        }


def test_rescheduling_replaces_and_is_stable(factory: sessionmaker[Session], sw: SlotWorld) -> None:
    with factory() as s:
        services.run_schedule(s, get_call(s, sw))
        s.commit()
        first = sorted((e.award_id, e.start) for e in s.scalars(select(ScheduleEntry)))
        services.run_schedule(s, get_call(s, sw))
        s.commit()
        again = sorted((e.award_id, e.start) for e in s.scalars(select(ScheduleEntry)))
    assert first == again and len(first) == 8


def test_no_slot_that_has_begun_is_booked(factory: sessionmaker[Session], sw: SlotWorld) -> None:
    # a call decided a month into the resource's period (a rapid-access round): its
    # sessions start at or after the run, never on days already gone
    mid = dt.datetime(2027, 10, 1, 9, 30, tzinfo=dt.UTC)
    with factory() as s:
        services.run_schedule(s, get_call(s, sw), now=mid)
        s.commit()
        got = [placed(s, sw, k) for k in ("screen", "collect", "loner")]
    assert [len(x) for x in got] == [1, 2, 5]
    assert min(e.start for x in got for e in x if e.start) >= mid


def test_an_award_unplaced_late_in_the_period_says_its_slots_have_begun(
    factory: sessionmaker[Session], sw: SlotWorld
) -> None:
    # scheduled three days before the period ends: 88 of Krios B's 91 sessions have begun
    # (its maintenance week among them), so the loner's five do not fit in the three left;
    # the explanation says they have begun, not that they are in unavailable periods
    late = dt.datetime(2027, 11, 28, tzinfo=dt.UTC)
    with factory() as s:
        services.run_schedule(s, get_call(s, sw), now=late)
        s.commit()
        row = s.scalars(
            select(ScheduleEntry)
            .join(Award, Award.id == ScheduleEntry.award_id)
            .where(Award.request_id == sw.requests["loner"], ScheduleEntry.start.is_(None))
        ).one()
    d = row.details
    assert d["explanation"] == (
        "5 slots awarded but only 3 of the resource's 91 slots are usable (88 already "
        "begun, 0 in unavailable periods, 0 on dates the applicant declared impossible)"
    )
    said = {lang: presenters.explanation(Translator(lang), d) for lang in ("fr", "es", "zh")}
    for lang, text in said.items():
        assert "88" in text and text != d["explanation"], (lang, text)
    assert "commencé" in said["fr"] and "comenzado" in said["es"] and "已开始" in said["zh"]


def test_scheduling_again_keeps_the_sessions_already_begun(
    factory: sessionmaker[Session], sw: SlotWorld
) -> None:
    before = dt.datetime(2027, 8, 1, tzinfo=dt.UTC)
    with factory() as s:
        services.run_schedule(s, get_call(s, sw), now=before)
        s.commit()
        first = {
            e.id: (e.start, e.pool_id)
            for k in ("screen", "collect", "loner")
            for e in placed(s, sw, k)
        }
    (t2, pool2) = sorted((t, p) for t, p in first.values() if t)[2]
    later = t2 + dt.timedelta(hours=1)  # three sessions have begun, the third is under way
    # the beam of the third one's microscope is lost from then for ten days: that session
    # is lost (placed again), the two before it are kept as they were
    begun = {i: t for i, (t, _p) in first.items() if t and t < t2}
    assert len(begun) == 2
    with factory() as s:
        s.add(PoolUnavailability(pool_id=pool2, starts_at=later,
                                 ends_at=later + 10 * DAY, reason="beam lost"))  # fmt: skip
        services.run_schedule(s, get_call(s, sw), now=later)
        s.commit()
        again = {k: placed(s, sw, k) for k in ("screen", "collect", "loner")}
    assert [len(x) for x in again.values()] == [1, 2, 5]  # every award whole, none twice
    now_at = {e.id: (e.start, e.pool_id) for x in again.values() for e in x}
    assert {i: now_at[i][0] for i in begun if i in now_at} == begun  # same rows, same times
    for i, (t, pool) in now_at.items():
        if i not in begun:
            assert t is not None and t >= (later + 10 * DAY if pool == pool2 else later)


def test_resource_without_period_is_refused_and_changes_nothing(
    factory: sessionmaker[Session], sw: SlotWorld
) -> None:
    with factory() as s:
        before = scheduled(s, sw)
        pool = s.get(CapacityPool, sw.pools["a"])
        assert pool is not None
        pool.period_end = None
        s.flush()
        with pytest.raises(DomainError, match="no calendar period") as err:
            services.run_schedule(s, get_call(s, sw))
        assert err.value.field == "period_start"
        fr = Translator("fr").message(err.value.message)
        assert fr.startswith("La ressource Krios A n’a pas de période")
        s.rollback()
        assert list(s.scalars(select(ScheduleEntry.id)).all()) == before


def test_the_optimiser_agrees_with_the_stored_schedule(
    factory: sessionmaker[Session], sw: SlotWorld
) -> None:
    from opencall.scheduling import slot_services as ss

    with factory() as s:
        call = get_call(s, sw)
        run = services.run_schedule(s, call)
        s.commit()
        assert run.summary["method"] == "milp"
        pool = s.get(CapacityPool, sw.pools["b"])
        assert pool is not None
        grid = sl.slot_grid(ss.resource_of(pool))
        assert len(grid) == 91 and sum(1 for g in grid if g.reason == "maintenance") == 7
        cal = ss.calendar(s, call, pool)
        assert sum(1 for c in cal if c.entry is not None) == 7
        assert {c.unavailable for c in cal} == {"", "maintenance"}


def test_a_custom_facility_without_slots_is_scheduled_by_period_not_shipped_in_mg(
    factory: sessionmaker[Session], sw: SlotWorld
) -> None:
    """Course seats (a custom facility's resources with a period and no slots) get one
    entry over their period each; they were scheduled as sample shipments ("3 mg of
    Cohort A")."""
    with factory() as s:
        call = get_call(s, sw)
        call.facility.kind = "custom"
        for key in ("a", "b"):
            pool = s.get(CapacityPool, sw.pools[key])
            assert pool is not None
            pool.slot_hours, pool.unit, pool.unit_labels = None, "seat", {}
        s.flush()
        services.run_schedule(s, call)
        entries = list(s.scalars(select(ScheduleEntry).where(ScheduleEntry.call_id == call.id)))
        assert entries and {e.kind for e in entries} == {"period"}
        assert not any("mg" in e.label for e in entries)
        krios = [e for e in entries if e.pool_id in (sw.pools["a"], sw.pools["b"])]
        assert len(krios) == 3
        for e in krios:
            assert e.start == dt.datetime(2027, 9, 1, tzinfo=dt.UTC)
            assert e.end == dt.datetime(2027, 12, 1, tzinfo=dt.UTC)
        s.rollback()


def test_a_schedule_that_fails_its_check_is_refused_and_changes_nothing(
    factory: sessionmaker[Session], sw: SlotWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    with factory() as s:
        before = scheduled(s, sw)
        runs = s.scalars(select(SolverRun.id)).all()
        monkeypatch.setattr(sl.SlotSchedule, "check", lambda self, problem: ["overlap on A"])
        with pytest.raises(DomainError, match="^The schedule failed its check: overlap on A$"):
            services.run_schedule(s, get_call(s, sw))
        assert list(s.scalars(select(ScheduleEntry.id)).all()) == before
        assert s.scalars(select(SolverRun.id)).all() == runs


def test_a_logistics_plan_that_fails_its_check_is_refused_by_name(
    factory: sessionmaker[Session], sw: SlotWorld
) -> None:
    with factory() as s:
        before = scheduled(s, sw)
        errors = [f"problem {i}" for i in range(7)]
        with pytest.raises(DomainError) as err:
            slot_services.replace_schedule(
                s, get_call(s, sw), Solve(), errors=errors, plan="cruise", inputs={}, parameters={}
            )
        assert str(err.value) == "The cruise plan failed its check: " + "; ".join(errors[:5])
        assert list(s.scalars(select(ScheduleEntry.id)).all()) == before


def test_a_round_offers_and_awards_only_the_slots_not_begun(
    factory: sessionmaker[Session], sw: SlotWorld
) -> None:
    # a rapid-access round on Krios B decided two thirds into its period: the call of the
    # world (decisions released) holds its 7 sessions, booked in September, all begun
    late = dt.datetime(2027, 10, 31, 12, tzinfo=dt.UTC)
    with factory() as s:
        services.run_schedule(s, get_call(s, sw), now=dt.datetime(2027, 8, 1, tzinfo=dt.UTC))
        b = s.get(CapacityPool, sw.pools["b"])
        assert b is not None
        rapid = call_services.create_call(s, b.facility, {
            "slug": "krios-rapid", "code": "KR", "title": "Rapid access", "cycle": "r1",
            "opens_at": late, "closes_at": late + 10 * DAY})  # fmt: skip
        with time_machine.travel(late), pytest.raises(DomainError, match="at most 30 "):
            call_services.offer_pool(s, rapid, b, 31.0)
        with time_machine.travel(late):
            assert call_services.offer_pool(s, rapid, b).amount == 30
        # 84 sessions outside the maintenance week; 30 (November) not begun
        assert fac_services.slot_capacity(b) == 84
        assert fac_services.slots_not_begun(b, late) == 30
        # what is left for the allocation of each call, and what the API shows
        assert call_services.slots_left(s, b, rapid.id, late) == 30
        assert call_services.slots_left(s, b, sw.call_id, late) == 0
        assert call_services.slots_left(s, b, None, late) == 0
        with time_machine.travel(late):
            out = fac_api.calendar_out(b)
        assert (out.slot_capacity, out.slots_not_begun) == (84, 30)
        # not scheduled, the call of the world would hold its 7 sessions ahead
        s.execute(delete(ScheduleEntry).where(ScheduleEntry.call_id == sw.call_id))
        assert call_services.slots_left(s, b, rapid.id, late) == 23
