"""The reviewer's side of an assignment: accepting or declining it, and saving or
submitting the review (grade, confidence, comments)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls.models import Call
from opencall.calls.schemas import review_settings
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.reviews import queries as q
from opencall.reviews.models import Review, ReviewAssignment, ReviewDeadlineExtension
from opencall.reviews.policies import REVIEW_STATES as REVIEW_OPEN
from opencall.reviews.policies import withheld
from opencall.reviews.services.assignment import _audit_assignment
from opencall.reviews.services.calibration import unfreeze_refusal
from opencall.reviews.services.common import REVIEW_STATE, lock_answer, named_in
from opencall.web.pages import fmt_when

#: the longest reason a reviewer gives for declining (the form's ``maxlength``)
DECLINE_REASON_MAX = 2000


def respond_to_assignment(
    session: Session,
    assignment: ReviewAssignment,
    reviewer: User,
    *,
    accept: bool,
    reason: str = "",
) -> ReviewAssignment:
    """Accept or decline the invitation ``assignment``. A decline may say why
    (``reason``, at most :data:`DECLINE_REASON_MAX` characters; trialrev19): kept on the
    ``assignment.declined`` audit event, the chair reads it on the assignment page
    (:func:`~opencall.reviews.queries.declines`). Refused, nothing changed."""
    why = reason.strip() if not accept else ""
    if len(why) > DECLINE_REASON_MAX:
        raise DomainError(
            "Say why in at most %(n)s characters.", n=DECLINE_REASON_MAX, field="decline_reason"
        )
    lock_answer(session, assignment)
    if assignment.reviewer_id != reviewer.id:
        raise DomainError("Not found", code="not_found")
    if assignment.status != "assigned":
        raise DomainError("This invitation was already %(status)s.", status=assignment.status)
    call = session.get(Call, assignment.call_id)
    if call is None or call.status not in REVIEW_OPEN:
        # the call has moved on to its ranking (or beyond): no review can be written
        # there, so the invitation is not answered either (trialrev21; the chair
        # reopening the review makes it answerable again)
        raise DomainError(
            "The review of this call is over: this invitation can no longer be answered."
        )
    assignment.status = "accepted" if accept else "declined"
    _audit_assignment(
        session,
        "assignment.accepted" if accept else "assignment.declined",
        assignment,
        actor_id=reviewer.id,
        reason=why,
    )
    return assignment


def submit_review(
    session: Session,
    assignment: ReviewAssignment,
    reviewer: User,
    *,
    grade: float | str | None,
    confidence: int | None = 3,
    comments_to_applicants: str = "",
    comments_to_panel: str = "",
    final: bool = True,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Review:
    """Save (``final=False``) or submit the reviewer's review of ``assignment``. A review
    submitted at or after the deadline that applies to the reviewer
    (:func:`~opencall.reviews.queries.review_due`, judged at ``now``: the request's
    receipt time) is refused; a draft is still kept. A draft may lack its grade and its
    confidence (None: the reviewer's first notes); a submitted review needs both.
    ``expected_version``: the review's version the form was shown with (0: none saved
    yet); another one, read under the assignment's lock, is refused (code ``stale``:
    another tab saved since), nothing written. None: not checked (the API)."""
    call = lock_answer(session, assignment)
    if assignment.reviewer_id != reviewer.id or assignment.status in ("removed", "declined"):
        raise DomainError("Not found", code="not_found")
    if q.is_conflicted(session, assignment.proposal_id, reviewer.id):
        raise DomainError("Not found", code="not_found")
    if expected_version is not None and expected_version != review_version(
        q.review_of(session, assignment.id)
    ):
        raise DomainError(
            "This review was changed elsewhere since you opened it (another tab or "
            "device); your text is kept below — compare it with the saved review and "
            "save again.",
            code="stale",
        )
    g = _checked_review(
        session,
        call,
        grade,
        confidence,
        comments_to_applicants,
        comments_to_panel,
        final=final,
        reviewer=reviewer,
    )
    if final:
        _check_on_time(q.review_due(session, call, reviewer.id), reviewer, now or utcnow())
    review = q.review_of(session, assignment.id)
    if review is None:
        review = Review(assignment_id=assignment.id, grade=g)
        session.add(review)
    _fill_review(
        review, assignment, g, confidence, comments_to_applicants, comments_to_panel, final
    )
    _audit_assignment(
        session, "review.submitted" if final else "review.saved", assignment, actor_id=reviewer.id
    )
    # Checked again now that this unit of work holds the audit chain's lock (PostgreSQL;
    # SQLite: the write lock since ``lock_answer``), which the freeze and the call's
    # transitions hold too until they commit: one committed since the first check is
    # seen here, and one still to come waits for this commit (and sees the grade).
    session.refresh(call, REVIEW_STATE)
    _check_open_for_reviews(session, call)
    return review


def review_version(review: Review | None) -> int:
    """The version a review form carries: the saved review's, 0 before any save."""
    return review.version if review is not None else 0


