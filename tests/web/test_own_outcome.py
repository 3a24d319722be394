"""The applicant's outcome is read once (dup21): ``scheduling.queries.own_outcome`` gives
the decision, the awards with their resources (award order), the schedule (by start) and
the decline, for both the outcome page (``outcomes.views``) and
``GET /api/v1/proposals/{id}/outcome`` (``scheduling.api_write``), which each read them
with a copy of the same four statements before."""

from __future__ import annotations

import datetime as dt

import pytest

from opencall.allocation.models import Award, AwardDecline
from opencall.db import utcnow
from opencall.proposals.models import Proposal
from opencall.scheduling.models import ScheduleEntry
from opencall.scheduling.queries import own_outcome
from tests.web.conftest import Web, World, api_bearer
from tests.web.test_public import publish

pytestmark = pytest.mark.filterwarnings("ignore")


def test_own_outcome_reads_the_decision_awards_schedule_and_decline(web: Web, world: World) -> None:
    pid = world.ids["proposal"]
    with web.factory() as s:
        publish(s, world)  # one award of 6.5 and one entry 40 days on
        p = s.get(Proposal, pid)
        assert p is not None
        first = s.query(Award).filter_by(proposal_id=pid).one()
        # a second award, of nothing, on another resource (the page hides it, the API
        # lists it) and an entry that starts before the first one
        other_pool = next(cp.pool_id for cp in p.call.pools if cp.pool_id != first.pool_id)
        s.add(
            Award(
                call_id=p.call_id,
                proposal_id=pid,
                request_id=first.request_id,
                pool_id=other_pool,
                amount=0.0,
            )
        )
        start = utcnow() + dt.timedelta(days=10)
        s.add(
            ScheduleEntry(
                call_id=p.call_id,
                proposal_id=pid,
                pool_id=first.pool_id,
                kind="block",
                label="Earlier block",
                start=start,
                end=start + dt.timedelta(hours=1),
                amount=1.0,
            )
        )
        s.commit()

        got = own_outcome(s, pid)
        assert got.decision is not None and got.decision.outcome == "awarded"
        assert [(a.amount, pool.id) for a, pool in got.awards] == [
            (6.5, first.pool_id),
            (0.0, other_pool),
        ]
        assert [e.label for e in got.schedule] == ["Earlier block", "Crab pulsar, 19-beam"]
        assert got.declined is None
        # another proposal's outcome is its own: nothing of this one's
        other = own_outcome(s, world.ids["other_proposal"])
        assert (other.decision, other.awards, other.schedule, other.declined) == (
            None,
            [],
            [],
            None,
        )

        s.add(AwardDecline(call_id=p.call_id, proposal_id=pid, reason="visa", note="no visa"))
        s.commit()
        declined = own_outcome(s, pid).declined
        assert declined is not None and (declined.reason, declined.note) == ("visa", "no visa")

    # the API answers from it: both awards, the schedule by start, the decline
    body = (
        web.client()
        .get(f"/api/v1/proposals/{pid}/outcome", headers=api_bearer(web, world.emails["pi"]))
        .json()
    )
    assert [a["amount"] for a in body["awards"]] == [6.5, 0.0]
    assert [e["label"] for e in body["schedule"]] == ["Earlier block", "Crab pulsar, 19-beam"]
    assert body["declined"]["reason"] == "visa"
