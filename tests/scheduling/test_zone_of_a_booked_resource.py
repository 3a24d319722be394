"""A resource's time zone and the hour its days begin place its slot grid: once a call
that is not archived has a stored schedule on the resource, changing either is refused
(through the API and the staff form) with a message that names the calls and how many
scheduled items they hold, and nothing changes; every other edit of the resource is
still accepted, and so is the change once those calls are archived. SQLite and
PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from opencall.calls.models import Call
from opencall.facilities.models import CapacityPool
from opencall.facilities.resource_views import _resource_form
from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from opencall.scheduling.models import ScheduleEntry
from tests.authz.test_workspace_matrix import session_client
from tests.scheduling.conftest import SlotWorld, get_call
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def scheduled(web: Web, w: SlotWorld) -> tuple[str, int]:
    """The call's code and how many items of Krios A its stored schedule places (the
    ``stored`` world is this test's own copy: it changes a resource)."""
    with web.factory() as s:
        return get_call(s, w).code, len(placed_on(s, w.pools["a"]))


def placed_on(s: Any, pool_id: int) -> list[tuple[Any, Any]]:
    rows = s.execute(
        select(ScheduleEntry.start, ScheduleEntry.end)
        .where(ScheduleEntry.pool_id == pool_id, ScheduleEntry.start.is_not(None))
        .order_by(ScheduleEntry.id)
    )
    return [tuple(r) for r in rows]


def grid_of(web: Web, pool_id: int) -> tuple[str, float, list[tuple[Any, Any]]]:
    with web.factory() as s:
        pool = s.get(CapacityPool, pool_id)
        assert pool is not None
        return pool.time_zone or "", pool.day_start_hour, placed_on(s, pool_id)


def bearer(web: Web, email: str) -> dict[str, str]:
    with web.factory() as s:
        u = user_by_email(s, email)
        assert u is not None
        raw = people_services.create_api_token(s, u, "t")[1]
        s.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.mark.parametrize(
    "change", [{"time_zone": "Asia/Bangkok"}, {"day_start_hour": 8}], ids=["zone", "hour"]
)
def test_the_api_refuses_to_move_the_grid_under_a_stored_schedule(
    web: Web, stored: SlotWorld, change: dict[str, Any]
) -> None:
    w = stored
    code, placed = scheduled(web, w)
    assert placed > 0
    before = grid_of(web, w.pools["a"])
    h = bearer(web, w.emails["manager"])
    r = web.client().patch(f"/api/v1/resources/{w.pools['a']}", headers=h, json=change)
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert code in detail and f"{placed} scheduled" in detail, detail
    assert grid_of(web, w.pools["a"]) == before  # nothing changed
    # the same value again, and other fields, are still accepted
    same = {"time_zone": before[0], "day_start_hour": before[1], "name": "Krios A (300 kV)"}
    r = web.client().patch(f"/api/v1/resources/{w.pools['a']}", headers=h, json=same)
    assert r.status_code == 200, r.text
    # once the call is archived its schedule no longer holds the grid
    with web.factory() as s:
        call = s.get(Call, w.call_id)
        assert call is not None
        call.status = "archived"
        s.commit()
    r = web.client().patch(f"/api/v1/resources/{w.pools['a']}", headers=h, json=change)
    assert r.status_code == 200, r.text
    key, value = next(iter(change.items()))
    assert r.json()["calendar"][key] == value


def test_the_staff_form_refuses_to_move_the_grid_under_a_stored_schedule(
    web: Web, stored: SlotWorld
) -> None:
    w = stored
    code, placed = scheduled(web, w)
    with web.factory() as s:
        pool = s.get(CapacityPool, w.pools["a"])
        assert pool is not None
        form = _resource_form(pool)
    before = grid_of(web, w.pools["a"])
    office, tok = session_client(web, w.emails["manager"])
    url = f"/manage/resources/{w.pools['a']}"
    r = office.post(url, data={**form, "csrf_token": tok, "time_zone": "Europe/Berlin"})
    assert r.status_code == 400
    assert code in r.text and f"{placed} scheduled" in r.text
    assert grid_of(web, w.pools["a"]) == before
    r = office.post(url, data={**form, "csrf_token": tok, "day_start_hour": "6"})
    assert r.status_code == 400 and code in r.text
    assert grid_of(web, w.pools["a"]) == before
    # said in the reader's language
    office.cookies.set("oc_lang", "fr")
    r = office.post(url, data={**form, "csrf_token": tok, "time_zone": "Europe/Berlin"})
    assert r.status_code == 400 and f"{placed} éléments planifiés dans les appels {code}" in r.text
    office.cookies.set("oc_lang", "en")
    # the form sends every field: an edit that leaves the grid alone is saved
    r = office.post(url, data={**form, "csrf_token": tok, "name": "Krios A (300 kV)"})
    assert r.status_code == 303, r.text[-2000:]
