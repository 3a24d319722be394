"""What the schedulers read: rows by id, the call's awards per request, merit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation.models import Award
from opencall.calls.models import Call
from opencall.reviews import queries as rq


def by_id(session: Session, model: Any, ids: Iterable[int]) -> dict[int, Any]:
    """Rows of ``model`` by id, in one query per 5000 ids (not one per row)."""
    wanted = sorted(set(ids))
    out: dict[int, Any] = {}
    for i in range(0, len(wanted), 5000):
        for row in session.scalars(select(model).where(model.id.in_(wanted[i : i + 5000]))):
            out[row.id] = row
    return out


def awards_by_request(session: Session, call: Call) -> dict[int, list[Award]]:
    """The call's awards per request id, in award order."""
    out: dict[int, list[Award]] = defaultdict(list)
    for a in session.scalars(select(Award).where(Award.call_id == call.id).order_by(Award.id)):
        out[a.request_id].append(a)
    return out


def merit(session: Session, call: Call) -> dict[int, float]:
    """Each ranked proposal's merit weight, from 2 (first) down to just above 1."""
    ranked = rq.ranking(session, call)
    n = max(1, len(ranked))
    return {r.proposal_id: 1.0 + (n - r.rank) / n for r in ranked}
