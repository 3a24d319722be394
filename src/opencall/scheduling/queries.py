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
from opencall.scheduling.models import ScheduleEntry


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


def not_scheduled(session: Session, call: Call, *, hidden: Iterable[int] = ()) -> list[int]:
    """The proposals awarded in ``call`` that its stored schedule has no entry for (not
    even an unplaced one) although the call was scheduled: awarded after the schedule was
    made (an offer to the next in line after a decline), to be scheduled by a rerun. By
    proposal id, less those ``hidden`` from the reader; none before any schedule."""
    entry = select(ScheduleEntry.id).where(ScheduleEntry.call_id == call.id)
    if session.scalar(entry.limit(1)) is None:
        return []
    has_entry = entry.where(ScheduleEntry.proposal_id == Award.proposal_id).exists()
    stmt = (
        select(Award.proposal_id)
        .where(Award.call_id == call.id, ~has_entry, Award.proposal_id.not_in(list(hidden)))
        .distinct()
        .order_by(Award.proposal_id)
    )
    return list(session.scalars(stmt))
