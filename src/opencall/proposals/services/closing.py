"""The close of a call, the proposals' side: submitted proposals are frozen at
their last revision and move to review."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls.models import Call
from opencall.db import utcnow
from opencall.proposals.domain import check_proposal_transition
from opencall.proposals.models import AnonymityScan, Proposal, ProposalRevision, Request
from opencall.proposals.queries import REVISION_TEXT, extended_proposal_ids
from opencall.proposals.services.editing import lock_call_for_close
from opencall.proposals.services.scans import request_anonymity_scans

# the columns of a request that a submitted revision freezes (``queries.snapshot``)
REQUEST_FIELDS = ("kind", "pool_id", "amount", "details", "bundle")


def _restore_revision(session: Session, proposal: Proposal) -> None:
    rev = session.get(ProposalRevision, proposal.current_revision_id)
    if rev is None:
        return
    content = rev.content
    for key in REVISION_TEXT:
        setattr(proposal, key, content.get(key, getattr(proposal, key)))
    frozen = [
        {key: r.get(key) for key in REQUEST_FIELDS} for r in content["requests"]
    ]  # bundles included: an all-or-nothing bundle is part of what was submitted
    if [{key: getattr(r, key) for key in REQUEST_FIELDS} for r in proposal.requests] == frozen:
        return
    for r in list(proposal.requests):
        session.delete(r)
    session.flush()
    session.add_all(
        Request(proposal_id=proposal.id, position=i, **fields) for i, fields in enumerate(frozen)
    )
    session.flush()
    session.refresh(proposal)


def close_call_proposals(
    session: Session, call: Call, *, actor_id: int | None = None, now: dt.datetime | None = None
) -> int:
    """At close: submitted proposals move to review, and their last revision is what counts.

    Edits made after the last submission were never submitted: the proposal's text and
    requests are restored to the frozen revision, so that everything downstream (awards
    on request rows, the schedule, the public list) reads what was reviewed.

    A proposal whose own deadline the user office extended past ``now``
    (``SubmissionExtension``) is left open to its PI; it is frozen when its extension
    has ended (``extensions.freeze_late_submissions``, before review).
    """
    extended = extended_proposal_ids(session, call, now or utcnow())
    props = [
        p
        for p in session.scalars(
            select(Proposal).where(Proposal.call_id == call.id, Proposal.status == "submitted")
        )
        if p.id not in extended
    ]
    return freeze_proposals(session, call, props, actor_id=actor_id)


def freeze_proposals(
    session: Session, call: Call, props: list[Proposal], *, actor_id: int | None = None
) -> int:
    """Move the submitted proposals ``props`` of ``call`` to review, restored to their
    last submitted revision, their anonymity scans queued; audited as
    ``call.proposals_frozen``."""
    n = 0
    # their revisions and scans in one query each (not one per proposal; those of the
    # call's submitted proposals, a few more than ``props`` where some are extended); the
    # revisions stay in the identity map, where _restore_revision's session.get finds them
    revisions = list(
        session.scalars(
            select(ProposalRevision)
            .join(Proposal, Proposal.current_revision_id == ProposalRevision.id)
            .where(Proposal.call_id == call.id, Proposal.status == "submitted")
        )
    )
    scans: dict[int, list[AnonymityScan]] = {p.id: [] for p in props}
    if call.anonymity == "dual" and props:
        for sc in session.scalars(
            select(AnonymityScan)
            .join(Proposal, Proposal.id == AnonymityScan.proposal_id)
            .where(Proposal.call_id == call.id, Proposal.status == "submitted")
        ):
            if sc.proposal_id in scans:
                scans[sc.proposal_id].append(sc)
    for p in props:
        check_proposal_transition(p.status, "under_review")
        _restore_revision(session, p)
        p.status = "under_review"
        n += 1
        request_anonymity_scans(session, p, actor_id=actor_id, existing=scans[p.id])
    del revisions
    session.flush()
    auditlog.record(
        session,
        "call.proposals_frozen",
        "call",
        call.id,
        actor_id=actor_id,
        call_id=call.id,
        data={"proposals": n},
    )
    return n


def close_call(
    session: Session,
    call: Call,
    *,
    actor_id: int | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
) -> int:
    """Close a call and freeze its submitted proposals for review (one unit of work).

    The call is locked first (:func:`lock_call_for_close`): submissions in flight finish
    before, later ones see the call closed and are refused, so none is left behind."""
    from opencall.calls.services import change_status

    lock_call_for_close(session, call)

    change_status(session, call, "closed", actor_id=actor_id, reason=reason, now=now)
    return close_call_proposals(session, call, actor_id=actor_id, now=now)
