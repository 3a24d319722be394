"""A shared-use slot resource (``capacity_pools.groups_per_slot``): set through the API and
the staff form, shown on the resource page and in the API; its capacity counted in places
(slots x groups); refused when not a whole number from 1, with a changeover, or below what
a slot already holds (saying which slot), nothing changed; and honoured by the schedule:
up to that many proposals share one slot, never more. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from opencall.calls.models import CallPool
from opencall.errors import DomainError
from opencall.facilities.domain import check_groups_per_slot
from opencall.facilities.models import CapacityPool, PoolUnavailability
from opencall.facilities.resource_views import _resource_form
from opencall.scheduling import services, slot_services
from opencall.scheduling.models import ScheduleEntry
from tests.authz.test_workspace_matrix import session_client
from tests.scheduling.conftest import SlotWorld, get_call
from tests.scheduling.test_slot_pages import events
from tests.scheduling.test_zone_of_a_booked_resource import bearer
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def groups_of(web: Web, pool_id: int) -> int:
    with web.factory() as s:
        pool = s.get(CapacityPool, pool_id)
        assert pool is not None
        return pool.groups_per_slot


def bookings(web: Web, pool_id: int) -> Counter[dt.datetime]:
    with web.factory() as s:
        rows = s.scalars(
            select(ScheduleEntry.start).where(
                ScheduleEntry.pool_id == pool_id, ScheduleEntry.start.is_not(None)
            )
        )
        return Counter(t for t in rows if t is not None)


def squeeze(web: Web, w: SlotWorld, groups: int) -> None:
    """Krios B open only 20-24 September (5 daily sessions) for the loner's 5 sessions and
    the bundle's 2: 7 places, so that sessions must be shared to place them all."""
    with web.factory() as s:
        pool = s.get(CapacityPool, w.pools["b"])
        assert pool is not None
        pool.period_end = dt.date(2027, 9, 24)
        pool.amount = 10.0
        pool.groups_per_slot = groups
        for u in pool.unavailable:
            if u.reason == "maintenance":
                u.ends_at = dt.datetime(2027, 9, 20, tzinfo=dt.UTC)
        cp = s.scalars(select(CallPool).where(CallPool.pool_id == pool.id)).one()
        cp.amount = 10.0
        s.commit()


def shared_schedule(web: Web, w: SlotWorld, groups: int) -> Counter[dt.datetime]:
    """:func:`squeeze` to ``groups`` a session, the call's schedule made: Krios B's
    bookings by start."""
    squeeze(web, w, groups)
    with web.factory() as s:
        services.run_schedule(s, get_call(s, w))
        s.commit()
    return bookings(web, w.pools["b"])


def test_two_groups_share_a_session_and_never_three(web: Web, sw: SlotWorld) -> None:
    w = sw
    b = w.pools["b"]
    squeeze(web, w, 2)
    with web.factory() as s:
        pool = s.get(CapacityPool, b)
        assert pool is not None
        assert slot_services.resource_of(pool).groups_per_slot == 2
        services.run_schedule(s, get_call(s, w))
        s.commit()
    booked = bookings(web, b)
    assert sum(booked.values()) == 7  # every award placed: the 5 and the bundle's 2
    assert max(booked.values()) == 2 and len(booked) == 5


def test_one_group_a_session_leaves_the_bundle_out(web: Web, sw: SlotWorld) -> None:
    # the same week, one group a session: 5 sessions, 7 asked; no session is shared
    w = sw
    booked = shared_schedule(web, w, 1)
    assert sum(booked.values()) == 5 and max(booked.values()) == 1


