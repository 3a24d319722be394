"""Reading facilities for the pages, the API and other features."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.facilities.models import CapacityPool


def pools_of(session: Session, facility_id: int) -> list[CapacityPool]:
    """The facility's resources (capacity pools), oldest first."""
    return list(
        session.scalars(
            select(CapacityPool)
            .where(CapacityPool.facility_id == facility_id)
            .order_by(CapacityPool.id)
        )
    )
