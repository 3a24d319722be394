"""A slot-based resource's changeover (``changeover_slots``): set through the API and the
staff form, shown on the resource's page and in the API, refused when it is not a whole
number from 0 to 100 or the resource has no slots (nothing changed), and honoured by the
schedule: two bookings of different proposals on the resource keep that many slots free
between them, the same proposal's need none, and every award is still placed.
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from opencall.errors import DomainError
from opencall.facilities import services as fac_services
from opencall.facilities.domain import check_changeover
from opencall.facilities.models import CapacityPool
from opencall.facilities.resource_views import _resource_form
from opencall.people import services as people_services
from opencall.runs import Solve
from opencall.scheduling import services, slot_services
from opencall.scheduling.models import ScheduleEntry
from tests import factories as F
from tests.authz.test_workspace_matrix import session_client
from tests.scheduling.conftest import SlotWorld, get_call
from tests.scheduling.test_shared_pool import _call_with_award
from tests.scheduling.test_zone_of_a_booked_resource import bearer
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def changeover_of(web: Web, pool_id: int) -> int:
    with web.factory() as s:
        pool = s.get(CapacityPool, pool_id)
        assert pool is not None
        return pool.changeover_slots


def bookings(web: Web, pool_id: int) -> list[tuple[dt.datetime, int]]:
    with web.factory() as s:
        rows = s.execute(
            select(ScheduleEntry.start, ScheduleEntry.proposal_id)
            .where(ScheduleEntry.pool_id == pool_id, ScheduleEntry.start.is_not(None))
            .order_by(ScheduleEntry.start)
        )
        return [(t, pid) for t, pid in rows.tuples() if t is not None]


def test_the_schedule_keeps_the_changeover_between_two_proposals(web: Web, sw: SlotWorld) -> None:
    w = sw
    b = w.pools["b"]
    h = bearer(web, w.emails["manager"])
    # back to back by default: the loner's five days and the bundle's two on Krios B
    r = web.client().get(f"/api/v1/resources/{b}", headers=h)
    assert r.status_code == 200 and r.json()["calendar"]["changeover_slots"] == 0
    r = web.client().patch(
        f"/api/v1/resources/{b}", headers=h, json={"changeover_slots": 10, "amount": 80}
    )
    assert r.status_code == 200, r.text
    assert r.json()["calendar"]["changeover_slots"] == 10
    with web.factory() as s:
        services.run_schedule(s, get_call(s, w))
        s.commit()
    booked = bookings(web, b)
    assert len(booked) == 7  # every award placed
    day = dt.timedelta(days=1)
    for (t, p), (t2, p2) in zip(booked, booked[1:], strict=False):
        if p != p2:  # ten whole days free between the two proposals
            assert t2 - t > 10 * day, booked
        else:
            assert t2 - t == day  # the same proposal's days follow each other
    assert len({p for _, p in booked}) == 2


BAD = [(1.5, 422, ""), (-1, 400, "whole number"), (101, 400, "from 0 to 100")]


@pytest.mark.parametrize(("value", "status", "said"), BAD, ids=["half", "negative", "too-many"])
def test_the_api_refuses_a_bad_changeover(
    web: Web, sw: SlotWorld, value: Any, status: int, said: str
) -> None:
    w = sw
    h = bearer(web, w.emails["manager"])
    url = f"/api/v1/resources/{w.pools['b']}"
    r = web.client().patch(url, headers=h, json={"changeover_slots": value, "amount": 80})
    assert r.status_code == status, r.text
    assert said in str(r.json()["detail"])
    assert changeover_of(web, w.pools["b"]) == 0


def test_a_resource_without_slots_has_no_changeover() -> None:
    assert check_changeover(3, 24.0) == 3 and check_changeover("", None) == 0
    assert check_changeover(0, None) == 0
    with pytest.raises(DomainError, match="offered in slots"):
        check_changeover(1, None)
    for bad in (True, "1", 1.5, float("nan"), -1, 101):
        with pytest.raises(DomainError, match="whole number"):
            check_changeover(bad, 24.0)


def test_the_staff_form_sets_and_shows_the_changeover(web: Web, sw: SlotWorld) -> None:
    w = sw
    b = w.pools["a"]
    with web.factory() as s:
        pool = s.get(CapacityPool, b)
        assert pool is not None
        form = _resource_form(pool)
    assert form["changeover_slots"] == ""
    office, tok = session_client(web, w.emails["manager"])
    url = f"/manage/resources/{b}"
    assert 'name="changeover_slots"' in office.get(f"{url}/edit").text
    assert "none: bookings back to back" in office.get(url).text
    r = office.post(url, data={**form, "csrf_token": tok, "changeover_slots": "2.5"})
    assert r.status_code == 400 and "whole number of slots" in r.text
    assert changeover_of(web, b) == 0
    office.cookies.set("oc_lang", "fr")
    r = office.post(url, data={**form, "csrf_token": tok, "changeover_slots": "2.5"})
    assert r.status_code == 400 and "nombre entier de créneaux" in r.text
    office.cookies.set("oc_lang", "en")
    r = office.post(url, data={**form, "csrf_token": tok, "changeover_slots": "1"})
    assert r.status_code == 303, r.text[-2000:]
    assert changeover_of(web, b) == 1
    page = office.get(url)
    assert "Changeover between two proposals" in page.text
    assert "1 session kept free" in page.text


@pytest.mark.parametrize(("changeover", "first_day"), [(0, 13), (2, 15)], ids=["none", "two"])
def test_another_calls_schedule_keeps_the_changeover_next_to_the_first(
    web: Web, sw: SlotWorld, changeover: int, first_day: int
) -> None:
    """Krios B holds the slot world's bookings (09-08 to 09-12, 09-20 and 09-21); a
    second call's award of two sessions takes the first days that keep the changeover:
    09-13 and 09-14 back to back, 09-15 and 09-16 with two days kept free."""
    w = sw
    with web.factory() as s:
        services.run_schedule(s, get_call(s, w))
        pool = s.get(CapacityPool, w.pools["b"])
        assert pool is not None
        pool.changeover_slots = changeover
        theirs = _call_with_award(s, pool, 2.0, 2.0)
        slot_services.schedule_slots(s, theirs, Solve(0, None))
        s.commit()
        theirs_id = theirs.id
    with web.factory() as s:
        rows = s.execute(
            select(ScheduleEntry.start, ScheduleEntry.call_id).where(
                ScheduleEntry.pool_id == w.pools["b"], ScheduleEntry.start.is_not(None)
            )
        ).tuples()
        by_call: dict[int, list[dt.datetime]] = {}
        for t, cid in rows:
            assert t is not None
            by_call.setdefault(cid, []).append(t)
    second = sorted(by_call.pop(theirs_id))
    first = [t for ts in by_call.values() for t in ts]
    start = dt.datetime(2027, 9, first_day, tzinfo=dt.UTC)
    assert second == [start, start + dt.timedelta(days=1)]
    gap = min(abs(t - u) for t in second for u in first)
    assert gap > dt.timedelta(days=changeover)


def test_a_new_resource_takes_its_changeover_through_the_api(web: Web) -> None:
    with web.factory() as s:
        prov = fac_services.create_provider(
            s, name="Magnet lab", slug="magnet-changeover", country_iso3="FRA"
        )
        fac = fac_services.create_facility(
            s, prov, name="Cells", slug="cells", kind="custom", attributes={}
        )
        admin = F.user(s, email="office@magnet.example")
        people_services.grant_role(s, admin.id, "provider_admin", provider_id=prov.id)
        raw = people_services.create_api_token(s, admin, "t")[1]
        s.commit()
        fac_id = fac.id
    h = {"Authorization": f"Bearer {raw}"}
    url = f"/api/v1/facilities/{fac_id}/resources"
    cell = {
        "name": "Cell 1",
        "unit": "day",
        "amount": 20,
        "period_start": "2028-03-01",
        "period_end": "2028-03-31",
        "slot_hours": 24,
        "changeover_slots": 1,
    }
    r = web.client().post(url, headers=h, json=cell)
    assert r.status_code == 201, r.text
    assert r.json()["calendar"]["changeover_slots"] == 1
    # a resource without slots has no changeover: refused, nothing made
    hours = {"name": "Furnace", "unit": "h", "amount": 40, "changeover_slots": 1}
    r = web.client().post(url, headers=h, json=hours)
    assert r.status_code == 400 and "offered in slots" in r.json()["detail"], r.text
    with web.factory() as s:
        names = s.scalars(select(CapacityPool.name).where(CapacityPool.facility_id == fac_id))
        assert list(names) == ["Cell 1"]
