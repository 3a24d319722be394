"""Decided proposals bulk-inserted (requests, decisions, awards): a facility's history
for the scale tests and ``bench/bench_outcomes.py``, without running each cycle."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from opencall.allocation.models import Award, Decision
from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.proposals.models import Request
from tests import factories as F


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


def past_call(
    s: Session, like: Call, slug: str, code: str, year: int, *, offer: float = 0.0
) -> Call:
    """A call of ``like``'s facility in ``year``, published with its decisions released
    (May of that year): an earlier cycle of the site. ``offer``: hours of ``like``'s first
    resource it offers (checked against the resource, before it is published); none for 0."""
    past = call_services.create_call(
        s, like.facility,
        {"slug": slug, "code": code, "title": f"Past {code}",
         "cycle": str(year), "opens_at": dt.datetime(year, 1, 1, tzinfo=dt.UTC),
         "closes_at": dt.datetime(year, 3, 1, tzinfo=dt.UTC),
         "form": {"receivers": F.RECEIVERS, "modes": F.MODES}},
    )  # fmt: skip
    if offer:
        call_services.offer_pool(s, past, like.pools[0].pool, offer)
    past.status = "published"
    past.decisions_released_at = dt.datetime(year, 5, 1, tzinfo=dt.UTC)
    return past
