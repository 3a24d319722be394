"""Pure rules of calls: the life cycle state machine and the open window."""

from __future__ import annotations

import datetime as dt

from opencall.errors import DomainError

CALL_STATES = (
    "draft",
    "open",
    "closed",
    "review",
    "ranking",
    "allocation",
    "scheduling",
    "published",
    "archived",
)

CALL_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("open",),
    "open": ("closed",),
    "closed": ("review",),
    "review": ("ranking",),
    "ranking": ("allocation", "review"),
    "allocation": ("scheduling", "ranking"),
    "scheduling": ("published", "allocation"),
    "published": ("archived",),
    "archived": (),
}


def check_call_transition(current: str, target: str) -> None:
    if target not in CALL_STATES:
        raise DomainError(
            "Unknown call status %(status)s", code="illegal_transition", status=repr(target)
        )
    allowed = CALL_TRANSITIONS.get(current, ())
    if target not in allowed:
        nxt = ", ".join(allowed) or "nothing (final state)"
        raise DomainError(
            "A call cannot move from '%(a)s' to '%(b)s'; from '%(c)s' it can go to: %(next)s.",
            code="illegal_transition",
            a=current,
            b=target,
            c=current,
            next=nxt,
        )


def is_open_at(
    status: str, opens_at: dt.datetime, closes_at: dt.datetime, now: dt.datetime
) -> bool:
    """Open to submissions: status 'open' and opens_at <= now < closes_at (UTC, to the second)."""
    now = now.astimezone(dt.UTC).replace(microsecond=0)
    return status == "open" and opens_at <= now < closes_at


def require_open(
    status: str, opens_at: dt.datetime, closes_at: dt.datetime, now: dt.datetime
) -> None:
    if is_open_at(status, opens_at, closes_at, now):
        return
    if status == "open" and now < opens_at:
        raise DomainError(
            "This call opens at %(when)s UTC; it is not open yet.",
            code="call_not_open",
            when=format(opens_at.astimezone(dt.UTC), "%Y-%m-%d %H:%M:%S"),
        )
    if status in ("open", "closed") or now >= closes_at:
        raise DomainError(
            "The deadline passed at %(when)s UTC; the call is closed.",
            code="call_not_open",
            when=format(closes_at.astimezone(dt.UTC), "%Y-%m-%d %H:%M:%S"),
        )
    raise DomainError(
        "This call is not open (status: %(status)s).", code="call_not_open", status=status
    )
