"""The operator's pages for a facility of a kind no preset has: its resources,
each with a unit of capacity (built-in or named, with labels in every UI
language), a calendar (period, slot length, unavailable periods with reasons)
and a request form declared field by field. Plain forms (no script needed);
each refusal is shown beside its field and changes nothing."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from opencall.facilities import policies, services
from opencall.facilities.domain import (
    BUILTIN_UNITS,
    FIELD_TYPES,
    LANGS,
    RECORD_KINDS,
    period_bounds,
    unit_label,
)
from opencall.facilities.labels import RECORD_KIND_LABELS, unavailable_reason
from opencall.facilities.models import CapacityPool, Facility
from opencall.facilities.queries import pools_of
from opencall.inputs import calendar_date, finite_number, plain_number, shown, whole_number
from opencall.web.forms import MSG_NUMBER, MSG_REQUIRED
from opencall.web.i18n import N_
from opencall.web.labels import labeller
from opencall.web.pages import MAX_ID, Page, Refusal, get_page

router = APIRouter()

MSG_DATE = N_("Enter a date as YYYY-MM-DD.")
# the service's refusal of a resource of another facility (services._check_bundle_with)
MSG_NOT_OURS = N_("Resource %(id)s is not a resource of this facility.")
MSG_TIME = N_("Enter a time as HH:MM.")
MSG_HOURS = N_("Enter a number of hours.")
OWN_UNIT = "own"
# refusals composed in English by facilities.domain/services and the calls and
# proposals services, shown translated through these templates
SERVICE_MESSAGES = (
    N_("%(label)s: this field is required."),
    N_("%(label)s: must be at most %(limit)s."),
    N_("%(label)s: must be at least %(limit)s."),
    N_("%(label)s: enter a number."),
    N_("%(label)s: enter a whole number."),
    N_("%(label)s: choose one of: %(options)s."),
    N_("Amount: enter a whole number of slots."),
    N_("Amount: %(amount)s is not a whole number of %(unit)s."),
    N_("Amount: enter a whole number."),
    N_("Unavailable periods overlap (%(spans)s)."),
    N_(
        "Unknown unit %(unit)s: use one of %(units)s, or name your own unit with its "
        "labels in English, Chinese, French and Spanish."
    ),
    N_(
        "%(n)s slots of %(h)s h do not fit in the period %(period)s less its unavailable "
        "time: at most %(cap)s fit."
    ),
    N_(
        "%(n)s slots of %(h)s h do not fit in the period %(period)s less its unavailable "
        "time with this closure: at most %(cap)s fit. Add the closure with the amount "
        "lowered to %(cap)s (“Lower the amount to the slots that remain”; "
        "lower_amount in the API)."
    ),
    N_(
        "Resource %(name)s has %(amount)s; other calls already offer %(committed)s, so this "
        "call can offer at most %(left)s (asked: %(asked)s)."
    ),
    N_(
        "Calls already offer %(committed)s of %(name)s; its amount cannot go below that "
        "(asked: %(asked)s)."
    ),
    N_("An all-or-nothing bundle needs at least two requests of this proposal."),
    N_(
        "Resource %(name)s has nothing left to offer: other calls already offer all its %(amount)s."
    ),
)
FIELD_TYPE_LABELS = {
    "text": N_("Text"),
    "number": N_("Number"),
    "choice": N_("Choice"),
    "date_range": N_("Date range"),
    "coordinates": N_("Coordinates"),
    "target_list": N_("Target list"),
    "file": N_("File"),
}
# where a service's refusal is shown on the resource form
ERROR_INPUT = {
    "unit_labels": "labels",
    "whole_units": "labels",  # shown under the checkbox
    "calendar": "calendar",
    "kind": "form",
    "pool_type": "form",
}


def _manageable(page: Page, facility: Facility) -> None:
    if not policies.may_manage_provider(page.db, page.user, facility.provider):
        page.not_found()


def _facility(page: Page, facility_id: int) -> Facility:
    page.require_user()
    fac = page.db.get(Facility, facility_id)
    if fac is None:
        page.not_found()
    _manageable(page, fac)
    return fac


def _resource(page: Page, pool_id: int) -> CapacityPool:
    page.require_user()
    pool = page.db.get(CapacityPool, pool_id)
    if pool is None:
        page.not_found()
    _manageable(page, pool.facility)
    return pool


def _unit_options(page: Page) -> list[tuple[str, str]]:
    opts = [(k, unit_label(k, {}, None, page.lang)) for k in BUILTIN_UNITS]
    return [*opts, (OWN_UNIT, page._("A unit of your own (labels below)"))]


def _date(raw: str) -> dt.date | None:
    return calendar_date(raw)


def _render(page: Page, template: str, status: int, **context: Any) -> Response:
    """One of the pages of a facility and its resources: ``context`` with what every one
    of them shows, the units' labels and choices and the request-field types'."""
    return page.render(
        template,
        {
            **context,
            "unit_options": _unit_options(page),
            "unit_of": lambda pool, amount=None: unit_label(
                pool.unit, pool.unit_labels, amount, page.lang
            ),
            "field_type_label": labeller(page, FIELD_TYPE_LABELS),
            "langs": LANGS,
        },
        status=status,
    )


# ---------------------------------------------------------------- the facility page


def facility_page(page: Page, fac: Facility, status: int = 200, **extra: Any) -> Response:
    return _render(
        page,
        "manage/facility.html",
        status,
        facility=fac,
        pools=pools_of(page.db, fac.id),
        # the way to a call for this facility, the facility chosen there
        may_create_calls=policies.may_create_calls(page.db, page.user, fac.provider),
        form=extra.get("form", {}),
        errors=extra.get("errors", {}),
    )


@router.get("/manage/facilities/{facility_id}", response_class=HTMLResponse)
def facility(facility_id: int, page: Page = Depends(get_page)) -> Response:
    return facility_page(page, _facility(page, facility_id))


def parse_resource_form(page: Page, f: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The resource form's values as service arguments, and the errors found on the way."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"name": f.get("name", "").strip()[:200]}
    if not values["name"]:
        errors["name"] = page._(MSG_REQUIRED)
    unit = f.get("unit", "").strip()
    own = {
        lg: {"one": f.get(f"label_{lg}_one", "").strip(), "other": f.get(f"label_{lg}_other", "")}
        for lg in LANGS
    }
    any_label = any(v["one"] or v["other"].strip() for v in own.values())
    if unit == OWN_UNIT:
        unit = f.get("unit_key", "").strip()[:40]
        if not unit:
            errors["unit_key"] = page._(MSG_REQUIRED)
    if not unit:
        errors.setdefault("unit", page._(MSG_REQUIRED))
    values["unit"] = unit
    values["unit_labels"] = own if any_label or f.get("unit") == OWN_UNIT else None
    values["whole_units"] = f.get("whole_units", "") in ("on", "1", "true")
    values["unbroken"] = f.get("unbroken", "") in ("on", "1", "true")
    occupied = f.get("usage_occupied", "") in ("on", "1", "true")
    values["usage_kind"] = "occupied" if occupied else "consumed"
    amount = finite_number(f.get("amount", ""))
    if amount is None:
        errors["amount"] = page._(MSG_NUMBER)
    values["amount"] = amount or 0.0
    # the optional fields: parsed when given, their value when left empty
    optional: tuple[tuple[str, Callable[[str], Any], Any, str], ...] = (
        ("period_start", _date, None, MSG_DATE),
        ("period_end", _date, None, MSG_DATE),
        ("slot_hours", finite_number, None, MSG_NUMBER),
        ("day_start_hour", finite_number, 0.0, MSG_NUMBER),
        ("changeover_slots", finite_number, 0, MSG_NUMBER),
        ("groups_per_slot", finite_number, 1, MSG_NUMBER),
    )
    for k, parse, empty, msg in optional:
        raw = f.get(k, "").strip()
        values[k] = parse(raw) if raw else empty
        if raw and values[k] is None:
            errors[k] = page._(msg)
    values["time_zone"] = f.get("time_zone", "").strip()  # checked by the service
    values["exclusive_group"] = f.get("exclusive_group", "").strip()  # checked there too
    return values, errors


def _refusal(refused: Refusal, errors: dict[str, str]) -> None:
    name = ERROR_INPUT.get(refused.field or "", refused.field or "form")
    errors[name] = refused.message


@router.post("/manage/facilities/{facility_id}/resources", response_class=HTMLResponse)
def add_resource(facility_id: int, page: Page = Depends(get_page)) -> Response:
    fac = _facility(page, facility_id)
    values, errors = parse_resource_form(page, page.form)
    if not errors:
        with page.attempt() as refused:
            pool = services.create_resource(page.db, fac, actor_id=page.user.id, **values)
        if not refused:
            return page.redirect(f"/manage/resources/{pool.id}", "saved")
        _refusal(refused, errors)
    return facility_page(page, fac, 400, form=page.form, errors=errors)


# ---------------------------------------------------------------- the resource page


def _resource_form(pool: CapacityPool) -> dict[str, str]:
    builtin = pool.unit in BUILTIN_UNITS and not pool.unit_labels
    form = {
        "name": pool.name,
        "unit": pool.unit if builtin else OWN_UNIT,
        "unit_key": "" if builtin else pool.unit,
        "whole_units": "on" if pool.whole_units else "",
        "amount": plain_number(pool.amount),
        "period_start": pool.period_start.isoformat() if pool.period_start else "",
        "period_end": pool.period_end.isoformat() if pool.period_end else "",
        "slot_hours": plain_number(pool.slot_hours) if pool.slot_hours is not None else "",
        "day_start_hour": plain_number(pool.day_start_hour) if pool.day_start_hour else "",
        "time_zone": pool.time_zone or "",
        "changeover_slots": str(pool.changeover_slots) if pool.changeover_slots else "",
        "groups_per_slot": str(pool.groups_per_slot) if (pool.groups_per_slot or 1) > 1 else "",
        "unbroken": "on" if pool.unbroken else "",
        "exclusive_group": pool.exclusive_group or "",
        "usage_occupied": "on" if pool.usage_kind == "occupied" else "",
    }
    for lg, forms in (pool.unit_labels or {}).items():
        for k in ("one", "other"):
            form[f"label_{lg}_{k}"] = str(forms.get(k, ""))
    for other in pool.bundle_with or []:
        form[f"bundle_with_{other}"] = "on"
    for kind in pool.record_kinds or []:
        form[f"record_kind_{kind}"] = "on"
    rules = pool.country_rules or {}
    form["country_barred"] = ", ".join(rules.get("barred") or [])
    form["country_lead_days"] = "\n".join(
        f"{c} {d}" for c, d in (rules.get("lead_days") or {}).items()
    )
    form["country_field"] = str(rules.get("country_field") or "")
    return form


_LIST_SEP = re.compile(r"[,;\s]+")


def _country_rules_of_form(page: Page, f: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """The edit page's rules by country as the API takes them (``country_rules``): the
    countries it cannot go to (codes separated by commas or spaces) and the lead times,
    one ``CODE DAYS`` a line or between commas (``*`` for every other country). The codes
    and the days are checked by the service (``check_country_rules``); a lead time that
    is not a code and a number is refused here."""
    barred = [c for c in _LIST_SEP.split(f.get("country_barred", "")) if c]
    leads: dict[str, Any] = {}
    for entry in re.split(r"[,;\n]+", f.get("country_lead_days", "")):
        parts = [x for x in re.split(r"[\s:=]+", entry) if x]
        if not parts:
            continue
        if len(parts) != 2:
            errors["country_lead_days"] = page._(
                "Write each lead time as a country code and a number of days, such as "
                "NPL 70 (* 7 for every other country)."
            )
            continue
        days = finite_number(parts[1])
        # not a number: passed as given, the service names it in its refusal
        leads[parts[0]] = parts[1] if days is None else days
    out: dict[str, Any] = {}
    if barred:
        out["barred"] = barred
    if leads:
        out["lead_days"] = leads
    country_field = f.get("country_field", "").strip()
    if country_field:
        out["country_field"] = country_field
    return out


def _record_kind_options(page: Page) -> list[tuple[str, str]]:
    return [(k, page._(RECORD_KIND_LABELS[k])) for k in RECORD_KINDS]


def resource_page(page: Page, pool: CapacityPool, status: int = 200, **extra: Any) -> Response:
    return _render(
        page,
        "manage/resource.html",
        status,
        pool=pool,
        facility=pool.facility,
        committed=services.committed_amount(page.db, pool),
        slot_capacity=services.slot_capacity(pool),
        slots_not_begun=services.slots_not_begun(pool),
        # the resources sharing its instrument, never in use at once (trialfac21b)
        instrument_siblings=services.instrument_siblings(page.db, pool),
        type_options=[(k, page._(FIELD_TYPE_LABELS[k])) for k in FIELD_TYPES],
        clashes=services.schedule_clashes(
            page.db,
            pool,
            [(u.starts_at, u.ends_at) for u in pool.unavailable],
            viewer=page.user,
        ),
        changeover_clashes=services.changeover_clashes(page.db, pool, viewer=page.user),
        bundle_with=[
            o.name for o in pools_of(page.db, pool.facility.id) if o.id in (pool.bundle_with or [])
        ],
        record_kinds=[page._(RECORD_KIND_LABELS[k]) for k in pool.record_kinds or []],
        unavailable_reason=lambda u: unavailable_reason(u, page._),
        uform=extra.get("uform", {}),
        uerrors=extra.get("uerrors", {}),
        rform=extra.get("rform", {}),
        rerrors=extra.get("rerrors", {}),
        fform=extra.get("fform", {}),
        ferrors=extra.get("ferrors", {}),
    )


@router.get("/manage/resources/{pool_id}", response_class=HTMLResponse)
def resource(pool_id: int, page: Page = Depends(get_page)) -> Response:
    return resource_page(page, _resource(page, pool_id))


def edit_page(page: Page, pool: CapacityPool, status: int = 200, **extra: Any) -> Response:
    return _render(
        page,
        "manage/resource_edit.html",
        status,
        pool=pool,
        facility=pool.facility,
        form=extra.get("form") or _resource_form(pool),
        errors=extra.get("errors", {}),
        others=[o for o in pools_of(page.db, pool.facility.id) if o.id != pool.id],
        record_kind_options=_record_kind_options(page),
    )


@router.get("/manage/resources/{pool_id}/edit", response_class=HTMLResponse)
def edit_resource_form(pool_id: int, page: Page = Depends(get_page)) -> Response:
    return edit_page(page, _resource(page, pool_id))


@router.post("/manage/resources/{pool_id}", response_class=HTMLResponse)
def edit_resource(pool_id: int, page: Page = Depends(get_page)) -> Response:
    pool = _resource(page, pool_id)
    values, errors = parse_resource_form(page, page.form)
    # the compulsory bundle: the other resources ticked on the edit page
    values["bundle_with"] = _bundle_of_form(page, errors)
    # what is recorded after the award: the kinds ticked (none: what the unit implies)
    values["record_kinds"] = [k for k in RECORD_KINDS if page.form.get(f"record_kind_{k}")]
    # the rules by the PI's country (checked by the service, as the API's)
    values["country_rules"] = _country_rules_of_form(page, page.form, errors)
    if not errors:
        with page.attempt() as refused:
            services.update_resource(page.db, pool, actor_id=page.user.id, **values)
        if not refused:
            return page.redirect(f"/manage/resources/{pool.id}", "saved")
        _refusal(refused, errors)
        pool = _resource(page, pool_id)
    return edit_page(page, pool, 400, form=page.form, errors=errors)


def _bundle_of_form(page: Page, errors: dict[str, str]) -> list[int]:
    """The ids of the resources ticked on the edit page (``bundle_with_<id>``). A name whose
    id is no 32-bit whole number (5,000 digits, "²") was never offered: the service's own
    refusal, rather than ``int``'s ValueError or a key too large for PostgreSQL."""
    ids = []
    for key, ticked in page.form.items():
        if not (key.startswith("bundle_with_") and ticked):
            continue
        raw = key.removeprefix("bundle_with_")
        pool_id = whole_number(raw, most=MAX_ID)
        if pool_id is None:
            errors["bundle_with"] = page._(MSG_NOT_OURS) % {"id": shown(raw[:20])}
        else:
            ids.append(pool_id)
    return ids


