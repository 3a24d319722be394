"""Recruiting the reviewers of a call: the provider's reviewer pool, invitations
to review one call (accept with a maximum load and an availability, or decline
with a reason), and what the assignment reads from them.

Services-level (writes flush, the caller commits; every change is audited).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, func, select, union_all
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.people import domain as people_domain
from opencall.people import services as people_services
from opencall.people.models import RoleGrant, User
from opencall.reviews.models import ReviewInvitation

INVITE_TTL = dt.timedelta(days=21)
REVIEW_ROLES = ("reviewer", "technical_reviewer")
MAX_BATCH = 200


@dataclass(frozen=True)
class PoolMember:
    user: User
    reviewed_calls: int  # calls of this provider they held a reviewing role on


def pool_query(call: Call, *, uninvited: bool = False) -> Select[User, int]:
    """The provider's reviewer pool as a query of (user, number of the provider's calls
    they held a reviewing role on), by name: people with a reviewing role on the
    provider or on any of its calls (past ones included); ``uninvited``: without those
    already invited to review ``call`` (an invitation not withdrawn)."""
    pid = call.provider_id
    review = RoleGrant.role.in_(REVIEW_ROLES)
    # the grants on the provider, and those on its calls (not also on the provider): two
    # reads each served by an index (role_grants' provider_id, call_id: mend22), where
    # one OR of the two read every grant of the site
    grants = union_all(
        select(RoleGrant.user_id, RoleGrant.call_id).where(review, RoleGrant.provider_id == pid),
        select(RoleGrant.user_id, RoleGrant.call_id)
        .join(Call, Call.id == RoleGrant.call_id)
        .where(review, Call.provider_id == pid, RoleGrant.provider_id.is_distinct_from(pid)),
    ).subquery()
    held = (
        select(grants.c.user_id, func.count(grants.c.call_id).label("reviewed_calls"))
        .group_by(grants.c.user_id)
        .subquery()
    )
    stmt = (
        select(User, held.c.reviewed_calls)
        .join(held, held.c.user_id == User.id)
        .where(User.is_active.is_(True))
    )
    if uninvited:
        invited = select(ReviewInvitation.email).where(
            ReviewInvitation.call_id == call.id, ReviewInvitation.status != "revoked"
        )
        stmt = stmt.where(User.email.not_in(invited))
    return stmt.order_by(User.name, User.id)


def invitations_query(call: Call) -> Select[ReviewInvitation]:
    """The call's invitations to review (withdrawn ones left out), oldest first."""
    return (
        select(ReviewInvitation)
        .where(ReviewInvitation.call_id == call.id, ReviewInvitation.status != "revoked")
        .order_by(ReviewInvitation.created_at, ReviewInvitation.id)
    )


def count_accepted(session: Session, call: Call) -> int:
    """The number of people who accepted to review the call."""
    stmt = select(func.count(ReviewInvitation.id)).where(
        ReviewInvitation.call_id == call.id, ReviewInvitation.status == "accepted"
    )
    return int(session.scalar(stmt) or 0)


