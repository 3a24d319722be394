"""``scheduling.slot_services.places_used`` (the team's "2 of 2 places booked" on its slots
page): the places booked of every shared slot of the team's bookings in one grouped
statement (by resource and start), not one COUNT a booking (mend21). The counts are those
of the bookings themselves (any call's, a count, never whose). SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from opencall.facilities.models import CapacityPool
from opencall.proposals.models import Proposal
from opencall.scheduling import services, slot_services
from opencall.scheduling.models import ScheduleEntry
from tests.scale.test_site_history_round20 import statements
from tests.scheduling.conftest import SlotWorld, get_call
from tests.scheduling.test_groups_per_slot import squeeze
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def test_the_places_of_a_teams_shared_slots_in_one_statement(web: Web, sw: SlotWorld) -> None:
    w = sw
    squeeze(web, w, 2)
    with web.factory() as s:
        services.run_schedule(s, get_call(s, w))
        s.commit()
    with web.factory() as s:
        b = s.get(CapacityPool, w.pools["b"])
        assert b is not None
        every = s.scalars(
            select(ScheduleEntry).where(
                ScheduleEntry.pool_id == b.id, ScheduleEntry.kind == slot_services.SLOT_KIND
            )
        ).all()
        per_start = Counter(e.start for e in every)
        loner = s.get(Proposal, w.loner)
        assert loner is not None
        placed = [e for e in slot_services.proposal_slots(s, loner) if e.start is not None]
        pools = {p.id: p for p in s.scalars(select(CapacityPool))}
        assert len(placed) == 5 and all(e.pool_id == b.id for e in placed)
        # a booking on a resource of one group has no count (the bundle's screening on A)
        bundle = s.get(Proposal, w.bundle)
        assert bundle is not None
        theirs = [e for e in slot_services.proposal_slots(s, bundle) if e.start is not None]
        assert any((pools[e.pool_id].groups_per_slot or 1) == 1 for e in theirs)
        mixed = placed + theirs
        with statements(s.get_bind()) as seen:
            got = slot_services.places_used(s, mixed, pools)
    want = {
        e.id: (per_start[e.start], 2)
        for e in mixed
        if e.pool_id == b.id  # the shared resource's bookings only
    }
    assert got == want
    assert sorted(n for n, _ in got.values()) != [1] * len(got)  # some slots are shared
    assert len(seen) == 1, [sql for sql, _ in seen]
    with web.factory() as s, statements(s.get_bind()) as none:
        assert slot_services.places_used(s, [], {}) == {}
    assert none == []
