from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.proposals.models import Proposal, TeamMember


def proposals_of_call(
    session: Session, call_id: int, *, statuses: tuple[str, ...] | None = None
) -> list[Proposal]:
    stmt = select(Proposal).where(Proposal.call_id == call_id).order_by(Proposal.id)
    if statuses:
        stmt = stmt.where(Proposal.status.in_(statuses))
    return list(session.scalars(stmt))


def proposals_of_user(session: Session, user_id: int) -> list[Proposal]:
    stmt = (
        select(Proposal)
        .join(TeamMember, TeamMember.proposal_id == Proposal.id)
        .where(TeamMember.user_id == user_id, TeamMember.status.in_(("accepted", "invited")))
        .order_by(Proposal.updated_at.desc())
    )
    return list(session.scalars(stmt).unique())
