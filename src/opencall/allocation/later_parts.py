"""The later parts of a multi-period (long-term) programme's award (outcomes23).

A large programme asks for time over two or three allocation periods and is reviewed
once. Its award in the call that reviewed it is the first period's; each later period's
part is recorded here against the later call that offers that period's resource
(``AwardLaterPart``), and held against that call's offer from then on: the later call's
free capacity (``services.used_capacity``), its allocation (``services.build_problem``)
and what it holds of the resource for other calls (``services.later_parts_by_call``)
count it as committed. Before the later period the user office reads the programme's
progress report: accepted, the part is ``released`` (it stays committed, now the
programme's to use); not accepted, it is ``returned`` and free again. An award the office
ends (``results.ends.end_award``) returns its held parts too."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.allocation import notify, services
from opencall.allocation.models import Award, AwardDecline, AwardEnd, AwardLaterPart
from opencall.calls.models import Call
from opencall.calls.policies import managed_calls_clause, may_administer
from opencall.calls.queries import call_by_slug, list_calls
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.facilities.models import CapacityPool
from opencall.people.models import User
from opencall.proposals.models import Proposal

#: a later call in these states has not allocated yet: a part can still be held in it
HOLDING_STATES = ("draft", "open", "closed", "review", "ranking")

#: the most characters of the office's note on a progress report
MAX_NOTE = 2000

#: a held part's progress report is chased once its later call has closed (its allocation
#: is next): the PI is reminded every so many days, at most so many times (outcomes24)
PROGRESS_DUE_STATES = ("closed", "review", "ranking")
PROGRESS_REMIND_EVERY_DAYS = 14
PROGRESS_REMINDERS_MAX = 3


def parts_of(session: Session, proposal_ids: Sequence[int]) -> list[AwardLaterPart]:
    """The later parts of these proposals' awards, in the order recorded."""
    return list(
        session.scalars(
            select(AwardLaterPart)
            .where(AwardLaterPart.proposal_id.in_(list(proposal_ids)))
            .order_by(AwardLaterPart.id)
        )
    )


def parts_shown(
    session: Session, proposal_id: int
) -> list[tuple[AwardLaterPart, Call, CapacityPool]]:
    """The award's later parts with their later call and resource, in the order recorded
    (the award's page and ``GET /api/v1/awards/<id>``: its team and office)."""
    rows = session.execute(
        select(AwardLaterPart, Call, CapacityPool)
        .join(Call, Call.id == AwardLaterPart.later_call_id)
        .join(CapacityPool, CapacityPool.id == AwardLaterPart.pool_id)
        .where(AwardLaterPart.proposal_id == proposal_id)
        .order_by(AwardLaterPart.id)
    )
    return [(part, call, pool) for part, call, pool in rows.tuples()]


def holding_calls(session: Session, user: User, proposal: Proposal) -> list[Call]:
    """The later calls ``user``'s office may hold a part of ``proposal``'s award in: those
    it administers that have not allocated yet, other than the proposal's own."""
    calls = list_calls(session, statuses=HOLDING_STATES, where=managed_calls_clause(user))
    return [c for c in calls if c.id != proposal.call_id and may_administer(session, user, c)]


def hold_for_office(
    session: Session,
    proposal: Proposal,
    later_slug: str,
    pool_id: int,
    amount: float,
    *,
    actor: User,
    base_url: str | None = None,
) -> AwardLaterPart:
    """:func:`hold_later_part` asked by a user office (the award's page, the API): the
    later call, named by its slug, must be one the office administers (a call of another
    provider's office is refused as unknown, changing nothing)."""
    later = call_by_slug(session, (later_slug or "").strip()[:200])
    if later is None or not may_administer(session, actor, later):
        raise DomainError(
            "Choose a later call your user office manages.", code="invalid", field="later_call"
        )
    return hold_later_part(
        session, proposal, later, pool_id, amount, actor_id=actor.id, base_url=base_url
    )


