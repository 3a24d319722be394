"""Freed capacity is offered under the caps per PI too (trialpolicy23):
a proposal whose PI already holds the call's ``pi_cap_awards`` is not listed as next in
line and an offer to it is refused, changing nothing; the proposal the policy allows is
listed and may be offered the capacity. The share rules, the amounts per PI and the limits
per resource are tested in the pure core (``tests/optim/test_offer_policy_rules.py``)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation import services as al
from opencall.allocation.models import Decision
from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.results import declines
from opencall.reviews import queries as rq
from tests import factories as F
from tests.allocation.test_edges import ranked_call
from tests.allocation.test_offer_under_policy import _proposal


def _released(
    s: Session,
    policy: dict[str, Any],
    countries: list[str],
    same_pi: tuple[int, int] | None,
    release: bool = True,
) -> tuple[Call, list[int], dict[int, str]]:
    """A released FAST call of four proposals, room for two awards, the PIs' countries in
    rank order, the proposals at the places ``same_pi`` under one PI, under ``policy``."""
    call = ranked_call(s, n_proposals=4)
    for cp in call.pools:
        cp.amount = 2.2
    order = [r.proposal_id for r in rq.ranking(s, call)]
    for pid, iso3 in zip(order, countries, strict=True):
        p = _proposal(s, pid)
        assert p.pi_member is not None
        p.pi_member.country_iso3 = iso3
    if same_pi is not None:
        first, second = (_proposal(s, order[i]) for i in same_pi)
        second.pi_user_id = first.pi_user_id
    call.allocation_policy = {**(call.allocation_policy or {}), **policy}
    s.flush()
    al.run_allocation(s, call)
    if release:
        al.release_decisions(s, call)
    outcome = {d.proposal_id: d.outcome for d in s.scalars(select(Decision))}
    return call, order, outcome


def _decline(s: Session, pid: int) -> None:
    p = _proposal(s, pid)
    declines.decline_award(s, p, reason="visa", actor_id=p.pi_user_id)


def _refused(s: Session, call: Call, pid: int, match: str) -> None:
    counts = F.table_counts(s)
    with pytest.raises(DomainError, match=match):
        al.offer_award(s, call, _proposal(s, pid), reason="next in line")
    assert F.table_counts(s) == counts
    d = s.scalar(select(Decision).where(Decision.proposal_id == pid))
    assert d is not None and d.outcome == "not_awarded"


def test_a_pi_at_the_cap_of_awards_is_not_offered_the_freed_capacity(db: Session) -> None:
    """Ranks 1 and 3 have one PI, capped at one award: ranks 1 and 2 are awarded; rank 2
    declines; rank 3 (whose PI holds rank 1's award) may not take it, rank 4 may."""
    s = db
    call, order, outcome = _released(
        s, {"pi_cap_awards": 1}, ["KEN", "PER", "KEN", "PER"], same_pi=(0, 2)
    )
    assert [outcome[p] for p in order] == ["awarded", "awarded", "not_awarded", "not_awarded"]
    _decline(s, order[1])
    assert [p.id for _rank, p, _shares in al.next_in_line(s, call)] == [order[3]]
    _refused(s, call, order[2], "PI's cap")
    assert al.offer_award(s, call, _proposal(s, order[3]), reason="next").outcome == "awarded"


def test_an_override_to_awarded_keeps_the_cap_of_awards_per_pi(db: Session) -> None:
    """Before the release, the chair's override to awarded is no exception to the policy
    either: with rank 2 overridden out, rank 3 (whose PI holds rank 1's award, capped at
    one) may not be overridden in, though its award fits; rank 4 may."""
    s = db
    call, order, _outcome = _released(
        s, {"pi_cap_awards": 1}, ["KEN", "PER", "KEN", "PER"], same_pi=(0, 2), release=False
    )
    al.override_decision(s, call, _proposal(s, order[1]), outcome="not_awarded", reason="out")
    counts = F.table_counts(s)
    with pytest.raises(DomainError, match="PI's cap"):
        al.override_decision(s, call, _proposal(s, order[2]), outcome="awarded", reason="in")
    assert F.table_counts(s) == counts
    made = al.override_decision(s, call, _proposal(s, order[3]), outcome="awarded", reason="in")
    assert made.outcome == "awarded"
