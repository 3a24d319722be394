"""The JSON API's writes of providers and calls: ``POST /api/v1/providers`` (site
administrators), ``POST /api/v1/calls`` (a provider's call managers), ``PATCH
/api/v1/calls/{slug}`` and ``POST /api/v1/calls/{slug}/pools`` (the user office), and the
partners of a joint call (``/api/v1/calls/{slug}/partners``: the call's office invites, the
partner's user office accepts or leaves).

Same services and policies as the management pages (``facilities.views``,
``calls.manage_views``): a refusal changes nothing and answers 400 with a message
that names the field; what may not be seen answers 404. The phase transitions
(which close the call's proposals) are in ``reviews.api_write``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from opencall.calls import partners, policies, services
from opencall.calls.access import office_call_api, signed_in_call_api
from opencall.calls.api import CallOut, call_out
from opencall.calls.models import Call, CallPartner
from opencall.calls.notify import mail_partner_invited
from opencall.calls.queries import partner_by_slug, partners_of
from opencall.calls.schemas import MAX_CUTOFFS
from opencall.facilities import policies as fac_policies
from opencall.facilities import services as fac_services
from opencall.facilities.models import CapacityPool
from opencall.facilities.queries import facility_by_slug, provider_by_slug
from opencall.inputs import BoundedDateTime
from opencall.web.api import MANAGE, MAX_ID, SLUG, Api, ApiError, get_api, slug_param

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "refused: the message names the field and says why"},
    404: {"description": "not found (or not yours to manage)"},
}
# every route is a write of a manager: the manage scope, and the refusals documented
router = APIRouter(prefix="/api/v1", tags=["calls"], responses=ERRORS, dependencies=[MANAGE])


class ProviderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    slug: str = Field(min_length=1, max_length=80, description="a-z, 0-9 and '-'")
    country_iso3: str = Field(min_length=3, max_length=3)
    description: str = Field("", max_length=5000)


class ProviderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read from the Provider row

    id: int
    slug: str
    name: str
    country_iso3: str
    description: str


@router.post("/providers", response_model=ProviderOut, status_code=201)
def create_provider(body: ProviderIn, api: Api = Depends(get_api)) -> ProviderOut:
    """A new provider (site administrators); give it an administrator with
    ``POST /api/v1/providers/{slug}/roles``."""
    user = api.require_user()
    if not fac_policies.may_create_provider(user):
        raise api.not_found()
    with api.refusing(commit=True):
        p = fac_services.create_provider(
            api.db,
            name=body.name,
            slug=body.slug.strip(),
            country_iso3=body.country_iso3.upper(),
            description=body.description,
            actor_id=user.id,
        )
        out = ProviderOut.model_validate(p)
    return out


WHEN = (
    "with an offset (2027-03-01T17:00:00+01:00, or Z), that instant; without one, the "
    "local time of time_zone (refused when the call has none)"
)
CALL_ZONE = (
    "the IANA zone the call's dates are stated in (Europe/Berlin): dates without an offset "
    "are read in it and the pages state the deadline in it beside UTC; empty: UTC"
)


class CallIn(BaseModel):
    """A new call: the same document as ``calls.schemas.CallCreate`` (validated by the
    service), and where it runs."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    provider: str = Field(min_length=1, max_length=80, description="the provider's slug")
    facility: str = Field(min_length=1, max_length=80, description="the facility's slug")
    slug: str = Field(min_length=2, max_length=80)
    code: str = Field(min_length=2, max_length=20)
    title: str = Field(min_length=3, max_length=300)
    cycle: str = Field(min_length=1, max_length=40)
    description: str = Field("", max_length=20000)
    opens_at: BoundedDateTime = Field(description=WHEN)
    closes_at: BoundedDateTime = Field(description=WHEN)
    time_zone: str = Field("", max_length=64, description=CALL_ZONE)
    anonymity: Literal["open", "single", "dual"] = "dual"
    review_settings: dict[str, Any] = Field(
        default_factory=dict, description="see the call document (review settings)"
    )
    allocation_policy: dict[str, Any] = Field(
        default_factory=dict,
        description="award_mode, pi_cap_awards, group_shares, group_caps (at most so many "
        "awards or so much per country, income_group or un_region), quality_threshold, ...",
    )
    form: dict[str, Any] = Field(default_factory=dict)
    eligibility: dict[str, Any] = Field(default_factory=dict)
    mode: Literal["deadline", "continuous"] = Field(
        "deadline",
        description="continuous: proposals taken at any time until the close, reviewed in "
        "batches at the cut-offs",
    )
    cutoffs: list[BoundedDateTime] = Field(
        default_factory=list,
        max_length=MAX_CUTOFFS,
        description="the review cut-offs of a continuous call (the close is the last), each "
        "read as opens_at is",
    )
    decision_days: int | None = Field(
        None, ge=1, le=366, description="the days from a cut-off to the decisions"
    )
    offer_all_pools: bool = Field(
        False,
        description="offer what is left of every capacity pool of the facility (one with "
        "nothing left, or of a slot-based one no slot ahead, is left out)",
    )


