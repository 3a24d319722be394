"""trialop19: an item lent and lost (``condition: "lost"``, ``lost_on``) takes its
resource out of service: the resource of the loan's award is unavailable from the day
it was lost to the end of its period, although calls hold it (reality is not refused);
the later bookings on it are flagged for rescheduling, as an outage recorded by hand
flags them, and the period is audited. Before, the loss only counted the loan's own
remaining weeks (outcomes18): the resource's calendar still offered the lost item."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from opencall.allocation.models import Award
from opencall.auditlog import AuditEvent
from opencall.facilities.models import CapacityPool, PoolUnavailability
from opencall.results import services as res
from opencall.scheduling.models import ScheduleEntry
from tests.scheduling.conftest import SlotWorld
from tests.scheduling.test_zone_of_a_booked_resource import bearer
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def _krios_b(web: Web, w: SlotWorld) -> tuple[int, int, list[tuple[int, dt.datetime, int]]]:
    """Krios B, the award of its first booked proposal, and its dated entries in order."""
    b = w.pools["b"]
    with web.factory() as s:
        pool = s.get_one(CapacityPool, b)
        pool.record_kinds = ["loan"]
        s.commit()
        rows = [
            (i, t, p)
            for i, t, p in s.execute(
                select(ScheduleEntry.id, ScheduleEntry.start, ScheduleEntry.proposal_id)
                .where(ScheduleEntry.pool_id == b, ScheduleEntry.start.is_not(None))
                .order_by(ScheduleEntry.start)
            )
        ]
        award = s.scalars(
            select(Award.id).where(Award.pool_id == b, Award.proposal_id == rows[0][2])
        ).first()
    assert award is not None and len({p for _i, _t, p in rows}) == 2, rows
    return b, award, rows


def test_an_item_lost_makes_its_resource_unavailable_to_the_end_of_its_period(
    web: Web, stored: SlotWorld
) -> None:
    w = stored
    b, award_id, rows = _krios_b(web, w)
    first = rows[0][2]
    later = [(i, t) for i, t, p in rows if p != first]
    lost_on = later[0][1].date() - dt.timedelta(days=1)
    loan = {"sample": "Cryo holder", "item": "CH-7", "shipped_on": rows[0][1].date().isoformat()}
    with web.factory() as s:
        rec = res.add_node_record(s, s.get_one(Award, award_id), "loan", loan, actor_id=None)
        s.commit()
        rec_id = rec.id
        before = set(
            s.scalars(select(PoolUnavailability.id).where(PoolUnavailability.pool_id == b))
        )
    with web.factory() as s:
        rec = s.get_one(type(rec), rec_id)
        res.update_record(s, rec, {**loan, "condition": "lost", "lost_on": lost_on.isoformat()},
                          actor_id=None)  # fmt: skip
        s.commit()
    with web.factory() as s:
        pool = s.get_one(CapacityPool, b)
        spans = [
            u
            for u in s.scalars(select(PoolUnavailability).where(PoolUnavailability.pool_id == b))
            if u.id not in before
        ]
        assert len(spans) == 1, spans
        assert spans[0].starts_at.date() <= lost_on + dt.timedelta(days=1)
        assert spans[0].starts_at.date() >= lost_on - dt.timedelta(days=1)
        assert pool.period_end is not None
        assert spans[0].ends_at.date() >= pool.period_end
        assert spans[0].lost_item == "CH-7"  # data, said in words by each view (trialop19b)
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "pool.item_lost")).one()
        assert ev.data["item"] == "CH-7"
    sched = (
        web.client()
        .get(
            f"/api/v1/calls/{w.slug}/schedule?limit=100",
            headers=bearer(web, w.emails["manager"]),
        )
        .json()["items"]
    )
    flagged = {e["start"] for e in sched if e["needs_rescheduling"] and e["pool_id"] == b}
    assert len(flagged) == len(later), (flagged, later)
    # the record changed again (a note), lost on the same day: no second period
    with web.factory() as s:
        rec = s.get_one(type(rec), rec_id)
        res.update_record(s, rec, {**rec.data, "condition_note": "dropped in the dewar"},
                          actor_id=None)  # fmt: skip
        s.commit()
        ids = set(s.scalars(select(PoolUnavailability.id).where(PoolUnavailability.pool_id == b)))
        assert len(ids - before) == 1


def test_the_resource_of_a_lost_item_can_still_be_edited(web: Web, stored: SlotWorld) -> None:
    """The forced period leaves less room than the calls hold: an edit of the resource
    afterwards (its name, a note) is not refused for it."""
    w = stored
    b, award_id, rows = _krios_b(web, w)
    loan = {"sample": "Cryo holder", "item": "CH-8", "shipped_on": rows[0][1].date().isoformat(),
            "condition": "lost", "lost_on": rows[0][1].date().isoformat()}  # fmt: skip
    with web.factory() as s:
        res.add_node_record(s, s.get_one(Award, award_id), "loan", loan, actor_id=None)
        s.commit()
    r = web.client().patch(
        f"/api/v1/resources/{b}", headers=bearer(web, w.emails["manager"]),
        json={"name": "Krios B (holder lost)"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    # one that makes it worse (more capacity than before) is still refused
    r = web.client().patch(
        f"/api/v1/resources/{b}", headers=bearer(web, w.emails["manager"]), json={"amount": 95}
    )
    assert r.status_code == 400 and "do not fit" in r.text, r.text
