from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from opencall import auditlog
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.facilities import domain
from opencall.facilities.models import (
    FACILITY_KINDS,
    CapacityPool,
    Facility,
    NodeStaff,
    PoolItemOutage,
    PoolUnavailability,
    Provider,
)
from opencall.facilities.schemas import (
    POOL_UNITS,
    unknown_kind,
    validate_facility_attributes,
    validate_pool_attributes,
)
from opencall.optim import wallclock
from opencall.people.models import Country
from opencall.people.queries import user_by_email
from opencall.people.services import check_country

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
    check_country(session, country_iso3, field="country_iso3")
    p = Provider(name=name.strip(), slug=slug, country_iso3=country_iso3, description=description)
    return auditlog.record_new(session, p, "provider.created", "provider", actor_id=actor_id)


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
        raise unknown_kind(kind)
    attrs = validate_facility_attributes(kind, attributes)
    f = Facility(
        provider_id=provider.id,
        name=name,
        slug=slug,
        kind=kind,
        attributes=attrs,
        description=description,
    )
    return auditlog.record_new(session, f, "facility.created", "facility", actor_id=actor_id)


def _resource_name(raw: str | None) -> str:
    """A resource's name, stripped: required, at most 120 characters."""
    name = (raw or "").strip()
    if not name or len(name) > 120:
        raise DomainError("A resource needs a name (at most 120 characters).", field="name")
    return name


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
    }.get(facility.kind, ("custom",))
    if facility.kind == "custom":
        raise DomainError(
            "A custom facility's resources are described by their unit, calendar and "
            "request form (create_resource).",
            field="pool_type",
        )
    if pool_type not in allowed:
        raise DomainError(
            "A %(kind)s offers pools of type %(types)s, not %(pool_type)s.",
            field="pool_type",
            kind=facility.kind,
            types=", ".join(allowed),
            pool_type=repr(pool_type),
        )
    name = _resource_name(name)
    if not (math.isfinite(amount) and amount > 0):
        raise DomainError("A capacity pool needs a positive amount.", field="amount")
    unit = POOL_UNITS[pool_type]
    domain.require_whole(amount, unit)
    attrs = validate_pool_attributes(pool_type, attributes)
    _name_free(session, facility.id, name, None)
    pool = CapacityPool(
        facility_id=facility.id,
        name=name,
        pool_type=pool_type,
        unit=unit,
        amount=float(amount),
        attributes=attrs,
    )
    return auditlog.record_new(
        session, pool, "pool.created", "capacity_pool", actor_id=actor_id, data={"amount": amount}
    )


# ---------------------------------------------------------------- resources (general model)

# Capacity a resource has already promised elsewhere (calls offering it). The calls
# feature comes after facilities and registers its counter here at import, so that
# lowering a resource's amount below what calls offer is refused too.
COMMITMENT_COUNTERS: list[Callable[[Session, Sequence[CapacityPool]], dict[int, float]]] = []


def committed_amount(session: Session, pool: CapacityPool) -> float:
    return committed_amounts(session, [pool])[pool.id]


def committed_amounts(session: Session, pools: Sequence[CapacityPool]) -> dict[int, float]:
    """:func:`committed_amount` of each of ``pools`` by id, in the same few statements
    whatever their number (a facility's every resource, scale20)."""
    out = {p.id: 0.0 for p in pools}
    for counter in COMMITMENT_COUNTERS:
        for pid, v in counter(session, pools).items():
            out[pid] += v
    return out


# Amounts of a resource already written elsewhere that are not whole numbers (calls'
# offers, the requests of draft or submitted proposals), one call code per amount.
# The calls and proposals features come after facilities and register their finders
# here at import, so that counting a resource in whole units is refused while any is.
FRACTION_FINDERS: list[Callable[[Session, CapacityPool], list[str]]] = []


# Checks of a resource put in an exclusive group (``check(session, pool, group)``, before
# the change): the calls feature registers that its offers stay within the instrument's
# hours (mend22b), as it registers the finders above.
GROUP_JOIN_CHECKS: list[Callable[[Session, CapacityPool, str], None]] = []


def fractional_uses(session: Session, pool: CapacityPool) -> list[str]:
    """The call code of every amount offered or requested of ``pool`` that is not a
    whole number (one entry per amount)."""
    return [code for finder in FRACTION_FINDERS for code in finder(session, pool)]


def _check_whole_uses(session: Session, pool: CapacityPool) -> None:
    codes = fractional_uses(session, pool)
    if codes:
        raise DomainError(
            "%(name)s cannot be counted in whole units while amounts offered or requested "
            "of it are not whole numbers (%(count)s, in calls %(codes)s); make them whole "
            "first.",
            field="whole_units",
            name=repr(pool.name),
            count=len(codes),
            codes=", ".join(sorted(set(codes))),
        )


@dataclass(frozen=True)
class ScheduleClash:
    """A scheduled item (a booked slot) of a call inside an unavailable period of its
    resource: it needs rescheduling. ``visible`` is False where the person asking may
    not see that call's schedule; then only the times are given (no call, no code)."""

    call_id: int
    call_slug: str
    call_title: str
    proposal_id: int
    proposal_code: str
    award_id: int | None
    entry_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    visible: bool = True


#: Finders of the scheduled items that fall in given periods of a resource. The
#: scheduling feature comes after facilities and registers its finder here at import
#: (as the calls feature registers its commitment counter).
ClashFinder = Callable[
    [Session, CapacityPool, Sequence[tuple[dt.datetime, dt.datetime]], Any], list[ScheduleClash]
]
SCHEDULE_CLASH_FINDERS: list[ClashFinder] = []


@dataclass(frozen=True)
class GridItem:
    """A stored schedule item placed on a resource by a call not archived: a booked slot
    (``slot``), or an entry spanning the resource's period."""

    call_code: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    slot: bool


#: Finders of the stored schedule items (booked slots, whole-period entries) placed on a
#: resource by calls not archived. The scheduling feature comes after facilities and
#: registers its finder here at import: while any item is, the resource's grid (its time
#: zone, the hour its days begin, its slot length, its period) may not move under them.
GridItemFinder = Callable[[Session, CapacityPool], list[GridItem]]
GRID_ITEM_FINDERS: list[GridItemFinder] = []


#: Finders of the booked slots of calls not archived that sit closer to a booking of
#: another proposal than the resource's changeover (a changeover raised after the
#: schedule was made): registered by the scheduling feature, as the finders above.
ChangeoverFinder = Callable[[Session, CapacityPool, Any], list[ScheduleClash]]
CHANGEOVER_CLASH_FINDERS: list[ChangeoverFinder] = []


