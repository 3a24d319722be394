from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opencall.db import Base, JSONType, UTCDateTime, utcnow
from opencall.facilities.domain import countable, validate_details
from opencall.people import models as _people_models  # noqa: F401  (FK targets)

FACILITY_KINDS = ("telescope", "vessel", "samples", "programme", "custom")


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
    # lst_hours | berths | dives | sample_mass | seats | packages (presets) | custom
    pool_type: Mapped[str] = mapped_column(String(20), nullable=False)
    unit: Mapped[str] = mapped_column(String(20), nullable=False)
    amount: Mapped[float] = mapped_column(Float, nullable=False)
    # typed by pool_type, validated by facilities.schemas.validate_pool_attributes
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    # The general resource model (a pool *is* a resource): the unit's labels per UI
    # language, {"en": {"one": "session", "other": "sessions"}, "fr": {...}, ...};
    # empty means the preset's built-in labels for ``unit``.
    unit_labels: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    # calendar: the period capacity is offered in and, for slot-based resources,
    # the length of one slot (one unit of capacity) in hours
    period_start: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    period_end: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    slot_hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    # the hour (UTC, 0 <= h < 24) each day of the period begins at: the first slot starts
    # then on the first day (a beamline's shifts at 08:00 in Bangkok: 1.0)
    day_start_hour: Mapped[float] = mapped_column(
        Float, nullable=False, default=0.0, server_default="0"
    )
    # the site's IANA time zone ("Europe/Berlin"): ``day_start_hour``, the slots and the
    # unavailable days then keep its local wall clock across daylight saving changes
    # (``optim.wallclock``); "" (every resource made before it existed) keeps them in UTC
    time_zone: Mapped[str] = mapped_column(
        String(64), nullable=False, default="", server_default=""
    )
    # slots kept free between two bookings of different proposals on a slot-based
    # resource (a day to change a lab's insert): the schedule honours it (optim.slots)
    changeover_slots: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    # how many groups (awards) one slot holds at once: 1, a slot is one team's; more for a
    # shared-use resource (a sample changer's 4 groups a shift, a vessel leg's 12 berths):
    # the schedule puts up to that many awards in a slot (optim.slots, groups_per_slot),
    # and the capacity is counted in places (slots x groups)
    groups_per_slot: Mapped[int] = mapped_column(
        Integer, nullable=False, default=1, server_default="1"
    )
    # every award on the resource is booked as one unbroken run of consecutive slots (a
    # crop in a growth chamber cannot pause): never split by a closure or another team
    # (optim.slots, SlotAward.unbroken; the allocation counts the longest free run)
    unbroken: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    # how many identical items the resource lends (5 ROVs of one vessel, trialop20b): an
    # item lost closes only its share of each slot's places from that day (``item_outages``)
    # where the resource lends more than one; 1, the resource closed whole (trialop19)
    items: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")
    # resources of one facility that share one instrument (a beamline's two machine modes,
    # a vessel's ROV or AUV, a telescope's two receivers) name the same group: at most one
    # of them is in use at any moment, so slots overlapping in time across the group are
    # never both booked (optim.slots, SlotProblem.exclusive; trialfac21b); "" none
    exclusive_group: Mapped[str] = mapped_column(
        String(80), nullable=False, default="", server_default=""
    )
    # how the use recorded against an award of it adds up (usage23): "consumed", each
    # record an amount spent that sums (core-hours, shifts); "occupied", each record a
    # level held (TB of storage, a rack slot) of which the peak counts
    usage_kind: Mapped[str] = mapped_column(
        String(16), nullable=False, default="consumed", server_default="consumed"
    )
    # the request form as data: a list of field declarations validated by the server
    request_fields: Mapped[list[Any]] = mapped_column(JSONType, nullable=False, default=list)
    # the operator declared the unit whole-numbered (a "shot", a "sample"): capacity,
    # offers and requests are whole numbers, as for the built-in countable units
    whole_units: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # a compulsory bundle: a request for this resource is accepted only in an
    # all-or-nothing bundle that also holds a request for one of these resources (ids of
    # the same facility), e.g. ROV dives only with a berth on the leg
    bundle_with: Mapped[list[int]] = mapped_column(JSONType, nullable=False, default=list)
    # what is recorded after the award (post-award record kinds, facilities.domain.
    # RECORD_KINDS, in the operator's order): a gene bank lending seed accessions keeps
    # loans and shipments; empty means the kinds its pool type and unit imply
    record_kinds: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    # who the resource may go to, by the PI's country (facilities.domain.check_country_rules):
    # {"barred": [ISO3, ...], "lead_days": {ISO3 or "*": days}}: an export permit or a visa
    # refused to a country, and the days a team of a country needs before the first day
    # (a permit's or a visa's lead time); empty: no rule
    country_rules: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)

    facility: Mapped[Facility] = relationship(lazy="joined")
    unavailable: Mapped[list[PoolUnavailability]] = relationship(
        cascade="all, delete-orphan", order_by="PoolUnavailability.starts_at", lazy="selectin"
    )
    item_outages: Mapped[list[PoolItemOutage]] = relationship(
        cascade="all, delete-orphan", order_by="PoolItemOutage.starts_at", lazy="selectin"
    )

    @property
    def whole_only(self) -> bool:
        """Whether capacity, offers and requests are whole numbers of the unit: a
        built-in countable unit (berth, dive, seat...), one the operator declared so, or
        any unit of a resource offered in slots (a slot is booked whole)."""
        return countable(self.unit) or bool(self.whole_units) or self.slot_hours is not None

    def validate_details(self, details: Any, lang: str = "en") -> tuple[float, dict[str, Any]]:
        """A request's details for this custom resource, judged against its declared
        fields, its calendar period, its unit and whether it is booked whole
        (:func:`facilities.domain.validate_details`, whose ``FieldProblem`` it raises):
        (amount, clean details)."""
        period = (
            (self.period_start, self.period_end)
            if self.period_start is not None and self.period_end is not None
            else None
        )
        return validate_details(
            self.request_fields,
            details,
            slot_based=self.slot_hours is not None,
            period=period,
            whole=self.whole_only,
            lang=lang,
            unit=self.unit,
            unit_labels=self.unit_labels,
        )


