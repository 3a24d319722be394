from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from opencall.allocation import models as _allocation_models  # noqa: F401  (FK targets)
from opencall.db import Base, JSONType, UTCDateTime
from opencall.proposals.models import PerProposal


class ScheduleEntry(PerProposal, Base):
    """One placed item of a timetable: a telescope block, a berth, a dive, a seat, a shipment."""

    __tablename__ = "schedule_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    award_id: Mapped[int | None] = mapped_column(ForeignKey("awards.id"), nullable=True)
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("capacity_pools.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    label: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    amount: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("solver_runs.id"), nullable=True)
