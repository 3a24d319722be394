"""Who may create and change providers, facilities and capacity pools."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from opencall.facilities.models import Provider
from opencall.facilities.queries import provider_by_slug, staffed_pool_ids
from opencall.people.models import User
from opencall.people.queries import site_admin_or_role

PROVIDER_ROLES = ("provider_admin",)
CALL_CREATORS = ("provider_admin", "call_manager")


def may_create_provider(user: User | None) -> bool:
    """New providers are created by site administrators."""
    return user is not None and user.is_site_admin


def _holds_provider_role(
    session: Session, user: User | None, provider: Provider, roles: tuple[str, ...]
) -> bool:
    """A site administrator, or one of ``roles`` on the provider."""
    return site_admin_or_role(session, user, roles, provider_id=provider.id)


def may_manage_provider(session: Session, user: User | None, provider: Provider) -> bool:
    """Facilities and pools: the provider's administrators (and site administrators)."""
    return _holds_provider_role(session, user, provider, PROVIDER_ROLES)


def managed_provider(session: Session, user: User | None, slug: str) -> Provider | None:
    """The provider of ``slug`` when ``user`` may manage it; else None (not found, to them)."""
    p = provider_by_slug(session, slug)
    return p if p is not None and may_manage_provider(session, user, p) else None


def may_create_calls(session: Session, user: User | None, provider: Provider) -> bool:
    return _holds_provider_role(session, user, provider, CALL_CREATORS)


def call_creating_providers_clause(user: User) -> ColumnElement[bool]:
    """``may_create_calls`` as a SQL condition on ``Provider``."""
    return provider_roles_clause(user, CALL_CREATORS, Provider.id)


def provider_roles_clause(
    user: User, roles: tuple[str, ...], provider_id: Any
) -> ColumnElement[bool]:
    """A SQL condition: ``user`` holds one of ``roles`` on the provider whose id is the
    column ``provider_id`` (always true for a site administrator)."""
    if user.is_site_admin:
        return true()
    from opencall.people.models import RoleGrant

    held = select(RoleGrant.id).where(
        RoleGrant.user_id == user.id,
        RoleGrant.role.in_(roles),
        RoleGrant.provider_id == provider_id,
    )
    return held.exists()


def staffed_pools(session: Session, user: User | None, provider: Provider) -> frozenset[int]:
    """The provider's resources ``user`` staffs as node staff (none for nobody)."""
    return frozenset() if user is None else staffed_pool_ids(session, user.id, provider.id)
