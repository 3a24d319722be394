from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from opencall.people.domain import DASH_TAG_DOMAINS, DOTLESS_DOMAINS, mailbox_key, normalise_email
from opencall.people.models import Country, ReviewerPublication, RoleGrant, RoleInvitation, User


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def _like(text: str) -> str:
    """``text`` as a literal in a LIKE pattern (escape character ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def same_mailbox(column: Any, email: str) -> ColumnElement[bool]:
    """A condition on the address ``column`` true of every address that reaches the
    mailbox ``email`` reaches (:func:`opencall.people.domain.mailbox_key`: "pi+2@x.org"
    and "pi@x.org"; "pi-2@yahoo.com" and "pi@yahoo.com"; at Gmail, dots and
    "googlemail.com" too), and of few others: a LIKE pattern (at Gmail, on the address
    with its dots removed: no index serves it), so the rows it finds are judged again
    with ``mailbox_key``."""
    local, _, domain = mailbox_key(email).rpartition("@")
    address: Any = column
    domains = [domain]
    if domain in DOTLESS_DOMAINS.values():
        address = func.replace(column, ".", "")
        domains = [d.replace(".", "") for d, to in DOTLESS_DOMAINS.items() if to == domain]
    tails = ("", "+%", "-%") if domain in DASH_TAG_DOMAINS else ("", "+%")
    patterns = [f"{_like(local)}{tail}@{_like(d)}" for d in domains for tail in tails]
    # every pattern begins with the local part: that prefix, said once, is one range of
    # an index on the address (team_members' status and address: scale21), where the
    # patterns joined by OR would be filtered row by row
    prefix = address.like(f"{_like(local)}%", escape="\\")
    return and_(prefix, or_(*(address.like(p, escape="\\") for p in patterns)))


def account_of_mailbox(session: Session, email: str) -> User | None:
    """The account at ``email``, or else the first account whose address reaches the same
    mailbox (:func:`same_mailbox`), or None. Registration counts such an address as
    taken, and a team invitation to it as the account's (trialcrowd17). Two statements at
    most: the address itself (its unique index), then the addresses that may share its
    mailbox, judged here; at Gmail that is a scan of the accounts, paid only by a
    registration or invitation at Gmail that is not an account's own address
    (registrations are limited per client address, invitations per account)."""
    email = normalise_email(email)
    own = session.scalar(select(User).where(User.email == email))
    if own is not None:
        return own
    key = mailbox_key(email)
    found = session.scalars(select(User).where(same_mailbox(User.email, email)).order_by(User.id))
    return next((u for u in found if mailbox_key(u.email) == key), None)


def persons(session: Session, user_ids: Iterable[int]) -> dict[int, int]:
    """Each of ``user_ids`` mapped to the person it is: the first (least id) of those
    accounts among ``user_ids`` whose addresses reach the same mailbox
    (:func:`opencall.people.domain.mailbox_key`). Accounts made before round 17 refused
    aliases ("pi@" and "pi+2@", both verified in one mailbox) are one person for the
    limits a call puts on a PI (trialcrowd18); any other account is itself."""
    ids = sorted(set(user_ids))
    first: dict[str, int] = {}
    out: dict[int, int] = {}
    for uid, email in session.execute(
        select(User.id, User.email).where(User.id.in_(ids)).order_by(User.id)
    ):
        out[int(uid)] = first.setdefault(mailbox_key(email), int(uid))
    return {uid: out.get(uid, uid) for uid in ids}


def alias_groups(session: Session) -> list[list[User]]:
    """The accounts whose addresses reach one mailbox, a list a mailbox with more than one
    (each in the order made), the mailboxes in the order of their first account: accounts
    made before round 17 refused an alias of a mailbox with an account ("pi@" and
    "pi+2@"), or before round 18 read "pi-2@yahoo.com" as one. The site admin's
    ``opencall admin aliases``; a scan of the accounts (an operator's command)."""
    groups: dict[str, list[int]] = {}
    for uid, email in session.execute(select(User.id, User.email).order_by(User.id)):
        groups.setdefault(mailbox_key(email), []).append(int(uid))
    wanted = [ids for ids in groups.values() if len(ids) > 1]
    users = {
        u.id: u
        for u in session.scalars(
            select(User).where(User.id.in_([i for ids in wanted for i in ids]))
        )
    }
    return [[users[i] for i in ids] for ids in wanted]


def countries(session: Session) -> list[Country]:
    return list(session.scalars(select(Country).order_by(Country.name)))


def roles_of(session: Session, user_id: int) -> list[RoleGrant]:
    return list(session.scalars(select(RoleGrant).where(RoleGrant.user_id == user_id)))


def has_role(
    session: Session,
    user_id: int,
    roles: tuple[str, ...],
    *,
    provider_id: int | None = None,
    call_id: int | None = None,
) -> bool:
    """True when the user holds one of ``roles`` on the call, or on the call's provider."""
    conds = []
    if call_id is not None:
        conds.append(RoleGrant.call_id == call_id)
    if provider_id is not None:
        conds.append(RoleGrant.provider_id == provider_id)
    if not conds:
        return False
    from sqlalchemy import or_

    stmt = select(RoleGrant.id).where(
        RoleGrant.user_id == user_id, RoleGrant.role.in_(roles), or_(*conds)
    )
    return session.scalar(stmt.limit(1)) is not None


def site_admin_or_role(
    session: Session,
    user: User | None,
    roles: tuple[str, ...],
    *,
    provider_id: int | None = None,
    call_id: int | None = None,
) -> bool:
    """A site administrator, or a user who holds one of ``roles`` (as :func:`has_role`)."""
    if user is None:
        return False
    if user.is_site_admin:
        return True
    return has_role(session, user.id, roles, provider_id=provider_id, call_id=call_id)


def user_for_session(session: Session, raw: str) -> User | None:
    """The signed-in user behind a session id, or None when the session is unknown,
    revoked (logout, password reset, an administrator), expired, or the account inactive."""
    import hashlib

    from opencall.db import utcnow
    from opencall.people.models import UserSession

    if not raw or len(raw) > 100:
        return None
    digest = hashlib.sha256(raw.encode()).hexdigest()
    # one statement a request: the session, its user and the user's roles (a row a role)
    rows = session.execute(
        select(UserSession.revoked_at, UserSession.expires_at, User, RoleGrant.role)
        .join(User, User.id == UserSession.user_id)
        .outerjoin(RoleGrant, RoleGrant.user_id == User.id)
        .where(UserSession.token_hash == digest)
    ).all()
    if not rows:
        return None
    revoked_at, expires_at, user, _ = rows[0]
    if revoked_at is not None or expires_at <= utcnow() or not user.is_active:
        return None
    # which workspaces the navigation offers (a plain attribute, not a column)
    roles = {role for *_, role in rows if role is not None}
    user.nav_roles = roles | ({"site_admin"} if user.is_site_admin else set())  # type: ignore[attr-defined]
    return user


def grants_in_scope_query(provider_id: int, call_ids: list[int]) -> Select[RoleGrant, User]:
    """Role grants on a provider and on its calls, with their holders, by role and name."""
    conds = [RoleGrant.provider_id == provider_id]
    if call_ids:
        conds.append(RoleGrant.call_id.in_(call_ids))
    return (
        select(RoleGrant, User)
        .join(User, User.id == RoleGrant.user_id)
        .where(or_(*conds))
        .order_by(RoleGrant.role, User.name, RoleGrant.id)
    )


def grants_in_scope(
    session: Session, provider_id: int, call_ids: list[int]
) -> list[tuple[RoleGrant, User]]:
    """Role grants on a provider and on its calls, with their holders."""
    rows = session.execute(grants_in_scope_query(provider_id, call_ids))
    return [(g, u) for g, u in rows.tuples()]


def pending_invitations_query(provider_id: int, call_ids: list[int]) -> Select[RoleInvitation]:
    """Invitations neither accepted, revoked nor expired, on a provider and its calls,
    oldest first."""
    from opencall.db import utcnow

    conds = [RoleInvitation.provider_id == provider_id]
    if call_ids:
        conds.append(RoleInvitation.call_id.in_(call_ids))
    return (
        select(RoleInvitation)
        .where(
            or_(*conds),
            RoleInvitation.accepted_at.is_(None),
            RoleInvitation.revoked_at.is_(None),
            RoleInvitation.expires_at > utcnow(),
        )
        .order_by(RoleInvitation.created_at, RoleInvitation.id)
    )


def pending_invitations_in_scope(
    session: Session, provider_id: int, call_ids: list[int]
) -> list[RoleInvitation]:
    """Invitations neither accepted, revoked nor expired, on a provider and its calls."""
    return list(session.scalars(pending_invitations_query(provider_id, call_ids)))


def publications_of(session: Session, user_id: int) -> list[ReviewerPublication]:
    """A reviewer's publications, newest first."""
    return list(
        session.scalars(
            select(ReviewerPublication)
            .where(ReviewerPublication.user_id == user_id)
            .order_by(ReviewerPublication.year.desc().nulls_last(), ReviewerPublication.id)
        )
    )


def countries_named(session: Session, isos: Iterable[str | None]) -> dict[str, Country]:
    """{iso3: country} of the countries ``isos`` names (blanks and None left out): the
    rows named, not the reference data's 250, so that a page of one call's applicants
    (and a kept result's check, which runs the statement again) reads its own few."""
    wanted = sorted({i for i in isos if i})
    if not wanted:
        return {}
    return {c.iso3: c for c in session.scalars(select(Country).where(Country.iso3.in_(wanted)))}


def may_be_mailed(user: User | None) -> bool:
    """Whether a scheduled mail (a reminder, an invitation) may go to ``user``: not to no
    one, nor to a deactivated account (mail20b: the one check every mailer of a job asks;
    the office still sees what is pending on its pages)."""
    return user is not None and user.is_active
