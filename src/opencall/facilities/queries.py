"""Reading facilities for the pages, the API and other features."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from opencall.facilities.models import CapacityPool, Facility, NodeStaff, Provider
from opencall.people.models import User


def provider_by_slug(session: Session, slug: str) -> Provider | None:
    """The provider of ``slug`` (None when there is none)."""
    return session.scalar(select(Provider).where(Provider.slug == slug))


def providers_where(session: Session, where: ColumnElement[bool]) -> list[Provider]:
    """The providers ``where`` selects (e.g. ``policies.call_creating_providers_clause``),
    by name."""
    return list(session.scalars(select(Provider).where(where).order_by(Provider.name)))


def facilities_of_site(session: Session) -> list[Facility]:
    """Every facility, oldest first."""
    return list(session.scalars(select(Facility).order_by(Facility.id)))


def facilities_of(session: Session, provider_id: int) -> list[Facility]:
    """The provider's facilities, oldest first."""
    return list(
        session.scalars(
            select(Facility).where(Facility.provider_id == provider_id).order_by(Facility.id)
        )
    )


def facility_by_slug(session: Session, provider_id: int, slug: str) -> Facility | None:
    """The provider's facility of ``slug`` (None when it has none)."""
    return session.scalar(
        select(Facility).where(Facility.provider_id == provider_id, Facility.slug == slug)
    )


def pools_of(session: Session, facility_id: int) -> list[CapacityPool]:
    """The facility's resources (capacity pools), oldest first."""
    return list(
        session.scalars(
            select(CapacityPool)
            .where(CapacityPool.facility_id == facility_id)
            .order_by(CapacityPool.id)
        )
    )


def node_staff_query(provider_id: int) -> Select[NodeStaff, User, CapacityPool]:
    """The node staff of the provider's resources, with the person and the resource
    (ordered by the resource, then the person's name, for paging)."""
    return (
        select(NodeStaff, User, CapacityPool)
        .join(User, User.id == NodeStaff.user_id)
        .join(CapacityPool, CapacityPool.id == NodeStaff.pool_id)
        .join(Facility, Facility.id == CapacityPool.facility_id)
        .where(Facility.provider_id == provider_id)
    )


def staffed_pool_ids(session: Session, user_id: int, provider_id: int) -> frozenset[int]:
    """The resources of the provider that this person staffs (node staff)."""
    return frozenset(
        session.scalars(
            select(NodeStaff.pool_id)
            .join(CapacityPool, CapacityPool.id == NodeStaff.pool_id)
            .join(Facility, Facility.id == CapacityPool.facility_id)
            .where(NodeStaff.user_id == user_id, Facility.provider_id == provider_id)
        )
    )
