"""Several items per resource (``capacity_pools.items``, trialop20b): a resource lending
two identical items, two groups a slot, loses one on a loan. Only its share closes: one
place of each slot from that day, not the resource. The API sets and shows the count and
the item out (its reason in the reader's language), the capacity counts the places left,
the bookings beyond them are flagged for rescheduling (the latest booked), the schedule
made again keeps within them, and the item found frees it all. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from opencall.auditlog import AuditEvent
from opencall.facilities import services as fac_services
from opencall.facilities.models import CapacityPool
from opencall.scheduling import services, slot_services
from opencall.web import security
from tests.authz.test_workspace_matrix import session_client
from tests.scheduling.conftest import SlotWorld, get_call
from tests.scheduling.test_groups_per_slot import bookings, squeeze
from tests.scheduling.test_zone_of_a_booked_resource import bearer
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")

LOST_ON = dt.date(2027, 9, 20)


def lose(web: Web, pool_id: int) -> list[int]:
    with web.factory() as s:
        pool = s.get(CapacityPool, pool_id)
        assert pool is not None
        clashes = fac_services.item_lost(s, pool, item="ROV-3", day=LOST_ON, loan="X")
        s.commit()
        return [c.entry_id for c in clashes]


SAID = {
    "en": "ROV-3 lost: one of 2 items out of service",
    "fr": "ROV-3 perdu : un des 2 objets hors service",
    "zh": "ROV-3 丢失：2 件物品中有一件停用",
}
LOAN = {"sample": "Work-class ROV", "item": "ROV-3", "shipped_on": "2027-09-15"}


def flagged(web: Web, w: SlotWorld) -> dict[int, str]:
    with web.factory() as s:
        return slot_services.needs_rescheduling(s, get_call(s, w))


def test_a_lost_item_of_two_closes_one_place_of_each_slot_from_that_day(
    web: Web, sw: SlotWorld
) -> None:
    w = sw
    b = w.pools["b"]
    squeeze(web, w, 2)
    h = bearer(web, w.emails["manager"])
    url = f"/api/v1/resources/{b}"
    for bad in (0, -1, 10_001):
        r = web.client().patch(url, headers=h, json={"items": bad})
        assert r.status_code == 400 and "number of items" in str(r.json()["detail"]), r.text
    r = web.client().patch(url, headers={**h, "Accept-Language": "fr"}, json={"items": 0})
    assert "nombre d’objets doit être un nombre entier de 1" in r.text, r.text
    r = web.client().patch(url, headers=h, json={"items": 2, "record_kinds": ["loan"]})
    assert r.status_code == 200, r.text
    cal = r.json()["calendar"]
    assert cal["items"] == 2 and cal["items_out"] == [] and cal["slot_capacity"] == 10, cal
    with web.factory() as s:
        services.run_schedule(s, get_call(s, w))
        s.commit()
    before = bookings(web, b)
    assert sum(before.values()) == 7 and max(before.values()) == 2

    # the loner's loan of ROV-3 is recorded lost on the 20th, through the API
    records = f"/api/v1/awards/{w.loner}/records"
    lost = {"kind": "loan", "data": {**LOAN, "condition": "lost", "lost_on": "2027-09-20"}}
    r = web.client().post(records, headers=h, json=lost)
    assert r.status_code in (200, 201), r.text
    rec = r.json()["id"]
    # the resource is not closed: no unavailable period, one place of 2 left a slot
    cal = web.client().get(f"{url}/calendar", headers={**h, "Accept-Language": "fr"}).json()
    assert not [u for u in cal["unavailable"] if "ROV" in u["reason"]], cal["unavailable"]
    said = "ROV-3 perdu : un des 2 objets hors service"
    assert [(o["item"], o["reason"]) for o in cal["items_out"]] == [("ROV-3", said)]
    # the calendar page and its iCalendar file say it in the reader's language
    office, _ = session_client(web, w.emails["manager"])
    for lang, words in SAID.items():
        office.cookies.set(security.LANG_COOKIE, lang)
        for page in ("calendar", "calendar.ics"):
            got = office.get(f"/manage/calls/{w.slug}/resources/{b}/{page}")
            assert got.status_code == 200 and words in got.text, (lang, page, got.text[:300])
    assert cal["items_out"][0]["starts_at"].startswith("2027-09-20"), cal["items_out"]
    assert cal["slot_capacity"] == 10 - 5, cal  # 20 to 24 September: one place each
    # in each slot from the 22nd holding two bookings, the latest booked is flagged
    full = [t for t, n in before.items() if n == 2 and t.date() >= LOST_ON]
    marks = flagged(web, w)
    assert len(full) == 2 and list(marks.values()) == ["ROV-3"] * 2, (marks, full)
    with web.factory() as s:
        said_in_audit = s.scalars(
            select(AuditEvent.data).where(
                AuditEvent.action == "pool.unavailable_clashes", AuditEvent.entity_id == str(b)
            )
        ).all()
    assert sorted(x["entry"] for d in said_in_audit for x in d["slots"]) == sorted(marks)
    sched = web.client().get(f"/api/v1/calls/{w.slug}/schedule?limit=200", headers=h).json()
    assert sum(e["needs_rescheduling"] for e in sched["items"]) == 2, sched["items"]
    # the schedule made again keeps one group a slot from the 20th
    with web.factory() as s:
        services.run_schedule(s, get_call(s, w))
        s.commit()
    again = bookings(web, b)
    assert all(n <= 1 for t, n in again.items() if t.date() >= LOST_ON), again
    assert all(n <= 2 for n in again.values())
    assert flagged(web, w) == {}

    # the day corrected moves it; returned after all frees the share, the capacity whole
    moved = {"data": {**LOAN, "condition": "lost", "lost_on": "2027-09-24"}}
    r = web.client().put(f"{records}/{rec}", headers=h, json=moved)
    assert r.status_code == 200, r.text
    cal = web.client().get(f"{url}/calendar", headers=h).json()
    assert [o["starts_at"][:10] for o in cal["items_out"]] == ["2027-09-24"], cal
    assert cal["slot_capacity"] == 10 - 1, cal
    back = {"data": {**LOAN, "returned_on": "2027-09-25", "condition": "good"}}
    r = web.client().put(f"{records}/{rec}", headers=h, json=back)
    assert r.status_code == 200, r.text
    cal = web.client().get(f"{url}/calendar", headers=h).json()
    assert cal["items_out"] == [] and cal["slot_capacity"] == 10, cal


def test_one_item_still_closes_the_resource_whole(web: Web, sw: SlotWorld) -> None:
    w = sw
    b = w.pools["b"]
    squeeze(web, w, 2)
    lose(web, b)
    cal = (
        web.client()
        .get(f"/api/v1/resources/{b}/calendar", headers=bearer(web, w.emails["manager"]))
        .json()
    )
    assert cal["items"] == 1 and cal["items_out"] == [], cal
    assert [u["reason"] for u in cal["unavailable"] if "ROV-3" in u["reason"]] == ["ROV-3 lost"]
