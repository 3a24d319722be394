"""The request forms of the editor: what each kind of request asks for (scalars,
then a table of lines), a custom resource's declared form, parsing the posted
values with an error beside each field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from opencall.calls.models import Call
from opencall.calls.schemas import call_form
from opencall.facilities import domain as fac_domain
from opencall.facilities.labels import unit_text
from opencall.facilities.models import CapacityPool
from opencall.inputs import local_number, plain_number, whole_number
from opencall.people.forms import country_options
from opencall.proposals import services
from opencall.proposals.labels import ROWS, SCALARS
from opencall.proposals.models import Request
from opencall.proposals.schemas import (
    MAX_FIELD_CHARS,
    MAX_ROWS,
    POOL_TYPE_FOR_KIND,
)
from opencall.proposals.views.common import (
    MSG_ABOVE,
    MSG_BELOW,
    MSG_MAX,
    MSG_MIN,
    MSG_NO_ROWS,
)
from opencall.web.forms import MSG_INVALID, MSG_NUMBER, MSG_REQUIRED, MSG_TOO_LONG, MSG_WHOLE
from opencall.web.i18n import N_
from opencall.web.labels import REQUEST_KINDS as KINDS
from opencall.web.pages import MAX_ID, Page

BLANK_ROWS = 3


def field_message(page: Page, err: Any) -> str:
    """One pydantic error in the visitor's language (our own words, not pydantic's)."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind in ("missing", "string_too_short", "too_short"):
        return page._(MSG_REQUIRED)
    if kind == "string_too_long":
        return page._(MSG_TOO_LONG, max=ctx.get("max_length", ""))
    if kind in ("float_parsing", "float_type"):
        return page._(MSG_NUMBER)
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return page._(MSG_WHOLE)
    if kind == "greater_than_equal":
        return page._(MSG_MIN, limit=ctx.get("ge"))
    if kind == "greater_than":
        return page._(MSG_ABOVE, limit=ctx.get("gt"))
    if kind == "less_than_equal":
        return page._(MSG_MAX, limit=ctx.get("le"))
    if kind == "less_than":
        return page._(MSG_BELOW, limit=ctx.get("lt"))
    if kind == "value_error":
        return page.t.message(str(err.get("msg", "")).removeprefix("Value error, "))
    return page._(MSG_INVALID)


def domain_field(field: str | None, row_map: list[int], rows_name: str | None) -> str:
    """A service's field path (details.targets.2.dec_deg) as a form field name."""
    if not field:
        return "form"
    path = field.removeprefix("details.")
    parts = path.split(".")
    if rows_name and len(parts) >= 3 and parts[0] == rows_name and parts[1].isdecimal():
        i = int(parts[1])
        original = row_map[i] if i < len(row_map) else i
        return f"{rows_name}-{original}-{parts[2]}"
    return path


def request_values(req: Request) -> dict[str, str]:
    """A saved request as form values."""
    values: dict[str, str] = {"pool_id": str(req.pool_id or "")}
    for col in SCALARS.get(req.kind, []):
        v: Any = req.details
        for part in col.name.split("."):
            v = v.get(part) if isinstance(v, dict) else None
        if col.kind == "check":
            values[col.name] = "on" if v else ""
        else:
            values[col.name] = (
                "" if v is None else (plain_number(v) if isinstance(v, float) else str(v))
            )
    if req.kind in ROWS:
        rows_name, _model, cols = ROWS[req.kind]
        for i, row in enumerate(req.details.get(rows_name, [])):
            for col in cols:
                v = row.get(col.name)
                values[f"{rows_name}-{i}-{col.name}"] = (
                    plain_number(v) if isinstance(v, float) else str(v if v is not None else "")
                )
    return values


def row_count(kind: str, values: dict[str, str]) -> int:
    if kind not in ROWS:
        return 0
    rows_name = ROWS[kind][0]
    # (a line's number as typed by whoever sent the form: no number, no line)
    used = [
        n
        for k in values
        if k.startswith(rows_name + "-")
        and values[k].strip()
        and (n := whole_number(k.split("-")[1], most=MAX_ROWS)) is not None
    ]
    return (max(used) + 1 if used else 0) + BLANK_ROWS


