"""The reviewer's side of an assignment: accepting or declining it, and saving or
submitting the review (grade, confidence, comments)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.calls.schemas import review_settings
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.reviews import queries as q
from opencall.reviews.models import Review, ReviewAssignment
from opencall.reviews.services.assignment import _audit_assignment


def respond_to_assignment(
    session: Session, assignment: ReviewAssignment, reviewer: User, *, accept: bool
) -> ReviewAssignment:
    if assignment.reviewer_id != reviewer.id:
        raise DomainError("Not found", code="not_found")
    if assignment.status != "assigned":
        raise DomainError("This invitation was already %(status)s.", status=assignment.status)
    assignment.status = "accepted" if accept else "declined"
    _audit_assignment(
        session,
        "assignment.accepted" if accept else "assignment.declined",
        assignment,
        actor_id=reviewer.id,
    )
    return assignment


def submit_review(
    session: Session,
    assignment: ReviewAssignment,
    reviewer: User,
    *,
    grade: float,
    confidence: int = 3,
    comments_to_applicants: str = "",
    comments_to_panel: str = "",
    final: bool = True,
) -> Review:
    if assignment.reviewer_id != reviewer.id or assignment.status in ("removed", "declined"):
        raise DomainError("Not found", code="not_found")
    if q.is_conflicted(session, assignment.proposal_id, reviewer.id):
        raise DomainError("Not found", code="not_found")
    call = session.get(Call, assignment.call_id)
    assert call is not None
    rs = review_settings(call.review_settings)
    if call.status not in ("closed", "review"):
        raise DomainError("Reviews are accepted only while the call is in review.")
    try:
        g = float(grade)
    except (TypeError, ValueError) as exc:
        raise DomainError("The grade must be a number.", field="grade") from exc
    if not rs.grade_min <= g <= rs.grade_max or g != g:
        raise DomainError(
            "The grade must lie between %(lo)s and %(hi)s.",
            field="grade",
            lo=format(rs.grade_min, "g"),
            hi=format(rs.grade_max, "g"),
        )
    if confidence not in (1, 2, 3, 4, 5):
        raise DomainError("Confidence is 1 (low) to 5 (high).", field="confidence")
    for name, text in (
        ("comments_to_applicants", comments_to_applicants),
        ("comments_to_panel", comments_to_panel),
    ):
        if len(text) > 20000:
            raise DomainError("Comments are limited to 20,000 characters.", field=name)
    if final and not comments_to_applicants.strip():
        raise DomainError(
            "Please write comments to the applicants.", field="comments_to_applicants"
        )
    review = q.review_of(session, assignment.id)
    if review is None:
        review = Review(assignment_id=assignment.id, grade=g)
        session.add(review)
    review.grade = g
    review.confidence = confidence
    review.comments_to_applicants = comments_to_applicants
    review.comments_to_panel = comments_to_panel
    review.updated_at = utcnow()
    if final:
        review.submitted_at = utcnow()
        assignment.status = "submitted"
    elif assignment.status == "assigned":
        assignment.status = "accepted"
    _audit_assignment(
        session, "review.submitted" if final else "review.saved", assignment, actor_id=reviewer.id
    )
    return review
