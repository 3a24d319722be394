"""trialop19: the schedule API names each entry's resource by id and by name (as the
awards API does: ``pool_id``, ``pool``), not only inside its label ("code · name"): a
client matching the timetable to its resources parsed the label, which breaks on a
resource whose name holds " · " or is renamed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from opencall.facilities.models import CapacityPool
from opencall.scheduling.models import ScheduleEntry
from tests.scheduling.conftest import SlotWorld
from tests.scheduling.test_zone_of_a_booked_resource import bearer
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def test_each_entry_names_its_resource_by_id_and_name(web: Web, stored: SlotWorld) -> None:
    w = stored
    with web.factory() as s:
        names = {i: n for i, n in s.execute(select(CapacityPool.id, CapacityPool.name))}
        pools = set(
            s.scalars(select(ScheduleEntry.pool_id).where(ScheduleEntry.call_id == w.call_id))
        )
    assert set(w.pools.values()) & pools
    r = web.client().get(
        f"/api/v1/calls/{w.slug}/schedule?limit=100", headers=bearer(web, w.emails["manager"])
    )
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert items
    for e in items:
        assert e["pool_id"] in pools, e
        assert e["pool"] == names[e["pool_id"]], e