def _add_periods(
    page: Page,
    pool: CapacityPool,
    add: Callable[..., Sequence[Any]],
    reason_field: str = "reason",
    **kwargs: Any,
) -> tuple[Response | None, Refusal]:
    """Run ``add`` (one unavailable period, or a rule's) as the page's user with the
    form's reason (its field ``reason_field``): the redirect to the resource's page when accepted (to the booked slots
    now inside unavailable time, accepted all the same: an outage is a fact), else
    ``None`` and the refusal."""
    with page.attempt() as refused:
        clashes = add(
            page.db,
            pool,
            reason=page.form.get(reason_field, "").strip()[:200],
            actor_id=page.user.id,
            # the box "Lower the amount to the slots that remain" (trialop20)
            lower_amount=bool(page.form.get("lower_amount")),
            **kwargs,
        )
    if refused:
        return None, refused
    where = "#clashes" if clashes else "#calendar"
    return page.redirect(f"/manage/resources/{pool.id}{where}", "saved"), refused


@router.post("/manage/resources/{pool_id}/unavailable", response_class=HTMLResponse)
def add_unavailable(pool_id: int, page: Page = Depends(get_page)) -> Response:
    pool = _resource(page, pool_id)
    f = page.form
    errors: dict[str, str] = {}
    first, last = _date(f.get("first_day", "")), _date(f.get("last_day", ""))
    if first is None:
        errors["first_day"] = page._(MSG_DATE)
    if last is None:
        errors["last_day"] = page._(MSG_DATE)
    if not errors and first is not None and last is not None:
        # the resource's days: from the hour its days begin at, on its site's clock
        starts_at, ends_at = period_bounds(first, last, pool.day_start_hour, pool.time_zone or "")
        assert starts_at is not None and ends_at is not None
        done, refused = _add_periods(
            page, pool, services.add_unavailable, starts_at=starts_at, ends_at=ends_at
        )
        if done is not None:
            return done
        errors["first_day"] = refused.message
        pool = _resource(page, pool_id)
    return resource_page(page, pool, 400, uform=f, uerrors=errors)


