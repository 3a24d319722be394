"""The general resource model, pure: units of capacity and their labels, a
resource's calendar (period, slot length, unavailable periods) and its request
form declared as data, with the server-side validation of a request's details.

A capacity pool *is* a resource. Presets (telescope LST hours, berths and dives,
sample mass, seats and packages) keep their own pool types; a facility of kind
``custom`` offers resources of pool type ``custom`` described only by this data.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Container, Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from opencall.errors import DomainError, Localized
from opencall.inputs import (
    TimeZoneName,
    calendar_date,
    error_message,
    first_error,
    in_calendar,
    local_number,
    plain_number,
    time_zone_name,
)
from opencall.optim import intervals, wallclock
from opencall.people.domain import zone_name

LANGS = ("en", "zh", "fr", "es")


def _u(
    en: tuple[str, str], zh: str, fr: tuple[str, str], es: tuple[str, str]
) -> dict[str, dict[str, str]]:
    return {
        "en": {"one": en[0], "other": en[1]},
        "zh": {"one": zh, "other": zh},
        "fr": {"one": fr[0], "other": fr[1]},
        "es": {"one": es[0], "other": es[1]},
    }


# Built-in units of capacity: key -> labels per UI language (singular/plural).
BUILTIN_UNITS: dict[str, dict[str, dict[str, str]]] = {
    "h": _u(("hour", "hours"), "小时", ("heure", "heures"), ("hora", "horas")),
    "shift": _u(("shift", "shifts"), "班次", ("poste", "postes"), ("turno", "turnos")),
    "day": _u(("day", "days"), "天", ("jour", "jours"), ("día", "días")),
    "berth": _u(("berth", "berths"), "铺位", ("couchette", "couchettes"), ("litera", "literas")),
    "dive": _u(("dive", "dives"), "潜次", ("plongée", "plongées"), ("inmersión", "inmersiones")),
    "g": _u(("g", "g"), "克", ("g", "g"), ("g", "g")),
    "mg": _u(("mg", "mg"), "毫克", ("mg", "mg"), ("mg", "mg")),
    "seat": _u(("seat", "seats"), "席位", ("place", "places"), ("plaza", "plazas")),
    "package": _u(("package", "packages"), "套", ("lot", "lots"), ("paquete", "paquetes")),
    "session": _u(("session", "sessions"), "场次", ("session", "sessions"), ("sesión", "sesiones")),
}
# the presets' historical unit keys (plural) name the same units
UNIT_ALIASES = {"berths": "berth", "dives": "dive", "seats": "seat", "packages": "package"}

# built-in units that count whole things (people, dives, places, slots): never a fraction
COUNTABLE_UNITS = frozenset({"shift", "berth", "dive", "seat", "package", "session"})

UNIT_KEY_RE = re.compile(r"[a-z][a-z0-9_-]{0,19}")
FIELD_KEY_RE = r"^[a-z][a-z0-9_]{0,39}$"
# request detail keys the platform itself uses (common to all custom resources)
RESERVED_KEYS = ("amount", "impossible_dates", "bundle_together", "bundle_same_time")
FIELD_TYPES = ("text", "number", "choice", "date_range", "coordinates", "target_list", "file")
#: The kinds of post-award record the platform knows (their fields: ``results.schemas``);
#: a resource may declare which of them it is followed with (``record_kinds``).
RECORD_KINDS = ("loan", "shipment", "berth", "session", "course", "followup", "package", "other")


def builtin_unit(key: str) -> dict[str, dict[str, str]] | None:
    return BUILTIN_UNITS.get(UNIT_ALIASES.get(key, key))


def countable(unit: str) -> bool:
    """Whether a resource counted in ``unit`` offers and awards whole units only."""
    return UNIT_ALIASES.get(unit, unit) in COUNTABLE_UNITS


def money_unit(unit: str, period_start: dt.date | None) -> bool:
    """Whether a resource counted in ``unit`` is money (a travel-grant budget, stipends):
    its unit is an ISO 4217 currency code ("usd", "EUR"; Babel's list, kept with the CLDR
    data rather than a list of our own) and it has no period (money has no dates on the
    schedule; operators.md "Money"). Both, because a few codes are also words ("cup",
    "pen", "all"): a calendar says it is not money. Its awards are paid, not scheduled
    (trialop20: the outcomes report counted their dollars as "Scheduled")."""
    from babel.numbers import list_currencies

    return period_start is None and unit.upper() in list_currencies()


def unit_label(
    pool_unit: str, unit_labels: dict[str, Any] | None, amount: float | None, lang: str
) -> str:
    """The unit's label in ``lang`` for ``amount`` (singular for exactly 1, plural
    otherwise or when no amount is given): the resource's own labels first, then
    the built-in unit's, then the English ones, then the key itself."""
    form = "one" if amount is not None and abs(amount - 1) < 1e-9 else "other"
    for labels in (unit_labels or {}, builtin_unit(pool_unit) or {}):
        for lg in (lang, "en"):
            entry = labels.get(lg)
            if isinstance(entry, dict):
                text = entry.get(form) or entry.get("other") or entry.get("one")
                if isinstance(text, str) and text.strip():
                    return text
    return pool_unit


def unit_text(
    pool_unit: str, unit_labels: dict[str, Any] | None, amount: float | None = None
) -> Localized:
    """The unit's label for ``amount`` as a message parameter: English by default,
    the reader's language where the message is shown (never the bare unit key when
    the unit has a label)."""
    return Localized(
        unit_label(pool_unit, unit_labels, amount, "en"),
        {lg: unit_label(pool_unit, unit_labels, amount, lg) for lg in LANGS},
    )


def number_param(value: float) -> Localized:
    """A number as a message parameter: plain (``plain_number``: what ``DomainError.message``,
    the logs and the API's ``params`` show), written as the reader's language writes
    numbers where the message is shown ("1,250.5", "1 250,5", "1.250,5")."""
    return Localized(plain_number(value), {lg: local_number(value, lg) for lg in LANGS})