def submitted_as(
    session: Session,
    assignment: ReviewAssignment,
    *,
    grade: float | str | None,
    confidence: int | None,
    comments_to_applicants: str = "",
    comments_to_panel: str = "",
    final: bool = True,
) -> Review | None:
    """The assignment's submitted review when it is exactly this one (grade, confidence
    and comments): a submission sent again because its answer was lost on a slow link,
    which the caller answers as done, writing nothing (a submitted review no longer
    changes: before, the page answered 404 and the API "This review was already
    submitted.", telling the reviewer that the review they had sent failed). None for
    anything else, which the caller refuses as before."""
    if not final or assignment.status != "submitted":
        return None
    review = q.review_of(session, assignment.id)
    if review is None or review.submitted_at is None:
        return None
    if grade is None:
        return None
    call = session.get(Call, assignment.call_id)
    assert call is not None
    try:  # a label on a letter or word scale is its position
        same_grade = review_settings(call.review_settings).read_grade(grade) == review.grade
    except DomainError:
        return None
    same = (
        same_grade
        and confidence == review.confidence
        and comments_to_applicants == review.comments_to_applicants
        and comments_to_panel == review.comments_to_panel
    )
    return review if same else None


def frozen_refusal(session: Session, call: Call) -> DomainError:
    """Why a grade cannot change under the call's frozen ranking, and whether the chair
    may still unfreeze it (:func:`~opencall.reviews.services.calibration.unfreeze_refusal`,
    the one copy of those rules): never in a dual-anonymous call, no longer once the
    allocation has read the ranking or the decisions are out."""
    if unfreeze_refusal(session, call) is None:
        return DomainError(
            "The ranking is frozen; grades can no longer change (the chair may unfreeze it)."
        )
    if call.anonymity == "dual":  # the words for the refusal's reason, not another rule
        return DomainError(
            "The ranking is frozen; grades can no longer change (in a dual-anonymous call a "
            "freeze is never undone)."
        )
    return DomainError(
        "The ranking is frozen; grades can no longer change (the allocation has run on "
        "it, so it can no longer be unfrozen)."
    )


def _check_on_time(due: dt.datetime | None, reviewer: User, now: dt.datetime) -> None:
    """Refuse a review submitted at or after ``due`` (the deadline that applies to the
    reviewer), saying it in UTC and in the reviewer's own zone."""
    if due is not None and now >= due:
        raise DomainError(
            "The review deadline passed at %(deadline)s: reviews can no longer be "
            "submitted. Ask the chair of the call to extend your deadline.",
            code="late",
            deadline=fmt_when(due, reviewer.time_zone),
        )


