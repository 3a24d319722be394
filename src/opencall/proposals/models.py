from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opencall.calls.models import Call
from opencall.db import Base, JSONType, UTCDateTime, utcnow


class PerProposal:
    """The columns of a row about one proposal of a call (a decision, an award, a review
    assignment, a conflict, a schedule entry, a result): the proposal, and its call beside
    it so that a call's rows are found by one index."""

    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)


class Proposal(Base):
    __tablename__ = "proposals"
    __table_args__ = (UniqueConstraint("call_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    code: Mapped[str] = mapped_column(String(30), nullable=False)
    pi_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    abstract: Mapped[str] = mapped_column(Text, nullable=False, default="")
    science_case: Mapped[str] = mapped_column(Text, nullable=False, default="")
    keywords: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    area: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    #: the language it is written in (ISO 639, e.g. "es"; trialrev18), or None when not
    #: stated: a reviewer who declared the languages they review in
    #: (``reviews.models.ReviewerLanguages``) is given it only when this is among them
    language: Mapped[str | None] = mapped_column(String(3), nullable=True)
    #: the earlier awarded proposal this one continues (outcomes19): a multi-cycle
    #: programme's renewal, a trainee's second season, a loan extended; None: a new
    #: application. Set only through ``results.services.set_continuation`` (validated:
    #: an award of an earlier cycle, the applicant's own); the outcomes count the
    #: programme (the chain's first award) once for its beneficiaries and results
    continues_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposals.id", ondelete="SET NULL"), nullable=True, index=True
    )
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="draft", index=True)
    current_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposal_revisions.id", use_alter=True), nullable=True
    )
    eligible: Mapped[bool | None] = mapped_column(nullable=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    call: Mapped[Call] = relationship(lazy="joined")
    members: Mapped[list[TeamMember]] = relationship(
        back_populates="proposal", lazy="selectin", order_by="TeamMember.id"
    )
    requests: Mapped[list[Request]] = relationship(
        back_populates="proposal", lazy="selectin", order_by="Request.position"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="proposal", lazy="selectin", order_by="Attachment.id"
    )

    # optimistic locking: every UPDATE of the row checks and bumps the version atomically
    __mapper_args__ = {"version_id_col": version}

    @property
    def pi_member(self) -> TeamMember | None:
        """The principal investigator's place on the team (None on a team without one)."""
        return next((m for m in self.members if m.role == "pi"), None)


class TriageDecision(Base):
    """Why a proposal is set aside at triage, before the review (its status then
    ``set_aside``): the category (``domain.TRIAGE_CATEGORIES``) and the reason the
    applicant reads, who decided and when. One row while the proposal is set aside; the
    row goes when the decision is reversed (the audit log keeps both)."""

    __tablename__ = "triage_decisions"

    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True
    )
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    category: Mapped[str] = mapped_column(String(20), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class DraftReminder(Base):
    """A reminder mailed to the PI of a draft before its call closes, one row per draft
    and threshold (days before the close): the primary key makes each reminder once
    only, however often or concurrently the reminder job runs."""

    __tablename__ = "draft_reminders"

    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), primary_key=True)
    days: Mapped[int] = mapped_column(Integer, primary_key=True)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class TeamMember(Base):
    """A member of a team, with a snapshot of their institution and country."""

    __tablename__ = "team_members"
    __table_args__ = (
        UniqueConstraint("proposal_id", "email"),
        # the invitations waiting for an address (the dashboard: open_invitations, a
        # LIKE on the address's prefix: PostgreSQL's pattern operators serve it in any
        # collation; SQLite's LIKE ignores case, so there the status alone serves)
        Index(
            "ix_team_members_status_email",
            "status",
            "email",
            postgresql_ops={"email": "varchar_pattern_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    role: Mapped[str] = mapped_column(String(10), nullable=False)  # pi | coi
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), nullable=True)
    institution_name: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    country_iso3: Mapped[str | None] = mapped_column(ForeignKey("countries.iso3"), nullable=True)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="invited")
    invited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    proposal: Mapped[Proposal] = relationship(back_populates="members")


