"""The user office ends a released award that its PI returned (outcomes22).

A PI whose team has reported (a record of use or a result) cannot decline the award
(``declines.decline_award``: its results must stay counted) and is told to ask the user
office to end it. The office ends it here, saying why (one of the decline's reasons and
a note): the awards stay, with their records and results (the decision, the use made and
what came of it stand); the part of each award its records did not use is returned,
kept on the end (``AwardEnd.returned``) and free again for the chair to offer
(``allocation.services.used_capacity``); the entries still to come on the stored
schedule are released; the end is audited. A second end of the same award (a resent
form) changes nothing. In the figures an ended award is never "completed" and its
returned capacity counts as returned (``queries.stages_of_calls``)."""

from __future__ import annotations

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.allocation.later_parts import return_held_parts
from opencall.allocation.models import DECLINE_REASONS, Award, AwardEnd
from opencall.calls.policies import may_administer
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.facilities.models import CapacityPool
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.proposals.services import lock_for_write
from opencall.results import domain as d
from opencall.results import queries as q
from opencall.scheduling.models import ScheduleEntry

MAX_NOTE = 2000


def ended(session: Session, proposal_id: int) -> AwardEnd | None:
    """The end of the proposal's award, if the user office ended it."""
    return session.scalar(select(AwardEnd).where(AwardEnd.proposal_id == proposal_id))


def ends_of(session: Session, proposal_ids: list[int]) -> list[AwardEnd]:
    """The ends of these proposals' awards (one statement)."""
    return list(session.scalars(select(AwardEnd).where(AwardEnd.proposal_id.in_(proposal_ids))))


def returned_parts(session: Session, proposal: Proposal) -> list[dict[str, object]]:
    """Each award of the proposal (oldest first): its pool, request and unit
    (``results.domain.unit_key``), awarded, used (what its records used in
    the award's unit, ``results.domain.use_figures``, shared among the awards of one unit
    in order) and returned (awarded less used)."""
    stages = q.stages_of_call(session, proposal.call, [proposal.id]).get(proposal.id, {})
    left = {
        k.partition(":")[2]: float(v)
        for k, v in (stages.get("use") or {}).items()
        if k.startswith("used:")
    }
    out: list[dict[str, object]] = []
    rows = session.execute(
        select(Award, CapacityPool.unit)
        .join(CapacityPool, CapacityPool.id == Award.pool_id)
        .where(Award.proposal_id == proposal.id)
        .order_by(Award.id)
    )
    for award, unit in rows:
        key = d.unit_key(unit)
        used = max(0.0, min(float(award.amount), left.get(key, 0.0)))
        left[key] = left.get(key, 0.0) - used
        out.append(
            {"pool_id": award.pool_id, "request_id": award.request_id, "unit": key,
             "awarded": float(award.amount), "used": used,
             "returned": float(award.amount) - used}
        )  # fmt: skip
    return out


def end_award(
    session: Session, proposal: Proposal, *, reason: str, note: str, actor: User | None
) -> tuple[AwardEnd, bool]:
    """The user office ends the proposal's released award; (the end, whether this call
    made it). Only the call's user office (others: not found); validated before anything
    is written; a second call returns the first end unchanged."""
    call = proposal.call
    if not may_administer(session, actor, call):
        raise DomainError("Not found", code="not_found")
    lock_for_write(session, proposal)
    done = ended(session, proposal.id)
    if done is not None:
        return done, False
    note = note.strip()
    if reason not in DECLINE_REASONS:
        raise DomainError(
            "Choose why the award ends: %(reasons)s.",
            field="reason",
            reasons=", ".join(DECLINE_REASONS),
        )
    if not note:
        raise DomainError("Say why the award ends (the PI's words, or the office's).", field="note")
    if len(note) > MAX_NOTE:
        raise DomainError("The note is limited to 2,000 characters.", field="note")
    has_award = session.scalar(select(Award.id).where(Award.proposal_id == proposal.id).limit(1))
    if call.decisions_released_at is None or has_award is None:
        raise DomainError("Only a released award can be ended.")
    if call.status == "archived":
        raise DomainError("The call is archived: its awards can no longer be ended.")
    returned = returned_parts(session, proposal)
    # the entries still to come (not begun, or not yet placed) are released; those begun
    # were used and stay
    to_come = (
        ScheduleEntry.proposal_id == proposal.id,
        or_(ScheduleEntry.start.is_(None), ScheduleEntry.start >= utcnow()),
    )
    entries = session.scalar(select(func.count(ScheduleEntry.id)).where(*to_come))
    session.execute(delete(ScheduleEntry).where(*to_come))
    # the reminders its PI was sent stay on record, as the award does (mend24); an ended
    # award is reminded no more (``queries.unreported_awards`` leaves it out)
    row = AwardEnd(
        call_id=call.id,
        proposal_id=proposal.id,
        reason=reason,
        note=note,
        returned=returned,
        entries_released=int(entries or 0),
        ended_by=actor.id if actor is not None else None,
    )
    session.add(row)
    session.flush()
    # the parts held for later periods go back to their calls (outcomes23)
    later = return_held_parts(session, proposal, note=note, actor_id=row.ended_by)
    auditlog.record(
        session,
        "award.ended",
        "proposal",
        proposal.id,
        actor_id=row.ended_by,
        call_id=call.id,
        reason=note,
        data={
            "reason": reason,
            "returned": returned,
            "entries_released": row.entries_released,
            "later_parts_returned": [p.id for p in later],
        },
    )
    return row, True