def changeover_clashes(
    session: Session, pool: CapacityPool, *, viewer: Any = None
) -> list[ScheduleClash]:
    """The booked slots of the resource, in calls not archived, closer to a booking of
    another proposal than its changeover now asks: accepted (the next schedule keeps
    it), these need rescheduling. With ``viewer``, as :func:`schedule_clashes`."""
    if not pool.changeover_slots:
        return []
    found = [c for finder in CHANGEOVER_CLASH_FINDERS for c in finder(session, pool, viewer)]
    return sorted(found, key=lambda c: (c.starts_at, c.entry_id))


def grid_items(session: Session, pool: CapacityPool) -> list[GridItem]:
    """The stored schedule items that calls not archived have placed on ``pool``."""
    return [item for finder in GRID_ITEM_FINDERS for item in finder(session, pool)]


def _check_groups_kept(session: Session, pool: CapacityPool, groups: int) -> None:
    """Refuse groups per slot below the bookings one slot already holds (calls not
    archived), naming the first such slot, how many it holds and the calls."""
    if groups >= (pool.groups_per_slot or 1):
        return
    held: dict[dt.datetime, list[str]] = {}
    for item in grid_items(session, pool):
        if item.slot:
            held.setdefault(item.starts_at, []).append(item.call_code)
    over = sorted((t, codes) for t, codes in held.items() if len(codes) > groups)
    if over:
        t, codes = over[0]
        raise DomainError(
            "%(n)s slots already hold more groups than %(groups)s (the first, %(at)s, holds "
            "%(held)s, booked by %(calls)s); reschedule them before lowering the groups "
            "per slot.",
            field="groups_per_slot",
            n=len(over),
            groups=groups,
            at=local_iso(t, pool.time_zone or ""),
            held=len(codes),
            calls=", ".join(sorted(set(codes))),
        )


def _check_group_joinable(session: Session, pool: CapacityPool, group: str) -> None:
    """Refuse to put ``pool`` in the exclusive group ``group`` while a slot booked on it
    (calls not archived) overlaps one booked on a resource of the group: the instrument
    would be booked twice; naming the first such pair (trialfac21b)."""
    if not group or group == pool.exclusive_group:
        return
    mine = sorted(
        (i.starts_at, i.ends_at, i.call_code) for i in grid_items(session, pool) if i.slot
    )
    if not mine:
        return
    for other in group_members(session, pool.facility_id, group):
        if other.id == pool.id:
            continue
        for item in (i for i in grid_items(session, other) if i.slot):
            hit = next((m for m in mine if m[0] < item.ends_at and item.starts_at < m[1]), None)
            if hit is not None:
                raise DomainError(
                    "A slot booked on this resource at %(at)s (%(call)s) overlaps one booked on "
                    "%(other)s (%(other_call)s), which shares the instrument; reschedule one "
                    "of them before putting the resources in one group.",
                    field="exclusive_group",
                    at=local_iso(hit[0], pool.time_zone or ""),
                    call=hit[2],
                    other=other.name,
                    other_call=item.call_code,
                )


def _by_code(items: Sequence[GridItem]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item.call_code] = out.get(item.call_code, 0) + 1
    return out


#: the fields that place a resource's slot grid, in the order a refusal names them
GRID_FIELDS = ("slot_hours", "period_start", "period_end", "unit")


def _check_grid_kept(
    session: Session, pool: CapacityPool, values: dict[str, Any], cal: domain.Calendar
) -> None:
    """Refuse to move the slot grid of a resource on which a stored schedule of a call not
    archived has placed items: they would no longer sit on its grid, nor at the local
    times people were told. A new time zone or hour the days begin is refused outright;
    any other change (a slot length, a period, a unit that implies a slot length) is
    refused when a booked slot is no longer a slot of the new grid, or an item falls
    outside the new period; one that keeps every item where it is (a longer period) is
    accepted."""
    zone_moves = values["time_zone"] != (pool.time_zone or "")
    hour_moves = float(values["day_start_hour"] or 0.0) != float(pool.day_start_hour or 0.0)
    changed = [f for f in GRID_FIELDS if values[f] != getattr(pool, f)]
    if not (zone_moves or hour_moves or changed):
        return
    items = grid_items(session, pool)
    if not items:
        return
    if zone_moves or hour_moves:
        uses = _by_code(items)
        raise DomainError(
            "%(name)s has %(count)s scheduled items in calls %(codes)s: its time zone and "
            "the hour its days begin cannot change while a stored schedule uses it (its "
            "slots would move). Give the new times to a new resource, or archive those calls first.",
            field="time_zone" if zone_moves else "day_start_hour",
            name=repr(pool.name),
            count=len(items),
            codes=", ".join(sorted(uses)),
        )
    lo, hi = cal.bounds()
    slots: set[tuple[dt.datetime, dt.datetime]] = set()
    if cal.slot_hours is not None and lo is not None and hi is not None:
        slots = set(wallclock.grid(lo, hi, cal.slot_hours, cal.time_zone))
    moved = [
        item
        for item in items
        if (item.slot and (item.starts_at, item.ends_at) not in slots)
        or lo is None
        or hi is None
        or item.starts_at < lo
        or item.ends_at > hi
    ]
    if moved:
        raise DomainError(
            "%(name)s: %(moved)s of its %(count)s scheduled items in calls %(codes)s would "
            "move or fall outside its slots with this %(field_name)s (every booked slot must "
            "stay a slot of the resource, at the same times). Keep the booked slots where "
            "they are (a longer period is fine), give the new grid to a new resource, or "
            "archive those calls first.",
            field=changed[0],
            name=repr(pool.name),
            moved=len(moved),
            count=len(items),
            codes=", ".join(sorted(_by_code(moved))),
            field_name=changed[0],
        )


def schedule_clashes(
    session: Session,
    pool: CapacityPool,
    periods: Sequence[tuple[dt.datetime, dt.datetime]],
    *,
    viewer: Any = None,
) -> list[ScheduleClash]:
    """The scheduled items of calls still running (not archived) that fall in one of
    ``periods`` of the resource, by start. With ``viewer``, items of calls whose
    schedule that person may not see carry no call or proposal."""
    if not periods:
        return []
    out = [c for finder in SCHEDULE_CLASH_FINDERS for c in finder(session, pool, periods, viewer)]
    return sorted(out, key=lambda c: (c.starts_at, c.call_id, c.entry_id))


