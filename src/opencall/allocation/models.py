from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opencall.db import Base, JSONType, UTCDateTime, utcnow
from opencall.proposals.models import PerProposal
from opencall.reviews import models as _review_models  # noqa: F401  (FK targets)


class Decision(PerProposal, Base):
    """The outcome for one proposal in a call, with its explanation."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("call_id", "proposal_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(30), nullable=False)
    explanation: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: the explanation as messages (``allocation.services._parts``): each request's sentence
    #: as a message id and parameters, said in the reader's language by
    #: ``allocation.presenters.explain``; None for a decision stored before (migration
    #: ``msgid11_01``), whose English ``explanation`` is all there is
    explanation_msg: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType, nullable=True)
    priority: Mapped[str] = mapped_column(String(4), nullable=False, default="")
    run_id: Mapped[int | None] = mapped_column(ForeignKey("solver_runs.id"), nullable=True)
    override_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    overridden_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Award(PerProposal, Base):
    __tablename__ = "awards"
    __table_args__ = (UniqueConstraint("request_id", "pool_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("capacity_pools.id"), index=True)
    amount: Mapped[float] = mapped_column(Float, nullable=False)
    fraction: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("solver_runs.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class UnreviewedResolution(PerProposal, Base):
    """The chair's answer for a submitted proposal short of reviews (none counted): rejected
    as not reviewed, with the explanation the applicant reads (``reject``), or carried to
    the allocation, below every reviewed proposal and flagged (``carry``). Kept across
    allocation runs; the release waits until every such proposal has one."""

    __tablename__ = "unreviewed_resolutions"
    __table_args__ = (UniqueConstraint("call_id", "proposal_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(10), nullable=False)  # reject | carry
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


#: why an awardee declines: visa or travel refused, funding fell through, the dates are no
#: longer possible, another reason (the order of the pages and the figures)
DECLINE_REASONS = ("visa", "funding", "dates", "other")


class GivenBack(PerProposal):
    """The columns of an award given back (a decline, an end): why (a reason of
    :data:`DECLINE_REASONS` and a note), the schedule entries it released, when."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reason: Mapped[str] = mapped_column(String(20), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    entries_released: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class AwardDecline(GivenBack, Base):
    """A released award declined by its PI (the whole proposal): why, and what it freed.
    Its awards are removed (the capacity is free again for the chair to offer to the next
    in line) and kept here as ``freed`` (each ``{"pool_id", "request_id", "amount",
    "fraction"}``), with the number of schedule entries released. The decision stays as
    it was decided; the pages show it declined by the applicant."""

    __tablename__ = "award_declines"
    __table_args__ = (UniqueConstraint("proposal_id"),)

    freed: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    declined_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class AwardEnd(GivenBack, Base):
    """A released award that the user office ended after its PI returned it (outcomes22):
    an award whose team had reported (a record of use or a result), which its PI can no
    longer decline. The awards stay (the decision and what was used and produced stand);
    what was not used is returned, kept here as ``returned`` (each ``{"pool_id",
    "request_id", "unit", "awarded", "used", "returned"}``) and free again for the chair to offer
    (``allocation.services.used_capacity`` subtracts it), with the number of schedule
    entries released; ``reason`` is one of :data:`DECLINE_REASONS`, ``note`` the office's
    words."""

    __tablename__ = "award_ends"
    __table_args__ = (UniqueConstraint("proposal_id"),)

    returned: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class AwardLaterPart(PerProposal, Base):
    """A part of a multi-period (long-term) programme's award for a later allocation
    period (outcomes23): ``amount`` of the resource ``pool_id`` that the later call
    ``later_call_id`` offers. The proposal was reviewed once, in ``call_id``; its later
    parts are held against the later call's offer from the day they are recorded
    (``allocation.services.used_capacity`` and the later call's allocation count them as
    committed), ``released`` when the user office accepts the progress report before that
    period, ``returned`` (free again) when the progress is not accepted or the award ends.
    ``note`` is the office's word on the progress; ``decided_by``/``decided_at`` who and when."""

    __tablename__ = "award_later_parts"
    __table_args__ = (UniqueConstraint("proposal_id", "later_call_id", "pool_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    later_call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("capacity_pools.id"), index=True)
    amount: Mapped[float] = mapped_column(Float, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="held")
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: the PI's reminders that the progress report is due (outcomes24): how many, the last day
    reminders_sent: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    reminded_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


#: the bands a TAC chair may set a proposal in (``""`` takes it out of any band)
TAC_BANDS = ("accept", "reserve", "reject")


class TacAdjustment(PerProposal, Base):
    """One change the TAC chair made to the calibrated ranked list (trialtac18), kept in
    the order made: a move (``kind`` "move", ``steps`` places up, negative down) or a band
    (``kind`` "band", ``band`` one of :data:`TAC_BANDS`, "" to clear it), each with the
    reason the applicant reads in the decision's explanation. The allocation reads the
    chair's order from these rows (``allocation.tac_order``); none for a call: unchanged."""

    __tablename__ = "tac_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # move | band
    steps: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    band: Mapped[str] = mapped_column(String(10), nullable=False, default="")
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class TacLock(Base):
    """The TAC chair's list of a call, locked: no more moves or bands."""

    __tablename__ = "tac_locks"

    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), primary_key=True)
    locked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    locked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class TacPreviewSolve(Base):
    """One solve of the TAC preview's allocation problem, shared by the web workers
    (trialcrowd20, ``allocation.preview_solves``): claimed before it runs, so that the views
    that come meanwhile (in any process) wait for it rather than solve again, and its awards
    once done. ``key``: a digest of the call, the seed and the whole problem, so a row answers
    only the problem it solved. Nothing the applicants or the pages read: a cache."""

    __tablename__ = "tac_preview_solves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the call (no foreign key: a cache row outlives nothing and blocks nothing; a claim
    #: made beside a transaction that has just written the call need not wait for it)
    call_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    key: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    #: what the allocation awards each proposal: {proposal id: {pool id: amount}} (as text keys)
    awards: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    #: when a view claimed the solve; a claim older than ``preview_solves.CLAIM_S`` without
    #: ``solved_at`` is a solver that died, taken over by the next view
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    solved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
