"""Who may see and manage calls: one function per question."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from opencall.calls.domain import CALL_STATES, is_open_at
from opencall.calls.models import Call, CallPartner
from opencall.calls.queries import partners_of
from opencall.facilities.policies import provider_roles_clause
from opencall.people.models import RoleGrant, User
from opencall.people.queries import site_admin_or_role

STAFF_ROLES = ("provider_admin", "call_manager", "chair")
OFFICE_ROLES = ("provider_admin", "call_manager")
# every status but a draft
PUBLIC_STATES = tuple(s for s in CALL_STATES if s != "draft")
RESULTS_STATES = ("published", "archived")


def _holds_call_role(
    session: Session, user: User | None, call: Call, roles: tuple[str, ...]
) -> bool:
    """A site administrator, or one of ``roles`` on the call's provider or the call."""
    return site_admin_or_role(session, user, roles, provider_id=call.provider_id, call_id=call.id)


def may_manage_call(session: Session, user: User | None, call: Call) -> bool:
    """Staff of the call's provider (or of this call), or a site administrator."""
    return _holds_call_role(session, user, call, STAFF_ROLES)


def may_administer(session: Session, user: User | None, call: Call) -> bool:
    """The user office: configure and move the call, audit log, reports, exports, files."""
    return _holds_call_role(session, user, call, OFFICE_ROLES)


def partner_offices(session: Session, user: User | None, call: Call) -> list[int]:
    """The invited providers of the call (a joint call) whose user office ``user`` is
    (provider administrator or call manager; every one for a site administrator)."""
    return [
        p.provider_id
        for p in partners_of(session, call)
        if site_admin_or_role(session, user, OFFICE_ROLES, provider_id=p.provider_id)
    ]


def may_answer_for_partner(
    session: Session, user: User | None, call: Call, provider_id: int
) -> bool:
    """Accept or leave the provider's part in a joint call: that provider's user office
    (provider administrator or call manager), once it is invited."""
    return provider_id in partner_offices(session, user, call)


def may_see_partners(session: Session, user: User | None, call: Call) -> bool:
    """The partners of a call: its user office, and the office of an invited provider."""
    return may_administer(session, user, call) or bool(partner_offices(session, user, call))


def invitations_clause(user: User) -> ColumnElement[bool]:
    """The invitations into joint calls ``user`` answers (``may_answer_for_partner``) as a
    SQL condition on ``CallPartner``: its provider's user office (every one for a site
    administrator)."""
    return provider_roles_clause(user, OFFICE_ROLES, CallPartner.provider_id)


def may_see_call(session: Session, user: User | None, call: Call) -> bool:
    """Anyone sees a call once it is no longer a draft; drafts only its staff."""
    return call.status in PUBLIC_STATES or may_manage_call(session, user, call)


def visible_calls_clause(user: User | None) -> ColumnElement[bool]:
    """``may_see_call`` as a SQL condition on ``Call`` (for lists paged in SQL)."""
    public = Call.status.in_(PUBLIC_STATES)
    if user is None:
        return public
    if user.is_site_admin:
        return true()
    return or_(public, managed_calls_clause(user))


def managed_calls_clause(user: User) -> ColumnElement[bool]:
    """``may_manage_call`` as a SQL condition on ``Call`` (a list of the calls one may
    manage in one query, not a question a call)."""
    if user.is_site_admin:
        return true()
    staff = select(RoleGrant.id).where(
        RoleGrant.user_id == user.id,
        RoleGrant.role.in_(STAFF_ROLES),
        or_(RoleGrant.call_id == Call.id, RoleGrant.provider_id == Call.provider_id),
    )
    return staff.exists()


def may_apply_to_call(user: User | None, call: Call, now: dt.datetime) -> bool:
    """May this person start a proposal in this call now?"""
    return (
        user is not None
        and user.is_active
        and user.email_verified_at is not None
        and is_open_at(call.status, call.opens_at, call.closes_at, now)
    )


def results_are_public(call: Call) -> bool:
    """Awarded programmes and outcome figures are public once the call is published."""
    return call.status in RESULTS_STATES