def _calendar_doc(
    period_start: Any,
    period_end: Any,
    slot_hours: Any,
    unavailable: list[dict[str, Any]],
    day_start_hour: Any = 0.0,
    time_zone: str = "",
) -> domain.Calendar:
    return domain.check_calendar(
        {
            "period_start": period_start,
            "period_end": period_end,
            "slot_hours": slot_hours,
            "day_start_hour": 0.0 if day_start_hour in (None, "") else day_start_hour,
            "time_zone": time_zone or "",
            "unavailable": unavailable,
        }
    )


def slot_capacity(pool: CapacityPool, since: dt.datetime | None = None) -> int | None:
    """How many places a resource's calendar offers: its slots times the groups one slot
    holds (None when it has no slots); given ``since``, only the slots that begin at or
    after it."""
    if pool.slot_hours is None:
        return None
    cal = _pool_calendar(pool)
    slots = cal.slot_capacity(since)
    if slots is None:
        return None
    # a shared slot holds several groups: the capacity is in places, less those that the
    # items out of service close in the free slots (trialop20b)
    groups, closed = pool.groups_per_slot or 1, 0
    if pool.item_outages:
        down = [(u.starts_at, u.ends_at) for u in pool.unavailable]
        for t0, t1 in cal.grid():
            if (since is not None and t0 < since) or any(a < t1 and t0 < b for a, b in down):
                continue
            closed += places_closed(pool, t0, t1)
    return slots * groups - closed


def pool_instant(pool: CapacityPool, at: dt.datetime) -> dt.datetime:
    """``at`` as a UTC instant: a time without an offset is the resource's local time
    (its ``time_zone``; UTC when it has none), as its site's operator gives it."""
    if at.tzinfo is None:
        return wallclock.local_instant(at, pool.time_zone or "")
    return at.astimezone(dt.UTC)


def local_iso(at: dt.datetime, zone: str) -> str:
    """``at`` in the zone ``zone`` as ISO 8601 with its offset ("2027-03-28T00:00:00+01:00";
    UTC with ``+00:00`` when ``zone`` is empty)."""
    return at.astimezone(wallclock.zone(zone) if zone else dt.UTC).isoformat()


def slots_not_begun(pool: CapacityPool, now: dt.datetime | None = None) -> int | None:
    """The free slots of a resource that have not begun by ``now`` (the real time when
    not given): what can still be offered, awarded and booked (None when it has no slots)."""
    return slot_capacity(pool, now or utcnow())


def _resource_fields(
    *,
    name: str,
    unit: str,
    unit_labels: dict[str, Any] | None,
    amount: float,
    period_start: Any,
    period_end: Any,
    slot_hours: Any,
    unavailable: list[dict[str, Any]],
    request_fields: list[Any],
    whole_units: bool = False,
    day_start_hour: Any = 0.0,
    time_zone: Any = "",
    changeover_slots: Any = 0,
    unbroken: Any = False,
    groups_per_slot: Any = 1,
    short_before: tuple[float, int] | None = None,
) -> tuple[dict[str, Any], domain.Calendar]:
    name = _resource_name(name)
    labels = domain.check_unit(unit, unit_labels)
    if unit == "day" and slot_hours in (None, "") and period_start:
        slot_hours = 24.0
    domain.check_unit_slot(unit, slot_hours)
    if unit in ("shift", "session") and slot_hours in (None, ""):
        raise DomainError(
            "A resource counted in %(unit)s needs the length of one %(unit2)s in hours.",
            field="slot_hours",
            unit=domain.unit_text(unit, labels),
            unit2=domain.unit_text(unit, labels, 1),
        )
    zone = domain.zone_or_empty(time_zone)
    cal = _calendar_doc(period_start, period_end, slot_hours, unavailable, day_start_hour, zone)
    whole_units = bool(whole_units)
    changeover = domain.check_changeover(changeover_slots, cal.slot_hours)
    groups = domain.check_groups_per_slot(groups_per_slot, cal.slot_hours, changeover)
    domain.check_amount(
        float(amount),
        cal,
        unit,
        labels,
        whole=whole_units,
        short_before=short_before,
        groups=groups,
    )
    fields = domain.check_request_fields(request_fields)
    return (
        {
            "name": name,
            "unit": unit,
            "unit_labels": labels,
            "amount": float(amount),
            "period_start": cal.period_start,
            "period_end": cal.period_end,
            "slot_hours": cal.slot_hours,
            "day_start_hour": cal.day_start_hour,
            "time_zone": cal.time_zone,
            "request_fields": fields,
            "whole_units": whole_units,
            "changeover_slots": changeover,
            "groups_per_slot": groups,
            "unbroken": domain.check_unbroken(unbroken, cal.slot_hours),
        },
        cal,
    )


def _name_free(session: Session, facility_id: int, name: str, pool_id: int | None) -> None:
    q = select(CapacityPool.id).where(
        CapacityPool.facility_id == facility_id, CapacityPool.name == name
    )
    other = session.scalar(q.limit(1))
    if other is not None and other != pool_id:
        raise DomainError(
            "This facility already has a resource named %(name)s.", field="name", name=repr(name)
        )