@router.post("/manage/resources/{pool_id}/unavailable/rule", response_class=HTMLResponse)
def add_unavailable_rule(pool_id: int, page: Page = Depends(get_page)) -> Response:
    """A recurring unavailable period (weekends...): the rule, the local time each
    occurrence begins at and how many hours it lasts (``services.add_unavailable_rule``)."""
    pool = _resource(page, pool_id)
    f = page.form
    errors: dict[str, str] = {}
    try:
        start_time: dt.time | None = dt.time.fromisoformat(f.get("start_time", "").strip())
    except ValueError:
        start_time = None
        errors["start_time"] = page._(MSG_TIME)
    try:
        hours = float(f.get("hours", "").strip().replace(",", "."))
    except ValueError:
        errors["hours"] = page._(MSG_HOURS)
    if not errors and start_time is not None:
        done, refused = _add_periods(
            page,
            pool,
            services.add_unavailable_rule,
            "rule_reason",
            rule=f.get("rule", ""),
            start_time=start_time.replace(tzinfo=None),
            hours=hours,
        )
        if done is not None:
            return done
        errors["hours" if refused.field == "hours" else "rule"] = refused.message
        pool = _resource(page, pool_id)
    return resource_page(page, pool, 400, rform=f, rerrors=errors)


@router.post(
    "/manage/resources/{pool_id}/unavailable/{unavailable_id}/remove",
    response_class=HTMLResponse,
)
def remove_unavailable(
    pool_id: int, unavailable_id: int, page: Page = Depends(get_page)
) -> Response:
    pool = _resource(page, pool_id)
    with page.attempt() as refused:
        services.remove_unavailable(page.db, pool, unavailable_id, actor_id=page.user.id)
    if refused.code == "not_found":
        page.not_found()
    if refused:
        return resource_page(
            page, _resource(page, pool_id), 400, uerrors={"first_day": refused.message}
        )
    return page.redirect(f"/manage/resources/{pool.id}#calendar", "removed")


