"""mend9a, item 2: a changeover raised on a resource after its schedule was stored is
accepted (the next run keeps it) but the bookings it now breaks are not silent: the
resource's page and ``GET/PATCH /api/v1/resources/<id>`` list them
(``changeover_clashes``), and the call's schedule page and API mark them as needing
rescheduling. Back to a changeover they keep, nothing is flagged. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from opencall.scheduling.models import ScheduleEntry
from tests.authz.test_workspace_matrix import session_client
from tests.scheduling.conftest import SlotWorld
from tests.scheduling.test_zone_of_a_booked_resource import bearer
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def test_a_changeover_raised_under_a_stored_schedule_flags_the_bookings_it_breaks(
    web: Web, stored: SlotWorld
) -> None:
    w = stored
    b = w.pools["b"]
    with web.factory() as s:
        rows = s.execute(
            select(ScheduleEntry.id, ScheduleEntry.start, ScheduleEntry.proposal_id)
            .where(ScheduleEntry.pool_id == b, ScheduleEntry.start.is_not(None))
            .order_by(ScheduleEntry.start)
        ).all()
    owners = [pid for _id, _t, pid in rows]
    assert len(set(owners)) == 2, rows  # two proposals on Krios B, apart by a few days
    # the last slot of the first proposal and the first of the other: the pair closest
    last = max(i for i, p in enumerate(owners) if p == owners[0])
    gap_days = (rows[last + 1][1] - rows[last][1]).days
    too_close = {rows[last][0], rows[last + 1][0]}
    h = bearer(web, w.emails["manager"])
    api = web.client()
    # a changeover they keep: nothing flagged
    r = api.patch(
        f"/api/v1/resources/{b}", headers=h, json={"changeover_slots": gap_days - 1, "amount": 80}
    )
    assert r.status_code == 200, r.text
    assert r.json()["changeover_clashes"] == []
    # one they no longer keep: accepted, both bookings of the pair listed
    r = api.patch(
        f"/api/v1/resources/{b}", headers=h, json={"changeover_slots": gap_days, "amount": 80}
    )
    assert r.status_code == 200, r.text
    listed = r.json()["changeover_clashes"]
    assert len(listed) == 2 and {c["call"] for c in listed} == {w.slug}
    assert api.get(f"/api/v1/resources/{b}", headers=h).json()["changeover_clashes"] == listed
    sched = api.get(f"/api/v1/calls/{w.slug}/schedule?limit=100", headers=h).json()["items"]
    flagged = [e for e in sched if e["needs_rescheduling"]]
    assert len(flagged) == 2
    office, _tok = session_client(web, w.emails["manager"])
    page = office.get(f"/manage/resources/{b}").text
    assert 'id="changeover-clashes"' in page
    page = office.get(f"/manage/calls/{w.slug}/schedule").text
    assert 'id="reschedule"' in page and "changeover" in page
    with web.factory() as s:
        ids = set(s.scalars(select(ScheduleEntry.id).where(ScheduleEntry.pool_id == b)))
    assert too_close <= ids