def test_the_api_sets_shows_and_counts_places(web: Web, sw: SlotWorld) -> None:
    w = sw
    h = bearer(web, w.emails["manager"])
    url = f"/api/v1/resources/{w.pools['b']}"
    r = web.client().get(url, headers=h)
    assert r.json()["calendar"]["groups_per_slot"] == 1
    slots = r.json()["calendar"]["slot_capacity"]
    r = web.client().patch(url, headers=h, json={"groups_per_slot": 4})
    assert r.status_code == 200, r.text
    assert r.json()["calendar"]["groups_per_slot"] == 4
    assert r.json()["calendar"]["slot_capacity"] == 4 * slots
    assert groups_of(web, w.pools["b"]) == 4


BAD = [
    (0, 400, "whole number from 1"),
    (-2, 400, "whole number from 1"),
    (1.5, 422, ""),
    (1001, 400, "from 1 to 1000"),
]


@pytest.mark.parametrize(("value", "status", "said"), BAD, ids=["zero", "neg", "half", "big"])
def test_the_api_refuses_bad_groups_per_slot(
    web: Web, sw: SlotWorld, value: Any, status: int, said: str
) -> None:
    w = sw
    h = bearer(web, w.emails["manager"])
    url = f"/api/v1/resources/{w.pools['b']}"
    r = web.client().patch(url, headers=h, json={"groups_per_slot": value})
    assert r.status_code == status, r.text
    assert said in str(r.json()["detail"])
    assert groups_of(web, w.pools["b"]) == 1


def test_lowering_below_a_shared_slots_bookings_is_refused_saying_which(
    web: Web, sw: SlotWorld
) -> None:
    w = sw
    squeeze(web, w, 2)
    with web.factory() as s:
        services.run_schedule(s, get_call(s, w))
        s.commit()
    shared = sorted(t for t, n in bookings(web, w.pools["b"]).items() if n == 2)
    h = bearer(web, w.emails["manager"])
    url = f"/api/v1/resources/{w.pools['b']}"
    r = web.client().patch(url, headers=h, json={"groups_per_slot": 1})
    assert r.status_code == 400, r.text
    said = str(r.json()["detail"])
    assert f"{len(shared)} slots already hold more groups than 1" in said
    assert shared[0].isoformat() in said and "holds 2" in said
    assert groups_of(web, w.pools["b"]) == 2
    # a changeover on a shared resource is refused too
    r = web.client().patch(url, headers=h, json={"changeover_slots": 1})
    assert r.status_code == 400 and "keeps no changeover" in str(r.json()["detail"])
    with web.factory() as s:
        pool = s.get(CapacityPool, w.pools["b"])
        assert pool is not None and pool.changeover_slots == 0


def test_the_domain_rule() -> None:
    assert check_groups_per_slot("", None, 0) == 1
    assert check_groups_per_slot(3, 8.0, 0) == 3 and check_groups_per_slot(1, None, 2) == 1
    for bad in (True, "2", 1.5, float("nan"), 0, -1, 1001):
        with pytest.raises(DomainError, match="whole number from 1"):
            check_groups_per_slot(bad, 8.0, 0)
    with pytest.raises(DomainError, match="offered in slots"):
        check_groups_per_slot(2, None, 0)
    with pytest.raises(DomainError, match="keeps no changeover"):
        check_groups_per_slot(2, 8.0, 1)


def test_the_staff_form_sets_and_shows_groups_per_slot(web: Web, sw: SlotWorld) -> None:
    w = sw
    b = w.pools["a"]
    with web.factory() as s:
        pool = s.get(CapacityPool, b)
        assert pool is not None
        form = _resource_form(pool)
    assert form["groups_per_slot"] == ""
    office, tok = session_client(web, w.emails["manager"])
    url = f"/manage/resources/{b}"
    assert 'name="groups_per_slot"' in office.get(f"{url}/edit").text
    assert "one group a slot" in office.get(url).text
    r = office.post(url, data={**form, "csrf_token": tok, "groups_per_slot": "0"})
    assert r.status_code == 400 and "whole number from 1" in r.text
    office.cookies.set("oc_lang", "fr")
    r = office.post(url, data={**form, "csrf_token": tok, "groups_per_slot": "0"})
    assert r.status_code == 400 and "nombre entier de 1" in r.text
    office.cookies.set("oc_lang", "en")
    assert groups_of(web, b) == 1
    r = office.post(url, data={**form, "csrf_token": tok, "groups_per_slot": "3"})
    assert r.status_code == 303, r.text[-2000:]
    assert groups_of(web, b) == 3
    assert "3 groups share one slot" in office.get(url).text


