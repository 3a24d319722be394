"""trialop20: a loan record removed (kept in error: the wrong award, twice) takes the
lost period it closed with it. Before, the period stayed (its ``lost_record_id`` set to
NULL by the foreign key): the resource stayed closed to the end of its period for a loss
no record any longer said, and nothing could free it but an edit of the calendar."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from opencall.allocation.models import Award
from opencall.auditlog import AuditEvent
from opencall.facilities.models import PoolUnavailability
from opencall.results import services as res
from opencall.results.models import PostAwardRecord
from tests.scheduling.conftest import SlotWorld
from tests.scheduling.test_lost_item_outage import _krios_b
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def test_a_removed_lost_loan_frees_its_resource(web: Web, stored: SlotWorld) -> None:
    b, award_id, rows = _krios_b(web, stored)
    with web.factory() as s:
        before = set(
            s.scalars(select(PoolUnavailability.id).where(PoolUnavailability.pool_id == b))
        )
    loan = {"sample": "Cryo holder", "item": "CH-9", "shipped_on": rows[0][1].date().isoformat(),
            "condition": "lost", "lost_on": rows[0][1].date().isoformat()}  # fmt: skip
    with web.factory() as s:
        rec = res.add_node_record(s, s.get_one(Award, award_id), "loan", loan, actor_id=None)
        s.commit()
        rec_id = rec.id
        lost = set(s.scalars(select(PoolUnavailability.id).where(PoolUnavailability.pool_id == b)))
        assert len(lost - before) == 1  # the loss closed the resource
    with web.factory() as s:
        res.remove_record(
            s, s.get_one(PostAwardRecord, rec_id), reason="Entered twice", actor_id=None
        )
        s.commit()
    with web.factory() as s:
        after = set(s.scalars(select(PoolUnavailability.id).where(PoolUnavailability.pool_id == b)))
        assert after == before, "the removed record's lost period is still there"
        ev = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "pool.item_lost_removed")
        ).one()
        assert ev.data["record"] == rec_id and ev.data["item"] == "CH-9"


def test_a_removed_loan_that_was_not_lost_leaves_other_periods(web: Web, stored: SlotWorld) -> None:
    """A loan removed without a loss frees nothing: another record's lost period stays."""
    b, award_id, rows = _krios_b(web, stored)
    day = rows[0][1].date().isoformat()
    with web.factory() as s:
        award = s.get_one(Award, award_id)
        res.add_node_record(s, award, "loan", {"sample": "Cryo holder", "item": "CH-10",
                            "shipped_on": day, "condition": "lost", "lost_on": day},
                            actor_id=None)  # fmt: skip
        other = res.add_node_record(s, award, "loan", {"sample": "Grid box", "item": "GB-1",
                                    "shipped_on": day, "returned_on": day}, actor_id=None)  # fmt: skip
        s.commit()
        other_id = other.id
        held = set(s.scalars(select(PoolUnavailability.id).where(PoolUnavailability.pool_id == b)))
    with web.factory() as s:
        res.remove_record(s, s.get_one(PostAwardRecord, other_id), reason="Wrong award",
                          actor_id=None)  # fmt: skip
        s.commit()
        after = set(s.scalars(select(PoolUnavailability.id).where(PoolUnavailability.pool_id == b)))
        assert after == held