def create_resource(
    session: Session,
    facility: Facility,
    *,
    name: str,
    unit: str,
    amount: float,
    unit_labels: dict[str, Any] | None = None,
    period_start: Any = None,
    period_end: Any = None,
    slot_hours: Any = None,
    day_start_hour: Any = 0.0,
    time_zone: str | None = None,
    unavailable: list[dict[str, Any]] | None = None,
    request_fields: list[Any] | None = None,
    whole_units: bool = False,
    bundle_with: list[int] | None = None,
    record_kinds: list[str] | None = None,
    changeover_slots: Any = 0,
    unbroken: Any = False,
    country_rules: dict[str, Any] | None = None,
    actor_id: int | None = None,
    groups_per_slot: Any = 1,
    items: Any = 1,
    exclusive_group: Any = "",
    usage_kind: Any = "consumed",
) -> CapacityPool:
    """A resource of a ``custom`` facility, described by data only; ``whole_units``
    declares its unit counted in whole numbers (capacity, offers and requests), as
    the built-in countable units are; ``record_kinds`` the post-award records it is
    followed with (empty: those its unit implies, see ``results.domain.kinds_for``)."""
    if facility.kind != "custom":
        raise DomainError(
            "A %(kind)s facility uses its preset pool types; resources described by "
            "data belong to a facility of kind custom.",
            field="kind",
            kind=facility.kind,
        )
    values, cal = _resource_fields(
        name=name,
        unit=unit,
        unit_labels=unit_labels,
        amount=amount,
        period_start=period_start,
        period_end=period_end,
        slot_hours=slot_hours,
        day_start_hour=day_start_hour,
        time_zone=time_zone or "",
        unavailable=list(unavailable or []),
        request_fields=list(request_fields or []),
        whole_units=whole_units,
        changeover_slots=changeover_slots,
        unbroken=unbroken,
        groups_per_slot=groups_per_slot,
    )
    _name_free(session, facility.id, values["name"], None)
    values["bundle_with"] = _check_bundle_with(session, facility.id, None, bundle_with or [])
    values["record_kinds"] = check_record_kinds(record_kinds or [])
    values["country_rules"] = check_country_rules(session, country_rules)
    values["items"] = check_items(items)
    values["usage_kind"] = check_usage_kind(usage_kind)
    values["exclusive_group"] = check_exclusive_group(
        exclusive_group, values["slot_hours"], values["groups_per_slot"]
    )
    domain.check_country_field(values["country_rules"], values["request_fields"] or [])
    pool = CapacityPool(facility_id=facility.id, pool_type="custom", attributes={}, **values)
    pool.unavailable = [
        PoolUnavailability(starts_at=u.starts_at, ends_at=u.ends_at, reason=u.reason)
        for u in cal.unavailable
    ]
    data: dict[str, Any] = {"amount": pool.amount, "unit": pool.unit}
    if pool.exclusive_group:
        data["exclusive_group"] = pool.exclusive_group
    return auditlog.record_new(
        session, pool, "pool.created", "capacity_pool", actor_id=actor_id, data=data
    )


def _check_bundle_with(
    session: Session, facility_id: int, pool_id: int | None, ids: list[int]
) -> list[int]:
    """The resources a request for this one must be bundled with: other resources of
    the same facility, each named once (an empty list: no such rule)."""
    wanted = sorted({int(i) for i in ids})
    if pool_id is not None and pool_id in wanted:
        raise DomainError(
            "A resource cannot be required in a bundle with itself.", field="bundle_with"
        )
    if wanted:
        found = set(
            session.scalars(
                select(CapacityPool.id).where(
                    CapacityPool.facility_id == facility_id, CapacityPool.id.in_(wanted)
                )
            )
        )
        missing = [i for i in wanted if i not in found]
        if missing:
            raise DomainError(
                "Resource %(id)s is not a resource of this facility.",
                field="bundle_with",
                id=missing[0],
            )
    return wanted


#: How the use recorded against an award of a resource adds up (usage23): ``consumed``
#: sums the records (core-hours spent), ``occupied`` counts the peak level recorded
#: (TB of storage held each month).
USAGE_KINDS: tuple[str, ...] = ("consumed", "occupied")


def check_usage_kind(kind: Any) -> str:
    """A resource's usage kind, one of :data:`USAGE_KINDS`."""
    if kind not in USAGE_KINDS:
        raise DomainError(
            "The usage kind is consumed or occupied (the peak level held counts).",
            field="usage_kind",
        )
    return str(kind)


def check_record_kinds(kinds: list[str]) -> list[str]:
    """The post-award record kinds a resource declares: known kinds
    (``domain.RECORD_KINDS``), in the order given, each once."""
    out: list[str] = []
    for k in kinds:
        if k not in domain.RECORD_KINDS:
            raise DomainError(
                "Unknown record kind %(kind)s; expected one of %(kinds)s.",
                field="record_kinds",
                kind=repr(str(k)[:40]),
                kinds=", ".join(domain.RECORD_KINDS),
            )
        if k not in out:
            out.append(k)
    return out


def check_country_rules(session: Session, rules: Any) -> dict[str, Any]:
    """A resource's rules by country (``domain.check_country_rules``) against the
    countries of the reference data."""
    if not rules:
        return {}
    return domain.check_country_rules(rules, set(session.scalars(select(Country.iso3))))


def _unavailable_docs(pool: CapacityPool) -> list[dict[str, Any]]:
    return [
        {"starts_at": u.starts_at, "ends_at": u.ends_at, "reason": u.reason}
        for u in pool.unavailable
    ]


