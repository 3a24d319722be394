"""What the public pages of a call have published: each release of a page's suppressed
tables, kept so that the next release is audited together with them
(``outcomes.domain.suppress_linked(earlier=...)``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opencall.calls import models as _calls_models  # noqa: F401  (FK target)
from opencall.db import Base, JSONType, UTCDateTime, utcnow


class PublicRelease(Base):
    """One release of a public page of a call (``page``: ``after_award``, or
    ``figures_declines``: the figures page's declines by reason): the tables it showed,
    as ``domain.Release.to_data`` writes them. ``number`` counts the page's
    releases from 1; two requests that would record the same number meet at the unique
    key, and the second is computed again over the first."""

    __tablename__ = "public_releases"
    __table_args__ = (UniqueConstraint("call_id", "page", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), nullable=False, index=True)
    page: Mapped[str] = mapped_column(String(40), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
