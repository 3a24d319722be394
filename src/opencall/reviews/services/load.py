"""A reviewer's own limits across calls: on the proposals they review at once
(``ReviewerLoadLimit``) and on the reviews they take in a calendar year
(``ReviewerYearLimit``, trialrev18), held by each call's assignment (``assignment``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.db import begin_write, utcnow
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.reviews.models import ReviewerLoadLimit, ReviewerYearLimit

#: the bounds of the limit, as those of the load accepted with an invitation
#: (``recruitment.respond``)
MAX_AT_ONCE = 100
#: the bounds of the limit per calendar year
MAX_PER_YEAR = 1000


def save_own_row(
    session: Session,
    user: User,
    model: Any,
    column: str,
    value: Any,
    action: str,
    audited: Callable[[Any], Any] = lambda v: v,
) -> None:
    """Keep ``user``'s row of ``model`` with ``column`` = ``value`` (``None``: no row);
    audited as ``action`` with the value before and after (as ``audited`` shows them),
    when it changed. Two saves at once (a double click on a slow link) are serialised on
    the user's row (PostgreSQL ``FOR NO KEY UPDATE``; SQLite ``BEGIN IMMEDIATE``): the
    second reads the first's row and updates it, instead of inserting a second one."""
    begin_write(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(User.id).where(User.id == user.id).with_for_update(key_share=True))
    row = session.get(model, user.id)
    before = getattr(row, column) if row is not None else None
    if value is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(model(user_id=user.id, **{column: value}))
    else:
        setattr(row, column, value)
        row.updated_at = utcnow()
    session.flush()
    if before != value:
        auditlog.record(
            session,
            action,
            "user",
            user.id,
            actor_id=user.id,
            data={"before": audited(before), "after": audited(value)},
        )


def _set_limit(
    session: Session,
    user: User,
    model: Any,
    column: str,
    value: int | None,
    top: int,
    refusal: Callable[[], DomainError],
    action: str,
) -> int | None:
    """Keep ``user``'s own limit ``value`` (``None``: lifted) as ``model.column``, audited
    as ``action``; outside 1 to ``top``, ``refusal()`` is raised and nothing changes."""
    if value is not None and not 1 <= value <= top:
        raise refusal()
    save_own_row(session, user, model, column, value, action)
    return value


def set_load_limit(session: Session, user: User, max_at_once: int | None) -> int | None:
    """Set (or with ``None`` lift) ``user``'s limit on the proposals they review at once
    across calls; audited as ``review.load_limit_set``. Refused outside 1 to 100, nothing
    changed. Assignments already made stay: the limit holds for those made after."""
    return _set_limit(
        session,
        user,
        ReviewerLoadLimit,
        "max_at_once",
        max_at_once,
        MAX_AT_ONCE,
        lambda: DomainError(
            "The most proposals you review at once must be between 1 and %(n)s.",
            n=MAX_AT_ONCE,
            field="max_at_once",
        ),
        "review.load_limit_set",
    )


def set_year_limit(session: Session, user: User, max_per_year: int | None) -> int | None:
    """Set (or with ``None`` lift) ``user``'s limit on the reviews they take in a calendar
    year across calls (trialrev18); audited as ``review.year_limit_set``. Refused outside
    1 to 1000, nothing changed (the message a literal: ``tests/i18n``). Assignments
    already made stay."""
    return _set_limit(
        session,
        user,
        ReviewerYearLimit,
        "max_per_year",
        max_per_year,
        MAX_PER_YEAR,
        lambda: DomainError(
            "The most reviews you take in a year must be between 1 and %(n)s.",
            n=MAX_PER_YEAR,
            field="max_per_year",
        ),
        "review.year_limit_set",
    )