def amount_text(pool_unit: str, unit_labels: dict[str, Any] | None, amount: float) -> Localized:
    """An amount with its unit ("12 berths") as a message parameter, the number and the
    unit as the reader's language writes them where the message is shown
    (:func:`unit_text`, :func:`opencall.inputs.local_number`)."""
    return Localized(
        f"{local_number(amount)} {unit_label(pool_unit, unit_labels, amount, 'en')}",
        {
            lg: f"{local_number(amount, lg)} {unit_label(pool_unit, unit_labels, amount, lg)}"
            for lg in LANGS
        },
    )


# ---------------------------------------------------------------- units


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


class UnitForms(_Doc):
    one: str = Field(min_length=1, max_length=40)
    other: str = Field(min_length=1, max_length=40)


class UnitLabels(_Doc):
    en: UnitForms
    zh: UnitForms
    fr: UnitForms
    es: UnitForms


def check_unit(key: str, labels: dict[str, Any] | None) -> dict[str, Any]:
    """A resource's unit: a built-in key (labels optional, the built-in ones are
    used) or an operator-named key with labels in every UI language. Returns the
    labels to store."""
    if not UNIT_KEY_RE.fullmatch(key or ""):
        raise DomainError(
            "A unit key uses a-z, 0-9, '_' and '-' and starts with a letter (at most 20).",
            field="unit",
        )
    if not labels:
        if builtin_unit(key) is None:
            raise DomainError(
                "Unknown unit %(unit)s: use one of %(units)s, or name your own unit with "
                "its labels in English, Chinese, French and Spanish.",
                field="unit",
                unit=repr(key),
                units=", ".join(BUILTIN_UNITS),
            )
        return {}
    try:
        return UnitLabels.model_validate(labels).model_dump()
    except ValidationError as exc:
        where, problem = first_error(exc)
        raise DomainError(
            "Unit labels need a singular and a plural in en, zh, fr and es "
            "(%(where)s: %(problem)s).",
            field="unit_labels",
            where=where,
            problem=problem,
        ) from exc


# ---------------------------------------------------------------- calendar


#: slots in one resource's period at most: the schedule, the calendar pages and the
#: iCalendar files hold every slot (a year of hourly slots is 8,784)
MAX_SLOTS = 20_000
#: the most slots a resource keeps free between two proposals' bookings (its changeover)
MAX_CHANGEOVER = 100


