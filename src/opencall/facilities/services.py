from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.errors import DomainError
from opencall.facilities.models import FACILITY_KINDS, CapacityPool, Facility, Provider
from opencall.facilities.schemas import (
    POOL_UNITS,
    validate_facility_attributes,
    validate_pool_attributes,
)
from opencall.people.models import Country

SLUG_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")


def create_provider(
    session: Session,
    *,
    name: str,
    slug: str,
    country_iso3: str,
    description: str = "",
    actor_id: int | None = None,
) -> Provider:
    if not name.strip():
        raise DomainError("Provider name is required.", field="name")
    if not SLUG_RE.fullmatch(slug or ""):
        raise DomainError(
            "The short name may use only a-z, 0-9 and '-' (at most 80 characters).", field="slug"
        )
    if session.scalar(select(Provider.id).where(Provider.slug == slug)) is not None:
        raise DomainError("This short name is already taken.", field="slug")
    if session.get(Country, country_iso3) is None:
        raise DomainError(f"Unknown country code {country_iso3!r}.", field="country_iso3")
    p = Provider(name=name.strip(), slug=slug, country_iso3=country_iso3, description=description)
    session.add(p)
    session.flush()
    auditlog.record(session, "provider.created", "provider", p.id, actor_id=actor_id)
    return p


def create_facility(
    session: Session,
    provider: Provider,
    *,
    name: str,
    slug: str,
    kind: str,
    attributes: dict[str, Any],
    description: str = "",
    actor_id: int | None = None,
) -> Facility:
    if kind not in FACILITY_KINDS:
        raise DomainError(
            f"Facility kind must be one of {', '.join(FACILITY_KINDS)}.", field="kind"
        )
    attrs = validate_facility_attributes(kind, attributes)
    f = Facility(
        provider_id=provider.id,
        name=name,
        slug=slug,
        kind=kind,
        attributes=attrs,
        description=description,
    )
    session.add(f)
    session.flush()
    auditlog.record(session, "facility.created", "facility", f.id, actor_id=actor_id)
    return f


def create_pool(
    session: Session,
    facility: Facility,
    *,
    name: str,
    pool_type: str,
    amount: float,
    attributes: dict[str, Any],
    actor_id: int | None = None,
) -> CapacityPool:
    allowed = {
        "telescope": ("lst_hours",),
        "vessel": ("berths", "dives"),
        "samples": ("sample_mass",),
        "programme": ("seats", "packages"),
    }[facility.kind]
    if pool_type not in allowed:
        raise DomainError(
            f"A {facility.kind} offers pools of type {', '.join(allowed)}, not {pool_type!r}.",
            field="pool_type",
        )
    if not amount > 0:
        raise DomainError("A capacity pool needs a positive amount.", field="amount")
    attrs = validate_pool_attributes(pool_type, attributes)
    pool = CapacityPool(
        facility_id=facility.id,
        name=name,
        pool_type=pool_type,
        unit=POOL_UNITS[pool_type],
        amount=float(amount),
        attributes=attrs,
    )
    session.add(pool)
    session.flush()
    auditlog.record(
        session,
        "pool.created",
        "capacity_pool",
        pool.id,
        actor_id=actor_id,
        data={"amount": amount},
    )
    return pool