@dataclass
class Parsed:
    details: dict[str, Any]
    pool_id: int | None
    errors: dict[str, str]
    row_map: list[int]


def parse_request_form(page: Page, call: Call, kind: str, form: dict[str, str]) -> Parsed:
    """Form values to request details, judging every line on its own so that
    each error is shown beside its field."""
    errors: dict[str, str] = {}
    details: dict[str, Any] = {}
    for col in SCALARS.get(kind, []):
        raw = form.get(col.name, "").strip()
        if col.kind == "check":
            value: Any = raw in ("on", "1", "true")
        elif raw == "":
            continue
        else:
            value = raw
        if len(raw) > MAX_FIELD_CHARS:
            errors[col.name] = page._(MSG_TOO_LONG, max=MAX_FIELD_CHARS)
            continue
        target = details
        parts = col.name.split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    row_map: list[int] = []
    valid: list[tuple[int, Any]] = []
    if kind in ROWS:
        rows_name, model, cols = ROWS[kind]
        rows = []
        n = min(whole_number(form.get("rows", "")) or 0, MAX_ROWS)
        n = max(n, row_count(kind, form))
        for i in range(n):
            raw_row = {c.name: form.get(f"{rows_name}-{i}-{c.name}", "").strip() for c in cols}
            if not any(raw_row.values()):
                continue
            too_long = [c.name for c in cols if len(raw_row[c.name]) > 100]
            for name in too_long:
                errors[f"{rows_name}-{i}-{name}"] = page._(MSG_TOO_LONG, max=100)
            if too_long:
                continue
            try:
                valid.append((i, model.model_validate({k: v for k, v in raw_row.items() if v})))
            except ValidationError as exc:
                for err in exc.errors():
                    col_name = str(err["loc"][0]) if err["loc"] else cols[0].name
                    errors.setdefault(f"{rows_name}-{i}-{col_name}", field_message(page, err))
            rows.append({k: v for k, v in raw_row.items() if v != ""})
            row_map.append(i)
        if not rows:
            errors.setdefault(f"{rows_name}-0-{cols[0].name}", page._(MSG_NO_ROWS))
        details[rows_name] = rows
    pool_id: int | None = None
    if kind != "fast":
        pool_id = whole_number(form.get("pool_id", ""), most=MAX_ID)
        if pool_id is None:
            errors["pool_id"] = page._(MSG_REQUIRED)
    # what the call cannot serve, line by line: reported with the input errors, all at once
    for i, col_name, msg in services.row_problems(call, kind, pool_id, valid):
        errors.setdefault(f"{ROWS[kind][0]}-{i}-{col_name}", page.t.message(msg))
    if not errors:
        from opencall.proposals.schemas import DETAILS

        try:
            DETAILS[kind].model_validate(details)
        except ValidationError as exc:
            for err in exc.errors():
                loc = [str(p) for p in err["loc"]]
                name = ".".join(loc)
                if kind in ROWS and loc and loc[0] == ROWS[kind][0] and len(loc) >= 3:
                    name = f"{loc[0]}-{row_map[int(loc[1])]}-{loc[2]}"
                errors.setdefault(name or "form", field_message(page, err))
    return Parsed(details, pool_id, errors, row_map)


def request_form_spec(page: Page, call: Call, kind: str) -> dict[str, Any]:
    """Choices for the selects of a request form."""
    form = call_form(call.form)
    pools = [
        (
            str(cp.pool_id),
            f"{cp.pool.name} ({local_number(cp.amount, page.lang)} "
            f"{unit_text(page, cp.pool.unit, cp.pool.unit_labels, cp.amount)})",
        )
        for cp in call.pools
        if cp.pool.pool_type == POOL_TYPE_FOR_KIND[kind] and kind != "fast"  # FAST: by LST
    ]
    sample_types = (
        sorted(
            {
                str(cp.pool.attributes.get("sample_type"))
                for cp in call.pools
                if cp.pool.pool_type == "sample_mass"
            }
        )
        or form.sample_types
    )
    technologies = (
        sorted(
            {
                str(cp.pool.attributes.get("technology"))
                for cp in call.pools
                if cp.pool.attributes.get("technology")
            }
        )
        or form.technologies
    )
    choices: dict[str, list[tuple[str, str]]] = {
        "receiver": [(r, r) for r in form.receivers],
        "mode": [(m, m) for m in form.modes],
        "sample_type": [(s, s) for s in sample_types],
        "technology": [(t, t) for t in technologies],
        "site.country_iso3": country_options(page),
    }
    rows = ROWS.get(kind)
    return {
        "kind": kind,
        "scalars": SCALARS.get(kind, []),
        "rows_name": rows[0] if rows else None,
        "cols": rows[2] if rows else [],
        "pools": pools,
        "choices": choices,
    }


