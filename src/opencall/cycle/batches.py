"""Calls that take proposals continuously and review them in batches.

A call in the ``continuous`` mode stays open from its opening to its close and offers
a budget of capacity for the whole period (a year of a microscope's hours, say). At
each review cut-off (``Call.cutoffs``, the close the last of them) what was submitted
before it becomes a *batch*: a call of its own (``parent_id``, ``batch_number``), with
the call's rules and reviewers, that then runs the whole cycle through the same steps
and transitions as any call (close, conflicts, affinity, assignment, reviews,
calibration, allocation, scheduling, release, publication). Nothing of the cycle is
forked: the batch *is* a call.

==================  ==================================================================
cut (:func:`cut`)   the call's row is locked as a close locks it (submissions in
                    flight finish first); for each cut-off whose time has come, the
                    proposals submitted before it move to a new batch, which offers
                    the capacity left and is closed at once (its proposals frozen at
                    their last submitted revision, as a close does); a proposal
                    submitted after a cut-off rolls to the next; a cut-off with
                    nothing submitted makes no batch
allocation          a batch enters allocation only once every earlier batch of its
                    call has released its decisions; its offer is then set to the
                    capacity left (:func:`capacity_left`): the call's budget less what
                    the earlier batches awarded
close of the call   cuts one last batch of everything submitted (the close is the
                    last cut-off; an early close needs a reason, as any early close)
==================  ==================================================================
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls import services as call_services
from opencall.calls.domain import due_cutoffs, parse_cutoffs
from opencall.calls.models import Call, CallPool
from opencall.calls.queries import batches_of, next_cutoff_of
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.people.models import RoleGrant
from opencall.proposals import services as proposal_services
from opencall.proposals.models import Proposal


def capacity_left(session: Session, call: Call, *, without: int | None = None) -> dict[int, float]:
    """Of each resource a continuous call offers, what its batches have not used: its
    offer less what each batch whose decisions are released awarded (``{pool id:
    amount}``; never below zero). ``without``: a batch left out of the count."""
    left: dict[int, float] = {}
    batches = [b for b in batches_of(session, call) if b.id != without and b.decisions_released_at]
    for cp in call.pools:
        used = 0.0
        if batches:
            per_call: dict[int, float] = {}
            for counter in call_services.AWARD_COUNTERS:
                for (_pid, k), v in counter(session, [cp.pool_id]).items():
                    per_call[k] = per_call.get(k, 0.0) + v
            for b in batches:
                offer = next((x.amount for x in b.pools if x.pool_id == cp.pool_id), 0.0)
                used += min(float(offer), per_call.get(b.id, 0.0))
        left[cp.pool_id] = max(float(cp.amount) - used, 0.0)
    return left


def _batch_slug(session: Session, call: Call, number: int) -> str:
    suffix = f"-b{number}"
    slug = call.slug[: 80 - len(suffix)] + suffix
    if session.scalar(select(Call.id).where(Call.slug == slug).limit(1)) is not None:
        raise DomainError(
            "The address %(slug)s of the batch is already used by another call on this "
            "site; rename that call first.",
            slug=repr(slug),
        )
    return slug


def _make_batch(
    session: Session,
    call: Call,
    number: int,
    cutoff: dt.datetime,
    proposals: list[Proposal],
    *,
    actor_id: int | None,
) -> Call:
    """A batch of ``call``: a call with its rules, reviewers and the capacity left, open
    until ``cutoff``, holding ``proposals``; then closed as any call closes."""
    batch = Call(
        provider_id=call.provider_id,
        facility_id=call.facility_id,
        slug=_batch_slug(session, call, number),
        code=call.code,
        # the cut-off's date names the batch in every language
        title=f"{call.title[:286]} ({cutoff:%Y-%m-%d})",
        # its own cycle in the report's trend across the facility's cycles
        cycle=f"{call.cycle[:34]}/b{number}",
        description=call.description,
        opens_at=call.opens_at,
        closes_at=cutoff,
        status="open",
        anonymity=call.anonymity,
        review_settings=dict(call.review_settings),
        allocation_policy=dict(call.allocation_policy),
        form=dict(call.form),
        eligibility=dict(call.eligibility),
        decision_days=call.decision_days,
        parent_id=call.id,
        batch_number=number,
    )
    session.add(batch)
    session.flush()
    left = capacity_left(session, call)
    for cp in call.pools:
        session.add(
            CallPool(
                call_id=batch.id,
                pool_id=cp.pool_id,
                amount=left[cp.pool_id],
                max_per_request=cp.max_per_request,
                min_per_request=cp.min_per_request,
            )
        )
    # the call's own chairs, reviewers and technical reviewers serve its batches
    for g in session.scalars(select(RoleGrant).where(RoleGrant.call_id == call.id)):
        session.add(RoleGrant(user_id=g.user_id, role=g.role, provider_id=g.provider_id,
                              call_id=batch.id))  # fmt: skip
    for p in proposals:
        p.call_id = batch.id
        p.call = batch
    session.flush()
    session.refresh(batch, ["pools"])
    auditlog.record(
        session,
        "call.batch_cut",
        "call",
        call.id,
        actor_id=actor_id,
        call_id=call.id,
        data={"batch": batch.slug, "number": number, "cutoff": cutoff.isoformat(),
              "proposals": len(proposals)},
    )  # fmt: skip
    proposal_services.close_call(session, batch, actor_id=actor_id, now=max(cutoff, utcnow()))
    return batch


def require_continuous(call: Call) -> None:
    """Refuse (:class:`DomainError`) a call with one deadline: it has no batches."""
    if call.mode != "continuous":
        raise DomainError("This call has one deadline; it is not reviewed in batches.")


def cut(
    session: Session,
    call: Call,
    *,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
    final: bool = False,
) -> list[Call]:
    """Cut the batches of a continuous call whose cut-offs have come by ``now`` (see the
    module's table); ``final``: the close, which cuts everything submitted. Refused
    (:class:`DomainError`, nothing changed) for a call with one deadline, one not open,
    or when no cut-off has come."""
    now = (now or utcnow()).astimezone(dt.UTC)
    require_continuous(call)
    proposal_services.lock_call_for_close(session, call)  # submissions in flight first
    # read again under the lock: a cut that ran meanwhile (cron, a second click) is seen
    session.refresh(call, ["cutoffs", "cutoffs_done"])
    if call.status != "open":
        raise DomainError(
            "Batches are cut from an open call (status: %(status)s).", status=call.status
        )
    cutoffs = parse_cutoffs(call.cutoffs)
    if call.cutoffs_done >= len(cutoffs):
        if final:  # cron cut the last one already: the close has nothing left to cut
            return []
        raise DomainError("Every review cut-off of this call has been cut.", code="no_cutoff")
    due = due_cutoffs(cutoffs, call.cutoffs_done, now)
    if final and (not due or due[-1] != len(cutoffs) - 1):
        # an early close: its last batch is cut now, with everything submitted
        due = [*due, len(cutoffs) - 1]
        cutoffs = [*cutoffs[:-1], min(now, cutoffs[-1])]
    if not due:
        raise DomainError(
            "No review cut-off has come yet; the next is at %(when)s UTC.",
            code="no_cutoff",
            when=format(cutoffs[call.cutoffs_done], "%Y-%m-%d %H:%M:%S"),
        )
    waiting = list(
        session.scalars(
            select(Proposal)
            .where(Proposal.call_id == call.id, Proposal.status == "submitted")
            .order_by(Proposal.id)
        )
    )
    made: list[Call] = []
    for i in due:
        last = final and i == len(cutoffs) - 1
        taken = [
            p
            for p in waiting
            if last or (p.submitted_at is not None and p.submitted_at < cutoffs[i])
        ]
        waiting = [p for p in waiting if p not in taken]
        if taken:
            made.append(_make_batch(session, call, i + 1, cutoffs[i], taken, actor_id=actor_id))
        call.cutoffs_done = i + 1
    session.flush()
    return made


def cut_due(session: Session, *, now: dt.datetime | None = None) -> list[Call]:
    """Cut every open continuous call whose next cut-off has come (the CLI's
    ``opencall calls cut-batches``, for cron); each call's batches as :func:`cut`."""
    now = now or utcnow()
    made: list[Call] = []
    for call in session.scalars(
        select(Call).where(Call.mode == "continuous", Call.status == "open").order_by(Call.id)
    ):
        nxt = next_cutoff_of(call)
        if nxt is not None and nxt <= now:
            made += cut(session, call, now=now)
    return made


def before_allocation(session: Session, batch: Call) -> None:
    """A batch enters allocation with the capacity its call has left: refused while an
    earlier batch has not released its decisions (what it awards is not known yet);
    its offer is then set to what is left."""
    parent = session.get(Call, batch.parent_id)
    if parent is None:
        return
    for b in batches_of(session, parent):
        if (b.batch_number or 0) < (batch.batch_number or 0) and b.decisions_released_at is None:
            raise DomainError(
                "Batch %(n)s of this call has not released its decisions yet; the capacity "
                "left for this batch is known once it has.",
                code="batch_order",
                n=b.batch_number,
            )
    left = capacity_left(session, parent, without=batch.id)
    for cp in batch.pools:
        cp.amount = left.get(cp.pool_id, 0.0)
    session.flush()


@dataclass(frozen=True)
class BatchRow:
    """One batch of a continuous call, as its staff read it."""

    call: Call
    proposals: int
    decisions_due: dt.datetime | None


@dataclass(frozen=True)
class Overview:
    """A continuous call's batches, what waits for the next cut-off, and the capacity
    left (the API's and the batches page's one source)."""

    call: Call
    cutoffs: list[dt.datetime]
    next_cutoff: dt.datetime | None
    waiting: int
    batches: list[BatchRow]
    left: list[tuple[CallPool, float]]


def overview(session: Session, call: Call) -> Overview:
    """The batches of ``call`` (a continuous call) and what is left of its budget."""
    counts: dict[int, int] = dict(
        session.execute(
            select(Proposal.call_id, func.count())
            .join(Call, Call.id == Proposal.call_id)
            .where(Call.parent_id == call.id, Proposal.status != "withdrawn")
            .group_by(Proposal.call_id)
        ).all()
    )
    waiting = session.scalar(
        select(func.count())
        .select_from(Proposal)
        .where(Proposal.call_id == call.id, Proposal.status == "submitted")
    )
    left = capacity_left(session, call)
    return Overview(
        call=call,
        cutoffs=parse_cutoffs(call.cutoffs),
        next_cutoff=next_cutoff_of(call),
        waiting=int(waiting or 0),
        batches=[
            BatchRow(
                b,
                counts.get(b.id, 0),
                b.closes_at + dt.timedelta(days=b.decision_days) if b.decision_days else None,
            )
            for b in batches_of(session, call)
        ],
        left=[(cp, left[cp.pool_id]) for cp in call.pools],
    )