def hold_later_part(
    session: Session,
    proposal: Proposal,
    later_call: Call,
    pool_id: int,
    amount: float,
    *,
    actor_id: int | None = None,
    base_url: str | None = None,
) -> AwardLaterPart:
    """Record the part ``amount`` of resource ``pool_id`` of ``proposal``'s award for the
    later period of ``later_call``, held against that call's offer. Refused, changing
    nothing, for a proposal not awarded (or whose award was declined or ended), a call
    that is the proposal's own or has allocated already, a resource the later call does
    not offer, an amount not positive or more than the later call's offer has free, and a
    second part of the same resource in the same call. With ``base_url``, the PI is
    mailed that the part is held and its progress report due before the later call's
    allocation."""
    if not (isinstance(amount, int | float) and math.isfinite(amount) and amount > 0):
        raise DomainError("The amount must be a positive number.", code="invalid")
    awarded = session.scalar(select(Award.id).where(Award.proposal_id == proposal.id).limit(1))
    if awarded is None:
        raise DomainError("Only an awarded proposal has parts in later periods.", code="invalid")
    for given_back in (AwardEnd, AwardDecline):
        if session.scalar(select(given_back.id).where(given_back.proposal_id == proposal.id)):
            raise DomainError(
                "This award was declined or ended: it has no later parts.", code="invalid"
            )
    if later_call.id == proposal.call_id:
        raise DomainError(
            "A later part belongs to a later call, not to the call that reviewed the proposal.",
            code="invalid",
        )
    if later_call.status not in HOLDING_STATES:
        raise DomainError(
            "That call has allocated already: a later part is held before its allocation.",
            code="invalid_state",
        )
    free = services.free_capacity(session, later_call)
    if pool_id not in free:
        raise DomainError("That call does not offer this resource.", code="invalid")
    if session.scalar(
        select(AwardLaterPart.id).where(
            AwardLaterPart.proposal_id == proposal.id,
            AwardLaterPart.later_call_id == later_call.id,
            AwardLaterPart.pool_id == pool_id,
        )
    ):
        raise DomainError(
            "This award already has a part of this resource in that call.", code="conflict"
        )
    if amount > free[pool_id] + 1e-9:
        raise DomainError(
            "That call's offer of this resource has %(free)s left, less than this part.",
            code="invalid",
            free=f"{max(free[pool_id], 0.0):g}",
        )
    part = AwardLaterPart(
        call_id=proposal.call_id,
        proposal_id=proposal.id,
        later_call_id=later_call.id,
        pool_id=pool_id,
        amount=float(amount),
        status="held",
        note="",
        created_by=actor_id,
    )
    session.add(part)
    session.flush()
    auditlog.record(
        session,
        "award.later_part_held",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=later_call.id,
        data={"part_id": part.id, "pool_id": pool_id, "amount": float(amount)},
    )
    if base_url is not None:
        notify.queue_later_part_mail(session, proposal, part, later_call, base_url)
    return part


def decide_later_part(
    session: Session,
    part: AwardLaterPart,
    *,
    accepted: bool,
    note: str,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
    base_url: str | None = None,
) -> AwardLaterPart:
    """The user office's answer to the progress report before the part's period:
    ``accepted``, the part is released to the programme (still committed in the later
    call); not, it is returned (free again in the later call). The note (the office's
    word on the progress) is required. A part decided already is refused. With
    ``base_url``, the PI is mailed the answer and the note."""
    note = (note or "").strip()
    if not note:
        raise DomainError("Say what the progress report showed.", code="invalid")
    if len(note) > MAX_NOTE:
        raise DomainError("The note is limited to 2,000 characters.", code="invalid")
    if part.status != "held":
        raise DomainError("This later part was decided already.", code="conflict")
    part.status = "released" if accepted else "returned"
    part.note = note
    part.decided_by = actor_id
    part.decided_at = now or utcnow()
    session.flush()
    auditlog.record(
        session,
        f"award.later_part_{part.status}",
        "proposal",
        part.proposal_id,
        actor_id=actor_id,
        call_id=part.later_call_id,
        reason=note,
        data={"part_id": part.id, "pool_id": part.pool_id, "amount": part.amount},
    )
    if base_url is not None:
        proposal = session.get_one(Proposal, part.proposal_id)
        later = session.get_one(Call, part.later_call_id)
        notify.queue_later_part_mail(session, proposal, part, later, base_url)
    return part


def return_held_parts(
    session: Session, proposal: Proposal, *, note: str, actor_id: int | None = None
) -> list[AwardLaterPart]:
    """Return every part of the proposal's award still held (the award ended): free again
    in their later calls. Parts released already stay the programme's. The parts returned."""
    held = [p for p in parts_of(session, [proposal.id]) if p.status == "held"]
    for part in held:
        decide_later_part(session, part, accepted=False, note=note, actor_id=actor_id)
    return held


def queue_progress_reminders(session: Session, base_url: str, today: dt.date) -> int:
    """Remind the PI of each part still held in a later call that has closed (its
    allocation is next, ``PROGRESS_DUE_STATES``) that the programme's progress report is
    due: once every ``PROGRESS_REMIND_EVERY_DAYS`` days, at most ``PROGRESS_REMINDERS_MAX``
    times (then the office reads the state on the award's page). Each part is claimed by
    one statement first, so two runs at once remind once. Returns how many were queued."""
    due = session.scalars(
        select(AwardLaterPart)
        .join(Call, Call.id == AwardLaterPart.later_call_id)
        .where(
            AwardLaterPart.status == "held",
            Call.status.in_(PROGRESS_DUE_STATES),
            AwardLaterPart.reminders_sent < PROGRESS_REMINDERS_MAX,
        )
        .order_by(AwardLaterPart.id)
    ).all()
    last = today - dt.timedelta(days=PROGRESS_REMIND_EVERY_DAYS)
    n = 0
    for part in due:
        claimed = session.execute(
            update(AwardLaterPart)
            .where(
                AwardLaterPart.id == part.id,
                AwardLaterPart.status == "held",
                AwardLaterPart.reminders_sent < PROGRESS_REMINDERS_MAX,
                or_(AwardLaterPart.reminded_on.is_(None), AwardLaterPart.reminded_on <= last),
            )
            .values(reminders_sent=AwardLaterPart.reminders_sent + 1, reminded_on=today)
            .execution_options(synchronize_session="fetch")
        )
        if not getattr(claimed, "rowcount", 0):
            continue  # reminded within the period, or by another run meanwhile
        proposal = session.get_one(Proposal, part.proposal_id)
        later = session.get_one(Call, part.later_call_id)
        n += bool(notify.queue_later_part_mail(session, proposal, part, later, base_url))
    return n
