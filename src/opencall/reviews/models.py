from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opencall.db import Base, UTCDateTime, utcnow
from opencall.proposals.models import PerProposal
from opencall.runs import SolverRun as SolverRun  # moved; the name stays importable here


class Conflict(PerProposal, Base):
    """A conflict of interest between a reviewer and a proposal; enforced everywhere."""

    __tablename__ = "conflicts"
    __table_args__ = (UniqueConstraint("proposal_id", "reviewer_id", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # team | institution | coauthor | declared_reviewer | declared_applicant | own_proposal
    source: Mapped[str] = mapped_column(String(30), nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class DeclaredRelation(Base):
    """Declared co-authorship/advising or personal conflicts between two people."""

    __tablename__ = "declared_relations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    other_email: Mapped[str] = mapped_column(String(254), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # coauthor | advisor | personal
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")


class ReviewAssignment(PerProposal, Base):
    __tablename__ = "review_assignments"
    __table_args__ = (UniqueConstraint("proposal_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # assigned | accepted | declined | submitted | removed
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="assigned")
    source: Mapped[str] = mapped_column(String(10), nullable=False, default="solver")
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("solver_runs.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ReviewDeadlineExtension(Base):
    """A reviewer's own review deadline in a call, later than the call's: granted by the
    chair (audited as ``review.deadline_extended``), one row per call and reviewer, moved
    again by a later extension. Reviews submitted after the deadline that applies to
    their reviewer (this one, else the call's) are refused."""

    __tablename__ = "review_deadline_extensions"
    __table_args__ = (UniqueConstraint("call_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    until: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ReviewReminder(Base):
    """A review reminder mailed for an assignment, one row per assignment and threshold
    (``within_days``, the days before the review deadline): the primary key makes each
    reminder once only, however often or concurrently ``opencall remind`` runs."""

    __tablename__ = "review_reminders"

    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("review_assignments.id", ondelete="CASCADE"), primary_key=True
    )
    days: Mapped[int] = mapped_column(Integer, primary_key=True)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Review(Base):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("review_assignments.id"), unique=True, nullable=False
    )
    # None only in a draft (saved before the reviewer chose them); a submitted review
    # always has both (``services.submit_review``)
    grade: Mapped[float | None] = mapped_column(Float, nullable=True)
    confidence: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comments_to_applicants: Mapped[str] = mapped_column(Text, nullable=False, default="")
    comments_to_panel: Mapped[str] = mapped_column(Text, nullable=False, default="")
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    #: 1 when first saved, one more at each save: the review form carries it, so that a
    #: save from a tab opened before another tab's save is refused, not written over it
    #: (``services.submit_review``'s ``expected_version``; trialrev22)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")


class TechnicalReview(Base):
    __tablename__ = "technical_reviews"
    __table_args__ = (UniqueConstraint("proposal_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    verdict: Mapped[str] = mapped_column(String(24), nullable=False)
    amount_needed: Mapped[float | None] = mapped_column(Float, nullable=True)
    notes_to_panel: Mapped[str] = mapped_column(Text, nullable=False, default="")
    notes_to_applicants: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class SafetyReview(PerProposal, Base):
    """The safety officer's review of a proposal's samples (trialfac24): the hazard class
    (one of the call's ``hazard_classes``) and the decision: ``pending`` (classed only),
    ``approved`` or ``refused``. A refused review keeps the proposal out of the
    allocation; a class in the call's ``approval_required`` holds the release of the
    decisions until it is approved."""

    __tablename__ = "safety_reviews"
    __table_args__ = (UniqueConstraint("proposal_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    hazard_class: Mapped[str] = mapped_column(String(40), nullable=False)
    decision: Mapped[str] = mapped_column(String(16), nullable=False)
    notes_to_panel: Mapped[str] = mapped_column(Text, nullable=False, default="")
    notes_to_applicants: Mapped[str] = mapped_column(Text, nullable=False, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class AffinityScore(PerProposal, Base):
    __tablename__ = "affinity_scores"
    __table_args__ = (UniqueConstraint("proposal_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    score: Mapped[float] = mapped_column(Float, nullable=False)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("solver_runs.id"), nullable=True)


class RankedProposal(PerProposal, Base):
    """Calibrated consensus, interval and rank interval of a proposal in a calibration run."""

    __tablename__ = "ranked_proposals"
    __table_args__ = (UniqueConstraint("run_id", "proposal_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("solver_runs.id"), index=True)
    raw_mean: Mapped[float | None] = mapped_column(Float, nullable=True)
    score: Mapped[float] = mapped_column(Float, nullable=False)
    score_lo: Mapped[float] = mapped_column(Float, nullable=False)
    score_hi: Mapped[float] = mapped_column(Float, nullable=False)
    rank: Mapped[int] = mapped_column(Integer, nullable=False)
    rank_lo: Mapped[int] = mapped_column(Integer, nullable=False)
    rank_hi: Mapped[int] = mapped_column(Integer, nullable=False)
    discuss: Mapped[bool] = mapped_column(nullable=False, default=False)


class ReviewInvitation(Base):
    """An invitation to review one call, sent by its chair or user office.

    The invited person (signed in with the invited address) accepts, with an
    optional maximum number of proposals and their availability, or declines
    with a reason. Accepting grants the role for this call.
    """

    __tablename__ = "review_invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(30), nullable=False, default="reviewer")
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    # invited | accepted | declined | revoked
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="invited")
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    max_load: Mapped[int | None] = mapped_column(Integer, nullable=True)
    availability: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    invited_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ReviewerLoadLimit(Base):
    """The most proposals a reviewer will have to review at once, across every call of
    every facility (trialrev17): set by the reviewer (``/review``, ``PUT
    /api/v1/me/review-load``), audited as ``review.load_limit_set``. A call's assignment,
    automatic or by hand, gives them no more than this limit less the reviews they still
    have to write in the other calls in review (``queries.load_left``); a call's own
    maximum and the load accepted with its invitation still hold within it."""

    __tablename__ = "reviewer_load_limits"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    max_at_once: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ReviewerLanguages(Base):
    """The languages a reviewer reviews in (trialrev18), ISO 639 codes sorted and joined
    by commas (e.g. "en,es"): set by the reviewer (``/review``, ``PUT
    /api/v1/me/review-languages``), audited as ``review.languages_set``. A reviewer with
    no row is not restricted; one with a row is never given, automatically or by hand, a
    proposal whose stated language (``Proposal.language``) is not among them."""

    __tablename__ = "reviewer_languages"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    languages: Mapped[str] = mapped_column(String(200), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ReviewerYearLimit(Base):
    """The most reviews a reviewer takes in a calendar year (UTC), across every call
    (trialrev18), beside their limit at once (``ReviewerLoadLimit``): set by the
    reviewer (``services.set_year_limit``), audited as ``review.year_limit_set``. Counted:
    the assignments made to them this year, not declined, removed or found conflicted,
    submitted or not (``queries.reviews_this_year``)."""

    __tablename__ = "reviewer_year_limits"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    max_per_year: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class PanelConsensus(PerProposal, Base):
    """The panel's consensus on a proposal, recorded by a chair of the call at the
    meeting (trialchair23): the panel's grade, on the call's scale (a label's position on
    a letter or word scale), which ranks the proposal in place of its calibrated score,
    and the consensus comment its applicants read with their outcome (no reviewer named).
    One a proposal; recorded again, replaced (each time audited)."""

    __tablename__ = "panel_consensus"
    __table_args__ = (UniqueConstraint("proposal_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grade: Mapped[float] = mapped_column(Float, nullable=False)
    comment: Mapped[str] = mapped_column(Text, nullable=False)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
