"""``scheduling.slot_services.places_used`` (the team's "2 of 2 places booked" on its slots
page): the places booked of every shared slot of the team's bookings in one grouped
statement (by resource and start), not one COUNT a booking (mend21). The counts are those
of the bookings themselves (any call's, a count, never whose). SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from opencall.facilities.models import CapacityPool
from opencall.proposals.models import Proposal
from opencall.scheduling import slot_services
from tests.scale.test_site_history_round20 import statements
from tests.scheduling.conftest import SlotWorld
from tests.scheduling.test_groups_per_slot import shared_schedule
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def test_the_places_of_a_teams_shared_slots_in_one_statement(web: Web, sw: SlotWorld) -> None:
    w = sw
    per_start = shared_schedule(web, w, 2)  # any call's bookings of each slot of Krios B
    with web.factory() as s:
        pools = {p.id: p for p in s.scalars(select(CapacityPool))}
        b = pools[w.pools["b"]]
        loner = s.get(Proposal, w.loner)
        assert loner is not None
        placed = [e for e in slot_services.proposal_slots(s, loner) if e.start is not None]
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
    assert max(n for n, _ in got.values()) == 2  # some of its slots are shared
    assert len(seen) == 1, [sql for sql, _ in seen]
    with web.factory() as s, statements(s.get_bind()) as none:
        assert slot_services.places_used(s, [], {}) == {}
    assert none == []
