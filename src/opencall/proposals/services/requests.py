"""What a proposal asks for: its requests validated against the call (kind,
pool, limits, the sky and depths the facility serves), all-or-nothing bundles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls.models import Call, CallPool
from opencall.calls.schemas import call_form
from opencall.errors import DomainError
from opencall.facilities import domain as fac_domain
from opencall.facilities import services as fac_services
from opencall.facilities.models import CapacityPool
from opencall.proposals.models import Proposal, Request
from opencall.proposals.schemas import DETAILS, POOL_TYPE_FOR_KIND
from opencall.proposals.services.editing import (
    REQUESTS,
    require_editable,
    save_edit,
    validated,
)
from opencall.proposals.services.scans import request_anonymity_scans


def fractional_requests(session: Session, pool: CapacityPool) -> list[str]:
    """The call code of every request for a part of ``pool`` that is not a whole
    number, in a draft or submitted proposal (one entry per request)."""
    rows = session.execute(
        select(Call.code, Request.amount)
        .join(Proposal, Proposal.id == Request.proposal_id)
        .join(Call, Call.id == Proposal.call_id)
        .where(Request.pool_id == pool.id, Proposal.status.in_(("draft", "submitted")))
    )
    return [code for code, amount in rows if float(amount) != int(amount)]


if fractional_requests not in fac_services.FRACTION_FINDERS:
    fac_services.FRACTION_FINDERS.append(fractional_requests)


KIND_FOR_FACILITY = {
    "telescope": ("fast",),
    "vessel": ("berth", "dive"),
    "samples": ("sample",),
    "programme": ("seat", "package"),
    "custom": ("custom",),
}


def row_problems(
    call: Call, kind: str, pool_id: int | None, rows: list[tuple[int, Any]]
) -> list[tuple[int, str, str]]:
    """Every line of a request's table the call cannot serve, all at once, as (line,
    column, message): targets outside the telescope's sky, dive sites deeper than the
    submersible goes. ``rows`` are (line number, validated line) pairs."""
    facility = call.facility
    out: list[tuple[int, str, str]] = []
    if kind == "fast":
        lo, hi = facility.attributes["dec_min_deg"], facility.attributes["dec_max_deg"]
        for i, t in rows:
            if not lo <= t.dec_deg <= hi:
                out.append(
                    (
                        i,
                        "dec_deg",
                        f"Target {t.name!r} at declination {t.dec_deg:+.2f}° is outside the sky "
                        f"this telescope can reach ({lo:+.0f}° to {hi:+.0f}°).",
                    )
                )
    elif kind == "dive":
        cp = next((cp for cp in call.pools if cp.pool_id == pool_id), None)
        max_depth = (cp.pool.attributes.get("max_depth_m") if cp else None) or (
            facility.attributes.get("max_dive_depth_m")
        )
        for i, site in rows:
            if max_depth is not None and site.depth_m > max_depth:
                out.append(
                    (
                        i,
                        "depth_m",
                        f"Dive site {site.name!r} at {site.depth_m:g} m is deeper than the "
                        f"submersible's limit of {max_depth:g} m.",
                    )
                )
    return out


#: A seat's or a package's pool teaches or offers another technology than the request's.
#: A seat or package asked of a resource of another technology, refused (literal message
#: ids, as tests/i18n's scan reads them)
_OTHER_TECHNOLOGY: dict[str, Callable[..., DomainError]] = {
    "seat": lambda **p: DomainError(
        "Session %(pool)s teaches %(technology)s.", field="details.technology", **p
    ),
    "package": lambda **p: DomainError(
        "Pool %(pool)s offers %(technology)s packages.", field="details.technology", **p
    ),
}


def validate_request(
    session: Session, call: Call, kind: str, pool_id: int | None, details: dict[str, Any]
) -> tuple[float, dict[str, Any], CapacityPool | None]:
    """Validate one request against the call; returns (amount, clean details, pool)."""
    facility = call.facility
    if kind not in KIND_FOR_FACILITY.get(facility.kind, ()):
        raise DomainError(
            "A %(kind)s call takes requests of kind %(kinds)s, not %(request_kind)s.",
            field="kind",
            kind=facility.kind,
            kinds=", ".join(KIND_FOR_FACILITY[facility.kind]),
            request_kind=repr(kind),
        )
    if kind == "custom":
        return _validate_custom(call, pool_id, details)
    model = DETAILS[kind]
    doc = validated(model, details, "details.")
    form = call_form(call.form)
    clean = doc.model_dump(mode="json")
    offered = {cp.pool_id: cp for cp in call.pools}
    pool: CapacityPool | None = None
    if kind == "fast":
        if doc.receiver not in form.receivers:  # type: ignore[attr-defined]
            raise DomainError(
                "Receiver %(receiver)s is not offered in this call (offered: %(offered)s).",
                field="details.receiver",
                receiver=repr(doc.receiver),  # type: ignore[attr-defined]
                offered=", ".join(form.receivers),
            )
        if doc.mode not in form.modes:  # type: ignore[attr-defined]
            raise DomainError(
                "Mode %(mode)s is not offered in this call (offered: %(offered)s).",
                field="details.mode",
                mode=repr(doc.mode),  # type: ignore[attr-defined]
                offered=", ".join(form.modes),
            )
        targets = doc.targets  # type: ignore[attr-defined]
        if len(targets) > form.max_targets:
            raise DomainError(
                "Too many targets (%(n)s; at most %(max)s).",
                field="details.targets",
                n=len(targets),
                max=form.max_targets,
            )
        for i, col, msg in row_problems(call, kind, pool_id, list(enumerate(targets)))[:1]:
            raise DomainError.composed(msg, field=f"details.targets.{i}.{col}")
        amount = float(sum(t.hours for t in targets))
        if pool_id is not None:
            raise DomainError(
                "Telescope hours are split over LST ranges from the targets; do not choose a pool.",
                field="pool_id",
            )
    else:
        if pool_id is None or pool_id not in offered:
            raise DomainError("Choose one of the capacity pools this call offers.", field="pool_id")
        cp = offered[pool_id]
        pool = cp.pool
        if pool.pool_type != POOL_TYPE_FOR_KIND[kind]:
            raise DomainError(
                "Pool %(pool)s offers %(unit)s, which a %(kind)s request cannot use.",
                field="pool_id",
                pool=repr(pool.name),
                unit=pool.unit,
                kind=kind,
            )
        if kind == "berth":
            amount = float(doc.berths)  # type: ignore[attr-defined]
        elif kind == "dive":
            sites = list(enumerate(doc.sites))  # type: ignore[attr-defined]
            for i, col, msg in row_problems(call, kind, pool_id, sites)[:1]:
                raise DomainError.composed(msg, field=f"details.sites.{i}.{col}")
            amount = float(len(doc.sites))  # type: ignore[attr-defined]
        elif kind == "sample":
            if doc.sample_type != pool.attributes.get("sample_type"):  # type: ignore[attr-defined]
                raise DomainError(
                    "Pool %(pool)s holds %(held)s, not %(asked)s.",
                    field="details.sample_type",
                    pool=repr(pool.name),
                    held=repr(pool.attributes.get("sample_type")),
                    asked=repr(doc.sample_type),  # type: ignore[attr-defined]
                )
            amount = float(doc.mass_mg)  # type: ignore[attr-defined]
        else:  # a seat or a package: of the pool's technology
            if doc.technology != pool.attributes.get("technology"):  # type: ignore[attr-defined]
                raise _OTHER_TECHNOLOGY[kind](
                    pool=repr(pool.name), technology=repr(pool.attributes.get("technology"))
                )
            amount = float(doc.seats if kind == "seat" else doc.packages)  # type: ignore[attr-defined]
        _check_limits(cp, amount)
    return amount, clean, pool


def _validate_custom(
    call: Call, pool_id: int | None, details: dict[str, Any]
) -> tuple[float, dict[str, Any], CapacityPool | None]:
    """A request on a custom resource: its details against the resource's declared
    request form (each field's message names the field by its label)."""
    offered = {cp.pool_id: cp for cp in call.pools}
    if pool_id is None or pool_id not in offered:
        raise DomainError("Choose one of the resources this call offers.", field="pool_id")
    cp = offered[pool_id]
    pool = cp.pool
    if pool.pool_type != "custom":
        raise DomainError(
            "Resource %(name)s takes requests of its preset kind.",
            field="pool_id",
            name=repr(pool.name),
        )
    try:
        amount, clean = pool.validate_details(details)
    except fac_domain.FieldProblem as exc:
        if exc.params:  # a message id of its own: the unit said in the reader's language
            exc.field = f"details.{exc.field}"
            raise
        raise DomainError.composed(exc.message, field=f"details.{exc.field}") from exc
    _check_limits(cp, amount)
    return amount, clean, pool


def _check_limits(cp: CallPool, amount: float) -> None:
    """The call's limits on one request for the resource, in this order: no more than
    the call offers, no less than its minimum, no more than its maximum per request.

    A custom resource's refusals point at ``details.amount`` (its request form), a preset
    pool's at ``amount``; both name the unit of each limit."""
    pool = cp.pool
    custom = pool.pool_type == "custom"
    name = repr(pool.name)
    asked = {
        "field": "details.amount" if custom else "amount",
        "amount": fac_domain.number_param(amount),
        "unit": fac_domain.unit_text(pool.unit, pool.unit_labels, amount),  # reader's language
    }

    def unit_of(limit: float) -> str:
        """The unit's word for ``limit`` of it, in the reader's language."""
        return fac_domain.unit_text(pool.unit, pool.unit_labels, limit)

    # each limit with its unit's word, on a preset pool and an operator's resource alike
    # (the resource's limits said bare numbers: "below the minimum per request of 1")
    if amount > cp.amount:
        raise DomainError(
            "The request (%(amount)s %(unit)s) exceeds what the call offers in "
            "%(pool)s (%(offered)s %(unit2)s).",
            **asked,
            pool=name,
            offered=fac_domain.number_param(cp.amount),
            unit2=unit_of(cp.amount),
        )
    if cp.min_per_request is not None and amount < cp.min_per_request - 1e-9:
        raise DomainError(
            "The request (%(amount)s %(unit)s) is below the minimum per request of "
            "%(limit)s %(unit2)s in %(name)s.",
            **asked,
            limit=fac_domain.number_param(cp.min_per_request),
            unit2=unit_of(cp.min_per_request),
            name=name,
        )
    if cp.max_per_request is not None and amount > cp.max_per_request:
        raise DomainError(
            "The request (%(amount)s %(unit)s) exceeds the limit per request of "
            "%(limit)s %(unit2)s in %(pool)s.",
            **asked,
            limit=fac_domain.number_param(cp.max_per_request),
            unit2=unit_of(cp.max_per_request),
            pool=name,
        )


def _check_bundle(proposal: Proposal, bundle: str | None, pool_id: int | None) -> None:
    """At save time: a well-formed key on a resource the call offers (a bundle of
    one is allowed while the applicant adds the others; submission needs two)."""
    if bundle is None:
        return
    fac_domain.check_bundled_request(bundle, pool_id, {cp.pool_id for cp in proposal.call.pools})


def set_bundle(
    session: Session,
    proposal: Proposal,
    request_ids: list[int],
    bundle: str | None,
    *,
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> list[Request]:
    """Mark requests of one proposal all-or-nothing (``bundle`` a key), or take them
    out of their bundle (``bundle`` None). A bundle holds at least two requests of
    this proposal, each on a resource its call offers; nothing changes otherwise."""
    require_editable(proposal, now, session=session)
    mine = {r.id: r for r in proposal.requests}
    chosen = []
    for rid in dict.fromkeys(request_ids):
        if rid not in mine:
            raise DomainError(
                "A bundle holds requests of this proposal only (and of its call).",
                field="bundle",
            )
        chosen.append(mine[rid])
    if bundle is not None:
        if len(chosen) < 2:
            raise DomainError(
                "An all-or-nothing bundle needs at least two requests of this proposal.",
                field="bundle",
            )
        offered = {cp.pool_id for cp in proposal.call.pools}
        after = {r.id: r.bundle for r in proposal.requests}
        after.update({r.id: bundle for r in chosen})
        fac_domain.check_bundles(
            [
                (after[r.id], r.pool_id, offered)
                for r in proposal.requests
                if after[r.id] is not None
            ]
        )
    else:
        left = {r.bundle for r in chosen} - {None}
        for key in left:
            rest = [r for r in proposal.requests if r.bundle == key and r not in chosen]
            if len(rest) == 1:
                rest[0].bundle = None
    for r in chosen:
        r.bundle = bundle
    save_edit(
        session,
        proposal,
        expected_version,
        "request.bundled" if bundle else "request.unbundled",
        actor_id=actor_id,
        data={"requests": [r.id for r in chosen], "bundle": bundle},
    )
    return chosen


def _check_total(call: Call, requests_amounts: list[float]) -> None:
    form = call_form(call.form)
    total = sum(requests_amounts)
    if form.max_amount_per_proposal is not None and total > form.max_amount_per_proposal + 1e-9:
        raise DomainError(
            "The proposal asks for %(total)s in total; this call allows at most "
            "%(max)s per proposal.",
            field="amount",
            total=fac_domain.number_param(total),
            max=fac_domain.number_param(form.max_amount_per_proposal),
        )


#: requests one proposal may hold: each is a form of the editor, a part of the frozen
#: revision and a variable of the call's allocation, and a script could add them without
#: end (a call's total per proposal bounds their sum, not their number; trialcrowd13)
MAX_REQUESTS = 100


def add_request(
    session: Session,
    proposal: Proposal,
    kind: str,
    details: dict[str, Any],
    *,
    pool_id: int | None = None,
    bundle: str | None = None,
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Request:
    require_editable(proposal, now, session=session)
    if len(proposal.requests) >= MAX_REQUESTS:
        raise DomainError(
            "A proposal holds at most %(max)s requests; change or remove one instead of "
            "adding another.",
            max=MAX_REQUESTS,
        )
    amount, clean, _pool = validate_request(session, proposal.call, kind, pool_id, details)
    _check_bundle(proposal, bundle, pool_id)
    _check_total(proposal.call, [r.amount for r in proposal.requests] + [amount])
    req = Request(
        proposal_id=proposal.id,
        pool_id=pool_id,
        kind=kind,
        amount=amount,
        details=clean,
        bundle=bundle,
        position=max((r.position for r in proposal.requests), default=-1) + 1,
    )
    session.add(req)
    save_edit(
        session,
        proposal,
        expected_version,
        "request.added",
        actor_id=actor_id,
        data={"kind": kind, "amount": amount},
        refresh=[REQUESTS],
    )
    # reviewers read its details (trialrev21): scanned with the text in a dual-anonymous call
    request_anonymity_scans(session, proposal, actor_id=actor_id)
    return req


def update_request(
    session: Session,
    proposal: Proposal,
    request: Request,
    details: dict[str, Any],
    *,
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Request:
    require_editable(proposal, now, session=session)
    if request.proposal_id != proposal.id:
        raise DomainError("Not a request of this proposal.", code="not_found")
    amount, clean, _ = validate_request(
        session, proposal.call, request.kind, request.pool_id, details
    )
    _check_total(
        proposal.call, [r.amount for r in proposal.requests if r.id != request.id] + [amount]
    )
    request.amount = amount
    request.details = clean
    save_edit(
        session,
        proposal,
        expected_version,
        "request.edited",
        actor_id=actor_id,
    )
    request_anonymity_scans(session, proposal, actor_id=actor_id)
    return request