class CallEdit(BaseModel):
    """The fields to change (omitted ones keep their value); the service decides what
    the call's phase still allows."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    title: str | None = Field(None, min_length=3, max_length=300)
    cycle: str | None = Field(None, min_length=1, max_length=40)
    description: str | None = Field(None, max_length=20000)
    opens_at: BoundedDateTime | None = Field(None, description=WHEN)
    closes_at: BoundedDateTime | None = Field(None, description=WHEN)
    time_zone: str | None = Field(None, max_length=64, description=CALL_ZONE)
    anonymity: Literal["open", "single", "dual"] | None = None
    review_settings: dict[str, Any] | None = None
    allocation_policy: dict[str, Any] | None = None
    form: dict[str, Any] | None = None
    eligibility: dict[str, Any] | None = None


class PoolOfferIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    pool_id: int = Field(ge=1, le=MAX_ID)
    amount: float | None = Field(None, gt=0, description="default: the whole pool")
    max_per_request: float | None = Field(None, gt=0)
    min_per_request: float | None = Field(
        None, gt=0, description="the smallest request accepted (and awarded, when partial)"
    )


@router.post("/calls", response_model=CallOut, status_code=201)
def create_call(body: CallIn, api: Api = Depends(get_api)) -> CallOut:
    """A new call, in draft, at one of the provider's facilities (its call managers)."""
    user = api.require_user()
    provider = provider_by_slug(api.db, body.provider)
    if provider is None or not fac_policies.may_create_calls(api.db, user, provider):
        raise api.not_found()
    facility = facility_by_slug(api.db, provider.id, body.facility)
    if facility is None:
        raise ApiError(400, f"facility: the provider has no facility {body.facility!r}.")
    doc = body.model_dump(exclude={"provider", "facility", "offer_all_pools"})
    with api.refusing(commit=True):
        call = services.create_call(api.db, facility, doc, actor_id=user.id)
        if body.offer_all_pools:  # as the page: a resource with nothing left is left out
            services.offer_every_pool(api.db, call, actor_id=user.id)
        out = call_out(call)
    return out


@router.patch("/calls/{slug}", response_model=CallOut)
def edit_call(body: CallEdit, slug: str = SLUG, api: Api = Depends(get_api)) -> CallOut:
    """Change a call (user office): anything in draft; while open only the title,
    description, closing date and word limits; afterwards only the description."""
    call = office_call_api(api, slug)
    data = body.model_dump(exclude_unset=True)
    nulls = [k for k, v in data.items() if v is None]
    if nulls:
        raise ApiError(400, f"{nulls[0]}: may not be null (omit it to keep the value).")
    with api.refusing(commit=True):
        services.update_call(api.db, call, data, actor_id=api.actor_id)
        out = call_out(call)
    return out


@router.post("/calls/{slug}/pools", response_model=CallOut, status_code=201)
def offer_pool(body: PoolOfferIn, slug: str = SLUG, api: Api = Depends(get_api)) -> CallOut:
    """Offer (part of) one of the facility's capacity pools in the call (user office), or
    of a partner provider's facility of the same kind once the partner accepted (a joint
    call, ``/calls/{slug}/partners``)."""
    call = office_call_api(api, slug)
    pool = api.db.get(CapacityPool, body.pool_id)
    if pool is None:
        raise ApiError(
            400, "pool_id: not a capacity pool of the call's facility or of a partner of the call."
        )
    with api.refusing(commit=True):
        services.offer_pool(
            api.db,
            call,
            pool,
            body.amount,
            body.max_per_request,
            min_per_request=body.min_per_request,
            actor_id=api.actor_id,
        )
        out = call_out(call)
    return out


class OfferChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    amount: float = Field(description="what the call offers of the resource from now on")