def update_resource(
    session: Session,
    pool: CapacityPool,
    *,
    actor_id: int | None = None,
    **changes: Any,
) -> CapacityPool:
    """Change a custom resource (any of name, unit, unit_labels, amount, period_start,
    period_end, slot_hours, day_start_hour, unavailable, request_fields, whole_units, bundle_with: the
    resources a request for it must be bundled with, record_kinds: the post-award
    records it is followed with). Everything is checked
    together before anything changes: the calendar, the amount against the calendar
    and against what calls already offer of it."""
    allowed = {
        "name",
        "unit",
        "unit_labels",
        "amount",
        "period_start",
        "period_end",
        "slot_hours",
        "day_start_hour",
        "time_zone",
        "unavailable",
        "request_fields",
        "whole_units",
        "bundle_with",
        "record_kinds",
        "changeover_slots",
        "unbroken",
        "country_rules",
        "groups_per_slot",
        "items",
        "exclusive_group",
        "usage_kind",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise DomainError(
            "Unknown resource field %(field_name)s.",
            field="form",
            field_name=repr(sorted(unknown)[0]),
        )
    if pool.pool_type != "custom":
        raise DomainError("Preset pools are not edited here.", field="pool_type")
    current: dict[str, Any] = {
        "name": pool.name,
        "unit": pool.unit,
        "unit_labels": pool.unit_labels or None,
        "amount": pool.amount,
        "period_start": pool.period_start,
        "period_end": pool.period_end,
        "slot_hours": pool.slot_hours,
        "day_start_hour": pool.day_start_hour,
        "time_zone": pool.time_zone or "",
        "unavailable": _unavailable_docs(pool),
        "request_fields": pool.request_fields,
        "whole_units": bool(pool.whole_units),
        "changeover_slots": pool.changeover_slots or 0,
        "unbroken": bool(pool.unbroken),
        "groups_per_slot": pool.groups_per_slot or 1,
    }
    if "unit" in changes and "unit_labels" not in changes and changes["unit"] != pool.unit:
        current["unit_labels"] = None
    bundle_with = changes.pop("bundle_with", None)
    record_kinds = changes.pop("record_kinds", None)
    country_rules = changes.pop("country_rules", None)
    items = changes.pop("items", None)
    group = changes.pop("exclusive_group", None)
    usage_kind = changes.pop("usage_kind", None)
    short_before = _short_before(pool, current)
    current.update(changes)
    # the bookings a slot holds first: lowering the groups lowers the places too, and the
    # operator needs to hear which slot is over, not that the amount no longer fits
    groups = changes.get("groups_per_slot")
    if isinstance(groups, int) and not isinstance(groups, bool) and groups >= 1:
        _check_groups_kept(session, pool, groups)
    values, cal = _resource_fields(**current, short_before=short_before)
    _name_free(session, pool.facility_id, values["name"], pool.id)
    if bundle_with is not None:
        values["bundle_with"] = _check_bundle_with(
            session, pool.facility_id, pool.id, list(bundle_with)
        )
        changes["bundle_with"] = bundle_with
    if record_kinds is not None:
        values["record_kinds"] = check_record_kinds(list(record_kinds))
        changes["record_kinds"] = values["record_kinds"]
    if country_rules is not None:
        values["country_rules"] = check_country_rules(session, country_rules)
        changes["country_rules"] = values["country_rules"]
    if items is not None:
        values["items"] = check_items(items)
        changes["items"] = values["items"]
    if usage_kind is not None:
        values["usage_kind"] = check_usage_kind(usage_kind)
        changes["usage_kind"] = values["usage_kind"]
    # kept through a change of the slots or groups only while it still holds
    values["exclusive_group"] = check_exclusive_group(
        pool.exclusive_group if group is None else group,
        values["slot_hours"],
        values["groups_per_slot"],
    )
    if group is not None:
        _check_group_joinable(session, pool, values["exclusive_group"])
        if values["exclusive_group"] and values["exclusive_group"] != pool.exclusive_group:
            for check in GROUP_JOIN_CHECKS:
                check(session, pool, values["exclusive_group"])
        changes["exclusive_group"] = values["exclusive_group"]
    domain.check_country_field(
        values.get("country_rules", pool.country_rules) or {}, values["request_fields"] or []
    )
    committed = committed_amount(session, pool)
    if values["amount"] + 1e-9 < committed:
        raise DomainError(
            "Calls already offer %(committed)s of %(name)s; its amount cannot go "
            "below that (asked: %(asked)s).",
            field="amount",
            committed=domain.number_param(committed),
            name=repr(pool.name),
            asked=format(values["amount"], "g"),
        )
    _check_grid_kept(session, pool, values, cal)
    becomes_whole = (
        values["whole_units"]
        or domain.countable(values["unit"])
        or values.get("slot_hours") is not None
    )
    if not pool.whole_only and becomes_whole:
        _check_whole_uses(session, pool)
    for k, v in values.items():
        setattr(pool, k, v)
    if "unavailable" in changes:
        # a lost item's period rewritten as it was keeps its item and record
        lost = {
            (u.starts_at, u.ends_at, u.reason): (u.lost_item, u.lost_record_id)
            for u in pool.unavailable
            if u.lost_item
        }
        pool.unavailable = [
            PoolUnavailability(
                starts_at=u.starts_at,
                ends_at=u.ends_at,
                reason=u.reason,
                lost_item=lost.get((u.starts_at, u.ends_at, u.reason), ("", None))[0],
                lost_record_id=lost.get((u.starts_at, u.ends_at, u.reason), ("", None))[1],
            )
            for u in cal.unavailable
        ]
    session.flush()
    auditlog.record(
        session,
        "pool.edited",
        "capacity_pool",
        pool.id,
        actor_id=actor_id,
        data={"fields": sorted(changes)}
        | ({"exclusive_group": values["exclusive_group"]} if group is not None else {}),
    )
    return pool


def _short_before(pool: CapacityPool, current: dict[str, Any]) -> tuple[float, int] | None:
    """The amount and the room of ``pool`` when its calendar already holds less than its
    amount (a lost item's period, :func:`item_lost`); None otherwise."""
    try:
        cap = _calendar_doc(
            current["period_start"],
            current["period_end"],
            current["slot_hours"],
            current["unavailable"],
            current["day_start_hour"],
            domain.zone_or_empty(current["time_zone"]),
        ).slot_capacity()
    except DomainError:
        return None
    if cap is not None:
        cap *= current.get("groups_per_slot") or 1
    return (pool.amount, cap) if cap is not None and pool.amount > cap else None


def add_unavailable(
    session: Session,
    pool: CapacityPool,
    *,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str = "",
    actor_id: int | None = None,
    lower_amount: bool = False,
) -> list[ScheduleClash]:
    """Record an unavailable period (maintenance, an unplanned outage). It is accepted
    even when calls have already booked slots in it (reality cannot be refused); those
    slots are recorded in the audit log, one event per call
    (``pool.unavailable_clashes``), and :func:`schedule_clashes` lists them for the
    answer and the schedule pages, which show them as needing rescheduling. Returns them
    (unmasked: a caller that shows them to someone masks them with ``viewer``). Times
    given without an offset are the resource's local time (UTC when it has no zone).
    A period that leaves fewer slots than the amount is refused, saying how many remain;
    ``lower_amount``: the amount is lowered to them with it (:func:`_add_unavailable_spans`)."""
    starts_at, ends_at = pool_instant(pool, starts_at), pool_instant(pool, ends_at)
    return _add_unavailable_spans(
        session, pool, [(starts_at, ends_at)], reason, actor_id, lower_amount=lower_amount
    )


def add_unavailable_rule(
    session: Session,
    pool: CapacityPool,
    *,
    rule: str,
    start_time: dt.time,
    hours: float,
    reason: str = "",
    actor_id: int | None = None,
    lower_amount: bool = False,
) -> list[ScheduleClash]:
    """Record a recurring unavailable period (weekends, a monthly maintenance day): the
    RRULE ``rule`` expanded over the resource's period on its site's wall clock
    (:func:`facilities.domain.expand_rule`) into ordinary unavailable periods, all
    accepted together or none, less what is unavailable already (an occurrence inside an
    existing period is left out, one overlapping it keeps the rest); booked slots inside
    them are audited and returned, and ``lower_amount`` lowers the amount to the slots
    that remain, as :func:`add_unavailable` does."""
    spans = domain.expand_rule(
        rule,
        start_time,
        hours,
        period_start=pool.period_start,
        period_end=pool.period_end,
        day_start_hour=pool.day_start_hour,
        time_zone=pool.time_zone or "",
    )
    if not spans:
        raise DomainError(
            "The rule gives no unavailable period in the resource's period.", field="rule"
        )
    # occurrences already unavailable (a Sunday in the maintenance week) add nothing
    spans = domain.outside_periods(spans, [(u.starts_at, u.ends_at) for u in pool.unavailable])
    if not spans:
        raise DomainError(
            "Every period the rule gives is unavailable already: nothing was added.",
            field="rule",
        )
    return _add_unavailable_spans(session, pool, spans, reason, actor_id, lower_amount=lower_amount)


def _closure_fits(
    pool: CapacityPool,
    docs: list[dict[str, Any]],
    lower_amount: bool,
) -> dict[str, Any]:
    """The change of amount that a closure giving ``pool`` the unavailable periods
    ``docs`` needs: none when the slots that remain hold the amount (or the calendar is
    refused: ``update_resource`` says why); ``lower_amount``, the amount lowered to them
    (``update_resource`` still refuses it below what calls offer); otherwise refused, saying how many remain and how to lower it with the
    closure (trialop20: before, the operator lowered the amount by hand first)."""
    if pool.slot_hours is None:
        return {}
    try:
        cap = _calendar_doc(
            pool.period_start,
            pool.period_end,
            pool.slot_hours,
            docs,
            pool.day_start_hour,
            domain.zone_or_empty(pool.time_zone or ""),
        ).slot_capacity()
    except DomainError:
        return {}
    if cap is None or cap <= 0 or pool.amount <= cap:
        return {}
    if not lower_amount:
        raise DomainError(
            "%(n)s slots of %(h)s h do not fit in the period %(period)s less its unavailable "
            "time with this closure: at most %(cap)s fit. Add the closure with the amount "
            "lowered to %(cap)s (“Lower the amount to the slots that remain”; "
            "lower_amount in the API).",
            field="amount",
            n=domain.number_param(pool.amount),
            h=domain.number_param(pool.slot_hours),
            period=f"{pool.period_start}–{pool.period_end}",
            cap=cap,
        )
    return {"amount": cap}


def _add_unavailable_spans(
    session: Session,
    pool: CapacityPool,
    spans: list[tuple[dt.datetime, dt.datetime]],
    reason: str,
    actor_id: int | None,
    *,
    forced: bool = False,
    lost: tuple[str, int | None] = ("", None),
    lower_amount: bool = False,
) -> list[ScheduleClash]:
    """``spans`` added to the resource's unavailable periods, checked with the rest of its
    calendar (``update_resource``), or, ``forced`` (what happened: an item lost), kept as
    they are; the bookings inside them audited, one ``pool.unavailable_clashes`` event
    per call, and returned."""
    if forced:
        pool.unavailable.extend(
            PoolUnavailability(
                starts_at=t0, ends_at=t1, reason=reason, lost_item=lost[0], lost_record_id=lost[1]
            )
            for t0, t1 in spans
        )
        session.flush()
    else:
        docs = [
            *_unavailable_docs(pool),
            *({"starts_at": t0, "ends_at": t1, "reason": reason} for t0, t1 in spans),
        ]
        was = pool.amount
        amount = _closure_fits(pool, docs, lower_amount)
        update_resource(session, pool, unavailable=docs, actor_id=actor_id, **amount)
        if amount:
            auditlog.record(
                session,
                "pool.amount_lowered",
                "capacity_pool",
                pool.id,
                actor_id=actor_id,
                data={"from": was, "to": amount["amount"], "why": "closure", "reason": reason},
            )
    found = schedule_clashes(session, pool, spans)
    _audit_clashes(session, pool, found, spans, reason, actor_id)
    return found


def _audit_clashes(
    session: Session,
    pool: CapacityPool,
    found: list[ScheduleClash],
    spans: Sequence[tuple[dt.datetime, dt.datetime]],
    reason: str,
    actor_id: int | None,
) -> None:
    """One ``pool.unavailable_clashes`` event per call for the bookings ``found`` that
    need rescheduling after ``spans`` closed (all or part of) ``pool``."""
    by_call: dict[int, list[ScheduleClash]] = {}
    for c in found:
        by_call.setdefault(c.call_id, []).append(c)
    for call_id, clashes in by_call.items():
        auditlog.record(
            session,
            "pool.unavailable_clashes",
            "capacity_pool",
            pool.id,
            actor_id=actor_id,
            call_id=call_id,
            data={
                # the first start and the last end of the periods added (one for a
                # single period; a rule's span)
                "starts_at": min(t0 for t0, _ in spans).astimezone(dt.UTC).isoformat(),
                "ends_at": max(t1 for _, t1 in spans).astimezone(dt.UTC).isoformat(),
                "reason": reason,
                "slots": [
                    {
                        "entry": c.entry_id,
                        "proposal": c.proposal_id,
                        "award": c.award_id,
                        "start": c.starts_at.isoformat(),
                        "end": c.ends_at.isoformat(),
                    }
                    for c in clashes
                ],
            },
        )


def item_lost(
    session: Session,
    pool: CapacityPool,
    *,
    item: str,
    day: dt.date,
    loan: str = "",
    record_id: int | None = None,
    actor_id: int | None = None,
) -> list[ScheduleClash]:
    """The item ``item`` of the resource ``pool`` (a glider lent as a loan of one of its
    awards) was lost on ``day``: the resource is unavailable from that day (at the hour its
    days begin, on its site's clock) to the end of its period, less what is unavailable
    already. Reality is not refused: unlike :func:`add_unavailable`, the period is kept even
    where the calls hold more than the calendar now has room for; the bookings inside it
    are audited and returned (and so flagged for rescheduling) as that function does, and
    ``pool.item_lost`` names the item, the loan (``loan``: its award's code) and the
    periods. Nothing for a resource without a period (no calendar to close) or a day
    after it; a day already inside an unavailable period adds only the rest. The periods
    keep the item and the loan record (``record_id``; its reason is said in the reader's
    language, ``facilities.labels.unavailable_reason``); the record's earlier periods are
    replaced (:func:`item_found` first: a corrected day moves them)."""
    if record_id is not None:
        item_found(session, pool, record_id=record_id, actor_id=actor_id)
    if pool.period_end is None or day > pool.period_end:
        return []
    first = max(day, pool.period_start) if pool.period_start is not None else day
    starts_at, ends_at = domain.period_bounds(
        first, pool.period_end, pool.day_start_hour, pool.time_zone or ""
    )
    assert starts_at is not None and ends_at is not None
    several = (pool.items or 1) > 1  # an item of several closes its share only
    spans = (
        [(starts_at, ends_at)]
        if several
        else domain.outside_periods(
            [(starts_at, ends_at)], [(u.starts_at, u.ends_at) for u in pool.unavailable]
        )
    )
    if not spans:
        return []
    auditlog.record(
        session,
        "pool.item_lost",
        "capacity_pool",
        pool.id,
        actor_id=actor_id,
        data={
            "item": item,
            "loan": loan,
            "lost_on": day.isoformat(),
            "periods": [[t0.isoformat(), t1.isoformat()] for t0, t1 in spans],
            **({"items": pool.items} if several else {}),
        },
    )
    if several:
        return _item_out(session, pool, item, spans[0], record_id, actor_id)
    return _add_unavailable_spans(
        session, pool, spans, "", actor_id, forced=True, lost=(item[:200], record_id)
    )


#: the most items one resource may list (a count, not a catalogue)
MAX_ITEMS = 10_000


def check_exclusive_group(value: Any, slot_hours: float | None, groups: int) -> str:
    """``CapacityPool.exclusive_group``: the name of the instrument the resource shares with
    the facility's other resources of that name (at most one in use at once), "" none; only
    a resource offered in slots, one group a slot, belongs to one (trialfac21b)."""
    name = " ".join(str(value or "").split())
    if len(name) > 80:
        raise DomainError(
            "The name of a shared instrument is at most %(limit)s characters.",
            field="exclusive_group",
            limit="80",
        )
    if name and (slot_hours is None or groups > 1):
        raise DomainError(
            "Only a resource offered in slots, one group a slot, can share an instrument "
            "with other resources.",
            field="exclusive_group",
        )
    return name


def instrument_siblings(session: Session, pool: CapacityPool) -> list[CapacityPool]:
    """The facility's other resources that share ``pool``'s instrument (its
    ``exclusive_group``): never in use at the same time as it; [] without a group."""
    if not pool.exclusive_group or (pool.groups_per_slot or 1) > 1:
        return []
    return [
        p for p in group_members(session, pool.facility_id, pool.exclusive_group) if p.id != pool.id
    ]


def group_members(session: Session, facility_id: int, group: str) -> list[CapacityPool]:
    """The facility's resources of the exclusive group ``group`` (one group a slot)."""
    same = (
        CapacityPool.facility_id == facility_id,
        CapacityPool.exclusive_group == group,
        CapacityPool.groups_per_slot <= 1,
    )
    return list(session.scalars(select(CapacityPool).where(*same).order_by(CapacityPool.id)))


def _pool_calendar(pool: CapacityPool) -> domain.Calendar:
    """``pool``'s stored calendar, checked as a calendar document."""
    unavailable = [{"starts_at": u.starts_at, "ends_at": u.ends_at} for u in pool.unavailable]
    return _calendar_doc(
        pool.period_start,
        pool.period_end,
        pool.slot_hours,
        unavailable,
        pool.day_start_hour,
        pool.time_zone or "",
    )


def _open_slots(pool: CapacityPool) -> list[tuple[dt.datetime, dt.datetime]]:
    """The slots of ``pool``'s grid outside its unavailable periods."""
    down = [(u.starts_at, u.ends_at) for u in pool.unavailable]
    grid = _pool_calendar(pool).grid()
    return [(t0, t1) for t0, t1 in grid if not any(a < t1 and t0 < b for a, b in down)]


def instrument_hours(pool: CapacityPool) -> float | None:
    """The hours in which the instrument ``pool`` shares with its exclusive group is open on
    one of the group's resources at least: their open slots, an overlap counted once (a
    shift open in both machine modes is one shift of the beamline). None without a group
    of two resources or more (trialfac21b)."""
    session = object_session(pool)
    if session is None or not pool.exclusive_group:
        return None
    siblings = instrument_siblings(session, pool)
    if not siblings or pool.slot_hours is None:
        return None
    return open_hours([pool, *siblings])


def open_hours(pools: Iterable[CapacityPool]) -> float:
    """The hours in which one of ``pools`` (slot-based) at least is open: their open slots,
    an overlap counted once (``instrument_hours`` of a group, or of some of its resources)."""
    spans = sorted(s for p in pools if p.slot_hours for s in _open_slots(p))
    total = dt.timedelta()
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    for t0, t1 in spans:
        if end is None or t0 > end:
            if start is not None and end is not None:
                total += end - start
            start, end = t0, t1
        else:
            end = max(end, t1)
    if start is not None and end is not None:
        total += end - start
    return total.total_seconds() / 3600.0


def check_items(value: Any) -> int:
    """``CapacityPool.items``: a whole number from 1 (trialop20b)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ITEMS:
        raise DomainError(
            "The number of items must be a whole number from 1 to %(limit)s.",
            field="items",
            limit=str(MAX_ITEMS),
        )
    return value


def item_places(pool: CapacityPool, out: int) -> int:
    """The places of one slot of ``pool`` that ``out`` of its items out of service close:
    each its share of its ``groups_per_slot``, rounded up (5 ROVs, 5 groups a slot, one
    lost: 1; a slot of one group with one of its 5 items lost: the slot; 4 groups a slot
    of 3 items, two lost: 4, not ``ceil(8 / 3)``)."""
    items, groups = pool.items or 1, pool.groups_per_slot or 1
    return min(groups, out * -(-groups // items))


def places_closed(pool: CapacityPool, t0: dt.datetime, t1: dt.datetime) -> int:
    """The places of ``pool``'s slot ``[t0, t1)`` that its items out of service close: the
    one count of them (mend21), read by the capacity (:func:`slot_capacity`), the bookings
    flagged beyond the places left (:func:`item_clashes`) and the schedule
    (:func:`closed_places`, ``optim.slots.Resource.fewer``). An item out closes the slots
    its period overlaps (half-open: a slot ending as it goes, or beginning as it comes
    back, keeps its places; one straddling either is closed whole)."""
    out = sum(1 for u in pool.item_outages if u.starts_at < t1 and t0 < u.ends_at)
    return item_places(pool, out) if out else 0


def closed_places(pool: CapacityPool) -> tuple[tuple[dt.datetime, dt.datetime, int], ...]:
    """The places closed in ``pool``'s slots by its items out of service, as plain numbers
    for ``optim.slots.Resource.fewer``: each run of consecutive slots of its grid with the
    same places closed (:func:`places_closed`, more than none), ``(first slot's start, last
    slot's end, places)``. Each slot of the grid lies in one run at most, so the schedule
    closes in it what the capacity and the flags count (before, the schedule summed an
    entry an item out with a rounding of its own)."""
    if not pool.item_outages or pool.slot_hours is None or pool.period_start is None:
        return ()
    cal = _calendar_doc(
        pool.period_start,
        pool.period_end,
        pool.slot_hours,
        [],
        pool.day_start_hour,
        pool.time_zone or "",
    )
    runs: list[tuple[dt.datetime, dt.datetime, int]] = []
    for t0, t1 in cal.grid():
        n = places_closed(pool, t0, t1)
        if n and runs and runs[-1][1] == t0 and runs[-1][2] == n:
            runs[-1] = (runs[-1][0], t1, n)
        elif n:
            runs.append((t0, t1, n))
    return tuple(runs)


def _item_out(
    session: Session,
    pool: CapacityPool,
    item: str,
    span: tuple[dt.datetime, dt.datetime],
    record_id: int | None,
    actor_id: int | None,
) -> list[ScheduleClash]:
    """:func:`item_lost` on a resource lending several items: the item out of service from
    ``span``'s start to its end closes only its share of the places (``item_places``); the
    bookings then beyond the places left are audited and returned, the latest booked
    first (``item_clashes``)."""
    pool.item_outages.append(
        PoolItemOutage(
            starts_at=span[0], ends_at=span[1], item=item[:200], lost_record_id=record_id
        )
    )
    session.flush()
    over = {c.entry_id for c in item_clashes(session, pool)}
    found = [c for c in schedule_clashes(session, pool, [span]) if c.entry_id in over]
    _audit_clashes(session, pool, found, [span], "", actor_id)
    return found


def item_clashes(session: Session, pool: CapacityPool) -> list[ScheduleClash]:
    """The bookings of ``pool`` beyond the places its items out of service leave in their
    slots: in each slot, those past the places left, the latest booked (highest id)
    first."""
    if not pool.item_outages:
        return []
    spans = [(u.starts_at, u.ends_at) for u in pool.item_outages]
    found = sorted(schedule_clashes(session, pool, spans), key=lambda c: c.entry_id)
    by_slot: dict[tuple[dt.datetime, dt.datetime], list[ScheduleClash]] = {}
    for c in found:
        by_slot.setdefault((c.starts_at, c.ends_at), []).append(c)
    over: list[ScheduleClash] = []
    for (t0, t1), held in by_slot.items():
        room = (pool.groups_per_slot or 1) - places_closed(pool, t0, t1)
        over.extend(held[room:])
    return sorted(over, key=lambda c: c.entry_id)


def item_found(
    session: Session, pool: CapacityPool, *, record_id: int, actor_id: int | None = None
) -> None:
    """The periods that the loan record ``record_id`` closed on ``pool`` (its item lost)
    removed: the record now says another day lost, or no loss. Audited
    (``pool.item_lost_removed``) when there were any."""
    gone: list[PoolUnavailability | PoolItemOutage] = [
        u for u in pool.unavailable if u.lost_record_id == record_id
    ]
    outs = [u for u in pool.item_outages if u.lost_record_id == record_id]
    gone.extend(outs)
    if not gone:
        return
    for u in gone:
        if isinstance(u, PoolItemOutage):
            pool.item_outages.remove(u)
        else:
            pool.unavailable.remove(u)
    session.flush()
    auditlog.record(
        session,
        "pool.item_lost_removed",
        "capacity_pool",
        pool.id,
        actor_id=actor_id,
        data={
            "item": gone[0].item if isinstance(gone[0], PoolItemOutage) else gone[0].lost_item,
            "record": record_id,
            "periods": [[u.starts_at.isoformat(), u.ends_at.isoformat()] for u in gone],
        },
    )


def remove_unavailable(
    session: Session, pool: CapacityPool, unavailable_id: int, *, actor_id: int | None = None
) -> CapacityPool:
    docs = [
        {"starts_at": u.starts_at, "ends_at": u.ends_at, "reason": u.reason}
        for u in pool.unavailable
        if u.id != unavailable_id
    ]
    if len(docs) == len(pool.unavailable):
        raise DomainError("No such unavailable period.", code="not_found")
    return update_resource(session, pool, unavailable=docs, actor_id=actor_id)


#: resources one node-staff grant may name at once
MAX_NODE_RESOURCES = 50


def give_node_staff(
    session: Session,
    provider: Provider,
    *,
    email: str,
    resources: Sequence[int],
    actor_id: int | None = None,
) -> list[NodeStaff]:
    """Make the account of ``email`` staff of these resources of ``provider`` (a node of
    a network facility): they see and record the awards, bookings and post-award records
    of these resources, and nothing else of the provider's calls. Every resource is
    checked before anything is written; a resource already staffed by the person keeps
    its grant (given again, nothing changes). Returns the person's grants on them."""
    wanted = sorted(set(resources))
    if not wanted or len(wanted) > MAX_NODE_RESOURCES:
        raise DomainError(
            "Name from 1 to %(n)s resources of this provider.",
            field="resources",
            n=MAX_NODE_RESOURCES,
        )
    holder = user_by_email(session, email)
    if holder is None or not holder.is_active:
        raise DomainError(
            "No active account uses this address; node staff need an account first.",
            field="email",
        )
    found = set(
        session.scalars(
            select(CapacityPool.id)
            .join(Facility, Facility.id == CapacityPool.facility_id)
            .where(CapacityPool.id.in_(wanted), Facility.provider_id == provider.id)
        )
    )
    missing = [i for i in wanted if i not in found]
    if missing:
        raise DomainError(
            "No resource %(ids)s in this provider's facilities.",
            field="resources",
            ids=", ".join(map(str, missing)),
        )
    held = {
        g.pool_id: g
        for g in session.scalars(
            select(NodeStaff).where(NodeStaff.user_id == holder.id, NodeStaff.pool_id.in_(wanted))
        )
    }
    out = []
    for pool_id in wanted:
        g = held.get(pool_id)
        if g is None:
            g = auditlog.record_new(
                session,
                NodeStaff(user_id=holder.id, pool_id=pool_id, granted_by=actor_id),
                "node_staff.granted",
                "node_staff",
                actor_id=actor_id,
                data={"user_id": holder.id, "pool_id": pool_id},
            )
        out.append(g)
    return out


def revoke_node_staff(session: Session, grant: NodeStaff, *, actor_id: int | None = None) -> None:
    """Take a node-staff grant back (its holder no longer sees that resource's items)."""
    auditlog.record(
        session,
        "node_staff.revoked",
        "node_staff",
        grant.id,
        actor_id=actor_id,
        data={"user_id": grant.user_id, "pool_id": grant.pool_id},
    )
    session.delete(grant)
    session.flush()
