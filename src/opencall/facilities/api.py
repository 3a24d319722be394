"""``/api/v1``: facilities and their resources (units, calendars, unavailable
periods, request forms) for the people who manage a provider. Writes need a
token with the ``manage`` scope; every refusal is a 4xx with a clear message and
changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from opencall.errors import DomainError
from opencall.facilities import policies, services
from opencall.facilities.access import ProviderListRequest, api_managed_provider, provider_list
from opencall.facilities.domain import (
    MAX_CHANGEOVER,
    RECORD_KINDS,
    RequestField,
    UnitLabels,
    period_bounds,
    unit_label,
)
from opencall.facilities.labels import item_out_reason, unavailable_reason
from opencall.facilities.models import CapacityPool, Facility, NodeStaff, Provider
from opencall.facilities.queries import (
    facilities_of,
    facility_by_slug,
    node_staff_query,
    pools_of,
)
from opencall.inputs import BoundedDate, BoundedDateTime
from opencall.people.models import User
from opencall.web.api import (
    MANAGE,
    SLUG,
    Api,
    ApiError,
    Paged,
    domain_error,
    from_row,
    get_api,
    id_param,
)
from opencall.web.i18n import Translator, negotiate

T = TypeVar("T")

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "refused: the message says why (nothing changed)"},
    404: {"description": "not found (or not yours to manage)"},
}
# every route answers these refusals
router = APIRouter(prefix="/api/v1", tags=["facilities"], responses=ERRORS)
# a creation: the manage scope, answered 201
CREATED: dict[str, Any] = {"status_code": 201, "dependencies": [MANAGE]}


DAY_START = (
    "the hour each day of the period begins at (0 to under 24; 1.5 is 01:30), on the "
    "wall clock of time_zone (UTC when it is empty): the first slot starts then on the "
    "first day, so 8-hour shifts from 08:00 in Bangkok give 8 with time_zone "
    "Asia/Bangkok (or 1 without one); the period ends at that hour on the day after its "
    "last day"
)
TIME_ZONE = (
    "the site's IANA time zone (Europe/Berlin); empty: UTC. The days, the slots and "
    "unavailable periods given without an offset keep its local wall clock across "
    "daylight saving changes: 8-hour shifts from 00:00 stay 00:00-08:00 local, so the "
    "night shift lasts 7 hours the night the clocks go forward and 9 the night they go back"
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class FacilityIn(_In):
    name: str = Field(min_length=1, max_length=200)
    slug: str = Field(min_length=1, max_length=80)
    kind: str = Field(
        max_length=20, description="custom, or a preset: telescope, vessel, samples, programme"
    )
    description: str = Field(default="", max_length=5000)
    attributes: dict[str, Any] = Field(default_factory=dict)


class UnavailableIn(_In):
    starts_at: BoundedDateTime = Field(
        description="with an offset, that instant; without one, the resource's local time "
        "(UTC when it has no time_zone); the period is [starts_at, ends_at)"
    )
    ends_at: BoundedDateTime
    reason: str = Field(default="", max_length=200)


LOWER_AMOUNT = (
    "when the period leaves fewer slots than the resource's amount (refused otherwise, "
    "saying how many remain): lower the amount to them with it, audited "
    "(pool.amount_lowered); never below what calls already offer"
)


class UnavailableAddIn(UnavailableIn):
    lower_amount: StrictBool = Field(default=False, description=LOWER_AMOUNT)


class UnavailableRuleIn(_In):
    rule: str = Field(
        min_length=1,
        max_length=500,
        description="an RFC 5545 RRULE counted from the period's first day: "
        "FREQ=WEEKLY;BYDAY=SA,SU (weekends), FREQ=MONTHLY;BYDAY=1MO (the first Monday); "
        "at most hourly, and at most 5,000 periods over the resource's period",
    )
    start_time: dt.time = Field(
        description="when each occurrence begins on the resource's local wall clock (08:00)"
    )
    hours: float = Field(gt=0, le=24 * 366, description="wall-clock hours each one lasts")
    reason: str = Field(default="", max_length=200)
    lower_amount: StrictBool = Field(default=False, description=LOWER_AMOUNT)


class UnavailableOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read from the PoolUnavailability row

    id: int
    starts_at: dt.datetime = Field(description="UTC")
    ends_at: dt.datetime = Field(description="UTC")
    reason: str = Field(
        description="as its author typed it; a lost item's in the request's language"
    )
    lost_item: str = Field(
        default="", description="the item whose loss closed the resource (a loan lost), or empty"
    )
    starts_local: str = Field(
        default="", description="starts_at in the resource's time zone, with its offset"
    )
    ends_local: str = Field(default="", description="ends_at in the resource's time zone")


BUNDLE_WITH = (
    "a compulsory bundle: ids of other resources of the facility; a request for this "
    "resource is submitted only in an all-or-nothing bundle that also holds a request "
    "for one of them (ROV dives only with a berth), when the call offers one of them"
)


UNBROKEN = (
    "every award on the resource is booked as one unbroken run of consecutive slots (a "
    "crop in a growth chamber cannot pause): never split by a closure or another team; a "
    "request longer than the longest run of usable slots is not awarded. False by default; "
    "true only on a resource offered in slots"
)
ITEMS_DOC = (
    "how many identical items the resource lends (5 ROVs): an item lost closes only its "
    "share of each slot's places; 1, the resource closes whole (trialop20b)"
)
GROUPS_PER_SLOT = (
    "how many groups one slot holds at once (a beamline's sample changer: 4 groups' "
    "crystals a shift; a research vessel's leg: 12 berths): 1 (a slot is one team's) by "
    "default; a whole number from 1 to 1000, above 1 only on a resource offered in slots "
    "without a changeover, and never below what a slot already holds. The capacity is then "
    "counted in places (slots x groups); a team sees only its own booking in a shared slot"
)
EXCLUSIVE_GROUP = (
    "the instrument the resource shares with the facility's other resources of the same "
    "name (a beamline's two machine modes, a vessel's ROV and AUV, a telescope's two "
    "receivers): at most one of them is in use at any moment, so the schedule, staff "
    "bookings and moves never book two of them at overlapping times. Only on a resource "
    'offered in slots, one group a slot; "" (none) by default (trialfac21b)'
)
CHANGEOVER = (
    "slots kept free between two bookings of different proposals (a lab changing a "
    "configuration: 1 with daily slots keeps a day between two users); the same proposal's "
    "slots need none. 0 (back to back) by default; a whole number from 0 to "
    f"{MAX_CHANGEOVER}, above 0 only on a resource offered in slots"
)

RECORD_KINDS_DOC = (
    "what is recorded after the award, in this order: post-award record kinds of "
    f"{', '.join(RECORD_KINDS)}; empty: those its unit implies (seats: course "
    "and followup), and other (an operator-defined use with its amount) is always offered"
)
COUNTRY_RULES = (
    "who the resource may go to, by the PI's country (ISO 3166 alpha-3): barred, the "
    "countries it cannot go to (an export permit or a visa refused), and lead_days, the "
    "days a team of a country needs between the allocation and its first day (on a "
    'resource offered in slots, its own first slot) ("*": every '
    'country not named), e.g. {"barred": ["PRK"], "lead_days": {"NGA": 60, "*": 14}}; '
    "a request that breaks them is not awarded ({}: no rule; a PATCH replaces them whole); "
    "country_field, the key of a required choice request field whose value is the country "
    "read instead of the PI's (a shipment's destination)"
)


USAGE_KIND = (
    "how the use recorded against an award of it adds up: consumed (each record an amount "
    "spent, summed: core-hours) or occupied (each record a level held, the peak counts: TB "
    "of storage reported each month, a rack slot)"
)


class ResourceIn(_In):
    name: str = Field(min_length=1, max_length=120)
    unit: str = Field(
        max_length=20,
        description="built-in: h, shift, day, berth, dive, g, mg, seat, package, session; "
        "or your own key with unit_labels",
    )
    unit_labels: UnitLabels | None = None
    whole_units: bool = Field(
        default=False,
        description="the unit is counted in whole numbers only (capacity, offers, requests); "
        "always so for the built-in shift, berth, dive, seat, package, session",
    )
    amount: float = Field(gt=0, description="capacity, in the unit (slots when slot-based)")
    period_start: BoundedDate | None = None
    period_end: BoundedDate | None = None
    slot_hours: float | None = Field(default=None, gt=0)
    day_start_hour: float = Field(default=0.0, ge=0, lt=24, description=DAY_START)
    time_zone: str = Field(default="", max_length=64, description=TIME_ZONE)
    changeover_slots: int = Field(default=0, description=CHANGEOVER)
    groups_per_slot: int = Field(default=1, description=GROUPS_PER_SLOT)
    items: int = Field(default=1, description=ITEMS_DOC)
    exclusive_group: str = Field(default="", max_length=80, description=EXCLUSIVE_GROUP)
    usage_kind: Literal["consumed", "occupied"] = Field(default="consumed", description=USAGE_KIND)
    unbroken: StrictBool = Field(default=False, description=UNBROKEN)
    unavailable: list[UnavailableIn] = Field(default_factory=list, max_length=500)
    request_fields: list[RequestField] = Field(default_factory=list, max_length=50)
    bundle_with: list[int] = Field(default_factory=list, max_length=50, description=BUNDLE_WITH)
    record_kinds: list[str] = Field(
        default_factory=list, max_length=20, description=RECORD_KINDS_DOC
    )
    country_rules: dict[str, Any] | None = Field(default=None, description=COUNTRY_RULES)


class PoolIn(_In):
    name: str = Field(max_length=200, description="unique in the facility (at most 120)")
    pool_type: str = Field(
        max_length=20,
        description="the preset pool types of the facility's kind: telescope: lst_hours; "
        "vessel: berths, dives; samples: sample_mass; programme: seats, packages",
    )
    amount: float = Field(description="capacity, in the pool type's unit (whole berths...)")
    attributes: dict[str, Any] = Field(
        default_factory=dict,
        description="typed by pool_type: the LST range, the leg and its route, the sample, "
        "the course session or the package (as on the provider's page)",
    )


class ResourcePatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    unit: str | None = Field(default=None, max_length=20)
    unit_labels: UnitLabels | None = None
    whole_units: bool = False  # only what is sent changes (null is refused)
    amount: float | None = Field(default=None, gt=0)
    period_start: BoundedDate | None = None
    period_end: BoundedDate | None = None
    slot_hours: float | None = Field(default=None, gt=0)
    day_start_hour: float | None = Field(default=None, ge=0, lt=24, description=DAY_START)
    time_zone: str | None = Field(default=None, max_length=64, description=TIME_ZONE)
    changeover_slots: int | None = Field(default=None, description=CHANGEOVER)
    groups_per_slot: int | None = Field(default=None, description=GROUPS_PER_SLOT)
    items: int | None = Field(default=None, description=ITEMS_DOC)
    exclusive_group: str | None = Field(default=None, max_length=80, description=EXCLUSIVE_GROUP)
    usage_kind: Literal["consumed", "occupied"] | None = Field(default=None, description=USAGE_KIND)
    unbroken: StrictBool = Field(default=False, description=UNBROKEN)  # only what is sent
    bundle_with: list[int] | None = Field(default=None, max_length=50, description=BUNDLE_WITH)
    record_kinds: list[str] | None = Field(
        default=None, max_length=20, description=RECORD_KINDS_DOC
    )
    country_rules: dict[str, Any] | None = Field(default=None, description=COUNTRY_RULES)


class RequestFieldsIn(_In):
    fields: list[RequestField] = Field(max_length=50)


class ItemOutOut(BaseModel):
    item: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    starts_local: str = ""
    ends_local: str = ""
    reason: str = Field(description="said in the reader's language")


class CalendarOut(BaseModel):
    period_start: dt.date | None
    period_end: dt.date | None
    slot_hours: float | None
    day_start_hour: float = Field(description=DAY_START)
    time_zone: str = Field(description=TIME_ZONE)
    changeover_slots: int = Field(description=CHANGEOVER)
    groups_per_slot: int = Field(default=1, description=GROUPS_PER_SLOT)
    starts_at: dt.datetime | None = Field(
        default=None, description="the period's first instant (UTC): day_start_hour local"
    )
    ends_at: dt.datetime | None = Field(
        default=None, description="the instant the period ends (UTC), not included"
    )
    slot_capacity: int | None = Field(
        description="free slots of the period's grid (from its first day at day_start_hour, "
        "every slot_hours of the site's wall clock; a slot overlapping unavailable time is "
        "lost), times groups_per_slot (places, on a shared resource): what the schedule "
        "can book"
    )
    slots_not_begun: int | None = Field(
        description="of those, the slots that have not begun now: a slot that has begun is "
        "never booked, so calls can offer and award only these"
    )
    unavailable: list[UnavailableOut]
    items: int = Field(default=1, description=ITEMS_DOC)
    instrument_hours: float | None = Field(
        default=None,
        description="with an exclusive_group of two resources or more: the hours in which "
        "the shared instrument is open on one of them at least, an overlap counted once "
        "(slot_capacity counts each resource's own slots); null otherwise",
    )
    items_out: list[ItemOutOut] = Field(
        default_factory=list,
        description="items out of service (lost on a loan): each closes its share of the "
        "places of the slots in its period, not the resource (trialop20b)",
    )


class ClashOut(BaseModel):
    call: str = Field(description="the call's slug")
    proposal_code: str
    award_id: int | None
    starts_at: dt.datetime
    ends_at: dt.datetime


#: the count beside a list of clashes
HIDDEN_CLASHES = "more such slots, in calls whose schedule you may not see"


def _clash_outs(clashes: list[services.ScheduleClash]) -> tuple[list[ClashOut], int]:
    """The clashes the caller may see, and how many more there are."""
    shown = [from_row(ClashOut, c, call=c.call_slug) for c in clashes if c.visible]
    return shown, len(clashes) - len(shown)


class UnavailableAdded(CalendarOut):
    clashes: list[ClashOut] = Field(
        default_factory=list,
        description="booked slots of running calls inside the new period: the period is "
        "recorded all the same (an outage is a fact) and these need rescheduling",
    )
    hidden_clashes: int = Field(default=0, description=HIDDEN_CLASHES)
    amount: float = Field(description="the resource's amount after the period was added")
    amount_lowered_from: float | None = Field(
        default=None, description="the amount before, when lower_amount lowered it; else null"
    )


class ResourceOut(BaseModel):
    id: int
    facility_id: int
    name: str
    pool_type: str
    unit: str
    unit_label_one: str
    unit_label_other: str
    unit_labels: dict[str, Any]
    amount: float
    whole_units: bool = Field(
        description="capacity, offers and requests are whole numbers of the unit "
        "(a countable built-in unit, or one declared so)"
    )
    unbroken: bool = Field(description=UNBROKEN)
    exclusive_group: str = Field(default="", description=EXCLUSIVE_GROUP)
    usage_kind: str = Field(default="consumed", description=USAGE_KIND)
    attributes: dict[str, Any] = Field(description="a preset pool's typed attributes")
    committed: float = Field(
        description="what calls already hold of it: their offers, and what a call whose "
        "decisions are released awarded"
    )
    calendar: CalendarOut
    request_fields: list[dict[str, Any]]
    bundle_with: list[int] = Field(description=BUNDLE_WITH)
    record_kinds: list[str] = Field(description=RECORD_KINDS_DOC)
    country_rules: dict[str, Any] = Field(description=COUNTRY_RULES)
    changeover_clashes: list[ClashOut] = Field(
        default_factory=list,
        description="booked slots of running calls closer to a booking of another proposal "
        "than the changeover (raised after their schedule was made): they need "
        "rescheduling; the next schedule keeps the changeover",
    )
    hidden_changeover_clashes: int = Field(default=0, description=HIDDEN_CLASHES)


class FacilityOut(BaseModel):
    id: int
    provider: str
    name: str
    slug: str
    kind: str
    description: str
    attributes: dict[str, Any]
    resources: list[ResourceOut]


def calendar_out(pool: CapacityPool, api: Api | None = None) -> CalendarOut:
    """The resource's calendar; a lost item's reason in the request's language
    (Accept-Language; English by default, and without a request), the item itself as
    data (``lost_item``)."""
    asked = api.request.headers.get("accept-language") if api is not None else None
    said = Translator(negotiate(asked) or "en")
    zone = pool.time_zone or ""
    lo, hi = period_bounds(pool.period_start, pool.period_end, pool.day_start_hour, zone)
    return from_row(
        CalendarOut,
        pool,
        time_zone=zone,
        starts_at=lo,
        ends_at=hi,
        slot_capacity=services.slot_capacity(pool),
        slots_not_begun=services.slots_not_begun(pool),
        unavailable=[
            UnavailableOut.model_validate(u).model_copy(
                update={
                    "starts_local": services.local_iso(u.starts_at, zone),
                    "ends_local": services.local_iso(u.ends_at, zone),
                    "reason": unavailable_reason(u, said.gettext),
                }
            )
            for u in pool.unavailable
        ],
        items=pool.items or 1,
        instrument_hours=services.instrument_hours(pool) if pool.exclusive_group else None,
        items_out=[
            ItemOutOut(
                item=u.item,
                starts_at=u.starts_at,
                ends_at=u.ends_at,
                starts_local=services.local_iso(u.starts_at, zone),
                ends_local=services.local_iso(u.ends_at, zone),
                reason=item_out_reason(u, pool.items, said.gettext),
            )
            for u in pool.item_outages
        ],
    )


def resource_out(api: Api, pool: CapacityPool, committed: float | None = None) -> ResourceOut:
    """The resource as the API answers it; ``committed`` its commitments when counted
    already (a facility's every resource at once: :func:`facility_out`)."""
    clashes, hidden = _clash_outs(services.changeover_clashes(api.db, pool, viewer=api.user))
    return from_row(
        ResourceOut,
        pool,
        unit_label_one=unit_label(pool.unit, pool.unit_labels, 1, "en"),
        unit_label_other=unit_label(pool.unit, pool.unit_labels, None, "en"),
        unit_labels=pool.unit_labels or {},
        whole_units=pool.whole_only,
        attributes=pool.attributes or {},
        committed=services.committed_amount(api.db, pool) if committed is None else committed,
        calendar=calendar_out(pool, api),
        request_fields=list(pool.request_fields or []),
        bundle_with=list(pool.bundle_with or []),
        record_kinds=list(pool.record_kinds or []),
        country_rules=dict(pool.country_rules or {}),
        changeover_clashes=clashes,
        hidden_changeover_clashes=hidden,
    )


def facility_out(api: Api, fac: Facility) -> FacilityOut:
    pools = pools_of(api.db, fac.id)
    # what calls hold of every resource at once, not two statements a resource (scale20)
    committed = services.committed_amounts(api.db, pools)
    return from_row(
        FacilityOut,
        fac,
        provider=fac.provider.slug,
        resources=[resource_out(api, p, committed[p.id]) for p in pools],
    )


def _facility(api: Api, facility_id: int) -> Facility:
    user = api.require_user()
    return api.get_visible(
        Facility, facility_id, lambda fac: policies.may_manage_provider(api.db, user, fac.provider)
    )


def _resource(api: Api, pool_id: int) -> CapacityPool:
    user = api.require_user()
    return api.get_visible(
        CapacityPool,
        pool_id,
        lambda pool: policies.may_manage_provider(api.db, user, pool.facility.provider),
    )


def _refused(api: Api, exc: DomainError) -> ApiError:
    api.db.rollback()
    return domain_error(exc)


def _apply(api: Api, action: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a facilities service as the caller: committed when it succeeds, rolled
    back and answered with the refusal when it raises a DomainError."""
    with api.saving():
        result = action(api.db, *args, actor_id=api.actor_id, **kwargs)
    return result


@router.get("/providers/{slug}/facilities", response_model=list[FacilityOut])
def list_facilities(slug: str = SLUG, api: Api = Depends(get_api)) -> list[FacilityOut]:
    """The provider's facilities with their resources (its managers only)."""
    p = api_managed_provider(api, slug)
    return [facility_out(api, f) for f in facilities_of(api.db, p.id)]


@router.post("/providers/{slug}/facilities", response_model=FacilityOut, **CREATED)
def create_facility(body: FacilityIn, slug: str = SLUG, api: Api = Depends(get_api)) -> FacilityOut:
    """A facility: kind ``custom`` for one no preset describes (its resources say
    everything), or a preset kind with its typed attributes."""
    p = api_managed_provider(api, slug)
    if facility_by_slug(api.db, p.id, body.slug) is not None:
        raise _refused(
            api, DomainError("This provider already has a facility with that short name.")
        )
    fac = _apply(api, services.create_facility, p, **body.model_dump())
    return facility_out(api, fac)


@router.get("/facilities/{facility_id}", response_model=FacilityOut)
def get_facility(facility_id: int = id_param(), api: Api = Depends(get_api)) -> FacilityOut:
    return facility_out(api, _facility(api, facility_id))


@router.post("/facilities/{facility_id}/resources", response_model=ResourceOut, **CREATED)
def create_resource(
    body: ResourceIn, facility_id: int = id_param(), api: Api = Depends(get_api)
) -> ResourceOut:
    """A resource of a custom facility: unit, capacity, calendar, request form."""
    fac = _facility(api, facility_id)
    pool = _apply(
        api,
        services.create_resource,
        fac,
        **body.model_dump(exclude={"request_fields"}),
        request_fields=[f.model_dump(mode="json") for f in body.request_fields],
    )
    return resource_out(api, pool)


@router.post("/facilities/{facility_id}/pools", response_model=ResourceOut, **CREATED)
def create_pool(
    body: PoolIn, facility_id: int = id_param(), api: Api = Depends(get_api)
) -> ResourceOut:
    """A preset pool of a telescope, vessel, samples or programme facility (LST
    hours, berths and dives of a leg, a sample's mass, a course's seats, packages),
    with the provider page's checks and refusals."""
    fac = _facility(api, facility_id)
    pool = _apply(api, services.create_pool, fac, **body.model_dump())
    return resource_out(api, pool)


@router.get("/resources/{pool_id}", response_model=ResourceOut)
def get_resource(pool_id: int = id_param(), api: Api = Depends(get_api)) -> ResourceOut:
    return resource_out(api, _resource(api, pool_id))


@router.patch("/resources/{pool_id}", response_model=ResourceOut, dependencies=[MANAGE])
def update_resource(
    body: ResourcePatch, pool_id: int = id_param(), api: Api = Depends(get_api)
) -> ResourceOut:
    """Change a resource; the calendar, the amount against the calendar and against
    what calls already offer are checked together."""
    pool = _resource(api, pool_id)
    changes = body.model_dump(exclude_unset=True)
    if "unit_labels" in changes and body.unit_labels is not None:
        changes["unit_labels"] = body.unit_labels.model_dump()
    _apply(api, services.update_resource, pool, **changes)
    return resource_out(api, pool)


@router.put(
    "/resources/{pool_id}/request-fields", response_model=ResourceOut, dependencies=[MANAGE]
)
def put_request_fields(
    body: RequestFieldsIn, pool_id: int = id_param(), api: Api = Depends(get_api)
) -> ResourceOut:
    """Replace the resource's request form (the fields applicants fill in)."""
    pool = _resource(api, pool_id)
    _apply(
        api,
        services.update_resource,
        pool,
        request_fields=[f.model_dump(mode="json") for f in body.fields],
    )
    return resource_out(api, pool)


@router.get("/resources/{pool_id}/calendar", response_model=CalendarOut)
def get_calendar(pool_id: int = id_param(), api: Api = Depends(get_api)) -> CalendarOut:
    return calendar_out(_resource(api, pool_id), api)


@router.post("/resources/{pool_id}/unavailable", response_model=UnavailableAdded, **CREATED)
def add_unavailable(
    body: UnavailableAddIn, pool_id: int = id_param(), api: Api = Depends(get_api)
) -> UnavailableAdded:
    """An unavailable period (maintenance...): inside the period, overlapping no
    other, and leaving room for the capacity already declared. Accepted even over
    slots already booked (an unplanned outage): the answer lists them (``clashes``),
    the audit log records them and the call's schedule shows them as needing
    rescheduling. One that leaves fewer slots than the amount is refused, saying how many
    remain, unless ``lower_amount`` lowers the amount to them with it."""
    pool = _resource(api, pool_id)
    was = pool.amount
    starts_at, ends_at = (
        services.pool_instant(pool, body.starts_at),
        services.pool_instant(pool, body.ends_at),
    )
    _apply(
        api,
        services.add_unavailable,
        pool,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=body.reason,
        lower_amount=body.lower_amount,
    )
    api.db.refresh(pool)
    clashes, hidden = _clash_outs(
        services.schedule_clashes(api.db, pool, [(starts_at, ends_at)], viewer=api.user)
    )
    return _added(api, pool, was, clashes, hidden)


def _added(
    api: Api, pool: CapacityPool, was: float, clashes: list[ClashOut], hidden: int
) -> UnavailableAdded:
    """The answer to periods added: the calendar, the clashes, and the amount (lowered
    from ``was`` by ``lower_amount``, or not)."""
    return UnavailableAdded(
        **calendar_out(pool, api).model_dump(),
        clashes=clashes,
        hidden_clashes=hidden,
        amount=pool.amount,
        amount_lowered_from=was if pool.amount != was else None,
    )


@router.post("/resources/{pool_id}/unavailable/rule", response_model=UnavailableAdded, **CREATED)
def add_unavailable_rule(
    body: UnavailableRuleIn, pool_id: int = id_param(), api: Api = Depends(get_api)
) -> UnavailableAdded:
    """A recurring unavailable period (weekends, a monthly maintenance day): the rule is
    expanded over the resource's period, on its site's wall clock, into ordinary
    unavailable periods (the calendar lists each), all added or none; refused (400)
    when the rule is bad or gives more than 5,000 periods. Booked slots inside them are
    answered as for one period (``clashes``), and ``lower_amount`` lowers the amount as
    for one period."""
    pool = _resource(api, pool_id)
    was = pool.amount
    before = {(u.starts_at, u.ends_at) for u in pool.unavailable}  # rows are rewritten
    _apply(
        api,
        services.add_unavailable_rule,
        pool,
        rule=body.rule,
        start_time=body.start_time.replace(tzinfo=None),
        hours=body.hours,
        reason=body.reason,
        lower_amount=body.lower_amount,
    )
    api.db.refresh(pool)
    spans = [
        (u.starts_at, u.ends_at) for u in pool.unavailable if (u.starts_at, u.ends_at) not in before
    ]
    clashes, hidden = _clash_outs(services.schedule_clashes(api.db, pool, spans, viewer=api.user))
    return _added(api, pool, was, clashes, hidden)


@router.delete(
    "/resources/{pool_id}/unavailable/{unavailable_id}", status_code=204, dependencies=[MANAGE]
)
def remove_unavailable(
    pool_id: int = id_param(),
    unavailable_id: int = id_param(),
    api: Api = Depends(get_api),
) -> Response:
    pool = _resource(api, pool_id)
    _apply(
        api,
        services.remove_unavailable,
        pool,
        unavailable_id,
    )
    return Response(status_code=204)


# ---- node staff: a person given some resources of the provider (a node of a network)


class NodeStaffIn(_In):
    email: str = Field(min_length=3, max_length=254, description="an account's address")
    resources: list[int] = Field(
        max_length=services.MAX_NODE_RESOURCES,
        description="ids of the provider's resources this person staffs (their node)",
    )


class NodeStaffOut(BaseModel):
    id: int
    email: str
    name: str
    resource_id: int
    resource: str


class NodeStaffList(Paged[NodeStaffOut]):
    pass


class NodeStaffGiven(BaseModel):
    items: list[NodeStaffOut] = Field(description="the person's grants on the resources named")


def _node_staff_out(g: NodeStaff, u: User, pool: CapacityPool) -> NodeStaffOut:
    return NodeStaffOut(
        id=g.id, email=u.email, name=u.name, resource_id=pool.id, resource=pool.name
    )


@router.get("/providers/{slug}/node-staff", response_model=NodeStaffList)
def list_node_staff(listed: ProviderListRequest = Depends(provider_list)) -> NodeStaffList:
    """Who staffs which resource (the provider's administrators), by resource, then name."""
    rows, pg = listed.rows(
        node_staff_query(listed.provider.id),
        [(CapacityPool.id, int), (User.name, str), (NodeStaff.id, int)],
        lambda r: (r[2].id, r[1].name, r[0].id),
    )
    return NodeStaffList(items=[_node_staff_out(*r) for r in rows], page=pg)


@router.post("/providers/{slug}/node-staff", response_model=NodeStaffGiven, **CREATED)
def give_node_staff(
    body: NodeStaffIn, slug: str = SLUG, api: Api = Depends(get_api)
) -> NodeStaffGiven:
    """Make an account staff of some of the provider's resources (a node run by its own
    institution): they see and record those resources' awards, bookings and post-award
    records (``/api/v1/calls/{slug}/node/...``), nothing else. Given again, nothing changes."""
    p = api_managed_provider(api, slug)
    grants = _apply(api, services.give_node_staff, p, email=body.email, resources=body.resources)
    rows = [(g, api.db.get(User, g.user_id), api.db.get(CapacityPool, g.pool_id)) for g in grants]
    return NodeStaffGiven(items=[_node_staff_out(g, u, pool) for g, u, pool in rows if u and pool])


def _provider_grant(api: Api, provider: Provider, grant_id: int) -> NodeStaff:
    """A node-staff grant on one of ``provider``'s resources; else 404."""

    def ours(g: NodeStaff) -> bool:
        pool = api.db.get(CapacityPool, g.pool_id)
        return pool is not None and pool.facility.provider_id == provider.id

    return api.get_visible(NodeStaff, grant_id, ours)


@router.delete("/providers/{slug}/node-staff/{grant_id}", status_code=204, dependencies=[MANAGE])
def revoke_node_staff(
    slug: str = SLUG,
    grant_id: int = id_param(),
    api: Api = Depends(get_api),
) -> Response:
    """Take a resource back from its node staff."""
    p = api_managed_provider(api, slug)
    _apply(api, services.revoke_node_staff, _provider_grant(api, p, grant_id))
    return Response(status_code=204)