def extend_review_deadline(
    session: Session,
    call: Call,
    reviewer: User,
    until: dt.datetime,
    *,
    actor_id: int | None,
    now: dt.datetime | None = None,
    reason: str = "",
) -> ReviewDeadlineExtension:
    """The chair moves ``reviewer``'s review deadline in ``call`` to ``until`` (later
    than the call's deadline and than now), audited as ``review.deadline_extended``. The
    reviewer must have a review to write in the call (an assignment not yet submitted,
    declined or removed). Bad input changes nothing."""
    now = now or utcnow()
    _check_open_for_reviews(session, call)
    deadline = review_settings(call.review_settings).review_deadline
    if deadline is None:
        raise DomainError("This call has no review deadline to extend.")
    if until.tzinfo is None:
        until = until.replace(tzinfo=dt.UTC)
    until = until.astimezone(dt.UTC)
    if until <= deadline or until <= now:
        raise DomainError(
            "The new deadline must be later than the call's review deadline "
            "(%(deadline)s) and than now.",
            field="until",
            deadline=fmt_when(deadline, None),
        )
    # a chair on a team, or conflicted, in the call leaves the room for that proposal: the
    # deadline of its reviewers is another staff member's to move. Refused as if they had
    # no review, so that the refusal does not say who reviews the withheld proposal
    actor = session.get(User, actor_id) if actor_id is not None else None
    apart = q.reviewers_of_proposals(session, call, withheld(session, actor, call))
    if reviewer.id in apart or not q.has_review_to_write(session, call, reviewer.id):
        raise DomainError(
            "%(who)s has no review to write in this call.", field="reviewer", who=reviewer.name
        )
    ext = session.scalar(
        select(ReviewDeadlineExtension).where(
            ReviewDeadlineExtension.call_id == call.id,
            ReviewDeadlineExtension.reviewer_id == reviewer.id,
        )
    )
    if ext is None:
        ext = ReviewDeadlineExtension(call_id=call.id, reviewer_id=reviewer.id, until=until)
        session.add(ext)
    ext.until = until
    ext.granted_by = actor_id
    session.flush()
    auditlog.record(
        session,
        "review.deadline_extended",
        "review_deadline_extension",
        ext.id,
        actor_id=actor_id,
        call_id=call.id,
        reason=reason[:2000],
        data={"reviewer_id": reviewer.id, "until": until.isoformat()},
    )
    return ext


#: requests for more time one reviewer may send about one review: each is an audit event
#: (kept for good, written under the audit chain's lock) that the chair's assignments page
#: reads again at every load; a script sent them without end (trialcrowd15)
MAX_MORE_TIME_ASKS = 3


def ask_for_more_time(
    session: Session, assignment: ReviewAssignment, reviewer: User, *, reason: str
) -> None:
    """The reviewer asks the chair for a later review deadline, saying why and how long:
    audited as ``review.more_time_asked`` (the chair's assignments page lists the requests
    not yet answered by :func:`extend_review_deadline`). Only for a review still to write
    in a call in review with a deadline; bad input changes nothing."""
    call = lock_answer(session, assignment)
    if assignment.reviewer_id != reviewer.id or assignment.status not in ("assigned", "accepted"):
        raise DomainError("Not found", code="not_found")
    if q.is_conflicted(session, assignment.proposal_id, reviewer.id):
        raise DomainError("Not found", code="not_found")
    _check_open_for_reviews(session, call)
    if review_settings(call.review_settings).review_deadline is None:
        raise DomainError("This call has no review deadline to extend.")
    if not reason.strip():
        raise DomainError("Say why you need more time, and until when.", field="more_time")
    asked = auditlog.count_of(session, "review.more_time_asked", "review_assignment", assignment.id)
    if asked >= MAX_MORE_TIME_ASKS:
        raise DomainError(
            "You have asked for more time %(max)s times for this review; write to the "
            "chair of the call instead.",
            field="more_time",
            max=MAX_MORE_TIME_ASKS,
        )
    auditlog.record(
        session,
        "review.more_time_asked",
        "review_assignment",
        assignment.id,
        actor_id=reviewer.id,
        call_id=call.id,
        reason=reason.strip()[:2000],
        data={"reviewer_id": reviewer.id},
    )


def _check_open_for_reviews(session: Session, call: Call) -> None:
    if call.status not in ("closed", "review"):
        raise DomainError("Reviews are accepted only while the call is in review.")
    if call.ranking_frozen_at is not None:
        # the frozen ranking is what the allocation reads: a new grade would not be in it
        raise frozen_refusal(session, call)


