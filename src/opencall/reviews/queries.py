from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.people.models import RoleGrant, User
from opencall.proposals.models import Proposal
from opencall.reviews.models import (
    Conflict,
    RankedProposal,
    Review,
    ReviewAssignment,
    ReviewInvitation,
    SolverRun,
    TechnicalReview,
)

REVIEWABLE = ("under_review", "accepted", "rejected")


def reviewers_of_call(session: Session, call: Call) -> list[User]:
    stmt = (
        select(User)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(
            RoleGrant.role == "reviewer",
            or_(RoleGrant.call_id == call.id, RoleGrant.provider_id == call.provider_id),
        )
        .order_by(User.id)
    )
    return list(session.scalars(stmt).unique())


def proposals_for_review(session: Session, call: Call) -> list[Proposal]:
    stmt = (
        select(Proposal)
        .where(Proposal.call_id == call.id, Proposal.status.in_(REVIEWABLE))
        .order_by(Proposal.id)
    )
    return list(session.scalars(stmt))


def conflict_pairs(session: Session, call: Call) -> set[tuple[int, int]]:
    rows = session.execute(
        select(Conflict.proposal_id, Conflict.reviewer_id).where(Conflict.call_id == call.id)
    )
    return {(p, r) for p, r in rows}


def is_conflicted(session: Session, proposal_id: int, reviewer_id: int) -> bool:
    stmt = select(Conflict.id).where(
        Conflict.proposal_id == proposal_id, Conflict.reviewer_id == reviewer_id
    )
    return session.scalar(stmt.limit(1)) is not None


def assignments_of_call(
    session: Session, call: Call, *, active: bool = True
) -> list[ReviewAssignment]:
    stmt = select(ReviewAssignment).where(ReviewAssignment.call_id == call.id)
    if active:
        stmt = stmt.where(ReviewAssignment.status.in_(("assigned", "accepted", "submitted")))
    return list(session.scalars(stmt.order_by(ReviewAssignment.id)))


def assignments_of_reviewer(session: Session, reviewer_id: int) -> list[ReviewAssignment]:
    stmt = select(ReviewAssignment).where(
        ReviewAssignment.reviewer_id == reviewer_id,
        ReviewAssignment.status.in_(("assigned", "accepted", "submitted")),
    )
    return list(session.scalars(stmt.order_by(ReviewAssignment.id)))


def review_of(session: Session, assignment_id: int) -> Review | None:
    return session.scalar(select(Review).where(Review.assignment_id == assignment_id))


def submitted_reviews(session: Session, call: Call) -> list[tuple[ReviewAssignment, Review]]:
    stmt = (
        select(ReviewAssignment, Review)
        .join(Review, Review.assignment_id == ReviewAssignment.id)
        .where(
            ReviewAssignment.call_id == call.id,
            ReviewAssignment.status == "submitted",
            Review.submitted_at.is_not(None),
        )
        .order_by(ReviewAssignment.id)
    )
    return [(a, r) for a, r in session.execute(stmt)]


def technical_reviews(session: Session, call: Call) -> dict[int, TechnicalReview]:
    stmt = (
        select(TechnicalReview)
        .join(Proposal, Proposal.id == TechnicalReview.proposal_id)
        .where(Proposal.call_id == call.id)
    )
    return {t.proposal_id: t for t in session.scalars(stmt)}


def latest_run(session: Session, call: Call, kind: str) -> SolverRun | None:
    stmt = (
        select(SolverRun)
        .where(SolverRun.call_id == call.id, SolverRun.kind == kind, SolverRun.status == "ok")
        .order_by(SolverRun.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def ranking(session: Session, call: Call) -> list[RankedProposal]:
    run = latest_run(session, call, "calibration")
    if run is None:
        return []
    stmt = (
        select(RankedProposal).where(RankedProposal.run_id == run.id).order_by(RankedProposal.rank)
    )
    return list(session.scalars(stmt))


def declared_max_loads(session: Session, call: Call) -> dict[int, int]:
    """reviewer id -> the most proposals they accepted to review in this call."""
    rows = session.execute(
        select(ReviewInvitation.user_id, ReviewInvitation.max_load).where(
            ReviewInvitation.call_id == call.id,
            ReviewInvitation.status == "accepted",
            ReviewInvitation.max_load.is_not(None),
            ReviewInvitation.role == "reviewer",
        )
    )
    return {uid: int(n) for uid, n in rows if uid is not None and n is not None}