def parse_field_form(page: Page, f: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """One request-field declaration from the 'add a field' form."""
    errors: dict[str, str] = {}
    kind = f.get("type", "")
    doc: dict[str, Any] = {
        "key": f.get("key", "").strip()[:60],
        "type": kind,
        "labels": {lg: f.get(f"flabel_{lg}", "")[:500] for lg in LANGS},
        "help": {lg: f.get(f"fhelp_{lg}", "")[:500] for lg in LANGS},
        "required": f.get("required", "") in ("on", "1", "true"),
    }
    if not doc["key"]:
        errors["key"] = page._(MSG_REQUIRED)
    if not f.get("flabel_en", "").strip():
        errors["flabel_en"] = page._(MSG_REQUIRED)
    numbers = {"max_length": "text", "min": "number", "max": "number", "max_items": "target_list"}
    for name, for_type in numbers.items():
        raw = f.get(name, "").strip()
        if not raw or kind != for_type:
            continue
        x = finite_number(raw)
        if x is None:
            errors[name] = page._(MSG_NUMBER)
        else:
            doc[name] = int(x) if name in ("max_length", "max_items") and x == int(x) else x
    if kind == "number":
        doc["unit"] = f.get("unit", "").strip()[:40]
        doc["integer"] = f.get("integer", "") in ("on", "1", "true")
    if kind == "choice":
        doc["options"] = [
            line.strip() for line in f.get("options", "").splitlines()[:200] if line.strip()
        ]
    return doc, errors


@router.post("/manage/resources/{pool_id}/fields", response_class=HTMLResponse)
def add_field(pool_id: int, page: Page = Depends(get_page)) -> Response:
    pool = _resource(page, pool_id)
    doc, errors = parse_field_form(page, page.form)
    if not errors:
        with page.attempt() as refused:
            services.update_resource(
                page.db,
                pool,
                request_fields=[*pool.request_fields, doc],
                actor_id=page.user.id,
            )
        if not refused:
            return page.redirect(f"/manage/resources/{pool.id}#fields", "saved")
        errors["field"] = refused.message
        pool = _resource(page, pool_id)
    return resource_page(page, pool, 400, fform=page.form, ferrors=errors)


@router.post("/manage/resources/{pool_id}/fields/{key}/remove", response_class=HTMLResponse)
def remove_field(pool_id: int, key: str, page: Page = Depends(get_page)) -> Response:
    pool = _resource(page, pool_id)
    kept = [d for d in pool.request_fields if d.get("key") != key]
    if len(kept) == len(pool.request_fields):
        page.not_found()
    with page.attempt() as refused:
        services.update_resource(page.db, pool, request_fields=kept, actor_id=page.user.id)
    if refused:  # pragma: no cover - removing a field keeps the form valid
        return resource_page(
            page, _resource(page, pool_id), 400, ferrors={"field": refused.message}
        )
    return page.redirect(f"/manage/resources/{pool.id}#fields", "removed")
