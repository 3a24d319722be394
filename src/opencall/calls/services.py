from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls.domain import check_call_transition
from opencall.calls.models import Call, CallPool
from opencall.calls.schemas import CallCreate, allocation_policy, call_form, review_settings
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.facilities.models import CapacityPool, Facility


def create_call(
    session: Session, facility: Facility, data: dict[str, Any], *, actor_id: int | None = None
) -> Call:
    try:
        doc = CallCreate.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise DomainError(
            f"{loc}: {str(err['msg']).removeprefix('Value error, ')}".lstrip(": ")
        ) from exc
    rs = review_settings(doc.review_settings)
    ap = allocation_policy(doc.allocation_policy)
    form = call_form(doc.form)
    if facility.kind == "telescope":
        offered_r = set(facility.attributes.get("receivers", []))
        offered_m = set(facility.attributes.get("modes", []))
        if not form.receivers or not set(form.receivers) <= offered_r:
            raise DomainError("The call must offer receivers that the telescope has.", field="form")
        if not form.modes or not set(form.modes) <= offered_m:
            raise DomainError(
                "The call must offer observing modes that the telescope has.", field="form"
            )
    call = Call(
        provider_id=facility.provider_id,
        facility_id=facility.id,
        slug=doc.slug,
        code=doc.code,
        title=doc.title,
        cycle=doc.cycle,
        description=doc.description,
        opens_at=doc.opens_at,
        closes_at=doc.closes_at,
        anonymity=doc.anonymity,
        review_settings=rs.model_dump(mode="json"),
        allocation_policy=ap.model_dump(mode="json"),
        form=form.model_dump(mode="json"),
        eligibility=doc.eligibility,
        status="draft",
    )
    session.add(call)
    session.flush()
    auditlog.record(session, "call.created", "call", call.id, actor_id=actor_id, call_id=call.id)
    return call


def offer_pool(
    session: Session,
    call: Call,
    pool: CapacityPool,
    amount: float | None = None,
    max_per_request: float | None = None,
    *,
    actor_id: int | None = None,
) -> CallPool:
    if pool.facility_id != call.facility_id:
        raise DomainError("A call can only offer pools of its own facility.", field="pool")
    if call.status not in ("draft", "open"):
        raise DomainError("Pools can only be offered while the call is a draft or open.")
    amount = pool.amount if amount is None else float(amount)
    if not 0 < amount <= pool.amount:
        raise DomainError(
            f"The amount offered must be positive and at most the pool's {pool.amount:g} {pool.unit}.",
            field="amount",
        )
    cp = CallPool(call_id=call.id, pool_id=pool.id, amount=amount, max_per_request=max_per_request)
    session.add(cp)
    session.flush()
    session.refresh(call)
    auditlog.record(
        session,
        "call.pool_offered",
        "call",
        call.id,
        actor_id=actor_id,
        call_id=call.id,
        data={"pool_id": pool.id, "amount": amount},
    )
    return cp


def transition_call(
    session: Session,
    call: Call,
    target: str,
    *,
    actor_id: int | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Call:
    check_call_transition(call.status, target)
    now = now or utcnow()
    if target == "open" and not call.pools:
        raise DomainError("A call must offer at least one capacity pool before it opens.")
    if target == "closed" and now < call.closes_at and not reason:
        raise DomainError(
            "Closing before the deadline needs a reason (it cuts applicants short).",
            field="reason",
        )
    before = call.status
    call.status = target
    if target == "published":
        call.published_at = now
    session.flush()
    auditlog.record(
        session,
        "call.transition",
        "call",
        call.id,
        actor_id=actor_id,
        call_id=call.id,
        reason=reason,
        data={"from": before, "to": target},
    )
    return call