def _checked_review(
    session: Session,
    call: Call,
    grade: float | str | None,
    confidence: int | None,
    comments_to_applicants: str,
    comments_to_panel: str,
    *,
    final: bool,
    reviewer: User | None = None,
) -> float | None:
    """The grade as a float (None: a draft without one), once the call's state and the
    review's fields are checked."""
    rs = review_settings(call.review_settings)
    _check_open_for_reviews(session, call)
    g: float | None = None
    if grade is not None:
        # a number on the call's scale, or on a letter or word scale a label
        g = rs.read_grade(grade)
    elif final:  # a draft may wait for its grade; a submitted review may not
        raise DomainError(
            "Give a grade to submit the review (a draft is saved without one).", field="grade"
        )
    if confidence not in (1, 2, 3, 4, 5) and (final or confidence is not None):
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
    # the applicants never learn who reviewed them: a signature is refused (a draft,
    # which no one else reads, may keep it)
    signed = named_in(comments_to_applicants, [reviewer]) if final and reviewer else ""
    if signed:
        raise DomainError(
            "Your comments to the applicants give your name or address (%(found)s): the "
            "applicants may not learn who reviewed their proposal; remove it.",
            field="comments_to_applicants",
            found=signed,
        )
    return g


def _fill_review(
    review: Review,
    assignment: ReviewAssignment,
    g: float | None,
    confidence: int | None,
    comments_to_applicants: str,
    comments_to_panel: str,
    final: bool,
) -> None:
    review.grade = g
    review.confidence = confidence
    review.comments_to_applicants = comments_to_applicants
    review.comments_to_panel = comments_to_panel
    review.updated_at = utcnow()
    review.version = (review.version or 0) + 1 if review.id is not None else 1
    if final:
        review.submitted_at = utcnow()
        assignment.status = "submitted"
    elif assignment.status == "assigned":
        assignment.status = "accepted"


@dataclass(frozen=True)
class ReviewInput:
    """One review for :func:`submit_reviews`: the arguments of :func:`submit_review`."""

    assignment: ReviewAssignment
    reviewer: User
    grade: float | str | None
    confidence: int | None = 3
    comments_to_applicants: str = ""
    comments_to_panel: str = ""


def submit_reviews(
    session: Session,
    items: Sequence[ReviewInput],
    *,
    final: bool = True,
    now: dt.datetime | None = None,
) -> list[Review]:
    """:func:`submit_review` for many assignments, in order: the same checks (the first
    failure is raised and nothing is written), the same rows and audit events in the same
    order, in a handful of statements instead of several per review (the conflicts and
    existing reviews are read once, the audit chain is extended in one go)."""
    if not items:
        return []
    pairs = {(it.assignment.proposal_id, it.assignment.reviewer_id) for it in items}
    conflicted = q.conflicted_among(session, pairs)
    ids = [it.assignment.id for it in items]
    if len(set(ids)) != len(ids):
        raise ValueError("submit_reviews: an assignment appears twice")
    existing = q.reviews_of(session, ids)
    grades = []
    for it in items:
        a = it.assignment
        if a.reviewer_id != it.reviewer.id or a.status in ("removed", "declined"):
            raise DomainError("Not found", code="not_found")
        if (a.proposal_id, a.reviewer_id) in conflicted:
            raise DomainError("Not found", code="not_found")
        call = session.get(Call, a.call_id)
        assert call is not None
        grades.append(
            _checked_review(
                session,
                call,
                it.grade,
                it.confidence,
                it.comments_to_applicants,
                it.comments_to_panel,
                final=final,
                reviewer=it.reviewer,
            )
        )
        if final:
            _check_on_time(q.review_due(session, call, a.reviewer_id), it.reviewer, now or utcnow())
    out = []
    for it, g in zip(items, grades, strict=True):
        review = existing.get(it.assignment.id)
        if review is None:
            review = Review(assignment_id=it.assignment.id, grade=g)
            session.add(review)
        _fill_review(
            review,
            it.assignment,
            g,
            it.confidence,
            it.comments_to_applicants,
            it.comments_to_panel,
            final,
        )
        out.append(review)
    session.flush()
    auditlog.record_many(
        session,
        [
            auditlog.EventInput(
                "review.submitted" if final else "review.saved",
                "review_assignment",
                it.assignment.id,
                actor_id=it.reviewer.id,
                call_id=it.assignment.call_id,
            )
            for it in items
        ],
    )
    return out