def test_unavailable_is_still_kept_in_a_shared_slot(web: Web, sw: SlotWorld) -> None:
    w = sw
    squeeze(web, w, 2)
    with web.factory() as s:
        services.run_schedule(s, get_call(s, w))
        s.commit()
        downs = s.scalars(
            select(PoolUnavailability).where(PoolUnavailability.pool_id == w.pools["b"])
        ).all()
    for t in bookings(web, w.pools["b"]):
        assert not any(u.starts_at <= t < u.ends_at for u in downs)


def test_a_shared_slot_in_the_exports_each_team_sees_only_its_own(web: Web, sw: SlotWorld) -> None:
    w = sw
    b = w.pools["b"]
    squeeze(web, w, 2)
    with web.factory() as s:
        services.run_schedule(s, get_call(s, w))
        call = get_call(s, w)
        call.status = "published"
        s.commit()
        entries = list(
            s.scalars(
                select(ScheduleEntry).where(
                    ScheduleEntry.pool_id == b, ScheduleEntry.start.is_not(None)
                )
            )
        )
    shared = {t for t, n in bookings(web, b).items() if n == 2}
    base = f"/manage/calls/{w.slug}/resources/{b}"
    office, _ = session_client(web, w.emails["manager"])
    # the staff page and file: a row and an event per booking, each its own UID
    page = office.get(f"{base}/calendar").text
    assert page.count('class="booked"') == 7
    staff = events(office.get(f"{base}/calendar.ics").content)
    booked = [v for v in staff.values() if not v[2].startswith("Unavailable")]
    assert len(booked) == 7 and sorted(v[0] for v in booked) == sorted(e.start for e in entries)
    # the public file: busy once per slot, no proposal
    public = events(web.client().get(f"/calls/{w.slug}/resources/{b}/calendar.ics").content)
    busy = [v for v in public.values() if v[2] == "Booked"]
    assert len(busy) == 5 and {v[0] for v in busy} >= shared
    # the loner's own file: only its sessions, never the bundle's code or title
    other, _ = session_client(web, w.emails["other"])
    with web.factory() as s:
        from opencall.proposals.models import Proposal

        mine, theirs = s.get(Proposal, w.loner), s.get(Proposal, w.bundle)
        assert mine is not None and theirs is not None
        own_code, their_code, their_title = mine.code, theirs.code, theirs.title
    r = other.get(f"/proposals/{w.loner}/slots.ics")
    got = events(r.content)
    assert len(got) == 5 and all(v[2].startswith(own_code) for v in got.values())
    assert their_code.encode() not in r.content and their_title.encode() not in r.content
    assert set(got) <= set(staff)  # the same UID as the staff's event of that booking
    page = other.get(f"/proposals/{w.loner}/slots").text
    assert their_code not in page and their_title not in page


def test_the_team_reads_how_full_its_shared_slot_is(web: Web, sw: SlotWorld) -> None:
    w = sw
    booked = shared_schedule(web, w, 2)
    other, _ = session_client(web, w.emails["other"])
    page = other.get(f"/proposals/{w.loner}/slots").text
    full = sum(1 for n in booked.values() if n == 2)
    assert page.count("2 of 2 places booked") == full and full >= 2
    assert page.count("1 of 2 places booked") == 5 - full
    other.cookies.set("oc_lang", "fr")
    assert "places réservées sur 2" in other.get(f"/proposals/{w.loner}/slots").text
