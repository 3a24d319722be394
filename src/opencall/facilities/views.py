"""Providers, facilities and capacity pools: the provider administrator's pages.

Kind-specific attributes (site coordinates, receivers, legs and routes, LST
ranges, course sessions...) are typed documents validated by
``facilities.schemas``; the form takes them as JSON, with an example per kind,
and shows the validator's first error with its field path.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from opencall.errors import DomainError
from opencall.facilities import policies, services
from opencall.facilities.access import managed_provider
from opencall.facilities.domain import unit_label
from opencall.facilities.models import FACILITY_KINDS, Facility, Provider
from opencall.facilities.queries import facilities_of, pools_of
from opencall.facilities.schemas import FAST_SITE_ATTRIBUTES, KIND_LABELS, POOL_UNITS
from opencall.inputs import finite_number
from opencall.people.queries import countries
from opencall.web.forms import MSG_INVALID, MSG_NUMBER, MSG_REQUIRED
from opencall.web.i18n import N_
from opencall.web.pages import Page, get_page

router = APIRouter()

MSG_JSON = N_("Attributes must be a JSON object.")
EXAMPLES = {
    "telescope": {**FAST_SITE_ATTRIBUTES, "receivers": ["19-beam"], "modes": ["Tracking"]},
    "vessel": {
        "vessel": "R/V",
        "submersible": "HOV",
        "max_dive_depth_m": 11000,
        "dives_per_day": 1,
    },
    "samples": {"missions": ["CE-5"]},
    "programme": {"technologies": ["hybrid rice"]},
    "lst_hours": {"lst_start_h": 0, "lst_end_h": 1},
    "sample_mass": {"mission": "CE-5", "sample_type": "CE-5 regolith"},
}


def _json(raw: str) -> dict[str, Any] | None:
    try:
        v = json.loads(raw or "{}")
    except ValueError:
        return None
    return v if isinstance(v, dict) else None


def _provider_page(page: Page, p: Provider, status: int = 200, **extra: Any) -> Response:
    facilities = facilities_of(page.db, p.id)
    pools = {f.id: pools_of(page.db, f.id) for f in facilities}
    return page.render(
        "manage/provider.html",
        {
            "provider": p,
            "facilities": facilities,
            "pools": pools,
            "facility_options": [(str(f.id), f.name) for f in facilities],
            "kind_options": [(k, page._(KIND_LABELS[k])) for k in FACILITY_KINDS],
            "pool_type_options": [(t, t) for t in POOL_UNITS],
            "examples": {k: json.dumps(v) for k, v in EXAMPLES.items()},
            "unit_of": lambda pool, amount=None: unit_label(
                pool.unit, pool.unit_labels, amount, page.lang
            ),
            "form": extra.get("form", {}),
            "errors": extra.get("errors", {}),
        },
        status=status,
    )


@router.get("/manage/providers/new", response_class=HTMLResponse)
def new_provider_form(page: Page = Depends(get_page)) -> Response:
    if not policies.may_create_provider(page.require_user()):
        page.not_found()
    return page.render(
        "manage/new_provider.html",
        {"form": {}, "errors": {}, "countries": [(c.iso3, c.name) for c in countries(page.db)]},
    )


@router.post("/manage/providers/new", response_class=HTMLResponse)
def new_provider(page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    if not policies.may_create_provider(user):
        page.not_found()
    f = page.form
    errors: dict[str, str] = {}
    for k in ("name", "slug", "country_iso3"):
        if not f.get(k, "").strip():
            errors[k] = page._(MSG_REQUIRED)
    if not errors:
        try:
            p = services.create_provider(
                page.db,
                name=f["name"][:200],
                slug=f["slug"].strip()[:80],
                country_iso3=f["country_iso3"][:3],
                description=f.get("description", "")[:5000],
                actor_id=user.id,
            )
            page.commit()
            return page.redirect(f"/manage/providers/{p.slug}", "saved")
        except Exception as exc:  # noqa: BLE001 - unique slug or unknown country
            page.db.rollback()
            errors["form"] = (
                page.t.error(exc) if isinstance(exc, DomainError) else page._(MSG_INVALID)
            )
    return page.render(
        "manage/new_provider.html",
        {"form": f, "errors": errors, "countries": [(c.iso3, c.name) for c in countries(page.db)]},
        status=400,
    )


@router.get("/manage/providers/{slug}", response_class=HTMLResponse)
def provider(slug: str, page: Page = Depends(get_page)) -> Response:
    return _provider_page(page, managed_provider(page, slug))


@router.post("/manage/providers/{slug}/facilities", response_class=HTMLResponse)
def add_facility(slug: str, page: Page = Depends(get_page)) -> Response:
    p = managed_provider(page, slug)
    f = page.form
    errors: dict[str, str] = {}
    attrs = _json(f.get("attributes", ""))
    if attrs is None:
        errors["attributes"] = page._(MSG_JSON)
    for k in ("name", "slug"):
        if not f.get(k, "").strip():
            errors[k] = page._(MSG_REQUIRED)
    if not errors and attrs is not None:
        with page.attempt() as refused:
            services.create_facility(
                page.db,
                p,
                name=f["name"][:200],
                slug=f["slug"].strip()[:80],
                kind=f.get("kind", ""),
                attributes=attrs,
                description=f.get("description", "")[:5000],
                actor_id=page.user.id,
            )
        if not refused:
            return page.redirect(f"/manage/providers/{p.slug}", "saved")
        errors[refused.field or "attributes"] = refused.message
    return _provider_page(page, p, 400, form=f, errors=errors)


@router.post("/manage/providers/{slug}/pools", response_class=HTMLResponse)
def add_pool(slug: str, page: Page = Depends(get_page)) -> Response:
    p = managed_provider(page, slug)
    f = page.form
    raw = f.get("facility_id", "")
    fac = page.db.get(Facility, int(raw)) if raw.isdecimal() and len(raw) < 10 else None
    if fac is None or fac.provider_id != p.id:
        page.not_found()
    errors: dict[str, str] = {}
    attrs = _json(f.get("attributes", ""))
    if attrs is None:
        errors["pool_attributes"] = page._(MSG_JSON)
    parsed = finite_number(f.get("amount", ""))
    if parsed is None:
        errors["amount"] = page._(MSG_NUMBER)
    amount = parsed or 0.0
    if not f.get("name", "").strip():
        errors["pool_name"] = page._(MSG_REQUIRED)
    if not errors and attrs is not None:
        with page.attempt() as refused:
            services.create_pool(
                page.db,
                fac,
                name=f["name"][:120],
                pool_type=f.get("pool_type", ""),
                amount=amount,
                attributes=attrs,
                actor_id=page.user.id,
            )
        if not refused:
            return page.redirect(f"/manage/providers/{p.slug}", "saved")
        errors["pool_" + (refused.field or "attributes")] = refused.message
    return _provider_page(page, p, 400, form=f, errors=errors)
