"""A reviewer's own limit on the proposals they review at once across every call
(``ReviewerLoadLimit``), held by each call's assignment (``assignment``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.reviews.models import ReviewerLoadLimit, ReviewerYearLimit

#: the bounds of the limit, as those of the load accepted with an invitation
#: (``recruitment.respond``)
MAX_AT_ONCE = 100


def set_load_limit(session: Session, user: User, max_at_once: int | None) -> int | None:
    """Set (or with ``None`` lift) ``user``'s limit on the proposals they review at once
    across calls; audited as ``review.load_limit_set``. Refused outside 1 to 100, nothing
    changed. Assignments already made stay: the limit holds for those made after."""
    if max_at_once is not None and not 1 <= max_at_once <= MAX_AT_ONCE:
        raise DomainError(
            "The most proposals you review at once must be between 1 and %(n)s.",
            n=MAX_AT_ONCE,
            field="max_at_once",
        )
    row = session.get(ReviewerLoadLimit, user.id)
    before = row.max_at_once if row is not None else None
    if max_at_once is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(ReviewerLoadLimit(user_id=user.id, max_at_once=max_at_once))
    else:
        row.max_at_once = max_at_once
        row.updated_at = utcnow()
    session.flush()
    if before != max_at_once:
        auditlog.record(
            session,
            "review.load_limit_set",
            "user",
            user.id,
            actor_id=user.id,
            data={"before": before, "after": max_at_once},
        )
    return max_at_once


#: the bounds of the limit per calendar year
MAX_PER_YEAR = 1000


def set_year_limit(session: Session, user: User, max_per_year: int | None) -> int | None:
    """Set (or with ``None`` lift) ``user``'s limit on the reviews they take in a calendar
    year across calls (trialrev18); audited as ``review.year_limit_set``. Refused outside
    1 to 1000, nothing changed. Assignments already made stay."""
    if max_per_year is not None and not 1 <= max_per_year <= MAX_PER_YEAR:
        raise DomainError(
            "The most reviews you take in a year must be between 1 and %(n)s.",
            n=MAX_PER_YEAR,
            field="max_per_year",
        )
    row = session.get(ReviewerYearLimit, user.id)
    before = row.max_per_year if row is not None else None
    if max_per_year is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(ReviewerYearLimit(user_id=user.id, max_per_year=max_per_year))
    else:
        row.max_per_year = max_per_year
        row.updated_at = utcnow()
    session.flush()
    if before != max_per_year:
        auditlog.record(
            session,
            "review.year_limit_set",
            "user",
            user.id,
            actor_id=user.id,
            data={"before": before, "after": max_per_year},
        )
    return max_per_year
