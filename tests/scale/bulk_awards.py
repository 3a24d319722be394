"""Decided proposals bulk-inserted (requests, decisions, awards): a facility's history
for the scale tests and ``bench/bench_outcomes.py``, without running each cycle."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from opencall.allocation.models import Award, Decision
from opencall.proposals.models import Request


def insert_decided(
    s: Session,
    call_id: int,
    pids: Sequence[int],
    pool_id: int,
    *,
    awarded: int,
    kind: str,
    details: dict[str, Any],
    amount: float = 5.0,
) -> list[int]:
    """One request of ``amount`` per proposal, a decision for each (the first
    ``awarded`` awarded, the others not) and the awards; returns the awarded ids."""
    s.execute(insert(Request), [
        {"proposal_id": pid, "kind": kind, "amount": amount, "details": details, "pool_id": pool_id}
        for pid in pids
    ])  # fmt: skip
    reqs = dict(
        s.execute(
            select(Request.proposal_id, Request.id).where(Request.proposal_id.in_(pids))
        ).all()
    )
    s.execute(insert(Decision), [
        {"call_id": call_id, "proposal_id": pid,
         "outcome": "awarded" if i < awarded else "not_awarded", "explanation": "bulk"}
        for i, pid in enumerate(pids)
    ])  # fmt: skip
    won = list(pids[:awarded])
    s.execute(insert(Award), [
        {"call_id": call_id, "proposal_id": pid, "request_id": reqs[pid], "pool_id": pool_id,
         "amount": amount}
        for pid in won
    ])  # fmt: skip
    return won