class _PoolPeriod:
    """A period ``[starts_at, ends_at)`` of one resource."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pool_id: Mapped[int] = mapped_column(
        ForeignKey("capacity_pools.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class PoolUnavailability(_PoolPeriod, Base):
    """A period in which a resource offers nothing (maintenance, refit, holiday)."""

    __tablename__ = "pool_unavailability"

    reason: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    #: the item whose loss closed the resource (trialop19b): its reason is said in the
    #: reader's language ("%(item)s lost", ``facilities.domain.unavailable_reason``)
    lost_item: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    #: the loan record that said it lost: a corrected day moves the period
    lost_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("postaward_records.id", ondelete="SET NULL"), nullable=True, index=True
    )


class PoolItemOutage(_PoolPeriod, Base):
    """An item of a resource lending several (``CapacityPool.items``) out of service: lost
    on a loan (``lost_record_id``) from ``starts_at`` to ``ends_at``. It closes the item's
    share of each slot's places, not the resource (trialop20b)."""

    __tablename__ = "pool_item_outages"

    item: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    lost_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("postaward_records.id", ondelete="CASCADE"), nullable=True, index=True
    )


class NodeStaff(Base):
    """A person staffing one resource of a provider: a node of a network facility (a lab,
    a field station, a sequencer) run by its own institution. It is no role on the calls:
    its holder sees and records the awards, bookings and post-award records of the
    resources they staff, nothing else (``results.policies.node_pools``)."""

    __tablename__ = "node_staff"
    __table_args__ = (UniqueConstraint("user_id", "pool_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    pool_id: Mapped[int] = mapped_column(
        ForeignKey("capacity_pools.id", ondelete="CASCADE"), index=True
    )
    granted_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
