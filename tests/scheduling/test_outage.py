"""An unavailable period (an unplanned outage) recorded on a resource whose schedule is
already published: accepted (reality cannot be refused), and the booked slots it covers
are reported in the answer of the page and of the API, recorded in the audit log and
shown on the call's schedule (page, calendar and API) as needing rescheduling. Nothing
is shown to a person who may not see that call's schedule. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from opencall.auditlog import AuditEvent
from opencall.facilities import services as fac_services
from opencall.facilities.models import CapacityPool
from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from opencall.proposals.models import Proposal
from opencall.scheduling.models import ScheduleEntry
from tests import factories as F
from tests.authz.test_workspace_matrix import session_client
from tests.scheduling.conftest import SlotWorld, get_call
from tests.web.conftest import Web, said_to

pytestmark = pytest.mark.filterwarnings("ignore")
UTC = dt.UTC


def published(web: Web, w: SlotWorld) -> tuple[SlotWorld, list[ScheduleEntry], dict[int, str]]:
    """The ``stored`` slot world (this test's own copy: it changes the calendar) with its
    schedule published; Krios B's amount (and the call's offer of it) lowered so that an
    outage fits its declared capacity."""
    with web.factory() as s:
        call = get_call(s, w)
        call.status = "published"
        pool = s.get(CapacityPool, w.pools["b"])
        assert pool is not None
        pool.amount = 60.0
        for cp in call.pools:
            cp.amount = 60.0 if cp.pool_id == pool.id else cp.amount
        s.commit()
        booked = list(
            s.scalars(
                select(ScheduleEntry)
                .where(ScheduleEntry.pool_id == w.pools["b"], ScheduleEntry.start.is_not(None))
                .order_by(ScheduleEntry.start)
            )
        )
        s.expunge_all()
        codes = {p.id: p.code for p in s.scalars(select(Proposal))}
    return w, booked, codes


def clash_events(web: Web) -> list[AuditEvent]:
    with web.factory() as s:
        rows = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "pool.unavailable_clashes")
            .order_by(AuditEvent.id)
        )
        out = list(rows)
        s.expunge_all()
        return out


def test_an_outage_over_booked_slots_is_accepted_reported_and_flagged(
    web: Web, stored: SlotWorld
) -> None:
    w, booked, codes = published(web, stored)
    first = booked[0]
    assert first.start is not None and first.end is not None
    day = first.start.date()
    hit = [e for e in booked if e.start is not None and e.start.date() == day]
    office, tok = session_client(web, w.emails["manager"])
    before = len(clash_events(web))
    r = office.post(
        f"/manage/resources/{w.pools['b']}/unavailable",
        data={"csrf_token": tok, "first_day": day.isoformat(), "last_day": day.isoformat(),
              "reason": "vacuum leak"},
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].endswith("#clashes"), r.text[-2000:]
    with web.factory() as s:
        pool = s.get(CapacityPool, w.pools["b"])
        assert pool is not None
        assert "vacuum leak" in [u.reason for u in pool.unavailable]  # recorded
    # the answer: the page names the booked slots that need rescheduling
    page = office.get(f"/manage/resources/{w.pools['b']}").text
    assert 'id="clashes"' in page and "they need rescheduling" in page
    assert codes[first.proposal_id] in page and f"/manage/calls/{w.slug}/schedule" in page
    # the slot's start in the reader's zone and language (trialapp16)
    assert said_to(web.factory, w.emails["manager"], first.start) in " ".join(page.split())
    # the audit log: one event for the call, with each slot
    events = clash_events(web)[before:]
    assert [(e.call_id, e.entity_id) for e in events] == [(w.call_id, str(w.pools["b"]))]
    assert sorted(x["entry"] for x in events[0].data["slots"]) == sorted(e.id for e in hit)
    assert events[0].data["reason"] == "vacuum leak"
    # the call's schedule page, the resource calendar and the API flag the slots
    sched = office.get(f"/manage/calls/{w.slug}/schedule").text
    assert 'id="reschedule"' in sched and "Needs rescheduling" in sched
    assert "vacuum leak" in sched
    cal = office.get(f"/manage/calls/{w.slug}/resources/{w.pools['b']}/calendar").text
    assert cal.count("Needs rescheduling") == len(hit)
    with web.factory() as s:
        u = user_by_email(s, w.emails["manager"])
        assert u is not None
        raw = people_services.create_api_token(s, u, "t")[1]
        s.commit()
    h = {"Authorization": f"Bearer {raw}"}
    items = web.client().get(f"/api/v1/calls/{w.slug}/schedule?limit=200", headers=h).json()
    flagged = [i for i in items["items"] if i["needs_rescheduling"]]
    assert len(flagged) == len(hit)
    assert {i["start"][:10] for i in flagged} == {day.isoformat()}
    # the API's answer lists the slots of a second outage on the next booked day
    later = next(e for e in booked if e.start is not None and e.start.date() > day)
    assert later.start is not None and later.end is not None
    r = web.client().post(
        f"/api/v1/resources/{w.pools['b']}/unavailable",
        headers=h,
        json={"starts_at": later.start.isoformat(), "ends_at": later.end.isoformat(),
              "reason": "power cut"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["clashes"] == [
        {
            "call": w.slug,
            "proposal_code": codes[later.proposal_id],
            "award_id": later.award_id,
            "starts_at": later.start.isoformat().replace("+00:00", "Z"),
            "ends_at": later.end.isoformat().replace("+00:00", "Z"),
        }
    ]
    assert body["hidden_clashes"] == 0
    assert len(clash_events(web)) == before + 2


def test_an_outage_clear_of_bookings_reports_nothing(web: Web, stored: SlotWorld) -> None:
    w, booked, _codes = published(web, stored)
    booked_days = {e.start.date() for e in booked if e.start is not None}
    free = next(
        d
        for d in (dt.date(2027, 11, 30) - dt.timedelta(days=i) for i in range(60))
        if d not in booked_days
    )
    office, tok = session_client(web, w.emails["manager"])
    before = len(clash_events(web))
    r = office.post(
        f"/manage/resources/{w.pools['b']}/unavailable",
        data={"csrf_token": tok, "first_day": free.isoformat(), "last_day": free.isoformat()},
    )
    assert r.status_code == 303 and r.headers["location"].endswith("#calendar")
    assert 'id="clashes"' not in office.get(f"/manage/resources/{w.pools['b']}").text
    assert 'id="reschedule"' not in office.get(f"/manage/calls/{w.slug}/schedule").text
    assert len(clash_events(web)) == before


def test_the_clash_list_shows_only_what_the_viewer_may_see(web: Web, stored: SlotWorld) -> None:
    w, booked, _codes = published(web, stored)
    first = booked[0]
    assert first.start is not None and first.end is not None
    with web.factory() as s:
        pool = s.get(CapacityPool, w.pools["b"])
        assert pool is not None
        stranger = F.user(s, email="stranger@example.org")
        office = user_by_email(s, w.emails["manager"])
        period = [(first.start, first.end)]
        mine = fac_services.schedule_clashes(s, pool, period, viewer=office)
        theirs = fac_services.schedule_clashes(s, pool, period, viewer=stranger)
    assert [(c.visible, c.call_slug, c.entry_id) for c in mine] == [(True, w.slug, first.id)]
    assert [(c.visible, c.call_slug, c.call_title, c.proposal_code, c.proposal_id,
             c.award_id, c.entry_id) for c in theirs] == [(False, "", "", "", 0, None, 0)]  # fmt: skip
    assert (theirs[0].starts_at, theirs[0].ends_at) == (first.start, first.end)