@router.patch("/calls/{slug}/pools/{pool_id}", response_model=CallOut)
def change_offer(
    body: OfferChangeIn,
    slug: str = SLUG,
    pool_id: int = Path(ge=1, le=MAX_ID),
    api: Api = Depends(get_api),
) -> CallOut:
    """Change what a draft or open call offers of a resource (user office): a rolling
    track's budget raised with hours returned to the resource, or lowered (trialfac23)."""
    call = office_call_api(api, slug)
    pool = api.db.get(CapacityPool, pool_id)
    if pool is None:
        raise ApiError(400, "pool_id: not a capacity pool the call offers.")
    with api.refusing(commit=True):
        services.change_offer(api.db, call, pool, body.amount, actor_id=api.actor_id)
        out = call_out(call)
    return out


# ---------------------------------------------------------------- joint calls


class PartnerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str = Field(min_length=1, max_length=80, description="the provider's slug")


class PartnerOut(BaseModel):
    provider: str = Field(description="the partner provider's slug")
    name: str
    status: Literal["invited", "accepted"]
    invited_at: dt.datetime
    accepted_at: dt.datetime | None


class PartnerList(BaseModel):
    call: str = Field(description="the call's title (a draft's too, for the partner deciding)")
    owner: str = Field(description="the slug of the call's own provider")
    status: str = Field(description="the call's status")
    items: list[PartnerOut]


def _partner_out(p: CallPartner) -> PartnerOut:
    return PartnerOut(
        provider=p.provider.slug,
        name=p.provider.name,
        status="accepted" if p.status == "accepted" else "invited",
        invited_at=p.invited_at,
        accepted_at=p.accepted_at,
    )


def _answering_partner(api: Api, slug: str, provider: str) -> tuple[Call, CallPartner]:
    """The call and the invitation of ``provider`` when the caller answers for that
    provider (its user office) or runs the call (its office); else 404."""
    user = api.require_user()
    call = signed_in_call_api(api, slug, policies.may_see_partners)
    partner = partner_by_slug(api.db, call, provider)
    if partner is None:
        raise api.not_found()
    if not (
        policies.may_administer(api.db, user, call)
        or policies.may_answer_for_partner(api.db, user, call, partner.provider_id)
    ):
        raise api.not_found()
    return call, partner


@router.get("/calls/{slug}/partners", response_model=PartnerList)
def list_partners(slug: str = SLUG, api: Api = Depends(get_api)) -> PartnerList:
    """The providers invited into the call (a joint call): its office sees every one, a
    partner's office its own invitation."""
    call = signed_in_call_api(api, slug, policies.may_see_partners)
    rows = partners_of(api.db, call)
    if not policies.may_administer(api.db, api.user, call):
        mine = set(policies.partner_offices(api.db, api.user, call))
        rows = [p for p in rows if p.provider_id in mine]
    return PartnerList(
        call=call.title,
        owner=call.provider.slug,
        status=call.status,
        items=[_partner_out(p) for p in rows],
    )


@router.post("/calls/{slug}/partners", response_model=PartnerOut, status_code=201)
def invite_partner(body: PartnerIn, slug: str = SLUG, api: Api = Depends(get_api)) -> PartnerOut:
    """Invite another provider into the call (its user office, while it is a draft or
    open); its resources can be offered once its user office accepts."""
    call = office_call_api(api, slug)
    with api.refusing(commit=True):
        prov = partners.provider_to_invite(api.db, body.provider)
        out = _partner_out(partners.invite_partner(api.db, call, prov, actor_id=api.actor_id))
        mail_partner_invited(api.request, api.db, call, prov)
    return out


@router.post("/calls/{slug}/partners/{provider}/accept", response_model=PartnerOut)
def accept_partner(
    slug: str = SLUG, provider: str = slug_param(), api: Api = Depends(get_api)
) -> PartnerOut:
    """The invited provider's user office (administrators, call managers) accepts."""
    user = api.require_user()
    call, partner = _answering_partner(api, slug, provider)
    if not policies.may_answer_for_partner(api.db, user, call, partner.provider_id):
        raise api.not_found()
    with api.refusing(commit=True):
        out = _partner_out(partners.accept_partner(api.db, partner, call, actor_id=api.actor_id))
    return out


@router.delete("/calls/{slug}/partners/{provider}", status_code=204)
def withdraw_partner(
    slug: str = SLUG, provider: str = slug_param(), api: Api = Depends(get_api)
) -> Response:
    """Withdraw the partner (the call's office), or decline or leave the call (the
    partner's user office); refused while the call offers any of its resources."""
    call, partner = _answering_partner(api, slug, provider)
    with api.refusing(commit=True):
        partners.withdraw_partner(api.db, partner, call, actor_id=api.actor_id)
    return Response(status_code=204)
