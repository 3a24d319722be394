"""Triage: before the review, the chair (or the user office) sets a proposal aside as out
of the call's scope, technically infeasible or incomplete, with a reason its applicant
reads; a set-aside proposal (status ``set_aside``) is not assigned, ranked or allocated
(none of those steps reads it: ``queries.REVIEWABLE``), and the outcomes report counts it
as applied but not eligible, by income group, UN region and LDC status. The decision is
audited and may be reversed until the call's reviews are assigned."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.inputs import control_char
from opencall.proposals.domain import TRIAGE_CATEGORIES, check_proposal_transition
from opencall.proposals.models import Proposal, TriageDecision
from opencall.proposals.queries import triage_of as triage_of  # importable here
from opencall.reviews.models import ReviewAssignment
from opencall.reviews.policies import ACTIVE, require_hands_off
from opencall.reviews.services.common import MAX_REASON, require_reason_fits

#: the call's states in which triage happens (after the close, before the ranking)
TRIAGE_STATES = ("closed", "review")


def require_triage_open(session: Session, call: Call) -> None:
    """Refuse a triage decision once the review has begun: outside the call's closed and
    review states, or once a reviewer is assigned to any of its proposals."""
    if call.status not in TRIAGE_STATES:
        raise DomainError(
            "Proposals are set aside (or returned) only between the close of the call and "
            "the assignment of its reviews.",
            code="illegal_transition",
        )
    assigned = session.scalar(
        select(ReviewAssignment.id)
        .where(ReviewAssignment.call_id == call.id, ReviewAssignment.status.in_(ACTIVE))
        .limit(1)
    )
    if assigned is not None:
        raise DomainError(
            "The call's reviews are assigned: triage is over, and its decisions stand.",
            code="illegal_transition",
        )


def set_aside(
    session: Session,
    call: Call,
    proposal: Proposal,
    category: str,
    reason: str,
    *,
    actor_id: int | None,
) -> TriageDecision:
    """Set ``proposal`` aside at triage (``category`` one of ``TRIAGE_CATEGORIES``, the
    ``reason`` its applicant reads), audited as ``proposal.set_aside``. Refused to a
    member of its team or a person with a conflict of interest with it (another member
    of the staff decides), once the reviews are assigned, and for a proposal not in
    review. Bad input changes nothing."""
    if proposal.call_id != call.id:
        raise DomainError("Not found", code="not_found")
    require_hands_off(session, proposal, actor_id)
    if category not in TRIAGE_CATEGORIES:
        raise DomainError(
            "Unknown triage category %(category)s: it is one of %(categories)s.",
            field="category",
            category=repr(category)[:60],
            categories=", ".join(TRIAGE_CATEGORIES),
        )
    text = (reason or "").strip()
    if not text:
        raise DomainError(
            "Say why the proposal is set aside: its applicant reads the reason.",
            field="reason",
        )
    require_reason_fits(text)
    bad = control_char(text)  # tabs and line breaks are allowed
    if bad is not None:
        raise DomainError(
            "Text may not contain control characters (%(char)s).", field="reason", char=bad
        )
    require_triage_open(session, call)
    check_proposal_transition(proposal.status, "set_aside")
    proposal.status = "set_aside"
    row = TriageDecision(
        proposal_id=proposal.id,
        call_id=call.id,
        category=category,
        reason=text,
        decided_by=actor_id,
    )
    session.add(row)
    session.flush()
    auditlog.record(
        session,
        "proposal.set_aside",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=call.id,
        reason=text,
        data={"category": category},
    )
    return row


def return_to_review(
    session: Session, call: Call, proposal: Proposal, *, actor_id: int | None, reason: str = ""
) -> None:
    """Reverse the triage of ``proposal``: back in review (and in the next automatic
    assignment), audited as ``proposal.triage_lifted``; refused once the call's reviews
    are assigned, and to an account the proposal is withheld from."""
    if proposal.call_id != call.id:
        raise DomainError("Not found", code="not_found")
    require_hands_off(session, proposal, actor_id)
    require_triage_open(session, call)
    if proposal.status != "set_aside":
        raise DomainError("This proposal is not set aside.", code="illegal_transition")
    row = session.get(TriageDecision, proposal.id)
    proposal.status = "under_review"
    if row is not None:
        session.delete(row)
    session.flush()
    auditlog.record(
        session,
        "proposal.triage_lifted",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=call.id,
        reason=(reason or "").strip()[:MAX_REASON],
        data={"category": row.category if row is not None else ""},
    )
