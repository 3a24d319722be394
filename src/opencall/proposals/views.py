"""The applicant's pages: dashboard, proposal editor, team, requests, PDF,
preview, submit and withdraw, invitations.

Thin routes over ``proposals.services``; every route asks ``proposals.policies``
and answers 404 when the answer is no. Saving is explicit and safe to repeat:
the text form carries ``Proposal.version``; a stale save shows the visitor's
text back with a message and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError

from opencall.calls import policies as call_policies
from opencall.calls.models import Call
from opencall.calls.queries import call_by_slug
from opencall.calls.schemas import call_form
from opencall.errors import DomainError
from opencall.facilities import domain as fac_domain
from opencall.facilities.labels import unit_text
from opencall.facilities.models import CapacityPool
from opencall.people.forms import country_options
from opencall.proposals import policies, queries, services
from opencall.proposals.access import proposal_for
from opencall.proposals.domain import word_count
from opencall.proposals.models import Attachment, Proposal, Request, TeamMember
from opencall.proposals.schemas import POOL_TYPE_FOR_KIND, DiveSite, FastTarget
from opencall.web.i18n import N_, Translator
from opencall.web.labels import ANONYMITY, CALL_STATUS
from opencall.web.labels import REQUEST_KINDS as KINDS
from opencall.web.mail import queue_mail
from opencall.web.pages import Page, download_response, get_page, render_mail

router = APIRouter()

STATUS = {
    "draft": N_("draft"),
    "submitted": N_("submitted"),
    "withdrawn": N_("withdrawn"),
    "under_review": N_("under review"),
    "accepted": N_("accepted"),
    "rejected": N_("not accepted"),
}
MEMBER_STATUS = {"invited": N_("invited"), "accepted": N_("accepted"), "declined": N_("declined")}
ROLES = {"pi": N_("Principal investigator"), "coi": N_("Co-investigator")}
WHERE_LABELS = {
    "title": N_("Title"),
    "abstract": N_("Abstract"),
    "science_case": N_("Science case"),
    "keywords": N_("Keywords"),
}
# where in a PDF an anonymity finding lies (metadata and the rest are removed from
# the copy reviewers receive; the page text is not)
PDF_WHERE = {
    "pdf_text": N_("the PDF"),
    "pdf_metadata": N_("the PDF's properties (metadata)"),
    "pdf_embedded": N_("a file embedded in the PDF"),
    "pdf_annotation": N_("a comment in the PDF"),
    "pdf_form": N_("a form field in the PDF"),
    "pdf_javascript": N_("a script in the PDF"),
}
SCAN_NOTES = {
    "page_too_large": N_(
        "Page %(n)s of the PDF is too complex to check automatically; check it yourself."
    ),
    "time_limit": N_(
        "The PDF was checked up to page %(n)s only (time limit); check the rest yourself."
    ),
    "page_limit": N_("Pages from %(n)s on were not checked; check them yourself."),
    "text_limit": N_("The PDF was checked up to page %(n)s only; check the rest yourself."),
    "too_complex": N_(
        "The PDF was checked up to page %(n)s only (too complex); check the rest yourself."
    ),
    "page_error": N_("Page %(n)s of the PDF could not be read for the check; check it yourself."),
}
MSG_REQUIRED = N_("This field is required.")
MSG_TOO_LONG = N_("Too long (%(max)s characters at most).")
MSG_NUMBER = N_("Enter a number.")
MSG_WHOLE = N_("Enter a whole number.")
MSG_MIN = N_("Must be at least %(limit)s.")
MSG_ABOVE = N_("Must be more than %(limit)s.")
MSG_MAX = N_("Must be at most %(limit)s.")
MSG_BELOW = N_("Must be less than %(limit)s.")
MSG_INVALID = N_("This value is not valid.")
MSG_NO_ROWS = N_("Add at least one line.")
MSG_NO_FILE = N_("Choose a PDF file.")
MSG_CANNOT_EDIT = N_("This proposal can no longer be changed.")
MSG_STALE = N_(
    "This proposal was changed elsewhere since you opened it; your text is kept below — "
    "review the latest version and save again."
)
TEXT_LIMITS = {"title": 300, "keywords": 300, "abstract": 20000, "science_case": 200000}


@dataclass(frozen=True)
class Col:
    name: str
    label: str
    kind: str = "text"  # text | number | check | select


# What each request kind asks for: scalar fields, then an optional table of rows.
SCALARS: dict[str, list[Col]] = {
    "fast": [
        Col("receiver", N_("Receiver"), "select"),
        Col("mode", N_("Observing mode"), "select"),
    ],
    "berth": [Col("berths", N_("Berths"), "number"), Col("purpose", N_("Purpose"))],
    "dive": [],
    "sample": [
        Col("sample_type", N_("Sample type"), "select"),
        Col("mass_mg", N_("Mass (mg)"), "number"),
        Col("techniques", N_("Techniques")),
        Col("destructive", N_("Destructive analysis"), "check"),
    ],
    "seat": [
        Col("technology", N_("Technology"), "select"),
        Col("seats", N_("Seats"), "number"),
        Col("site.place", N_("Place where it will be used")),
        Col("site.country_iso3", N_("Country"), "select"),
        Col("site.mean_temp_c", N_("Mean temperature (°C)"), "number"),
        Col("site.annual_rain_mm", N_("Annual rainfall (mm)"), "number"),
        Col("site.altitude_m", N_("Altitude (m)"), "number"),
        Col("site.water_temp_c", N_("Water temperature (°C), for aquaculture"), "number"),
    ],
}
SCALARS["package"] = [
    Col("technology", N_("Technology"), "select"),
    Col("packages", N_("Packages"), "number"),
    *SCALARS["seat"][2:],
]
ROWS: dict[str, tuple[str, type[BaseModel], list[Col]]] = {
    "fast": (
        "targets",
        FastTarget,
        [
            Col("name", N_("Target")),
            Col("ra_deg", N_("RA (h:m:s or degrees)")),
            Col("dec_deg", N_("Dec (d:m:s or degrees)")),
            Col("hours", N_("Hours"), "number"),
        ],
    ),
    "dive": (
        "sites",
        DiveSite,
        [
            Col("name", N_("Site")),
            Col("lat", N_("Latitude (°)"), "number"),
            Col("lon", N_("Longitude (°)"), "number"),
            Col("depth_m", N_("Depth (m)"), "number"),
        ],
    ),
}
BLANK_ROWS = 3


def _labels(page: Page) -> dict[str, Any]:
    return {
        "status_label": lambda s: page._(STATUS[s]) if s in STATUS else s,
        "call_status_label": lambda s: page._(CALL_STATUS[s]) if s in CALL_STATUS else s,
        "member_status_label": lambda s: page._(MEMBER_STATUS[s]) if s in MEMBER_STATUS else s,
        "role_label": lambda r: page._(ROLES[r]) if r in ROLES else r,
        "kind_label": lambda k: page._(KINDS[k]) if k in KINDS else k,
        "unit_label": lambda u, labels=None, amount=None: unit_text(page, u, labels, amount),
    }


# ---------------------------------------------------------------- access


def editable_for(page: Page, proposal_id: int) -> Proposal:
    proposal = proposal_for(page, proposal_id)
    if not policies.may_edit_proposal(page.user, proposal):
        page.not_found()
    return proposal


MISSING_VERSION = 0  # versions start at 1: a form without one is stale after validation


def form_version(page: Page) -> int:
    """The proposal version the posted form was rendered with (every edit form carries
    it). A missing or malformed one never matches: the input is validated first (bad
    input gets its own message), then the edit is refused like a stale form (409)."""
    v = page.form.get("version", "")
    return int(v) if v.isdecimal() and len(v) < 10 else MISSING_VERSION


def stale(page: Page, proposal: Proposal, **extra: Any) -> Response:
    """409: the proposal changed since the form was rendered (or the form had no
    version); the page is shown again at the latest version, typed values kept."""
    page.db.rollback()
    extra.setdefault("error", page._(MSG_STALE))
    return editor(page, proposal, 409, **extra)


def _save(
    page: Page,
    proposal: Proposal,
    change: Callable[[], object],
    section: str,
    done: str,
    error_field: str = "error",
) -> Response:
    """Make one change to the draft and commit it, then go back to the editor's
    ``section``; a stale version shows the latest draft (409), another refusal the
    editor with the message at ``error_field`` (400), and nothing is changed."""
    try:
        change()
        page.commit()
    except DomainError as exc:
        if exc.code == "stale":
            return stale(page, proposal)
        page.db.rollback()
        return editor(page, proposal, 400, **{error_field: page.t.error(exc)})
    return page.redirect(f"/proposals/{proposal.id}#{section}", done)


# ---------------------------------------------------------------- error messages


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


# ---------------------------------------------------------------- request forms


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
            values[col.name] = "" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))
    if req.kind in ROWS:
        rows_name, _model, cols = ROWS[req.kind]
        for i, row in enumerate(req.details.get(rows_name, [])):
            for col in cols:
                v = row.get(col.name)
                values[f"{rows_name}-{i}-{col.name}"] = (
                    f"{v:g}" if isinstance(v, float) else str(v if v is not None else "")
                )
    return values


def row_count(kind: str, values: dict[str, str]) -> int:
    if kind not in ROWS:
        return 0
    rows_name = ROWS[kind][0]
    used = [
        int(k.split("-")[1])
        for k in values
        if k.startswith(rows_name + "-") and k.split("-")[1].isdecimal() and values[k].strip()
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
        if len(raw) > 300:
            errors[col.name] = page._(MSG_TOO_LONG, max=300)
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
        n = min(int(form.get("rows", "0") or 0) if form.get("rows", "0").isdecimal() else 0, 500)
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
        raw_pool = form.get("pool_id", "")
        if not raw_pool.isdecimal():
            errors["pool_id"] = page._(MSG_REQUIRED)
        else:
            pool_id = int(raw_pool)
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
            f"{cp.pool.name} ({cp.amount:g} "
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
    values = {"pool_id": str(req.pool_id or ""), "amount": f"{req.amount:g}"}
    for fd in fac_domain.parse_fields(pool.request_fields if pool else []):
        v = d.get(fd.key)
        name = f"x_{fd.key}"
        if v is None:
            continue
        if fd.type == "date_range":
            values[name + "_from"], values[name + "_to"] = str(v[0]), str(v[1])
        elif fd.type == "coordinates":
            values[name + "_lat"], values[name + "_lon"] = f"{v['lat']:g}", f"{v['lon']:g}"
        elif fd.type == "target_list":
            values[name] = "\n".join(
                ", ".join([t["name"], *(f"{t[k]:g}" for k in ("ra_deg", "dec_deg") if k in t)])
                for t in v
            )
        else:
            values[name] = f"{v:g}" if isinstance(v, float) else str(v)
    values["impossible_dates"] = "\n".join(f"{a} {b}" for a, b in d.get("impossible_dates", []))
    values["bundle_together"] = "on" if d.get("bundle_together") else ""
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
    if not errors:
        # judged here too, so that the message names the field in the visitor's language
        # (the service judges again, in English, for every other client)
        period = (
            (pool.period_start, pool.period_end)
            if pool.period_start is not None and pool.period_end is not None
            else None
        )
        try:
            fac_domain.validate_details(
                pool.request_fields,
                details,
                slot_based=pool.slot_hours is not None,
                period=period,
                lang=page.lang,
            )
        except fac_domain.FieldProblem as exc:
            errors[custom_field_name(exc.field, pool)] = page.t.message(exc.message)
    return Parsed(details, pool.id, errors, [])


def custom_field_name(field: str | None, pool: CapacityPool | None) -> str:
    """A service's field path (details.<key>) as the custom form's input name."""
    if not field:
        return "form"
    key = field.removeprefix("details.")
    if key in ("amount", "impossible_dates", "bundle_together", "pool_id", "bundle"):
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


# ---------------------------------------------------------------- the editor page


def _field_label(page: Page, kind: str, name: str) -> str:
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


def error_summary(
    page: Page, proposal: Proposal, extra: dict[str, Any]
) -> list[tuple[str, str, str]]:
    """Every problem of the form just sent, as (link to the field, label, message), for the
    summary at the top of the page: all at once, each linking to its field or table cell."""
    out: list[tuple[str, str, str]] = []
    for name, msg in extra.get("text_errors", {}).items():
        label = page._(WHERE_LABELS.get(name, "Title")) if name != "form" else ""
        out.append(("#text-form" if name == "form" else f"#f-{name}", label, msg))
    labels = {"email": N_("E-mail"), "name": N_("Name"), "institution": N_("Institution")}
    labels["country_iso3"] = N_("Country")
    for name, msg in extra.get("invite_errors", {}).items():
        out.append((f"#f-{name}", page._(labels.get(name, "Name")) if name != "form" else "", msg))
    req_errors: dict[str, str] = extra.get("req_errors", {})
    if req_errors:
        if extra.get("req_id") is not None:
            prefix = f"r{extra['req_id']}-"
            req = next((r for r in proposal.requests if r.id == extra["req_id"]), None)
            kind = req.kind if req is not None else ""
        else:
            kind = str(extra.get("new_kind", ""))
            prefix = f"new-{kind}-"
        for name, msg in req_errors.items():
            href = f"#{prefix}form" if name in ("form", "amount", "kind") else f"#{prefix}{name}"
            out.append((href, _field_label(page, kind, name), msg))
    if extra.get("upload_error"):
        out.append(("#f-pdf", page._("PDF file"), extra["upload_error"]))
    return out


def editor(page: Page, proposal: Proposal, status: int = 200, **extra: Any) -> Response:
    call = proposal.call
    kinds = services.KIND_FOR_FACILITY.get(call.facility.kind, ())
    forms = []
    offered = {cp.pool_id: cp for cp in call.pools}
    for req in proposal.requests:
        values = extra.get("req_values") if extra.get("req_id") == req.id else None
        if req.kind == "custom":
            values = values or custom_values(req, pool_of(page, req))
            spec = (
                custom_form_spec(page, offered[req.pool_id])
                if req.pool_id in offered
                else {
                    "kind": "custom",
                    "pool": pool_of(page, req),
                    "fields": [],
                    "slot_based": False,
                    "unit_other": request_unit(page, req),
                }
            )
        else:
            values = values or request_values(req)
            spec = request_form_spec(page, call, req.kind)
        forms.append(
            {
                "req": req,
                "values": values,
                "errors": extra.get("req_errors", {}) if extra.get("req_id") == req.id else {},
                "n_rows": row_count(req.kind, values),
                "unit": request_unit(page, req),
                **spec,
            }
        )
    new_forms = []
    for kind in kinds:
        if kind == "custom":
            for cp in call.pools:
                if cp.pool.pool_type != "custom":
                    continue
                mine = extra.get("new_kind") == kind and extra.get("new_pool") == cp.pool_id
                new_forms.append(
                    {
                        "values": extra.get("req_values") if mine else {"pool_id": str(cp.pool_id)},
                        "errors": extra.get("req_errors", {}) if mine else {},
                        "n_rows": 0,
                        **custom_form_spec(page, cp),
                    }
                )
            continue
        values = extra.get("req_values") if extra.get("new_kind") == kind else None
        values = values or {}
        new_forms.append(
            {
                "values": values,
                "errors": extra.get("req_errors", {}) if extra.get("new_kind") == kind else {},
                "n_rows": max(row_count(kind, values), BLANK_ROWS + 2),
                **request_form_spec(page, call, kind),
            }
        )
    text = extra.get("text") or {
        "title": proposal.title,
        "abstract": proposal.abstract,
        "science_case": proposal.science_case,
        "keywords": proposal.keywords,
        "version": str(proposal.version),
    }
    problems = [page.t.message(m) for _f, m in services.submission_problems(proposal)]
    # every edit form carries the version; a text save through htmx swaps them all
    can_edit = policies.may_edit_proposal(page.user, proposal)
    can_team = policies.may_manage_team(page.user, proposal)
    version_ids = ["pv-invite", *(f"pv-m{m.id}" for m in proposal.members)] if can_team else []
    if can_edit:
        version_ids += [f"pv-r{r.id}-" for r in proposal.requests]
        version_ids += [f"pv-rr{r.id}" for r in proposal.requests]
        version_ids += [f"pv-new-{k}-" for k in kinds if k != "custom"]
        version_ids += [
            f"pv-new-custom-{cp.pool_id}-" for cp in call.pools if cp.pool.pool_type == "custom"
        ]
        if len(proposal.requests) >= 2:
            version_ids += ["pv-bundle"]
        version_ids += ["pv-upload", *(f"pv-a{a.id}" for a in proposal.attachments)]
    findings = []
    scan_notes: list[str] = []
    scan_pending = False
    if call.anonymity == "dual":
        # the team's own identifiers are shown to the team only: a warning they can fix.
        # Read from the cache the anonymity-scan job fills; a page view never scans.
        cached = queries.cached_findings(page.db, proposal)
        scan_pending = cached.pending > 0
        for where, finding in cached.findings:
            label = WHERE_LABELS.get(where) or PDF_WHERE.get(
                finding["where"], PDF_WHERE["pdf_text"]
            )
            findings.append(
                {
                    "where": page._(label),
                    "page": finding.get("page") if finding["where"] == "pdf_text" else None,
                    "kind": page._(queries.FINDING_LABELS.get(finding["kind"], finding["kind"])),
                    "text": finding["text"],
                    "removed": finding["where"] not in WHERE_LABELS
                    and finding["where"] != "pdf_text",
                }
            )
        for _where, note in cached.notes:
            scan_notes.append(
                page._(SCAN_NOTES.get(note["code"], SCAN_NOTES["page_error"]), n=note["page"])
            )
    warnings = text_warnings(page, proposal) if "text" not in extra else {}
    summary = error_summary(page, proposal, extra)
    if summary or page.request.query_params.get("m") == "saved":
        summary += [("#f-" + k, page._(WHERE_LABELS[k]), v) for k, v in warnings.items()]
    ctx = {
        "p": proposal,
        "call": call,
        "warnings": warnings,
        "summary": summary,
        "cform": call_form(call.form),
        "text": text,
        "text_errors": extra.get("text_errors", {}),
        "invite": extra.get("invite", {}),
        "invite_errors": extra.get("invite_errors", {}),
        "req_forms": forms,
        "new_forms": new_forms,
        "bundle_form": extra.get("bundle_form", {}),
        "bundle_errors": extra.get("bundle_errors", {}),
        "upload_error": extra.get("upload_error"),
        "error": extra.get("error"),
        "problems": problems,
        "findings": findings,
        "scan_notes": scan_notes,
        "scan_pending": scan_pending,
        "countries": country_options(page),
        "can_edit": can_edit,
        "can_team": can_team,
        "version_oob": ",".join(f"#{v}" for v in version_ids),
        "can_submit": policies.may_submit_proposal(page.user, proposal),
        "can_withdraw": policies.may_withdraw_proposal(page.user, proposal),
        "outcome": policies.may_see_outcome(page.user, proposal),
        "scripts": ["/static/safe-save.js"],
        **_labels(page),
    }
    return page.render("proposals/editor.html", ctx, status=status)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    proposals = services.member_proposals(page.db, user.id)
    invitations = services.open_invitations(page.db, user.email) if user.email_verified_at else []
    return page.render(
        "proposals/dashboard.html",
        {
            "proposals": proposals,
            "invitations": invitations,
            "outcome": lambda p: policies.may_see_outcome(user, p),
            **_labels(page),
        },
    )


def _visible_open_call(page: Page, slug: str) -> Call:
    call = call_by_slug(page.db, slug)
    if call is None or not call_policies.may_see_call(page.db, page.user, call):
        page.not_found()
    return call


@router.get("/calls/{slug}/apply", response_class=HTMLResponse)
def new_proposal_form(slug: str, page: Page = Depends(get_page)) -> Response:
    page.require_user()
    call = _visible_open_call(page, slug)
    return page.render("proposals/new.html", {"call": call, "form": {}, "errors": {}})


@router.post("/calls/{slug}/apply", response_class=HTMLResponse)
def new_proposal(slug: str, page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    call = _visible_open_call(page, slug)
    title = page.form.get("title", "")
    errors: dict[str, str] = {}
    if len(title) > TEXT_LIMITS["title"]:
        errors["title"] = page._(MSG_TOO_LONG, max=TEXT_LIMITS["title"])
    else:
        try:
            proposal = services.create_proposal(page.db, call, user, title=title)
            page.commit()
            return page.redirect(f"/proposals/{proposal.id}", "created")
        except DomainError as exc:
            page.db.rollback()
            errors[exc.field if exc.field in ("title",) else "form"] = page.t.error(exc)
    return page.render(
        "proposals/new.html", {"call": call, "form": {"title": title}, "errors": errors}, status=400
    )


@router.get("/proposals/{proposal_id}", response_class=HTMLResponse)
def edit_form(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    return editor(page, proposal_for(page, proposal_id))


MSG_WORDS_OVER = N_(
    "%(field)s: %(n)s words, at most %(max)s. Saved as a draft; shorten it before you submit."
)
MSG_SAVED_AT = N_("Saved %(time)s")
MSG_SAVING = N_("Saving…")
MSG_NOT_SAVED = N_(
    "Not saved: the connection failed. Your text is kept in this browser; press Save again."
)
MSG_RESTORED = N_(
    "Unsaved changes from this browser were restored into the form; press Save to keep them."
)
MSG_RESTORE_OLD = N_(
    "This browser holds unsaved text for this proposal, but the proposal was changed "
    "elsewhere since."
)
MSG_RESTORE_BUTTON = N_("Put my unsaved text back into the form")


def text_warnings(page: Page, proposal: Proposal) -> dict[str, str]:
    """Word limits exceeded by the saved text: saved as a draft, but they block submit."""
    form = call_form(proposal.call.form)
    out: dict[str, str] = {}
    for name, limit in (
        ("abstract", form.abstract_max_words),
        ("science_case", form.science_case_max_words),
    ):
        n = word_count(getattr(proposal, name) or "")
        if n > limit:
            out[name] = page._(MSG_WORDS_OVER, field=page._(WHERE_LABELS[name]), n=n, max=limit)
    return out


def wants_json(page: Page) -> bool:
    """The editor's script saves in the background and asks for JSON (the page works
    without it: the plain form posts and redirects)."""
    return "application/json" in page.request.headers.get("accept", "")


def save_answer(page: Page, proposal: Proposal, status: int = 200, **extra: Any) -> Response:
    """What the editor's script needs after a save: the new version (every form on the
    page carries it), the text as stored, the checklist and the word-limit warnings."""
    from fastapi.responses import JSONResponse

    return JSONResponse(
        {
            "ok": status == 200,
            "version": str(proposal.version),
            "saved_at": page.received_at.astimezone(dt.UTC).isoformat(),
            "fields": {
                k: getattr(proposal, k) for k in ("title", "abstract", "science_case", "keywords")
            },
            "problems": [page.t.message(m) for _f, m in services.submission_problems(proposal)],
            "warnings": text_warnings(page, proposal),
            **extra,
        },
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


@router.post("/proposals/{proposal_id}", response_class=HTMLResponse)
def save_text(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = editable_for(page, proposal_id)
    f = page.form
    text = {k: f.get(k, "") for k in ("title", "abstract", "science_case", "keywords", "version")}
    errors: dict[str, str] = {}
    for name, limit in TEXT_LIMITS.items():
        if len(text[name]) > limit:
            errors[name] = page._(MSG_TOO_LONG, max=limit)
    version = form_version(page)
    status = 400
    if not errors:
        try:
            services.update_proposal(
                page.db,
                proposal,
                {k: text[k] for k in ("title", "abstract", "science_case", "keywords")},
                actor_id=page.user.id,
                expected_version=version,
                now=page.received_at,
            )
            page.commit()
            if wants_json(page):
                return save_answer(page, proposal)
            return page.redirect(f"/proposals/{proposal.id}", "saved")
        except DomainError as exc:
            page.db.rollback()
            if exc.code == "stale":
                errors["form"] = page._(MSG_STALE)
                text["version"] = str(proposal.version)
                status = 409
            else:
                errors[exc.field or "form"] = page.t.error(exc)
    if wants_json(page):
        page.db.rollback()
        return save_answer(page, proposal, status, errors=errors)
    return editor(page, proposal, status, text=text, text_errors=errors)


@router.post("/proposals/{proposal_id}/team", response_class=HTMLResponse)
def invite(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = proposal_for(page, proposal_id)
    if not policies.may_manage_team(page.user, proposal):
        page.not_found()
    f = page.form
    data = {k: f.get(k, "").strip() for k in ("email", "name", "institution", "country_iso3")}
    errors: dict[str, str] = {}
    for k, limit in (("email", 254), ("name", 200), ("institution", 300), ("country_iso3", 3)):
        if not data[k]:
            errors[k] = page._(MSG_REQUIRED)
        elif len(data[k]) > limit:
            errors[k] = page._(MSG_TOO_LONG, max=limit)
    version = form_version(page)
    if not errors:
        try:
            member = services.invite_member(
                page.db,
                proposal,
                data,
                actor_id=page.user.id,
                expected_version=version,
                now=page.received_at,
            )
            _mail_invitation(page, proposal, member)
            page.commit()
            return page.redirect(f"/proposals/{proposal.id}#team", "invited")
        except DomainError as exc:
            if exc.code == "stale":
                return stale(page, proposal, invite=data)
            page.db.rollback()
            errors[exc.field if exc.field in data else "form"] = page.t.error(exc)
    return editor(page, proposal, 400, invite=data, invite_errors=errors)


def _mail_invitation(page: Page, proposal: Proposal, member: TeamMember) -> None:
    from opencall.people.queries import user_by_email

    invitee = user_by_email(page.db, member.email)
    lang = invitee.language if invitee else page.lang
    link = f"{page.settings.base_url.rstrip('/')}/invitations/{member.id}"
    body = render_mail(
        page.request,
        "proposals/mail_invitation.txt",
        lang,
        {
            "name": member.name,
            "inviter": page.user.name,
            "title": proposal.title,
            "call": proposal.call.title,
            "link": link,
            "register": f"{page.settings.base_url.rstrip('/')}/register",
        },
    )
    subject = Translator(lang).gettext("You are invited to join a proposal on OpenCall")
    queue_mail(page.db, member.email, subject, body)


@router.post("/proposals/{proposal_id}/team/{member_id}/remove", response_class=HTMLResponse)
def remove_member(proposal_id: int, member_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = proposal_for(page, proposal_id)
    member = page.db.get(TeamMember, member_id)
    if (
        not policies.may_manage_team(page.user, proposal)
        or member is None
        or member.proposal_id != proposal.id
    ):
        page.not_found()
    version = form_version(page)
    return _save(
        page,
        proposal,
        lambda: services.remove_member(
            page.db,
            proposal,
            member,
            actor_id=page.user.id,
            expected_version=version,
            now=page.received_at,
        ),
        "team",
        "removed",
    )


def _save_request(page: Page, proposal: Proposal, kind: str, req: Request | None) -> Response:
    values = dict(page.form)
    if req is not None:
        values["pool_id"] = str(req.pool_id or "")  # a saved request keeps its pool
    if kind == "custom":
        parsed = parse_custom_form(page, proposal.call, values)
    else:
        parsed = parse_request_form(page, proposal.call, kind, values)
    errors = parsed.errors
    extra: dict[str, Any] = {"req_values": values, "req_errors": errors}
    if req is None:
        extra["new_kind"] = kind
        extra["new_pool"] = parsed.pool_id
    else:
        extra["req_id"] = req.id
    version = form_version(page)
    if not errors:
        try:
            if req is None:
                services.add_request(
                    page.db,
                    proposal,
                    kind,
                    parsed.details,
                    pool_id=parsed.pool_id,
                    actor_id=page.user.id,
                    expected_version=version,
                    now=page.received_at,
                )
            else:
                services.update_request(
                    page.db,
                    proposal,
                    req,
                    parsed.details,
                    actor_id=page.user.id,
                    expected_version=version,
                    now=page.received_at,
                )
            page.commit()
            return page.redirect(f"/proposals/{proposal.id}#requests", "request_saved")
        except DomainError as exc:
            if exc.code == "stale":
                return stale(page, proposal, **extra)
            page.db.rollback()
            rows_name = ROWS[kind][0] if kind in ROWS else None
            if kind == "custom":
                pool = page.db.get(CapacityPool, parsed.pool_id) if parsed.pool_id else None
                name = custom_field_name(exc.field, pool)
            else:
                name = domain_field(exc.field, parsed.row_map, rows_name)
            errors[name] = page.t.error(exc)
    return editor(page, proposal, 400, **extra)


@router.post("/proposals/{proposal_id}/requests", response_class=HTMLResponse)
def add_request(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = editable_for(page, proposal_id)
    kind = page.form.get("kind", "")
    if kind not in services.KIND_FOR_FACILITY.get(proposal.call.facility.kind, ()):
        return editor(page, proposal, 400, error=page._(MSG_INVALID))
    return _save_request(page, proposal, kind, None)


MSG_BUNDLE_NAME = N_("Give the bundle a name.")


@router.post("/proposals/{proposal_id}/bundle", response_class=HTMLResponse)
def bundle_requests(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    """Mark the ticked requests all-or-nothing (a bundle: awarded together or not at
    all), or take them out of their bundle."""
    proposal = editable_for(page, proposal_id)
    f = page.form
    ids = [r.id for r in proposal.requests if f.get(f"req-{r.id}", "") in ("on", "1", "true")]
    unbundle = f.get("action", "") == "unbundle"
    name = f.get("bundle", "").strip()
    errors: dict[str, str] = {}
    if not unbundle and not name:
        errors["bundle"] = page._(MSG_BUNDLE_NAME)
    extra: dict[str, Any] = {"bundle_form": f, "bundle_errors": errors}
    if not errors:
        try:
            services.set_bundle(
                page.db,
                proposal,
                ids,
                None if unbundle else name[:60],
                actor_id=page.user.id,
                expected_version=form_version(page),
                now=page.received_at,
            )
            page.commit()
            return page.redirect(f"/proposals/{proposal.id}#requests", "saved")
        except DomainError as exc:
            if exc.code == "stale":
                return stale(page, proposal, **extra)
            page.db.rollback()
            errors["bundle"] = page.t.error(exc)
    return editor(page, proposal, 400, **extra)


def _request_of(page: Page, proposal: Proposal, request_id: int) -> Request:
    req = page.db.get(Request, request_id)
    if req is None or req.proposal_id != proposal.id:
        page.not_found()
    return req


@router.post("/proposals/{proposal_id}/requests/{request_id}", response_class=HTMLResponse)
def update_request(proposal_id: int, request_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = editable_for(page, proposal_id)
    req = _request_of(page, proposal, request_id)
    return _save_request(page, proposal, req.kind, req)


@router.post("/proposals/{proposal_id}/requests/{request_id}/remove", response_class=HTMLResponse)
def remove_request(proposal_id: int, request_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = editable_for(page, proposal_id)
    req = _request_of(page, proposal, request_id)
    version = form_version(page)
    return _save(
        page,
        proposal,
        lambda: services.remove_request(
            page.db,
            proposal,
            req,
            actor_id=page.user.id,
            expected_version=version,
            now=page.received_at,
        ),
        "requests",
        "removed",
    )


@router.post("/proposals/{proposal_id}/attachments", response_class=HTMLResponse)
def upload(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    # sync: the body was spooled by the page dependency on the event loop; reading the
    # spooled file, parsing the PDF and the database work run in the thread pool
    proposal = editable_for(page, proposal_id)
    upload_file = page.files.get("pdf")
    if upload_file is None:
        return editor(page, proposal, 400, upload_error=page._(MSG_NO_FILE))
    limit = page.settings.max_upload_bytes
    data = upload_file.file.read(limit + 1)
    version = form_version(page)
    # the PDF is parsed and rewritten in a bounded child process (proposals.pdfsafe)
    return _save(
        page,
        proposal,
        lambda: services.add_attachment(
            page.db,
            proposal,
            data,
            upload_file.filename or "document.pdf",
            storage=page.storage,
            max_bytes=limit,
            actor_id=page.user.id,
            limits=services.pdf_limits(page.settings),
            expected_version=version,
            now=page.received_at,
        ),
        "attachments",
        "uploaded",
        "upload_error",
    )


def _attachment_of(page: Page, proposal_id: int, attachment_id: int) -> Attachment:
    page.require_user()
    att = page.db.get(Attachment, attachment_id)
    if (
        att is None
        or att.proposal_id != proposal_id
        or not policies.may_download_attachment(page.db, page.user, att)
    ):
        page.not_found()
    return att


@router.get("/proposals/{proposal_id}/attachments/{attachment_id}")
def download(proposal_id: int, attachment_id: int, page: Page = Depends(get_page)) -> Response:
    """The user office gets the original as uploaded; the team gets the rewritten copy
    (what reviewers receive: no metadata, scripts, embedded files, comments or forms)."""
    att = _attachment_of(page, proposal_id, attachment_id)
    if call_policies.may_administer(page.db, page.user, att.proposal.call):
        data = services.attachment_bytes(page.storage, att)
    else:
        data = services.clean_attachment_bytes(page.storage, att)
    if data is None:
        page.not_found()
    return download_response(
        data,
        att.filename,
        "application/pdf",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
    )


@router.post("/proposals/{proposal_id}/attachments/{attachment_id}/remove")
def remove_attachment(
    proposal_id: int, attachment_id: int, page: Page = Depends(get_page)
) -> Response:
    proposal = editable_for(page, proposal_id)
    att = _attachment_of(page, proposal_id, attachment_id)
    version = form_version(page)
    return _save(
        page,
        proposal,
        lambda: services.remove_attachment(
            page.db,
            proposal,
            att,
            actor_id=page.user.id,
            expected_version=version,
            now=page.received_at,
        ),
        "attachments",
        "removed",
        "upload_error",
    )


def reviewer_view(proposal: Proposal) -> dict[str, Any]:
    """What reviewers will see: the frozen content, with the team removed in a
    dual-anonymous call (no names, institutions, countries or e-mails)."""
    content = services.snapshot(proposal)
    if proposal.call.anonymity == "dual":
        content["team"] = []
    for t in content["team"]:
        t.pop("email", None)
        t.pop("institution_id", None)
    return content


@router.get("/proposals/{proposal_id}/preview", response_class=HTMLResponse)
def preview(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = proposal_for(page, proposal_id)
    return page.render(
        "proposals/preview.html",
        {
            "p": proposal,
            "content": reviewer_view(proposal),
            "anonymous": proposal.call.anonymity == "dual",
            "anonymity": page._(ANONYMITY.get(proposal.call.anonymity, ANONYMITY["dual"])),
            **_labels(page),
        },
    )


@router.post("/proposals/{proposal_id}/submit", response_class=HTMLResponse)
def submit(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = proposal_for(page, proposal_id)
    if not policies.may_submit_proposal(page.user, proposal):
        page.not_found()
    if services.submission_problems(proposal):
        return editor(page, proposal, 400)
    try:
        rev = services.submit(page.db, proposal, actor_id=page.user.id, now=page.received_at)
        if proposal.submitted_at == page.received_at:  # recorded now (not a repeated click)
            _mail_receipt(page, proposal, rev)
        page.commit()
    except DomainError as exc:
        page.db.rollback()
        return editor(page, proposal, 400, error=page.t.error(exc))
    return page.redirect("/dashboard", "submitted")


SUBJECT_RECEIPT = N_("Receipt: proposal %(code)s submitted")


def _mail_receipt(page: Page, proposal: Proposal, rev: Any) -> None:
    """A receipt to the person who submitted (and the PI, when another member did), in
    each one's language: what was received (the revision's content hash) and when."""
    from opencall.people.queries import user_by_email

    when = page.received_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    to = {page.user.email: page.user}
    for m in proposal.members:
        if m.role == "pi" and m.email not in to:
            to[m.email] = user_by_email(page.db, m.email)
    for email, user in to.items():
        lang = user.language if user is not None else page.lang
        body = render_mail(
            page.request,
            "proposals/mail_receipt.txt",
            lang,
            {
                "name": user.name if user is not None else "",
                "code": proposal.code,
                "title": proposal.title,
                "call": proposal.call.title,
                "revision": rev.number,
                "hash": rev.content_hash,
                "when": when,
                "link": f"{page.settings.base_url.rstrip('/')}/proposals/{proposal.id}",
            },
        )
        subject = Translator(lang).gettext(SUBJECT_RECEIPT, code=proposal.code)
        queue_mail(page.db, email, subject, body)


@router.post("/proposals/{proposal_id}/withdraw", response_class=HTMLResponse)
def withdraw(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = proposal_for(page, proposal_id)
    if not policies.may_withdraw_proposal(page.user, proposal):
        page.not_found()
    try:
        services.withdraw(page.db, proposal, actor_id=page.user.id)
        page.commit()
    except DomainError as exc:
        page.db.rollback()
        return editor(page, proposal, 400, error=page.t.error(exc))
    return page.redirect("/dashboard", "withdrawn")


def _invitation(page: Page, member_id: int) -> TeamMember:
    page.require_user()
    member = page.db.get(TeamMember, member_id)
    if member is None or not policies.may_respond_to_invitation(page.user, member):
        page.not_found()
    return member


@router.get("/invitations/{member_id}", response_class=HTMLResponse)
def invitation(member_id: int, page: Page = Depends(get_page)) -> Response:
    member = _invitation(page, member_id)
    pi = next((m for m in member.proposal.members if m.role == "pi"), None)
    return page.render("proposals/invitation.html", {"m": member, "pi": pi, "error": None})


@router.post("/invitations/{member_id}", response_class=HTMLResponse)
def answer_invitation(member_id: int, page: Page = Depends(get_page)) -> Response:
    member = _invitation(page, member_id)
    action = page.form.get("action", "")
    if action not in ("accept", "decline"):
        pi = next((m for m in member.proposal.members if m.role == "pi"), None)
        return page.render(
            "proposals/invitation.html", {"m": member, "pi": pi, "error": page._(MSG_INVALID)}, 400
        )
    services.respond_to_invitation(page.db, member, page.user, accept=action == "accept")
    page.commit()
    if action == "accept":
        return page.redirect(f"/proposals/{member.proposal_id}", "accepted")
    return page.redirect("/dashboard", "declined")


# Messages the proposal and call services compose in English, catalogued so
# that Translator.message shows them in the visitor's language.
SERVICE_MESSAGES = (
    N_("A title is required."),
    N_("The title is too long (%(n)s characters; at most %(max)s)."),
    N_("Add your institution and country to your account before creating a proposal."),
    N_("This proposal is %(status)s and can no longer be edited."),
    N_("This call opens at %(when)s UTC; it is not open yet."),
    N_("The deadline passed at %(when)s UTC; the call is closed."),
    N_("This call is not open (status: %(status)s)."),
    N_("This person is already on the team."),
    N_("Receiver %(receiver)s is not offered in this call (offered: %(offered)s)."),
    N_("Mode %(mode)s is not offered in this call (offered: %(offered)s)."),
    N_("Too many targets (%(n)s; at most %(max)s)."),
    N_(
        "Target %(name)s at declination %(dec)s° is outside the sky this telescope can reach "
        "(%(lo)s° to %(hi)s°)."
    ),
    N_("Choose one of the capacity pools this call offers."),
    N_("Pool %(pool)s offers %(unit)s, which a %(kind)s request cannot use."),
    N_("Dive site %(name)s at %(depth)s m is deeper than the submersible's limit of %(max)s m."),
    N_("Pool %(pool)s holds %(held)s, not %(asked)s."),
    N_("Session %(pool)s teaches %(technology)s."),
    N_("Pool %(pool)s offers %(technology)s packages."),
    N_(
        "The request (%(amount)s %(unit)s) exceeds what the call offers in %(pool)s "
        "(%(offered)s %(unit2)s)."
    ),
    N_(
        "The request (%(amount)s %(unit)s) exceeds the limit per request of %(limit)s "
        "%(unit2)s in %(pool)s."
    ),
    N_("The proposal asks for %(total)s in total; this call allows at most %(max)s per proposal."),
    N_("An abstract is required."),
    N_("The abstract has %(n)s words; at most %(max)s."),
    N_("A science case is required."),
    N_("The science case has %(n)s words; at most %(max)s."),
    N_("Add at least one request."),
    N_("This call requires a PDF of the scientific justification."),
    N_("The PI needs an institution and a country."),
    N_("A proposal cannot move from '%(a)s' to '%(b)s'; from '%(c)s' it can go to: %(next)s."),
    N_("The principal investigator cannot be removed."),
    N_("This invitation was already %(status)s."),
    N_("The file is empty."),
    N_("The file is too large (%(size)s MB; at most %(max)s MB)."),
    N_("This file is not a PDF."),
    N_("Password-protected PDFs cannot be accepted."),
    N_("This PDF cannot be read; it may be damaged."),
    N_("The PDF has %(n)s pages; this call allows at most %(max)s."),
    N_("right ascension must be degrees (83.63) or hours h:m:s (05:34:31.9)"),
    N_("right ascension cannot be negative"),
    N_("right ascension hours must be below 24"),
    N_("right ascension must be between 0 and 360 degrees"),
    N_("right ascension is required"),
    N_("minutes and seconds must be below 60"),
    N_("declination must be degrees (22.01) or d:m:s (+22:00:52)"),
    N_("declination is required"),
    N_("declination must be between -90 and +90 degrees"),
)
