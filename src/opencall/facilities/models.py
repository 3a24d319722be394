from __future__ import annotations

from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opencall.db import Base, JSONType
from opencall.people import models as _people_models  # noqa: F401  (FK targets)

FACILITY_KINDS = ("telescope", "vessel", "samples", "programme")


class Provider(Base):
    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    slug: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    country_iso3: Mapped[str] = mapped_column(ForeignKey("countries.iso3"), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")


class Facility(Base):
    __tablename__ = "facilities"
    __table_args__ = (UniqueConstraint("provider_id", "slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    slug: Mapped[str] = mapped_column(String(80), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # kind-specific, validated by facilities.schemas (site coordinates, receivers...)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)

    provider: Mapped[Provider] = relationship(lazy="joined")


class CapacityPool(Base):
    __tablename__ = "capacity_pools"
    __table_args__ = (UniqueConstraint("facility_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    # lst_hours | berths | dives | sample_mass | seats | packages
    pool_type: Mapped[str] = mapped_column(String(20), nullable=False)
    unit: Mapped[str] = mapped_column(String(20), nullable=False)
    amount: Mapped[float] = mapped_column(Float, nullable=False)
    # typed by pool_type, validated by facilities.schemas.validate_pool_attributes
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)

    facility: Mapped[Facility] = relationship(lazy="joined")