# ---------------------------------------------------------------- custom resources
#
# A resource of a custom facility declares its request form as data
# (facilities.domain): one form per offered resource, its inputs named
# ``x_<key>`` (date ranges and coordinates take two inputs, target lists one
# line per target), the amount in the resource's own unit, and, for slot-based
# resources, the dates the applicant cannot use. The server judges the details
# against the declaration and names the field by its label.

MSG_TARGET_LINE = N_("Line %(n)s: give a name, optionally followed by RA and Dec in degrees.")
MSG_DATES_LINE = N_("Line %(n)s: give a first and a last day as YYYY-MM-DD YYYY-MM-DD.")


def pool_of(page: Page, req: Request) -> CapacityPool | None:
    return page.db.get(CapacityPool, req.pool_id) if req.pool_id is not None else None


def custom_values(req: Request, pool: CapacityPool | None) -> dict[str, str]:
    """A saved custom request as form values."""
    d = req.details
    values = {"pool_id": str(req.pool_id or ""), "amount": plain_number(req.amount)}
    for fd in fac_domain.parse_fields(pool.request_fields if pool else []):
        v = d.get(fd.key)
        name = f"x_{fd.key}"
        if v is None:
            continue
        if fd.type == "date_range":
            values[name + "_from"], values[name + "_to"] = str(v[0]), str(v[1])
        elif fd.type == "coordinates":
            values[name + "_lat"], values[name + "_lon"] = (
                plain_number(v["lat"]),
                plain_number(v["lon"]),
            )
        elif fd.type == "target_list":
            values[name] = "\n".join(
                ", ".join(
                    [t["name"], *(plain_number(t[k]) for k in ("ra_deg", "dec_deg") if k in t)]
                )
                for t in v
            )
        else:
            values[name] = plain_number(v) if isinstance(v, float) else str(v)
    values["impossible_dates"] = "\n".join(f"{a} {b}" for a, b in d.get("impossible_dates", []))
    values["bundle_together"] = "on" if d.get("bundle_together") else ""
    values["bundle_same_time"] = "on" if d.get("bundle_same_time") else ""
    return values


