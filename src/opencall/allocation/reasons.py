"""A reason that the applicant reads (the TAC chair's change to the list, ``allocation.tac``;
the chair's offer of a declined award's freed capacity, ``allocation.services.offer``):
it may name no reviewer of the call and no other proposal (its code, its title, a member
of its team), and the refusal says neither which."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.proposals.models import Proposal, TeamMember
from opencall.reviews.models import ReviewAssignment

#: a reviewer's or an applicant's name or e-mail shorter than this is not looked for in a
#: reason
_MIN_NAME = 4
#: another proposal's title shorter than this is not looked for (a title of a word or two
#: would refuse reasons that only use those words)
_MIN_TITLE = 12


def require_clean(session: Session, call: Call, proposal: Proposal, reason: str) -> None:
    """Refuse a reason that names a reviewer of the call (name or e-mail) or another of its
    proposals (by code, by title, or by a member of its team: :func:`_other_teams`): the
    applicant reads it. The refusal says neither which."""
    low = reason.casefold()
    reviewers = select(ReviewAssignment.reviewer_id).where(ReviewAssignment.call_id == call.id)
    words = [
        w.strip()
        for name, email in session.execute(
            select(User.name, User.email).where(User.id.in_(reviewers))
        )
        for w in (name or "", email or "")
        if len(w.strip()) >= _MIN_NAME
    ]
    words += session.scalars(
        select(Proposal.code).where(Proposal.call_id == call.id, Proposal.id != proposal.id)
    )
    words += _other_teams(session, call, proposal)
    if any(w and w.casefold() in low for w in words):
        raise DomainError(
            "A reason may name no reviewer and no other proposal: the applicant reads it.",
            field="reason",
        )


def _other_teams(session: Session, call: Call, proposal: Proposal) -> list[str]:
    """The names and e-mails of the other proposals' team members (not those also on
    ``proposal``'s team) and the other proposals' titles: the applicant may not read who
    else applied, nor with what. None in a dual-anonymous call before its ranking is
    frozen: the chair does not see the teams then, and a refusal would tell them."""
    if call.anonymity == "dual" and call.ranking_frozen_at is None:
        return []
    others = select(Proposal.id).where(Proposal.call_id == call.id, Proposal.id != proposal.id)
    own = {
        w.strip().casefold()
        for name, email in session.execute(
            select(TeamMember.name, TeamMember.email).where(TeamMember.proposal_id == proposal.id)
        )
        for w in (name or "", email or "")
    }
    words = [
        w.strip()
        for name, email in session.execute(
            select(TeamMember.name, TeamMember.email).where(TeamMember.proposal_id.in_(others))
        )
        for w in (name or "", email or "")
        if len(w.strip()) >= _MIN_NAME and w.strip().casefold() not in own
    ]
    words += [
        title.strip()
        for title in session.scalars(select(Proposal.title).where(Proposal.id.in_(others)))
        if len((title or "").strip()) >= _MIN_TITLE
    ]
    return words
