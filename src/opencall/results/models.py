from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from opencall.db import Base, JSONType, UTCDateTime, utcnow
from opencall.proposals.models import PerProposal
from opencall.results import domain as d
from opencall.scheduling import models as _scheduling_models  # noqa: F401  (FK targets)


def _flag(test: Any) -> Any:
    """A column default computing a record's flag from the row being inserted (its kind
    and ``data``): a bulk ``insert(PostAwardRecord)`` that leaves it out gets it right."""

    def default(ctx: DefaultExecutionContext) -> bool:
        row = ctx.get_current_parameters()  # type: ignore[no-untyped-call]
        return bool(test(row["kind"], row.get("data") or {}))

    return default


class PostAwardRecord(PerProposal, Base):
    """What happened to an award: a loan, shipment, berth, session, course,
    package or operator-defined use; typed fields in ``data`` (``results.schemas``).

    ``used`` and ``complete``: ``domain.is_used`` and ``domain.is_complete`` of its kind
    and data, kept on every write (an ORM insert or change of ``kind`` or ``data``, and a
    bulk insert that leaves them out), so that the stages of a facility's cycles are
    read from two small columns, not from every record's JSON (``queries.stages_of_calls``).
    A write that sets them itself must set them right."""

    __tablename__ = "postaward_records"
    # the open records of a kind (the daily run's open loans: ``queries.overdue_loans``)
    __table_args__ = (Index("ix_postaward_records_kind_complete", "kind", "complete"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # indexed: a call's node pages read its awards' records by award (scale23)
    award_id: Mapped[int | None] = mapped_column(ForeignKey("awards.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    used: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=_flag(d.is_used), server_default=false()
    )
    complete: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=_flag(d.is_complete), server_default=false()
    )
    reminders_sent: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_reminded_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


@event.listens_for(PostAwardRecord, "before_insert")
@event.listens_for(PostAwardRecord, "before_update")
def _keep_flags(_mapper: Any, _conn: Any, rec: PostAwardRecord) -> None:
    """The record's flags from its kind and data, as the ORM writes it."""
    rec.used = d.is_used(rec.kind, rec.data or {})
    rec.complete = d.is_complete(rec.kind, rec.data or {})


class ResearchOutput(PerProposal, Base):
    """A publication, dataset, software or patent that came from an award; a patent is
    named by its publication number (``number``, ``domain.patent_number``); ``orcids``:
    the ORCID iDs of its authors that were given (canonical, ``people.domain.orcid_id``);
    ``retracted_on``: the day it was retracted or withdrawn, else None."""

    __tablename__ = "research_outputs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    doi: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    title: Mapped[str] = mapped_column(Text, nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    published_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    authors: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    countries: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    number: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    orcids: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    abstract: Mapped[str] = mapped_column(Text, nullable=False, default="")
    acknowledgement: Mapped[str] = mapped_column(Text, nullable=False, default="")
    acknowledges: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    source: Mapped[str] = mapped_column(String(20), nullable=False, default="typed")
    # retracted or withdrawn after it was linked (``services.retract_output``): kept and
    # shown, never counted (``queries.counted``)
    retracted_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    retraction_note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ReportReminder(PerProposal, Base):
    """An award whose team has not reported (no record, no result) by the day a first
    report is due (``results.domain.REPORT_DUE_DAYS`` after the award): the reminders
    sent to its PI, at most once every ``REPORT_REMIND_EVERY_DAYS`` days, until a
    record or a result is added."""

    __tablename__ = "postaward_report_reminders"
    __table_args__ = (UniqueConstraint("proposal_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reminders_sent: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    first_reminded_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    last_reminded_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