def parse_custom_form(page: Page, call: Call, form: dict[str, str]) -> Parsed:
    """Form values to the details of a request on a custom resource. The form's
    shape is checked here (lines of targets and dates); the values are judged by
    the service against the resource's declared fields."""
    errors: dict[str, str] = {}
    raw_pool = form.get("pool_id", "")
    offered = {str(cp.pool_id): cp.pool for cp in call.pools if cp.pool.pool_type == "custom"}
    pool = offered.get(raw_pool)
    if pool is None:
        return Parsed({}, None, {"form": page._(MSG_INVALID)}, [])
    details: dict[str, Any] = {"amount": form.get("amount", "").strip()[:40]}
    for fd in fac_domain.parse_fields(pool.request_fields):
        name = f"x_{fd.key}"
        if fd.type == "date_range":
            a, b = form.get(name + "_from", "").strip(), form.get(name + "_to", "").strip()
            if a or b:
                details[fd.key] = [a[:20], b[:20]]
        elif fd.type == "coordinates":
            lat, lon = form.get(name + "_lat", "").strip(), form.get(name + "_lon", "").strip()
            if lat or lon:
                details[fd.key] = {"lat": lat[:40], "lon": lon[:40]}
        elif fd.type == "target_list":
            rows = []
            for n, line in enumerate(form.get(name, "").splitlines()[:1001], start=1):
                parts = [x.strip() for x in line.split(",")]
                if not parts[0]:
                    continue
                if len(parts) not in (1, 3):
                    errors[name] = page._(MSG_TARGET_LINE, n=n)
                    break
                row: dict[str, Any] = {"name": parts[0][:300]}
                if len(parts) == 3:
                    row["ra_deg"], row["dec_deg"] = parts[1][:40], parts[2][:40]
                rows.append(row)
            if rows:
                details[fd.key] = rows
        else:
            raw = form.get(name, "")
            if len(raw) > 20000:
                errors[name] = page._(MSG_TOO_LONG, max=20000)
            elif raw.strip():
                details[fd.key] = raw
    if pool.slot_hours is not None:
        ranges = []
        for n, line in enumerate(form.get("impossible_dates", "").splitlines()[:101], start=1):
            parts = line.replace(",", " ").split()
            if not parts:
                continue
            if len(parts) > 2:
                errors["impossible_dates"] = page._(MSG_DATES_LINE, n=n)
                break
            ranges.append([parts[0], parts[-1]])
        if ranges:
            details["impossible_dates"] = ranges
        details["bundle_together"] = form.get("bundle_together", "") in ("on", "1", "true")
        details["bundle_same_time"] = form.get("bundle_same_time", "") in ("on", "1", "true")
    if not errors:
        # judged here too, so that the message names the field in the visitor's language
        # (the service judges again, in English, for every other client)
        try:
            pool.validate_details(details, page.lang)
        except fac_domain.FieldProblem as exc:
            said = page.t.error(exc) if exc.params else page.t.message(exc.message)
            errors[custom_field_name(exc.field, pool)] = said
    return Parsed(details, pool.id, errors, [])


def custom_field_name(field: str | None, pool: CapacityPool | None) -> str:
    """A service's field path (details.<key>) as the custom form's input name."""
    if not field:
        return "form"
    key = field.removeprefix("details.")
    if key in (
        "amount",
        "impossible_dates",
        "bundle_together",
        "bundle_same_time",
        "pool_id",
        "bundle",
    ):
        return key
    for fd in fac_domain.parse_fields(pool.request_fields if pool else []):
        if fd.key == key:
            suffix = {"date_range": "_from", "coordinates": "_lat"}.get(fd.type, "")
            return f"x_{key}{suffix}"
    return "form"


def custom_form_spec(page: Page, cp: Any) -> dict[str, Any]:
    pool = cp.pool
    return {
        "kind": "custom",
        "pool": pool,
        "offered": cp.amount,
        "unit_one": fac_domain.unit_label(pool.unit, pool.unit_labels, 1, page.lang),
        "unit_other": fac_domain.unit_label(pool.unit, pool.unit_labels, None, page.lang),
        "fields": fac_domain.parse_fields(pool.request_fields),
        "slot_based": pool.slot_hours is not None,
    }


def request_unit(page: Page, req: Request) -> str:
    """The unit of a request's amount in the visitor's language (the resource's own)."""
    pool = pool_of(page, req)
    if pool is not None:
        return fac_domain.unit_label(pool.unit, pool.unit_labels, req.amount, page.lang)
    return fac_domain.unit_label("h", {}, req.amount, page.lang)  # FAST: hours over LST


def field_label(page: Page, kind: str, name: str) -> str:
    """A request form field's label; a table cell's is its column and line number."""
    if kind in ROWS:
        rows_name, _model, cols = ROWS[kind]
        parts = name.split("-")
        if len(parts) == 3 and parts[0] == rows_name and parts[1].isdecimal():
            col = next((c for c in cols if c.name == parts[2]), None)
            if col is not None:
                return f"{page._(col.label)} {int(parts[1]) + 1}"
    col = next((c for c in SCALARS.get(kind, []) if c.name == name), None)
    if col is not None:
        return page._(col.label)
    if name == "pool_id":
        return page._("Capacity")
    return page._(KINDS.get(kind, kind))
