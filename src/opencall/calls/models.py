from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opencall.db import Base, JSONType, UTCDateTime, utcnow
from opencall.facilities.models import CapacityPool, Facility, Provider


class Call(Base):
    __tablename__ = "calls"
    # Slugs name calls in every URL, so they are unique across the whole site: another
    # provider can never shadow a call (migration pdf_01). The older per-provider
    # constraint is implied by it and stays (dropping it would rebuild the table on SQLite).
    __table_args__ = (
        UniqueConstraint("provider_id", "slug"),
        Index("uq_calls_slug", "slug", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    slug: Mapped[str] = mapped_column(String(80), nullable=False)
    code: Mapped[str] = mapped_column(String(20), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    cycle: Mapped[str] = mapped_column(String(40), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    opens_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    # the IANA zone the call's dates are stated in ("Europe/Berlin": "closes 1 March 17:00
    # Europe/Berlin"): dates given without an offset are read in it, and the pages say the
    # deadline in it beside UTC; "" states them in UTC alone
    time_zone: Mapped[str] = mapped_column(
        String(64), nullable=False, default="", server_default=""
    )
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="draft", index=True)
    anonymity: Mapped[str] = mapped_column(String(10), nullable=False, default="dual")
    # validated documents (calls.schemas): ReviewSettings, AllocationPolicyDoc, CallForm
    review_settings: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    allocation_policy: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    form: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    eligibility: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    ranking_frozen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decisions_released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # "deadline" (one close) or "continuous": proposals taken at any time and reviewed in
    # batches at the cut-offs (ISO instants in UTC, the close the last of them); each
    # batch is a call of its own (``parent_id``, ``batch_number``) that runs the cycle
    mode: Mapped[str] = mapped_column(
        String(12), nullable=False, default="deadline", server_default="deadline"
    )
    cutoffs: Mapped[list[str]] = mapped_column(
        JSONType, nullable=False, default=list, server_default="[]"
    )
    # the days from a cut-off to the decisions (shown to applicants); None: not promised
    decision_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # how many of the cut-offs have been cut (a batch made of what was submitted by then)
    cutoffs_done: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), nullable=True, index=True
    )
    batch_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    provider: Mapped[Provider] = relationship(lazy="joined")
    facility: Mapped[Facility] = relationship(lazy="joined")
    pools: Mapped[list[CallPool]] = relationship(
        back_populates="call", lazy="selectin", order_by="CallPool.id"
    )
    # a batch's continuous call (read when asked for)
    parent: Mapped[Call | None] = relationship(remote_side=[id], lazy="select")


class CallPool(Base):
    """A capacity pool offered by a call, with the amount opened to this call."""

    __tablename__ = "call_pools"
    __table_args__ = (UniqueConstraint("call_id", "pool_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("capacity_pools.id"), index=True)
    amount: Mapped[float] = mapped_column(Float, nullable=False)
    max_per_request: Mapped[float | None] = mapped_column(Float, nullable=True)
    # the smallest request accepted (an HPC centre's minimum allocation); partial awards
    # never go below it either
    min_per_request: Mapped[float | None] = mapped_column(Float, nullable=True)

    call: Mapped[Call] = relationship(back_populates="pools")
    pool: Mapped[CapacityPool] = relationship(lazy="joined")


class CallPartner(Base):
    """A provider invited into a call of another provider (a joint call): once its
    administrators accept, the call's offers may include its resources, and its staff
    see what concerns those resources (``results.policies.node_pools``)."""

    __tablename__ = "call_partners"
    __table_args__ = (UniqueConstraint("call_id", "provider_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    # "invited" until the partner's administrators accept, then "accepted"
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="invited")
    invited_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    invited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    accepted_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    provider: Mapped[Provider] = relationship(lazy="joined")