def period_bounds(
    first: dt.date | None,
    last: dt.date | None,
    day_start_hour: float = 0.0,
    time_zone: str = "",
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """A resource's period ``first``..``last`` (inclusive days) as half-open UTC datetimes:
    from ``first`` at ``day_start_hour`` to the day after ``last`` at that hour, on the
    wall clock of the resource's ``time_zone`` (its site: Europe/Berlin), or UTC when it
    has none (a facility whose days, and so slots, begin at 08:00 in Bangkok gives 1.0
    without a zone, or 8.0 in Asia/Bangkok)."""
    if first is None or last is None:
        return None, None
    lo = period_wall_start(first, day_start_hour)
    hi = period_wall_start(last + dt.timedelta(days=1), day_start_hour)
    return wallclock.local_instant(lo, time_zone), wallclock.local_instant(hi, time_zone)


def period_wall_start(first: dt.date, day_start_hour: float | None = 0.0) -> dt.datetime:
    """The naive local time a period beginning on ``first`` starts at, and its slots count
    from (``optim.wallclock.grid``'s ``wall_start``): on a day whose clocks skip that time
    the period begins at the jump, but its slots keep the wall clock's grid."""
    return dt.datetime.combine(first, dt.time()) + dt.timedelta(hours=day_start_hour or 0.0)


def _utc(v: dt.datetime) -> dt.datetime:
    return v.replace(tzinfo=dt.UTC) if v.tzinfo is None else v.astimezone(dt.UTC)


def open_windows(
    first: dt.date | None,
    last: dt.date | None,
    day_start_hour: float,
    time_zone: str,
    closed: Sequence[tuple[dt.datetime, dt.datetime]],
) -> list[tuple[dt.datetime, dt.datetime]]:
    """When a resource offered over a period runs: its period (:func:`period_bounds`) less
    its unavailable periods ``closed``, as half-open UTC spans in order (a beamline's
    single-bunch shifts: the blocks the operator left open to that machine mode); none
    for a resource without a period."""
    lo, hi = period_bounds(first, last, day_start_hour, time_zone)
    if lo is None or hi is None:
        return []
    return sorted(intervals.subtract([(lo, hi)], [(_utc(a), _utc(b)) for a, b in closed]))


class Unavailable(_Doc):
    """Half-open [starts_at, ends_at) in UTC, with a reason (maintenance...)."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str = Field(default="", max_length=200)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, v: dt.datetime) -> dt.datetime:
        return _utc(v)

    @model_validator(mode="after")
    def _order(self) -> Unavailable:
        if self.ends_at <= self.starts_at:
            raise ValueError("an unavailable period must end after it starts")
        return self


def zone_or_empty(text: str | None) -> str:
    """The IANA zone named by ``text`` ("Europe/Berlin"), "" for none (UTC); a name the
    time zone database does not hold is refused, naming it (``people.domain.zone_name``)."""
    return zone_name(text) or ""


class Calendar(_Doc):
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    slot_hours: float | None = Field(default=None, gt=0, le=24 * 366)
    # the hour each day of the period begins at, on the wall clock of ``time_zone`` (UTC
    # when empty): 0 is midnight, 1.5 is 01:30
    day_start_hour: float = Field(default=0.0, ge=0, lt=24, allow_inf_nan=False)
    # the site's IANA time zone: days, slots and unavailable days keep its local time
    # across daylight saving changes (``optim.wallclock``); "" keeps them in UTC
    time_zone: TimeZoneName = ""
    # 5,000: room for a recurring rule's periods (weekends and nights of a year)
    unavailable: list[Unavailable] = Field(default_factory=list, max_length=5000)

    @model_validator(mode="before")
    @classmethod
    def _local_unavailable(cls, data: Any) -> Any:
        """An unavailable period given without an offset is the site's local time (its
        time zone's wall clock), as the operator of that site reads it; with an offset
        (or ``Z``) it is that instant."""
        if not isinstance(data, dict):
            return data
        try:
            name = time_zone_name(data.get("time_zone")) or ""
        except (TypeError, ValueError, AttributeError):
            return data  # refused by the field's own validator
        if not name or not isinstance(data.get("unavailable"), list):
            return data
        out = []
        for u in data["unavailable"]:
            if isinstance(u, dict):
                u = dict(u)
                for key in ("starts_at", "ends_at"):
                    v = u.get(key)
                    try:
                        at = dt.datetime.fromisoformat(v) if isinstance(v, str) else v
                    except ValueError:
                        continue  # refused by the field's own validator
                    if isinstance(at, dt.datetime) and at.tzinfo is None:
                        u[key] = wallclock.local_instant(at, name)
            out.append(u)
        return {**data, "unavailable": out}

    @model_validator(mode="after")
    def _consistent(self) -> Calendar:
        if (self.period_start is None) != (self.period_end is None):
            raise ValueError("give both the first and the last day of the period, or neither")
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValueError("the period must end on or after the day it starts")
        if self.slot_hours is not None and self.period_start is None:
            raise ValueError("a slot-based resource needs a period")
        lo, hi = self.bounds()
        spans = sorted(self.unavailable, key=lambda u: u.starts_at)
        for u in spans:
            if lo is None or hi is None or u.starts_at < lo or u.ends_at > hi:
                raise ValueError(
                    f"the unavailable period {u.starts_at:%Y-%m-%d %H:%M}–"
                    f"{u.ends_at:%Y-%m-%d %H:%M} must lie inside the resource's period"
                )
        for a, b in zip(spans, spans[1:], strict=False):
            if b.starts_at < a.ends_at:
                raise ValueError(
                    f"unavailable periods overlap ({a.starts_at:%Y-%m-%d}–{a.ends_at:%Y-%m-%d} "
                    f"and {b.starts_at:%Y-%m-%d}–{b.ends_at:%Y-%m-%d})"
                )
        return self

    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The period as half-open UTC datetimes [first day, day after the last), each day
        beginning at ``day_start_hour`` UTC (:func:`period_bounds`)."""
        return period_bounds(
            self.period_start, self.period_end, self.day_start_hour, self.time_zone
        )

    def grid(self) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
        """Every slot of the period as UTC ``[start, end)`` (``optim.wallclock.grid``: the
        grid the schedule books); empty when the resource is not slot-based."""
        lo, hi = self.bounds()
        if self.slot_hours is None or lo is None or hi is None or self.period_start is None:
            return ()
        wall0 = period_wall_start(self.period_start, self.day_start_hour)
        return wallclock.grid(lo, hi, self.slot_hours, self.time_zone, wall0)

    def available_hours(self) -> float:
        lo, hi = self.bounds()
        if lo is None or hi is None:
            return 0.0
        down = sum((u.ends_at - u.starts_at).total_seconds() for u in self.unavailable)
        return ((hi - lo).total_seconds() - down) / 3600

    def slot_capacity(self, since: dt.datetime | None = None) -> int | None:
        """How many slots of the period's grid are free: the slots follow one another
        from the first day at ``day_start_hour`` UTC, every ``slot_hours``, and a slot that overlaps an
        unavailable period is lost (it does not move to start when the period ends).
        This is the grid the schedule books (``optim.slots.slot_grid``), so a capacity
        that fits here can always be placed. Given ``since`` (now), only the slots that
        begin at or after it count: a slot that has begun is never booked."""
        if self.slot_hours is None:
            return None
        if self.time_zone:
            # local wall-clock slots differ in length on the nights the clocks change:
            # counted on the grid itself, one pass over the slots and the (sorted,
            # non-overlapping) unavailable periods together
            down = sorted((u.starts_at, u.ends_at) for u in self.unavailable)
            after = None if since is None else _utc(since)
            free, i = 0, 0
            for t0, t1 in self.grid():
                while i < len(down) and down[i][1] <= t0:
                    i += 1  # ended before this slot: before every later one too
                off = i < len(down) and down[i][0] < t1
                if not off and (after is None or t0 >= after):
                    free += 1
            return free
        lo, hi = self.bounds()
        assert lo is not None and hi is not None
        step = dt.timedelta(hours=self.slot_hours)
        n = (hi - lo) // step
        # the first slot not begun by ``since`` (every slot before it is gone)
        start = 0 if since is None or since <= lo else min(-((lo - _utc(since)) // step), n)
        lost, upto = 0, start  # slots lost so far; the first slot not yet counted
        for u in sorted(self.unavailable, key=lambda u: u.starts_at):
            first = max((u.starts_at - lo) // step, upto)  # the slot holding the start
            end = min(-((lo - u.ends_at) // step), n)  # past the last slot begun before the end
            lost += max(end - first, 0)
            upto = max(upto, end)
        return n - start - lost


def _value_error(exc: ValidationError, field: str) -> DomainError:
    where, msg = first_error(exc)
    return DomainError.composed(
        f"{where}: {msg}" if where else msg[:1].upper() + msg[1:] + ".", field=field
    )


def check_calendar(data: dict[str, Any]) -> Calendar:
    try:
        return Calendar.model_validate(data)
    except ValidationError as exc:
        raise _value_error(exc, "calendar") from exc


def require_whole(
    amount: float,
    unit: str,
    labels: dict[str, Any] | None = None,
    *,
    whole: bool = False,
    slot_based: bool = False,
) -> None:
    """Refuse a fractional ``amount`` (a capacity, an offer) of a resource counted in
    whole numbers: in slots (``slot_based``), or in a countable unit (built in, or
    declared ``whole`` by the operator). The one rule, wherever an amount is set."""
    if amount == int(amount):
        return
    if slot_based:
        raise DomainError(
            "A slot-based resource offers whole slots; %(amount)s is not a whole number.",
            field="amount",
            amount=number_param(amount),
        )
    if whole or countable(unit):
        raise DomainError(
            "A resource counted in %(unit)s offers whole units; %(amount)s is not a whole number.",
            field="amount",
            unit=unit_text(unit, labels),
            amount=number_param(amount),
        )


def check_amount(
    amount: float,
    calendar: Calendar,
    unit: str,
    labels: dict[str, Any] | None = None,
    *,
    whole: bool = False,
    short_before: tuple[float, int] | None = None,
    groups: int = 1,
) -> None:
    """The capacity a resource declares must fit its calendar (its free slots times the
    ``groups`` one slot holds); counted in a countable unit (built-in, or declared
    ``whole`` by the operator) it is whole.
    ``short_before``: the amount and the room of a resource that already did not fit (an
    item lost, its period kept although the calls hold more): an edit that neither raises
    the amount nor shrinks the room is not refused for it."""
    if not (math.isfinite(amount) and amount > 0):
        raise DomainError("A resource needs a positive amount of capacity.", field="amount")
    lo, hi = calendar.bounds()
    if calendar.slot_hours is not None and lo is not None and hi is not None:
        n = (hi - lo) // dt.timedelta(hours=calendar.slot_hours)
        if n > MAX_SLOTS:
            raise DomainError(
                "The period %(period)s holds %(n)s slots of %(h)s h; a resource has at most "
                "%(max)s slots: make the slots longer or the period shorter.",
                field="slot_hours",
                period=f"{calendar.period_start}–{calendar.period_end}",
                n=n,
                h=number_param(calendar.slot_hours),
                max=MAX_SLOTS,
            )
    cap = calendar.slot_capacity()
    require_whole(amount, unit, labels, whole=whole, slot_based=cap is not None)
    if cap is None:
        return
    if groups > 1 and amount > cap * groups:
        raise DomainError(
            "%(n)s places do not fit in the period %(period)s less its unavailable time: "
            "%(slots)s slots of %(h)s h, each shared by %(groups)s groups, hold at most "
            "%(cap)s.",
            field="amount",
            n=number_param(amount),
            period=f"{calendar.period_start}–{calendar.period_end}",
            slots=cap,
            h=number_param(calendar.slot_hours or 0),
            groups=groups,
            cap=cap * groups,
        )
    cap *= groups
    no_worse = short_before is not None and amount <= short_before[0] and cap >= short_before[1]
    if amount > cap and not no_worse:
        raise DomainError(
            "%(n)s slots of %(h)s h do not fit in the period %(period)s less its "
            "unavailable time: at most %(cap)s fit.",
            field="amount",
            n=number_param(amount),
            h=number_param(calendar.slot_hours or 0),
            period=f"{calendar.period_start}–{calendar.period_end}",
            cap=cap,
        )


# ---------------------------------------------------------------- request fields


class _FieldBase(_Doc):
    key: str = Field(pattern=FIELD_KEY_RE)
    labels: dict[str, str]
    required: bool = False
    help: dict[str, str] = Field(default_factory=dict)

    @field_validator("labels", "help")
    @classmethod
    def _langs(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = set(v) - set(LANGS)
        if unknown:
            raise ValueError(f"unknown language {sorted(unknown)[0]!r} (use en, zh, fr, es)")
        if any(len(t) > 500 for t in v.values()):
            raise ValueError("a label or help text has at most 500 characters")
        return {k: t.strip() for k, t in v.items() if t.strip()}

    @field_validator("labels")
    @classmethod
    def _english(cls, v: dict[str, str]) -> dict[str, str]:
        if not v.get("en"):
            raise ValueError("every field needs an English label")
        return v

    @field_validator("key")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if v in RESERVED_KEYS:
            raise ValueError(f"the key {v!r} is reserved ({', '.join(RESERVED_KEYS)})")
        return v

    def label(self, lang: str = "en") -> str:
        return self.labels.get(lang) or self.labels["en"]


class TextField(_FieldBase):
    type: Literal["text"]
    max_length: int = Field(default=500, ge=1, le=20000)


class NumberField(_FieldBase):
    type: Literal["number"]
    unit: str = Field(default="", max_length=40)
    min: float | None = None
    max: float | None = None
    integer: bool = False
    #: the key of another number field of the form this one may not be below (an area's
    #: north edge at least its south edge; a dose's maximum at least its minimum)
    at_least: str | None = Field(default=None, max_length=40)

    @model_validator(mode="after")
    def _range(self) -> NumberField:
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ValueError("the maximum must not be below the minimum")
        return self


class ChoiceField(_FieldBase):
    type: Literal["choice"]
    options: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=200
    )

    @field_validator("options")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("options must be distinct")
        return v


class DateRangeField(_FieldBase):
    type: Literal["date_range"]


class CoordinatesField(_FieldBase):
    type: Literal["coordinates"]


class TargetListField(_FieldBase):
    type: Literal["target_list"]
    max_items: int = Field(default=100, ge=1, le=1000)


class FileField(_FieldBase):
    type: Literal["file"]


RequestField = Annotated[
    TextField
    | NumberField
    | ChoiceField
    | DateRangeField
    | CoordinatesField
    | TargetListField
    | FileField,
    Field(discriminator="type"),
]


class RequestForm(_Doc):
    fields: list[RequestField] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _distinct(self) -> RequestForm:
        keys = [f.key for f in self.fields]
        dup = next((k for k in keys if keys.count(k) > 1), None)
        if dup:
            raise ValueError(f"two fields have the key {dup!r}")
        numbers = {f.key for f in self.fields if f.type == "number"}
        for f in self.fields:
            bound = getattr(f, "at_least", None)
            if bound is not None and (bound not in numbers or bound == f.key):
                raise ValueError(
                    f"{f.key}: at_least must name another number field of the form ({bound!r})"
                )
        return self


def check_request_fields(fields: list[Any]) -> list[dict[str, Any]]:
    """The declared request form, validated; returns the JSON to store."""
    if not isinstance(fields, list):
        raise DomainError("Request fields must be a list.", field="request_fields")
    try:
        form = RequestForm.model_validate({"fields": fields})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        where = ""
        if len(loc) >= 2 and loc[0] == "fields" and loc[1].isdecimal():
            where = f"field {int(loc[1]) + 1}"
            rest = [p for p in loc[2:] if p not in FIELD_TYPES]
            if rest:
                where += " " + ".".join(rest)
            where += ": "
        raise DomainError(
            "Request form %(where)s%(problem)s.",
            field="request_fields",
            where=where,
            problem=error_message(err),
        ) from exc
    # a number field without a bound by another field is stored as before there were any
    return [
        f.model_dump(
            mode="json", exclude={"at_least"} if getattr(f, "at_least", 0) is None else None
        )
        for f in form.fields
    ]


def parse_fields(stored: list[Any]) -> list[Any]:
    return RequestForm.model_validate({"fields": stored or []}).fields


class FieldProblem(DomainError):
    """A request detail is wrong: ``field`` is the detail key, the message names
    the field by its label."""


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        x = float(v)
    elif isinstance(v, str) and v.strip():
        try:
            x = float(v.strip().replace(",", "."))
        except ValueError:
            return None
    else:
        return None
    return x if math.isfinite(x) else None


def _date(v: Any) -> dt.date | None:
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return v if in_calendar(v) else None
    if isinstance(v, str):
        return calendar_date(v)
    return None


def _date_range(v: Any) -> tuple[dt.date, dt.date] | str:
    if not isinstance(v, list | tuple) or len(v) != 2:
        return "give a first and a last day (YYYY-MM-DD)"
    a, b = _date(v[0]), _date(v[1])
    if a is None or b is None:
        return "give dates as YYYY-MM-DD"
    if b < a:
        return "the last day must not be before the first day"
    return a, b


def _coordinates(v: Any) -> dict[str, float] | str:
    if not isinstance(v, dict):
        return "give a latitude and a longitude"
    lat, lon = _num(v.get("lat")), _num(v.get("lon"))
    if lat is None or lon is None:
        return "give a latitude and a longitude as numbers"
    if not -90 <= lat <= 90:
        return "the latitude must be between -90 and 90"
    if not -180 <= lon <= 180:
        return "the longitude must be between -180 and 180"
    return {"lat": lat, "lon": lon}


def _targets(v: Any, max_items: int) -> list[dict[str, Any]] | str:
    if not isinstance(v, list):
        return "give a list of targets"
    if len(v) > max_items:
        return f"at most {max_items} targets"
    out = []
    for i, t in enumerate(v):
        if isinstance(t, str):
            t = {"name": t}
        if not isinstance(t, dict) or not str(t.get("name", "")).strip():
            return f"target {i + 1} needs a name"
        name = str(t["name"]).strip()
        if len(name) > 200:
            return f"target {i + 1}: the name is longer than 200 characters"
        row: dict[str, Any] = {"name": name}
        for k, lo, hi in (("ra_deg", 0.0, 360.0), ("dec_deg", -90.0, 90.0)):
            if t.get(k) not in (None, ""):
                x = _num(t[k])
                if x is None or not lo <= x <= hi:
                    return f"target {i + 1}: {k} must be a number from {lo:g} to {hi:g}"
                row[k] = x
        extra = set(t) - {"name", "ra_deg", "dec_deg"}
        if extra:
            return f"target {i + 1}: unknown column {sorted(extra)[0]!r}"
        out.append(row)
    return out


def _check_field(f: Any, v: Any) -> Any:
    """One value against its declaration; returns the clean value or raises ValueError."""
    if f.type == "text":
        if not isinstance(v, str):
            raise ValueError("enter text")
        if len(v) > f.max_length:
            raise ValueError(f"at most {f.max_length} characters")
        return v
    if f.type == "number":
        x = _num(v)
        if x is None:
            raise ValueError("enter a number")
        if f.integer and x != int(x):
            raise ValueError("enter a whole number")
        if f.min is not None and x < f.min:
            raise ValueError(f"must be at least {plain_number(f.min)}")
        if f.max is not None and x > f.max:
            raise ValueError(f"must be at most {plain_number(f.max)}")
        return int(x) if f.integer else x
    if f.type == "choice":
        if v not in f.options:
            raise ValueError(f"choose one of: {', '.join(f.options)}")
        return v
    if f.type == "date_range":
        r = _date_range(v)
        if isinstance(r, str):
            raise ValueError(r)
        return [r[0].isoformat(), r[1].isoformat()]
    if f.type == "coordinates":
        c = _coordinates(v)
        if isinstance(c, str):
            raise ValueError(c)
        return c
    if f.type == "target_list":
        t = _targets(v, f.max_items)
        if isinstance(t, str):
            raise ValueError(t)
        if f.required and not t:
            raise ValueError("add at least one target")
        return t
    # file: the name of a file attached to the proposal
    if not isinstance(v, str) or len(v) > 255 or "/" in v or "\\" in v:
        raise ValueError("give the name of a file attached to the proposal")
    return v


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or v == [] or v == {}


def validate_details(
    stored_fields: list[Any],
    details: dict[str, Any],
    *,
    slot_based: bool,
    period: tuple[dt.date, dt.date] | None = None,
    lang: str = "en",
    whole: bool = False,
    unit: str | None = None,
    unit_labels: dict[str, Any] | None = None,
) -> tuple[float, dict[str, Any]]:
    """A request's details for a custom resource, judged against the resource's
    declared fields. Returns (amount, clean details); raises FieldProblem naming
    the first wrong field by its label (``field`` is the detail key). Given the
    resource's ``unit`` (and ``unit_labels``), a fractional amount is refused naming
    the amount and the unit ("1.5 is not a whole number of days"), the unit a message
    parameter said in the reader's language."""
    if not isinstance(details, dict):
        raise FieldProblem("The request details must be an object.", field="details")
    fields = parse_fields(stored_fields)
    known = {f.key for f in fields} | set(RESERVED_KEYS)
    unknown = sorted(set(details) - known)
    if unknown:
        raise FieldProblem(
            f"This resource's request form has no field {unknown[0]!r}.", field=unknown[0]
        )
    clean: dict[str, Any] = {}
    amount = _num(details.get("amount"))
    if amount is None or amount <= 0:
        raise FieldProblem(
            "Amount: enter a positive number of slots."
            if slot_based
            else "Amount: enter a positive number.",
            field="amount",
        )
    if (slot_based or whole) and amount != int(amount) and unit:
        raise FieldProblem(
            "Amount: %(amount)s is not a whole number of %(unit)s.",
            field="amount",
            amount=number_param(amount),
            unit=unit_text(unit, unit_labels),
        )
    if slot_based and amount != int(amount):
        raise FieldProblem("Amount: enter a whole number of slots.", field="amount")
    if whole and amount != int(amount):
        raise FieldProblem("Amount: enter a whole number.", field="amount")
    clean["amount"] = int(amount) if slot_based or whole else amount
    for f in fields:
        v = details.get(f.key)
        if isinstance(v, str):
            v = v.strip()
        if _empty(v):
            if f.required:
                raise FieldProblem(f"{f.label(lang)}: this field is required.", field=f.key)
            continue
        try:
            clean[f.key] = _check_field(f, v)
        except ValueError as exc:
            raise FieldProblem(f"{f.label(lang)}: {exc}.", field=f.key) from exc
    by_key = {f.key: f for f in fields}
    for f in fields:  # a number bounded by another of the request (trialfac24b)
        bound = getattr(f, "at_least", None)
        if bound and f.key in clean and bound in clean and clean[f.key] < clean[bound]:
            raise FieldProblem(
                "%(label)s: must not be below %(other)s (%(value)s).",
                field=f.key,
                label=f.label(lang),
                other=by_key[bound].label(lang),
                value=number_param(clean[bound]),
            )
    raw = details.get("impossible_dates")
    if not _empty(raw):
        if not slot_based:
            raise FieldProblem(
                "Impossible dates apply to resources offered in slots only.",
                field="impossible_dates",
            )
        if not isinstance(raw, list) or len(raw) > 100:
            raise FieldProblem(
                "Impossible dates: give a list of [first day, last day] ranges (at most 100).",
                field="impossible_dates",
            )
        ranges = []
        for i, r in enumerate(raw):
            got = _date_range(r)
            if isinstance(got, str):
                raise FieldProblem(
                    f"Impossible dates, range {i + 1}: {got}.", field="impossible_dates"
                )
            if period and (got[1] < period[0] or got[0] > period[1]):
                raise FieldProblem(
                    f"Impossible dates, range {i + 1}: outside the resource's period "
                    f"{period[0]}–{period[1]}.",
                    field="impossible_dates",
                )
            ranges.append([got[0].isoformat(), got[1].isoformat()])
        clean["impossible_dates"] = ranges
    together = details.get("bundle_together")
    if together is not None:
        if not isinstance(together, bool):
            raise FieldProblem(
                "Schedule the bundle close together: answer true or false.",
                field="bundle_together",
            )
        clean["bundle_together"] = together
    same_time = details.get("bundle_same_time")
    if same_time is not None:
        if not isinstance(same_time, bool):
            raise FieldProblem(
                "Schedule the bundle at the same times on every resource: answer true or false.",
                field="bundle_same_time",
            )
        if same_time and not slot_based:
            raise FieldProblem(
                "Same times on every resource apply to resources offered in slots only.",
                field="bundle_same_time",
            )
        clean["bundle_same_time"] = same_time
    return float(clean["amount"]), clean


BUNDLE_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


def check_bundle_key(key: str) -> None:
    if not BUNDLE_KEY_RE.fullmatch(key):
        raise DomainError(
            "A bundle name uses letters, digits, '.', '_' and '-' (at most 40).",
            field="bundle",
        )


def check_bundled_request(key: str, pool_id: int | None, offered: Container[int]) -> None:
    """One request of the bundle ``key``: a well-formed key, on a resource its call
    offers (``offered``: the pool ids)."""
    check_bundle_key(key)
    if pool_id is not None and pool_id not in offered:
        raise DomainError(
            "Bundle %(key)s refers to a resource this call does not offer.",
            field="bundle",
            key=repr(key),
        )


def check_bundles(requests: list[tuple[str | None, int | None, set[int]]]) -> None:
    """All-or-nothing bundles of one proposal: ``requests`` holds (bundle key,
    pool id, pool ids the call offers) per request. A bundle has at least two
    requests, each on a resource its call offers."""
    sizes: dict[str, int] = {}
    for key, pool_id, offered in requests:
        if key is None:
            continue
        check_bundled_request(key, pool_id, offered)
        sizes[key] = sizes.get(key, 0) + 1
    for key, n in sizes.items():
        if n < 2:
            raise DomainError(
                "Bundle %(key)s has one request; an all-or-nothing bundle needs at least "
                "two requests of the same proposal.",
                field="bundle",
                key=repr(key),
            )


#: built-in units that are a length of time themselves: a slot of a resource counted in
#: one of them is that long (one hour, one day), or every figure would count slots as units
TIME_UNIT_HOURS = {"h": 1.0, "day": 24.0}


def check_unit_slot(unit: str, slot_hours: Any) -> None:
    """A resource counted in hours or days whose slots are of another length is refused:
    its capacity, requests and awards count slots, so "8 hours" of 4-hour slots would be 32
    hours. Such a resource counts a slot as one ``shift``, one ``session`` or a unit the
    operator names."""
    length = TIME_UNIT_HOURS.get(UNIT_ALIASES.get(unit, unit))
    if length is None or slot_hours in (None, ""):
        return
    try:
        hours = float(slot_hours)
    except (TypeError, ValueError):
        return  # the calendar's own check names a slot length that is not a number
    if math.isfinite(hours) and hours != length:
        raise DomainError(
            "A resource counted in %(unit)s offers slots of %(length)s h, and its slots "
            "here are %(h)s h long: each slot would count as one of its %(unit)s. Count it "
            "in shifts or sessions (or a unit you name) instead, or give slots of "
            "%(length)s h.",
            field="slot_hours",
            unit=unit_text(unit, None),
            length=number_param(length),
            h=number_param(hours),
        )


def _whole_in(value: Any, lo: int, hi: int, empty: int, refusal: DomainError) -> int:
    """``value`` as a whole number from ``lo`` to ``hi`` (a number, not a bool or a
    string; ``empty`` when None or ""), else ``refusal`` raised."""
    if value is None or value == "":
        return empty
    n = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if n is None or not math.isfinite(n) or n < lo or n != int(n) or n > hi:
        raise refusal
    return int(n)


def check_changeover(value: Any, slot_hours: float | None) -> int:
    """The slots a resource keeps free between bookings of different proposals: a whole
    number from 0 to :data:`MAX_CHANGEOVER`, and above 0 only on a resource offered in
    slots (empty: 0)."""
    asked = str(value)
    n = _whole_in(
        value,
        0,
        MAX_CHANGEOVER,
        0,
        DomainError(
            "The changeover is a whole number of slots from 0 to %(max)s (asked: %(asked)s).",
            field="changeover_slots",
            max=MAX_CHANGEOVER,
            asked=asked,
        ),
    )
    if n and slot_hours is None:
        raise DomainError(
            "Only a resource offered in slots keeps a changeover between bookings; give "
            "it a slot length first.",
            field="changeover_slots",
        )
    return int(n)


#: the most groups one slot of a shared-use resource holds (a course session of 200)
MAX_GROUPS_PER_SLOT = 1000


def check_groups_per_slot(value: Any, slot_hours: float | None, changeover: int) -> int:
    """How many groups one slot holds: a whole number from 1 to
    :data:`MAX_GROUPS_PER_SLOT` (empty: 1), above 1 only on a resource offered in slots
    and without a changeover (between groups who share a slot it means nothing)."""
    refusal = DomainError(
        "The groups one slot holds are a whole number from 1 to %(max)s (asked: %(asked)s).",
        field="groups_per_slot",
        max=MAX_GROUPS_PER_SLOT,
        asked=str(value),
    )
    n = _whole_in(value, 1, MAX_GROUPS_PER_SLOT, 1, refusal)
    if n > 1 and slot_hours is None:
        raise DomainError(
            "Only a resource offered in slots shares a slot among groups; give it a slot "
            "length first.",
            field="groups_per_slot",
        )
    if n > 1 and changeover:
        raise DomainError(
            "A slot shared among groups keeps no changeover between them; set the "
            "changeover to 0 or the groups per slot to 1.",
            field="groups_per_slot",
        )
    return n


def check_unbroken(value: Any, slot_hours: float | None) -> bool:
    """Whether every award on a resource is booked as one unbroken run of slots: true or
    false (empty: false), and true only on a resource offered in slots."""
    if value in (None, "") or value is False:
        return False
    why = (
        None
        if value is True and slot_hours is not None
        else DomainError(
            "Unbroken runs is true or false (asked: %(asked)s).", field="unbroken", asked=str(value)
        )
        if value is not True
        else DomainError(
            "Only a resource offered in slots books its awards in unbroken runs; give it a "
            "slot length first.",
            field="unbroken",
        )
    )
    if why is not None:
        raise why
    return True


MAX_LEAD_DAYS = 3660  # a lead time of ten years is surely a typing error


def check_country_rules(value: Any, known: Container[str]) -> dict[str, Any]:
    """Who a resource may go to, by the PI's country (ISO 3166 alpha-3 codes of
    ``known``): ``barred``, the countries it cannot go to (an export permit or an entry
    visa refused), and ``lead_days``, the whole days a team of a country needs between the
    allocation and the resource's first day (a permit's or a visa's lead time; the key
    ``"*"`` for every country not named). Codes are kept upper-case and sorted; an empty
    document (or None) is no rule."""
    if value is None:
        return {}
    if not isinstance(value, dict) or set(value) - {"barred", "lead_days", "country_field"}:
        raise DomainError(
            "The rules by country are an object with barred (a list of country codes) and "
            "lead_days (days by country code, * for the others).",
            field="country_rules",
        )
    barred_in = value.get("barred") or []
    leads_in = value.get("lead_days") or {}
    country_field = value.get("country_field") or ""
    if (
        not isinstance(barred_in, list)
        or not isinstance(leads_in, dict)
        or not isinstance(country_field, str)
    ):
        raise DomainError(
            "The rules by country are an object with barred (a list of country codes) and "
            "lead_days (days by country code, * for the others).",
            field="country_rules",
        )

    def code(c: Any) -> str:
        iso3 = str(c).strip().upper()
        if iso3 not in known:
            raise DomainError(
                "Unknown country code %(country_code)s in the rules by country (ISO 3166 alpha-3, "
                "such as KEN).",
                field="country_rules",
                country_code=repr(str(c)[:20]),
            )
        return iso3

    barred = sorted({code(c) for c in barred_in})
    leads: dict[str, int] = {}
    for key, days in leads_in.items():
        iso3 = "*" if key == "*" else code(key)
        n = days if isinstance(days, (int, float)) and not isinstance(days, bool) else None
        if n is None or not math.isfinite(n) or n < 0 or n != int(n) or n > MAX_LEAD_DAYS:
            raise DomainError(
                "A lead time is a whole number of days from 0 to %(max)s (%(country_code)s: %(asked)s).",
                field="country_rules",
                max=MAX_LEAD_DAYS,
                country_code=iso3,
                asked=str(days)[:20],
            )
        if iso3 in barred:
            raise DomainError(
                "%(country_code)s is both barred and given a lead time in the rules by country.",
                field="country_rules",
                country_code=iso3,
            )
        leads[iso3] = int(n)
    out: dict[str, Any] = {}
    if barred:
        out["barred"] = barred
    if leads:
        out["lead_days"] = dict(sorted(leads.items()))
    if country_field and out:
        out["country_field"] = country_field.strip()
    return out


def check_country_field(rules: dict[str, Any], request_fields: Sequence[Mapping[str, Any]]) -> None:
    """The ``country_field`` of a resource's rules by country names one of its request
    fields, a ``choice`` whose options are country codes (a seed sample's destination):
    the rules then read the country each request gives there, not the PI's."""
    key = rules.get("country_field")
    if not key:
        return
    spec = next((f for f in request_fields if f.get("key") == key), None)
    if spec is None or spec.get("type") != "choice" or not spec.get("required"):
        raise DomainError(
            "The rules by country read the field %(field_key)s, which must be one of the "
            "resource's request fields, a required choice of country codes.",
            field="country_rules",
            field_key=repr(str(key)[:40]),
        )


def rules_country(
    rules: dict[str, Any] | None, details: Mapping[str, Any], pi_country: str | None
) -> tuple[str | None, bool]:
    """The country a request's rules by country read: the value of its ``country_field``
    (the destination it ships to; None when not given) when the rules name one, else the
    PI's; and whether it is a destination (True) or the PI's country (False)."""
    key = (rules or {}).get("country_field")
    if not key:
        return pi_country, False
    value = details.get(key)
    return (str(value).strip().upper() or None) if value else None, True


def country_rule(rules: dict[str, Any] | None, country: str | None) -> tuple[bool, int]:
    """What a resource's rules by country (:func:`check_country_rules`) ask of a team of
    ``country``: whether it is barred, and the days it needs before the first day. A
    team whose PI has no country is barred when any country is, and needs the lead time
    of ``"*"`` (the rules cannot be shown to hold for it)."""
    rules = rules or {}
    barred = rules.get("barred") or []
    leads = rules.get("lead_days") or {}
    if country is None or not country:
        return bool(barred), int(leads.get("*", 0))
    return country in barred, int(leads.get(country, leads.get("*", 0)))


def outside_periods(
    spans: list[tuple[dt.datetime, dt.datetime]],
    existing: list[tuple[dt.datetime, dt.datetime]],
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The parts of ``spans`` (half-open) that no ``existing`` period covers, in order: a
    span inside one is dropped, one overlapping one keeps the rest (one or two pieces).
    A recurring closure given after a maintenance week (every Sunday, one of them in that
    week) adds the Sundays that are not unavailable already (trialfac15: before, the
    whole rule was refused as overlapping)."""
    cuts = sorted(existing)
    return [piece for span in spans for piece in intervals.subtract([span], cuts)]


# ---- recurring unavailable periods: an RFC 5545 RRULE (python-dateutil) on the site's clock

MAX_RULE_PERIODS = 5000  # the most unavailable periods one rule may expand to
_FINE_FREQ = re.compile(r"FREQ\s*=\s*(SECONDLY|MINUTELY)", re.IGNORECASE)


def expand_rule(
    rule: str,
    start_time: dt.time,
    hours: float,
    *,
    period_start: dt.date | None,
    period_end: dt.date | None,
    day_start_hour: float | None,
    time_zone: str,
    limit: int = MAX_RULE_PERIODS,
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The UTC spans ``[start, end)`` of a recurring unavailable period over the
    resource's period: each occurrence of ``rule`` (an RRULE such as
    ``FREQ=WEEKLY;BYDAY=SA,SU``, counted from the period's first day) begins at
    ``start_time`` on the site's wall clock (``time_zone``; UTC when empty) and lasts
    ``hours`` of that wall clock, so a 08:00 start stays 08:00 local across daylight
    saving changes. Occurrences are clipped to the period; a bad rule, one finer than
    hourly, or one that gives more than ``limit`` periods raises DomainError."""
    from dateutil.rrule import rrule, rrulestr  # python-dateutil (icalendar needs it too)

    lo, hi = period_bounds(period_start, period_end, day_start_hour or 0.0, time_zone)
    if lo is None or hi is None or period_start is None or period_end is None:
        raise DomainError(
            "A recurring unavailable period needs the resource's period.", field="rule"
        )
    if not (math.isfinite(hours) and 0 < hours <= 24 * 366):
        raise DomainError(
            "The duration of a recurring unavailable period must be more than 0 and at most %(limit)s hours.",
            field="hours",
            limit=24 * 366,
        )
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    bad = DomainError(
        "%(rule)s is not a recurrence rule: give one such as FREQ=WEEKLY;BYDAY=SA,SU.",
        field="rule",
        rule=rule[:200],
    )
    if not text or len(text) > 500 or "\n" in text or ":" in text or "DTSTART" in text.upper():
        raise bad
    if _FINE_FREQ.search(text):
        raise DomainError("A recurrence rule may repeat at most hourly.", field="rule")
    first = dt.datetime.combine(period_start, start_time)
    last = dt.datetime.combine(period_end + dt.timedelta(days=1), dt.time()) + dt.timedelta(days=1)
    try:
        parsed = rrulestr(text, dtstart=first)
    except (ValueError, TypeError, KeyError, IndexError):
        raise bad from None
    if not isinstance(parsed, rrule):
        raise bad
    length = dt.timedelta(hours=hours)
    out: list[tuple[dt.datetime, dt.datetime]] = []
    for wall in parsed:
        if wall >= last:
            break
        t0 = wallclock.local_instant(wall, time_zone)
        t1 = wallclock.local_instant(wall + length, time_zone)
        t0, t1 = max(t0, lo), min(t1, hi)
        if t0 >= t1:
            continue
        if len(out) >= limit:
            raise DomainError(
                "The rule gives more than %(limit)s unavailable periods in the resource's period.",
                field="rule",
                limit=limit,
            )
        out.append((t0, t1))
    return out
