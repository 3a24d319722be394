"""The panel's consensus (trialchair23): at the meeting a chair of the call records the
panel's grade of a proposal and the consensus comment its applicants read. The grade
ranks the proposal in place of its calibrated score at the next "Calibrate and rank"
(``calibration.run_calibration``); the comment reaches the applicants with their outcome,
naming no reviewer. A chair on the proposal's team or with a conflict of interest with it
is refused (``policies.require_hands_off``): another chair of the call records it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls.models import Call
from opencall.calls.schemas import review_settings
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.proposals.services import lock_call_for_close
from opencall.reviews import queries as q
from opencall.reviews.models import PanelConsensus, ReviewAssignment
from opencall.reviews.policies import require_hands_off
from opencall.reviews.services.common import named_in
from opencall.reviews.services.reviewing import frozen_refusal

#: the longest consensus comment (as a review's comments)
MAX_COMMENT = 20000


def record_consensus(
    session: Session,
    call: Call,
    proposal: Proposal,
    actor: User,
    *,
    grade: float | str,
    comment: str,
) -> PanelConsensus:
    """Record (or replace) the panel's consensus on ``proposal``: its ``grade`` on the
    call's scale (a label, or its position, on a letter or word scale) and the
    ``comment`` its applicants read. Audited as ``review.consensus_recorded``. Refused
    outside the review, once the ranking is frozen, for a proposal not under review, to a
    chair it is withheld from, and for a grade off the scale or an empty comment; bad
    input changes nothing."""
    # the call's row, as the freeze takes it: a consensus and a freeze one after the other
    lock_call_for_close(session, call)
    session.refresh(call, ["status", "ranking_frozen_at"])
    if call.status not in ("closed", "review"):
        raise DomainError("The panel's consensus is recorded while the call is in review.")
    if call.ranking_frozen_at is not None:
        raise frozen_refusal(session, call)
    if proposal.call_id != call.id or proposal.status not in q.REVIEWABLE:
        raise DomainError("Not found", code="not_found")
    require_hands_off(session, proposal, actor.id)
    g = review_settings(call.review_settings).read_grade(grade)
    text = comment.strip()
    if not text:
        raise DomainError(
            "Write the panel's consensus comment: the applicants read it.", field="comment"
        )
    if len(text) > MAX_COMMENT:
        raise DomainError("Comments are limited to 20,000 characters.", field="comment")
    _require_no_reviewer_named(session, proposal, text)
    row = session.scalar(select(PanelConsensus).where(PanelConsensus.proposal_id == proposal.id))
    if row is None:
        row = PanelConsensus(call_id=call.id, proposal_id=proposal.id, grade=g, comment=text)
        session.add(row)
    row.grade, row.comment = g, text
    row.recorded_by, row.recorded_at = actor.id, utcnow()
    session.flush()
    auditlog.record(
        session,
        "review.consensus_recorded",
        "proposal",
        proposal.id,
        actor_id=actor.id,
        call_id=call.id,
        data={"grade": g},
    )
    return row


def _require_no_reviewer_named(session: Session, proposal: Proposal, text: str) -> None:
    """Refuse a comment that names one of the proposal's reviewers or gives their e-mail
    address (the applicants read it)."""
    reviewers = session.scalars(
        select(User)
        .join(ReviewAssignment, ReviewAssignment.reviewer_id == User.id)
        .where(ReviewAssignment.proposal_id == proposal.id)
        .order_by(User.id)
    ).all()
    found = named_in(text, list(reviewers))
    if found:
        raise DomainError(
            "The consensus comment names a reviewer of this proposal (%(found)s): the "
            "applicants may not learn who reviewed it.",
            field="comment",
            found=found,
        )
