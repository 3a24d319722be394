"""Capacity a declined award frees is offered to the next in line under the call's stated
policy (trialpolicy22): a proposal graded below the policy's ``quality_threshold``, or
whose country already holds its ``group_caps`` number of awards, is not listed as next in
line and an offer to it is refused, changing nothing; a proposal the policy allows is."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation import services as al
from opencall.allocation.models import Decision
from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.proposals.models import Proposal
from opencall.results import declines
from opencall.reviews import queries as rq
from tests import factories as F
from tests.allocation.test_edges import ranked_call


def _released(s: Session, policy: dict[str, Any], countries: list[str]) -> tuple[Call, dict]:
    """A released FAST call of four proposals (grades 3 and 4 by id parity), the PIs'
    countries given in rank order, room for two awards, under ``policy``."""
    call = ranked_call(s, n_proposals=4)
    for cp in call.pools:
        cp.amount = 2.2
    order = [r.proposal_id for r in rq.ranking(s, call)]
    for pid, iso3 in zip(order, countries, strict=True):
        p = s.get(Proposal, pid)
        assert p is not None and p.pi_member is not None
        p.pi_member.country_iso3 = iso3
    call.allocation_policy = {**(call.allocation_policy or {}), **policy}
    s.flush()
    al.run_allocation(s, call)
    al.release_decisions(s, call)
    outcome = {d.proposal_id: d.outcome for d in s.scalars(select(Decision))}
    return call, {"order": order, "outcome": outcome}


def _proposal(s: Session, pid: int) -> Proposal:
    p = s.get(Proposal, pid)
    assert p is not None
    return p


def test_a_proposal_below_the_threshold_is_not_offered_the_freed_capacity(db: Session) -> None:
    s = db
    call, w = _released(s, {"quality_threshold": 3.5}, ["KEN", "KEN", "KEN", "KEN"])
    order, outcome = w["order"], w["outcome"]
    score = {r.proposal_id: r.score for r in rq.ranking(s, call)}
    above = [p for p in order if score[p] >= 3.5]
    below = [p for p in order if score[p] < 3.5]
    assert above and below
    assert all(outcome[p] == "awarded" for p in above)
    assert all(outcome[p] == "not_awarded" for p in below)
    declines.decline_award(s, _proposal(s, above[0]), reason="visa",
                           actor_id=_proposal(s, above[0]).pi_user_id)  # fmt: skip
    assert [p.id for _rank, p, _shares in al.next_in_line(s, call)] == []
    counts = F.table_counts(s)
    with pytest.raises(DomainError, match="stated policy"):
        al.offer_award(s, call, _proposal(s, below[0]), reason="next in line")
    assert F.table_counts(s) == counts
    d = s.scalar(select(Decision).where(Decision.proposal_id == below[0]))
    assert d is not None and d.outcome == "not_awarded"


def test_a_country_at_its_cap_is_not_offered_the_freed_capacity(db: Session) -> None:
    """Ranks 1 and 3 from Kenya, 2 and 4 from Peru, at most one award per country: ranks 1
    and 2 are awarded; rank 2 declines; rank 3 (Kenya, which holds rank 1's award) may not
    take the place, rank 4 (Peru, none held now) may."""
    s = db
    call, w = _released(
        s, {"group_caps": [{"per": "country", "max_awards": 1}]}, ["KEN", "PER", "KEN", "PER"]
    )
    order, outcome = w["order"], w["outcome"]
    assert [outcome[p] for p in order] == ["awarded", "awarded", "not_awarded", "not_awarded"]
    declines.decline_award(s, _proposal(s, order[1]), reason="visa",
                           actor_id=_proposal(s, order[1]).pi_user_id)  # fmt: skip
    assert [p.id for _rank, p, _shares in al.next_in_line(s, call)] == [order[3]]
    counts = F.table_counts(s)
    with pytest.raises(DomainError, match="stated policy"):
        al.offer_award(s, call, _proposal(s, order[2]), reason="next in line")
    assert F.table_counts(s) == counts
    made = al.offer_award(s, call, _proposal(s, order[3]), reason="next in line")
    assert made.outcome == "awarded"
