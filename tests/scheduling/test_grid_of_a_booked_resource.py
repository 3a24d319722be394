"""A resource's slot length and period place its slot grid as much as its time zone does:
while a call that is not archived has a stored schedule on the resource, a change that
would move a booked slot (a new slot length) or leave it outside the grid (a shorter
period) is refused, through the API and the staff form, with a message that names the
calls, how many booked items would move and the field; nothing changes. A change that
keeps every booked slot where it is (a longer period, a start moved by whole slots before
the first booking) is accepted. SQLite and PostgreSQL.

Krios B of the slot world holds seven booked 24-hour sessions: 2027-09-08 to 09-12 and
09-20 to 09-21 (period 2027-09-01 to 11-30)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import delete

from opencall.calls.models import Call
from opencall.facilities.models import CapacityPool, PoolUnavailability
from opencall.facilities.resource_views import _resource_form
from tests.authz.test_workspace_matrix import session_client
from tests.scheduling.conftest import SlotWorld
from tests.scheduling.test_zone_of_a_booked_resource import bearer, placed_on, scheduled
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def krios_b(web: Web, w: SlotWorld) -> tuple[SlotWorld, str, int]:
    """The slot world scheduled (the ``stored`` world: this test's own copy), and Krios
    B's maintenance week (2027-09-01 to 09-07) taken off its calendar, so that its period
    may start later; its id."""
    code, _ = scheduled(web, w)
    with web.factory() as s:
        s.execute(delete(PoolUnavailability).where(PoolUnavailability.pool_id == w.pools["b"]))
        s.commit()
    return w, code, w.pools["b"]


def state(web: Web, pool_id: int) -> tuple[Any, ...]:
    with web.factory() as s:
        pool = s.get(CapacityPool, pool_id)
        assert pool is not None
        return (
            pool.slot_hours,
            pool.period_start,
            pool.period_end,
            pool.amount,
            pool.unit,
            placed_on(s, pool_id),
        )


# (change, the field named, how many of Krios B's seven items it would move)
REFUSED = [
    ({"slot_hours": 12}, "slot_hours", 7),
    ({"slot_hours": 48, "amount": 40}, "slot_hours", 7),
    ({"period_end": "2027-09-20", "amount": 10}, "period_end", 1),
    ({"period_start": "2027-09-09", "amount": 60}, "period_start", 1),
    (
        {"period_start": "2027-09-10", "period_end": "2027-10-31", "amount": 40},
        "period_start",
        2,
    ),
]


@pytest.mark.parametrize(
    ("change", "field", "moved"), REFUSED, ids=["12h", "48h", "end", "start", "both"]
)
def test_the_api_refuses_a_grid_change_that_moves_booked_slots(
    web: Web, stored: SlotWorld, change: dict[str, Any], field: str, moved: int
) -> None:
    w, code, pid = krios_b(web, stored)
    before = state(web, pid)
    assert len(before[-1]) == 7
    h = bearer(web, w.emails["manager"])
    r = web.client().patch(f"/api/v1/resources/{pid}", headers=h, json=change)
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert f"with this {field} " in detail, detail  # the field named
    assert code in detail and f"{moved} of its 7 scheduled items" in detail, detail
    assert state(web, pid) == before  # nothing changed
    # once the call is archived its schedule no longer holds the grid
    with web.factory() as s:
        call = s.get(Call, w.call_id)
        assert call is not None
        call.status = "archived"
        s.commit()
    r = web.client().patch(f"/api/v1/resources/{pid}", headers=h, json=change)
    assert r.status_code == 200, r.text


def test_the_api_accepts_grid_changes_that_keep_every_booked_slot(
    web: Web, stored: SlotWorld
) -> None:
    w, _, pid = krios_b(web, stored)
    h = bearer(web, w.emails["manager"])
    booked = state(web, pid)[-1]
    for change in (
        {"period_end": "2027-12-31"},  # longer
        {"period_start": "2027-08-01"},  # earlier by whole days: the grid stays
        {"period_start": "2027-09-02"},  # later, still before the first booking
        {"period_end": "2027-09-21", "amount": 12},  # the last booked day is the last
        {"slot_hours": 24, "name": "Krios B (300 kV)"},  # the same length again
    ):
        r = web.client().patch(f"/api/v1/resources/{pid}", headers=h, json=change)
        assert r.status_code == 200, (change, r.text)
    after = state(web, pid)
    assert after[:3] == (24.0, dt.date(2027, 9, 2), dt.date(2027, 9, 21))
    assert after[-1] == booked


def test_the_staff_form_refuses_a_grid_change_that_moves_booked_slots(
    web: Web, stored: SlotWorld
) -> None:
    w, code, pid = krios_b(web, stored)
    with web.factory() as s:
        pool = s.get(CapacityPool, pid)
        assert pool is not None
        form = _resource_form(pool)
    before = state(web, pid)
    office, tok = session_client(web, w.emails["manager"])
    url = f"/manage/resources/{pid}"
    r = office.post(url, data={**form, "csrf_token": tok, "slot_hours": "8"})
    assert r.status_code == 400
    assert code in r.text and "7 of its 7 scheduled items" in r.text
    assert state(web, pid) == before
    r = office.post(
        url, data={**form, "csrf_token": tok, "period_end": "2027-09-20", "amount": "10"}
    )
    assert r.status_code == 400 and "1 of its 7 scheduled items" in r.text
    assert state(web, pid) == before
    # said in the reader's language
    office.cookies.set("oc_lang", "fr")
    r = office.post(url, data={**form, "csrf_token": tok, "slot_hours": "8"})
    assert r.status_code == 400
    assert f"7 de ses 7 éléments planifiés dans les appels {code}" in r.text
    office.cookies.set("oc_lang", "en")
    # a longer period is saved
    r = office.post(url, data={**form, "csrf_token": tok, "period_end": "2027-12-31"})
    assert r.status_code == 303, r.text[-2000:]