def invite(
    session: Session,
    call: Call,
    emails: list[str],
    *,
    role: str = "reviewer",
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> list[tuple[ReviewInvitation, str]]:
    """Invite people (pool members or anyone, by e-mail) to review ``call``.

    Returns the new invitations with their one-time tokens (for the e-mails).
    Addresses that already accepted are skipped; a pending invitation to the
    same address is replaced (its old link stops working). All addresses are
    checked before anything is written; one at a throwaway-mailbox service refuses
    the batch.
    """
    if role not in REVIEW_ROLES:
        raise DomainError("Unknown role %(role)s.", field="role", role=repr(role))
    if call.status in ("published", "archived"):
        raise DomainError("The review of this call is over.")
    cleaned: list[str] = []
    for raw in emails:
        if not raw.strip():
            continue
        try:
            email = people_services.clean_email(raw)
        except DomainError as exc:
            raise DomainError(
                "Invalid e-mail address: %(reason)s", field="emails", reason=raw.strip()[:100]
            ) from exc
        if people_domain.throwaway_mailbox(email):
            # as registration refuses them (people.services.start_registration)
            raise DomainError(
                "%(email)s is at a throwaway mailbox service; invite an address the "
                "reviewer will keep (their institution's, or a personal one).",
                field="emails",
                email=email[:100],
            )
        if email not in cleaned:
            cleaned.append(email)
    if not cleaned:
        raise DomainError("Give at least one e-mail address.", field="emails")
    if len(cleaned) > MAX_BATCH:
        raise DomainError("At most %(n)s invitations at once.", field="emails", n=MAX_BATCH)
    now = now or utcnow()
    out = []
    existing = {
        (i.email, i.role): i
        for i in session.scalars(
            select(ReviewInvitation).where(
                ReviewInvitation.call_id == call.id, ReviewInvitation.email.in_(cleaned)
            )
        )
    }
    for email in cleaned:
        old = existing.get((email, role))
        if old is not None and old.status == "accepted":
            continue
        if old is not None and old.status == "invited":
            old.status = "revoked"
        raw_token, token = people_services.new_token(now, INVITE_TTL)
        inv = ReviewInvitation(
            call_id=call.id,
            email=email,
            role=role,
            status="invited",
            invited_by=actor_id,
            **token,
        )
        auditlog.record_new(
            session,
            inv,
            "review.invited",
            "review_invitation",
            actor_id=actor_id,
            call_id=call.id,
            data={"email": email, "role": role},
        )
        out.append((inv, raw_token))
    return out


def invitation_for_token(
    session: Session, raw: str, *, now: dt.datetime | None = None
) -> ReviewInvitation:
    now = now or utcnow()
    inv = session.scalar(
        select(ReviewInvitation).where(
            ReviewInvitation.token_hash == people_services.token_hash(raw)
        )
    )
    if (
        inv is None
        or inv.status == "revoked"
        or (inv.status == "invited" and inv.expires_at <= now)
    ):
        raise DomainError(
            "This invitation is invalid, was withdrawn or has expired. Ask the chair "
            "for a new one.",
            code="bad_token",
        )
    return inv


def respond(
    session: Session,
    user: User,
    raw: str,
    *,
    accept: bool,
    reason: str = "",
    max_load: int | None = None,
    availability: str = "",
    now: dt.datetime | None = None,
) -> ReviewInvitation:
    """Accept (with an optional maximum load and availability) or decline (with
    an optional reason). The answer can be changed until the assignment runs;
    accepting grants the role on the call, declining takes it back."""
    now = now or utcnow()
    inv = invitation_for_token(session, raw, now=now)
    people_services.require_invitee(
        user,
        inv.email,
        DomainError(
            "This invitation was sent to another e-mail address. "
            "Sign in with that address to answer it.",
            code="wrong_account",
        ),
    )
    reason = " ".join((reason or "").split())
    availability = " ".join((availability or "").split())
    if len(reason) > 2000:
        raise DomainError("The reason is too long (2000 characters at most).", field="reason")
    if len(availability) > 300:
        raise DomainError(
            "The availability is too long (300 characters at most).", field="availability"
        )
    if max_load is not None and not 1 <= max_load <= 100:
        raise DomainError(
            "The maximum number of proposals must be between 1 and 100.", field="max_load"
        )
    call = session.get(Call, inv.call_id)
    assert call is not None
    if accept:
        people_services.grant_role(session, user.id, inv.role, call_id=call.id, actor_id=user.id)
        inv.status = "accepted"
        inv.max_load = max_load
        inv.availability = availability
        inv.reason = ""
    else:
        grant = session.scalar(
            select(RoleGrant).where(
                RoleGrant.user_id == user.id,
                RoleGrant.role == inv.role,
                RoleGrant.call_id == call.id,
            )
        )
        if grant is not None:
            call_services.revoke_role(session, grant, actor_id=user.id)
        inv.status = "declined"
        inv.reason = reason
        inv.max_load = None
    inv.user_id = user.id
    inv.responded_at = now
    session.flush()
    auditlog.record(
        session,
        "review.invitation_accepted" if accept else "review.invitation_declined",
        "review_invitation",
        inv.id,
        actor_id=user.id,
        call_id=call.id,
        data={"max_load": max_load} if accept else {"reason": reason[:200]},
    )
    return inv


def withdraw(
    session: Session, inv: ReviewInvitation, *, actor_id: int | None = None
) -> ReviewInvitation:
    """The chair withdraws a pending invitation (an accepted one: revoke the role)."""
    if inv.status != "invited":
        raise DomainError("Only a pending invitation can be withdrawn.")
    inv.status = "revoked"
    session.flush()
    auditlog.record(
        session,
        "review.invitation_withdrawn",
        "review_invitation",
        inv.id,
        actor_id=actor_id,
        call_id=inv.call_id,
    )
    return inv
