from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls.models import Call


def list_calls(session: Session, *, statuses: tuple[str, ...] | None = None) -> list[Call]:
    stmt = select(Call).order_by(Call.closes_at, Call.id)
    if statuses:
        stmt = stmt.where(Call.status.in_(statuses))
    return list(session.scalars(stmt))


def call_by_slug(session: Session, slug: str) -> Call | None:
    """The call with this slug; slugs are unique across the site (``uq_calls_slug``),
    so the answer never depends on row order."""
    return session.execute(select(Call).where(Call.slug == slug)).unique().scalar_one_or_none()