class ProposalRevision(Base):
    """An immutable submitted snapshot; identical content gives the same revision."""

    __tablename__ = "proposal_revisions"
    __table_args__ = (
        UniqueConstraint("proposal_id", "number"),
        UniqueConstraint("proposal_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    content: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class RevisionFact(Base):
    """What the team of a submitted revision is known by, one row a fact
    (:func:`opencall.proposals.domain.revision_facts`: an e-mail, an institution id, an
    institution's name key, a member's name key), written with the revision (which never
    changes). A person's possible conflicts in a call are then found by an index in the
    database instead of reading every revision of the call (the technical reviewer's list)."""

    __tablename__ = "revision_facts"
    __table_args__ = (
        UniqueConstraint("revision_id", "kind", "value"),
        Index("ix_revision_facts_kind_value", "kind", "value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision_id: Mapped[int] = mapped_column(
        ForeignKey("proposal_revisions.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # email | inst | key | name
    value: Mapped[str] = mapped_column(Text, nullable=False)


REQUEST_KINDS = ("fast", "berth", "dive", "sample", "seat", "package")


class Request(Base):
    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("capacity_pools.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    amount: Mapped[float] = mapped_column(Float, nullable=False)
    # typed by kind, validated by proposals.schemas
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    # requests of one proposal sharing a bundle key are all-or-nothing
    bundle: Mapped[str | None] = mapped_column(String(40), nullable=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    proposal: Mapped[Proposal] = relationship(back_populates="requests")


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(20), nullable=False, default="scientific")
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    pages: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    storage_key: Mapped[str] = mapped_column(String(200), nullable=False)
    # the rewritten copy (no metadata, scripts, embedded files, annotations or forms) that
    # reviewers, technical reviewers and chairs receive; the original is the user office's
    clean_storage_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    clean_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    proposal: Mapped[Proposal] = relationship(back_populates="attachments")


class PartialUpload(Base):
    """A PDF on its way in pieces (trialapp23): an applicant on a link that drops sends
    the file in chunks, asks how much arrived (``received``, the offset) after a drop and
    goes on from there. Each chunk is stored (``partial/<id>/<n>``) before the row says it
    arrived; ``finish`` joins them, checks the length and the declared sha256, and stores
    the file as a whole upload would (the same checks). Rows not written to for a day are
    swept with their chunks (``opencall storage sweep``)."""

    __tablename__ = "partial_uploads"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    #: the sha256 the browser computed, hex; None when it could not (no Web Crypto)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    received: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    chunks: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ProposalCounter(Base):
    """The last proposal number given out in a call. Taken under this row's lock
    (``UPDATE ... SET last = last + 1 RETURNING last``), so that two drafts created at
    the same instant never get the same code."""

    __tablename__ = "proposal_counters"

    call_id: Mapped[int] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    last: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class AnonymityScan(Base):
    """Cached anonymity findings of one version of a proposal's text or of one attachment.

    ``key`` is the sha256 of what was scanned (the text fields, or the attachment's
    sha256, together with the team's names, institutions and e-mails), so a page
    finds the findings of what it shows without scanning anything. The scan runs as
    the ``proposal.anonymity_scan`` job; ``status`` is queued, done or failed.
    """

    __tablename__ = "anonymity_scans"
    __table_args__ = (UniqueConstraint("proposal_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    attachment_id: Mapped[int | None] = mapped_column(
        ForeignKey("attachments.id", ondelete="SET NULL"), nullable=True, index=True
    )
    subject: Mapped[str] = mapped_column(String(20), nullable=False)  # text | attachment
    key: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="queued")
    # [{"where": ..., "kind": ..., "text": ..., "page": n | None}]
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    # why a PDF was not read in full: [{"code": "page_too_large", "page": 3}]
    notes: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SubmissionExtension(Base, PerProposal):
    """One proposal's own submission deadline (trialop21b), later than its call's: the user
    office grants it, with a reason (a power cut, a visa office closed), audited as
    ``proposal.deadline_extended``. Its PI may edit and submit it until ``until`` while the
    call is otherwise closed; the close leaves it open until then, and review waits for it
    (``proposals.services.extensions``). One per proposal."""

    __tablename__ = "submission_extensions"
    __table_args__ = (UniqueConstraint("proposal_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    until: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
