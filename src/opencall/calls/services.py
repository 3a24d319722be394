from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls.domain import (
    check_call_transition,
    check_eligibility,
    cutoff_list,
    parse_cutoffs,
)
from opencall.calls.models import Call, CallPool
from opencall.calls.queries import partner_of
from opencall.calls.schemas import (
    TITLE_MAX_CHARS,
    CallCreate,
    CallForm,
    PolicyPool,
    allocation_policy,
    call_form,
    check_policy,
    review_settings,
)
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.facilities import services as fac_services
from opencall.facilities.domain import amount_text, number_param, require_whole, unit_text
from opencall.facilities.models import CapacityPool, Facility
from opencall.facilities.queries import pools_of
from opencall.facilities.schemas import FACILITY_ATTRS
from opencall.inputs import error_text, first_error
from opencall.people import services as people_services
from opencall.people.models import RoleGrant


def _slug_taken(slug: str) -> DomainError:
    """The refusal of a slug another call has: call slugs are unique across the site
    (every URL finds a call by its slug alone)."""
    return DomainError(
        "The address %(slug)s is already used by another call on this site; choose another.",
        field="slug",
        slug=repr(slug),
    )


def check_title_bound(form: CallForm) -> None:
    """A call's title limit is at most :data:`~opencall.calls.schemas.TITLE_MAX_CHARS`
    (what the proposals' title column holds, the bound of every page and the API)."""
    if form.title_max_chars > TITLE_MAX_CHARS:
        raise DomainError(
            "Proposal titles can be at most %(max)s characters long; a title limit of "
            "%(n)s is above that.",
            field="form.title_max_chars",
            max=TITLE_MAX_CHARS,
            n=form.title_max_chars,
        )


#: the settings of a call's form that offer some of its facility's own attributes (a
#: telescope's receivers and observing modes); a kind has those its attributes have
#: (``facilities.schemas.FACILITY_ATTRS``): the call form shows only these (trialop18b)
OFFER_FIELDS = ("receivers", "modes")


def offer_fields(kind: str) -> tuple[str, ...]:
    """The :data:`OFFER_FIELDS` a facility of ``kind`` has (none for an unknown kind)."""
    attrs = FACILITY_ATTRS.get(kind)
    return tuple(n for n in OFFER_FIELDS if attrs is not None and n in attrs.model_fields)


def not_offered(kind: str, name: str) -> DomainError:
    """The error for a value of the offer field ``name`` that a ``kind`` facility lacks."""
    if name == "receivers":
        return DomainError(
            "A %(kind)s facility does not offer receivers: leave this field empty.",
            field="form.receivers",
            kind=kind,
        )
    return DomainError(
        "A %(kind)s facility does not offer observing modes: leave this field empty.",
        field="form.modes",
        kind=kind,
    )


def _check_kind_fields(facility: Facility, form: CallForm, names: set[str]) -> None:
    """A call offers nothing of what its facility's kind does not have (``names``: the
    offer fields to check)."""
    for name in OFFER_FIELDS:
        if name in names and getattr(form, name) and name not in offer_fields(facility.kind):
            raise not_offered(facility.kind, name)


def _check_telescope_offer(facility: Facility, form: CallForm) -> None:
    """A telescope call offers some of the telescope's receivers and observing modes,
    and none it does not have."""
    if not form.receivers or not set(form.receivers) <= set(
        facility.attributes.get("receivers", [])
    ):
        raise DomainError("The call must offer receivers that the telescope has.", field="form")
    if not form.modes or not set(form.modes) <= set(facility.attributes.get("modes", [])):
        raise DomainError(
            "The call must offer observing modes that the telescope has.", field="form"
        )


def create_call(
    session: Session, facility: Facility, data: dict[str, Any], *, actor_id: int | None = None
) -> Call:
    try:
        doc = CallCreate.model_validate(data)
    except ValidationError as exc:
        raise DomainError.composed(error_text(exc)) from exc
    taken = session.scalar(select(Call.id).where(Call.slug == doc.slug).limit(1))
    if taken is not None:
        raise _slug_taken(doc.slug)
    rs = review_settings(doc.review_settings)
    ap = allocation_policy(doc.allocation_policy)
    form = call_form(doc.form)
    check_title_bound(form)
    check_policy(ap, rs, policy_pools(session, None, facility))
    _check_kind_fields(facility, form, set(OFFER_FIELDS))
    if facility.kind == "telescope":
        _check_telescope_offer(facility, form)
    cutoffs = cutoff_list(doc.mode, _utc(doc.opens_at), _utc(doc.closes_at), doc.cutoffs)
    call = Call(
        provider_id=facility.provider_id,
        facility_id=facility.id,
        mode=doc.mode,
        cutoffs=[c.isoformat() for c in cutoffs],
        decision_days=doc.decision_days,
        slug=doc.slug,
        code=doc.code,
        title=doc.title,
        cycle=doc.cycle,
        description=doc.description,
        opens_at=_utc(doc.opens_at),
        closes_at=_utc(doc.closes_at),
        time_zone=doc.time_zone,
        anonymity=doc.anonymity,
        review_settings=rs.model_dump(mode="json"),
        allocation_policy=ap.model_dump(mode="json"),
        form=form.model_dump(mode="json"),
        eligibility=check_eligibility(doc.eligibility),
        status="draft",
    )
    try:
        with session.begin_nested():  # a concurrent create of the same slug loses here
            session.add(call)
            session.flush()
    except IntegrityError as exc:
        raise _slug_taken(doc.slug) from exc
    auditlog.record(session, "call.created", "call", call.id, actor_id=actor_id, call_id=call.id)
    return call


def offered_pools(call: Call) -> dict[int, PolicyPool]:
    """The resources the call offers, with the amount offered, as the policy checks read
    them."""
    return {
        cp.pool_id: PolicyPool(cp.pool.name, cp.amount, cp.pool.unit, cp.pool.unit_labels)
        for cp in call.pools
    }


def policy_pools(session: Session, call: Call | None, facility: Facility) -> dict[int, PolicyPool]:
    """The resources a call's allocation policy may name: those the call offers (with the
    amount offered), or, before it offers any, the facility's (with their amounts)."""
    if call is not None and call.pools:
        return offered_pools(call)
    # the five columns the checks read, not the resources as objects: loading them loaded
    # each one's unavailable periods too, at every offer (a quarter of offering 24 pools)
    rows = session.execute(
        select(
            CapacityPool.id,
            CapacityPool.name,
            CapacityPool.amount,
            CapacityPool.unit,
            CapacityPool.unit_labels,
        ).where(CapacityPool.facility_id == facility.id)
    )
    return {r.id: PolicyPool(r.name, r.amount, r.unit, r.unit_labels) for r in rows}


#: What each call awarded of some resources (``{(resource id, call id): amount}``, given
#: the resources' ids: one statement for a facility's every resource). The allocation
#: feature comes after calls and registers its counter here at import, so that a call
#: whose decisions are released holds what it awarded, not its whole offer.
AWARD_COUNTERS: list[Callable[[Session, Sequence[int]], dict[tuple[int, int], float]]] = []


#: How many slots of one resource each call has booked that have begun by a time
#: (``{call id: count}``, given the resource's id and the time). The scheduling feature
#: comes after calls and registers its counter here at import.
BEGUN_COUNTERS: list[Callable[[Session, int, dt.datetime], dict[int, int]]] = []


def held_by_call(
    session: Session, pool: CapacityPool, call_id: int | None = None
) -> dict[int, float]:
    """What each call (other than ``call_id``) holds of a resource: what it offers, and,
    once its decisions are released, what it awarded (never more than its offer): the
    rest returns to the resource, for the next round of a rapid-access route, say. Every
    call counts, whatever its state: an archived call's awards used the resource's
    capacity in its period. A new cycle offers a new resource (its own period), as the
    demo's earlier cycles do.

    A continuous call's batches take their capacity from their call's budget: the call
    holds its whole offer while it takes proposals, and afterwards what its batches hold
    (each counted as a call is); a batch is never counted beside it."""
    return held_by_calls(session, [pool.id], call_id).get(pool.id, {})


def held_by_calls(
    session: Session, pool_ids: Sequence[int], call_id: int | None = None
) -> dict[int, dict[int, float]]:
    """:func:`held_by_call` of each resource of ``pool_ids`` (``{resource id: {call id:
    amount}}``), in three statements whatever their number (scale20: a facility's page
    and API counted each of its resources alone, two statements each, a facility
    offering new resources each cycle reading more each year)."""
    q = (
        select(
            CallPool.pool_id,
            CallPool.call_id,
            CallPool.amount,
            Call.decisions_released_at,
            Call.parent_id,
            Call.mode,
            Call.status,
        )
        .join(Call, Call.id == CallPool.call_id)
        .where(CallPool.pool_id.in_(sorted(set(pool_ids))))
    )
    awarded: dict[tuple[int, int], float] | None = None

    def awarded_by(pid: int, cid: int) -> float:
        nonlocal awarded
        if awarded is None:
            awarded = {}
            for counter in AWARD_COUNTERS:
                for k, v in counter(session, pool_ids).items():
                    awarded[k] = awarded.get(k, 0.0) + v
        return awarded.get((pid, cid), 0.0)

    by_pool: dict[int, list[Any]] = {pid: [] for pid in pool_ids}
    for pid, *row in session.execute(q):
        by_pool[pid].append(row)
    return {pid: _held(rows, pid, call_id, awarded_by) for pid, rows in by_pool.items()}


def _held(
    rows: Sequence[Any],
    pid: int,
    call_id: int | None,
    awarded_by: Callable[[int, int], float],
) -> dict[int, float]:
    """What each call of ``rows`` (a resource's offers) holds of it (:func:`held_by_call`)."""

    def holding(offered: float, cid: int, released: dt.datetime | None) -> float:
        if released is None or not AWARD_COUNTERS:
            return float(offered)
        return min(float(offered), awarded_by(pid, cid))

    batches: dict[int, float] = {}
    # the batch ``call_id`` draws on its call's budget: its call then holds what the
    # other batches hold, as it does once it no longer takes proposals
    own_parent = next((parent for cid, *_, parent, _m, _s in rows if cid == call_id), None)
    for cid, offered, released, parent, _mode, _status in rows:
        if parent is not None and cid != call_id:
            batches[parent] = batches.get(parent, 0.0) + holding(offered, cid, released)
    held: dict[int, float] = {}
    for cid, offered, released, parent, mode, status in rows:
        if parent is not None or cid == call_id:
            continue
        if cid == own_parent or (mode == "continuous" and status not in ("draft", "open")):
            held[cid] = min(float(offered), batches.get(cid, 0.0))
        else:
            held[cid] = holding(offered, cid, released)
    return held


def batch_parents(session: Session, pool: CapacityPool) -> dict[int, int]:
    """``{batch call id: its continuous call's id}`` of the batches offering ``pool``."""
    return {
        cid: parent
        for cid, parent in session.execute(
            select(Call.id, Call.parent_id)
            .join(CallPool, CallPool.call_id == Call.id)
            .where(CallPool.pool_id == pool.id, Call.parent_id.is_not(None))
        )
        if parent is not None
    }


def offered_elsewhere(session: Session, pool: CapacityPool, call_id: int | None = None) -> float:
    """What calls (other than ``call_id``) hold of a resource (:func:`held_by_call`)."""
    return sum(held_by_call(session, pool, call_id).values())


def slots_left(
    session: Session,
    pool: CapacityPool,
    call_id: int | None = None,
    now: dt.datetime | None = None,
) -> float | None:
    """Of a slot-based resource, the free slots that have not begun by ``now`` (the real
    time when not given) and that calls other than ``call_id`` do not hold: what is
    still left to offer, or to award. A call holds its slots ahead, less those it has
    booked that have begun (used, or under way). None for a resource without slots."""
    if pool.slot_hours is None:
        return None
    now = now or utcnow()
    free = fac_services.slots_not_begun(pool, now) or 0
    begun: dict[int, int] = {}
    parents = batch_parents(session, pool)  # a batch's slots are its call's
    for counter in BEGUN_COUNTERS:
        for k, v in counter(session, pool.id, now).items():
            k = parents.get(k, k)
            begun[k] = begun.get(k, 0) + v
    ahead = sum(
        max(held - begun.get(cid, 0), 0.0)
        for cid, held in held_by_call(session, pool, call_id).items()
    )
    return max(free - ahead, 0.0)


def _committed(session: Session, pools: Sequence[CapacityPool]) -> dict[int, float]:
    held = held_by_calls(session, [p.id for p in pools])
    return {pid: sum(h.values()) for pid, h in held.items()}


if _committed not in fac_services.COMMITMENT_COUNTERS:
    fac_services.COMMITMENT_COUNTERS.append(_committed)


def fractional_offers(session: Session, pool: CapacityPool) -> list[str]:
    """The code of every call offering a part of ``pool`` that is not a whole number
    (whatever the call's state, as :func:`offered_elsewhere` counts them)."""
    rows = session.execute(
        select(Call.code, CallPool.amount)
        .join(Call, Call.id == CallPool.call_id)
        .where(CallPool.pool_id == pool.id)
    )
    return [code for code, amount in rows if float(amount) != int(amount)]


if fractional_offers not in fac_services.FRACTION_FINDERS:
    fac_services.FRACTION_FINDERS.append(fractional_offers)


def _check_request_bounds(
    pool: CapacityPool, amount: float, low: float | None, high: float | None
) -> None:
    """The smallest and largest request of a resource a call accepts: positive, the
    smallest at most the largest and at most what the call offers."""
    if low is None:
        return
    if not (0 < low <= amount) or (high is not None and low > high):
        raise DomainError(
            "The minimum per request (%(low)s) must be positive and at most the amount "
            "offered (%(amount)s) and the limit per request.",
            field="min_per_request",
            low=number_param(low),
            amount=number_param(amount),
        )
    if pool.whole_only and low != int(low):
        raise DomainError(
            "A resource counted in %(unit)s offers whole units; %(amount)s is not a whole number.",
            field="min_per_request",
            unit=unit_text(pool.unit, pool.unit_labels),
            amount=number_param(low),
        )


def offer_pool(
    session: Session,
    call: Call,
    pool: CapacityPool,
    amount: float | None = None,
    max_per_request: float | None = None,
    *,
    min_per_request: float | None = None,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> CallPool:
    """Offer ``amount`` of ``pool`` in ``call`` (what is left of it when not given): what
    every call offers fits in what the resource has and, of a slot-based resource, in
    its slots not begun by ``now`` (:func:`slots_left`)."""
    if pool.facility_id != call.facility_id:
        _require_partner_pool(session, call, pool)
    _require_offers_open(call)
    # over-commit: what every call offers of a resource fits in what it has (the
    # pool's row is locked so that two calls offering it at once are serialised)
    session.execute(select(CapacityPool.id).where(CapacityPool.id == pool.id).with_for_update())
    # what this call already offers of it (None: nothing)
    already = session.scalar(
        select(CallPool.amount).where(CallPool.pool_id == pool.id, CallPool.call_id == call.id)
    )
    if already is not None:
        raise DomainError(
            "This call already offers %(name)s (%(amount)s).",
            field="pool",
            name=repr(pool.name),
            amount=amount_text(pool.unit, pool.unit_labels, already),
        )
    amount = _checked_offer(session, call, pool, amount, max_per_request, min_per_request, now)
    cp = CallPool(
        call_id=call.id,
        pool_id=pool.id,
        amount=amount,
        max_per_request=max_per_request,
        min_per_request=min_per_request,
    )
    session.add(cp)
    # the new pool among the call's: appended to them where they are loaded (its id is
    # the call's highest, so it comes last, as ``order_by`` puts it), not the whole call
    # and every pool read again at each offer (a call of 24 pools read 300 of them)
    pools_loaded = "pools" not in inspect(call).unloaded
    if pools_loaded:
        call.pools.append(cp)
    session.flush()
    if not pools_loaded:
        session.refresh(call, ["pools"])
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


def _require_offers_open(call: Call) -> None:
    if call.status not in ("draft", "open"):
        raise DomainError("Pools can only be offered while the call is a draft or open.")


def _checked_offer(
    session: Session,
    call: Call,
    pool: CapacityPool,
    amount: float | None,
    max_per_request: float | None,
    min_per_request: float | None,
    now: dt.datetime | None,
) -> float:
    """The amount ``call`` may offer of ``pool`` (what is left of it when ``amount`` is
    None), refused as :func:`offer_pool` and :func:`change_offer` say; the call's own
    offer of it, if any, is not counted (it is the one being made or changed)."""
    elsewhere = offered_elsewhere(session, pool, call.id)
    committed = float(elsewhere or 0.0)
    left = max(pool.amount - committed, 0.0)
    # of a slot-based resource, only the slots that have not begun can be offered
    ahead = slots_left(session, pool, call.id, now)
    if ahead is not None and ahead < left:
        left = ahead
        asked = left if amount is None else float(amount)
        if asked > left or left <= 0:
            raise DomainError(
                "Resource %(name)s has %(ahead)s slots left that have not begun and that "
                "other calls do not hold, so this call can offer at most %(left)s "
                "(asked: %(asked)s).",
                field="amount",
                code="over_commit",
                name=repr(pool.name),
                ahead=number_param(ahead),
                left=number_param(left),
                asked=number_param(asked),
            )
    # without an amount, the call offers what is left of the resource
    given = amount is not None
    amount = left if amount is None else float(amount)
    # what both over-commit refusals say of the resource: its name and all it has
    over_commit: dict[str, Any] = {
        "field": "amount",
        "code": "over_commit",
        "name": repr(pool.name),
        "amount": amount_text(pool.unit, pool.unit_labels, pool.amount),
    }
    if not 0 < amount <= pool.amount:
        if not given and committed > 0:
            raise DomainError(
                "Resource %(name)s has nothing left to offer: other calls already offer "
                "all its %(amount)s.",
                **over_commit,
            )
        raise DomainError(
            "The amount offered must be positive and at most the pool's %(amount)s %(unit)s.",
            field="amount",
            amount=number_param(pool.amount),
            unit=unit_text(pool.unit, pool.unit_labels, pool.amount),
        )
    require_whole(
        amount,
        pool.unit,
        pool.unit_labels,
        whole=pool.whole_only,
        slot_based=pool.slot_hours is not None,
    )
    if committed + amount > pool.amount + 1e-9:
        raise DomainError(
            "Resource %(name)s has %(amount)s; other calls already offer "
            "%(committed)s, so this call can offer at most %(left)s (asked: "
            "%(asked)s).",
            **over_commit,
            committed=number_param(committed),
            left=number_param(left),
            asked=number_param(amount),
        )
    _check_request_bounds(pool, amount, min_per_request, max_per_request)
    _check_instrument_offer(session, call, pool, amount)
    # the policy's limits and caps on this resource fit in what is offered of it (the
    # allocation would refuse the policy, locked since the call opened)
    _check_policy_with_offer(session, call, pool, amount)
    return amount


def change_offer(
    session: Session,
    call: Call,
    pool: CapacityPool,
    amount: float,
    *,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> CallPool:
    """Change what ``call`` offers of ``pool`` to ``amount`` while the call is a draft
    or open (trialfac23): a rolling track's budget raised with what a competitive call
    left unawarded or an ended award returned, or lowered. The same checks as a new
    offer (the resource's capacity less what other calls hold, its slots not begun,
    whole units, the call's largest and smallest request, its policy, a shared
    instrument), and a continuous call's budget is never lowered below what its batches
    already hold; refused, nothing changes."""
    _require_offers_open(call)
    session.execute(select(CapacityPool.id).where(CapacityPool.id == pool.id).with_for_update())
    cp = session.scalar(
        select(CallPool).where(CallPool.pool_id == pool.id, CallPool.call_id == call.id)
    )
    if cp is None:
        raise DomainError(
            "This call does not offer %(name)s.", field="pool_id", name=repr(pool.name)
        )
    amount = _checked_offer(
        session, call, pool, amount, cp.max_per_request, cp.min_per_request, now
    )
    if call.mode == "continuous":
        held = held_by_batches(session, pool, call.id)
        if amount < held - 1e-9:
            raise DomainError(
                "The batches of this call already hold %(held)s of %(name)s; its offer "
                "cannot be lowered below that.",
                field="amount",
                held=amount_text(pool.unit, pool.unit_labels, held),
                name=repr(pool.name),
            )
    before = float(cp.amount)
    cp.amount = amount
    session.flush()
    auditlog.record(
        session,
        "call.pool_offer_changed",
        "call",
        call.id,
        actor_id=actor_id,
        call_id=call.id,
        data={"pool_id": pool.id, "from": before, "to": amount},
    )
    return cp


def held_by_batches(session: Session, pool: CapacityPool, call_id: int) -> float:
    """What the batches of the continuous call ``call_id`` hold of ``pool`` (each as
    :func:`held_by_call` counts a call: its offer, or once released what it awarded)."""
    rows = session.execute(
        select(CallPool.call_id, CallPool.amount, Call.decisions_released_at)
        .join(Call, Call.id == CallPool.call_id)
        .where(CallPool.pool_id == pool.id, Call.parent_id == call_id)
    ).all()
    awarded: dict[tuple[int, int], float] = {}
    if any(released is not None for _c, _a, released in rows):
        for counter in AWARD_COUNTERS:
            for k, v in counter(session, [pool.id]).items():
                awarded[k] = awarded.get(k, 0.0) + v
    return sum(
        float(offered)
        if released is None or not AWARD_COUNTERS
        else min(float(offered), awarded.get((pool.id, cid), 0.0))
        for cid, offered, released in rows
    )


def instrument_held(
    session: Session, pool: CapacityPool, call_id: int | None = None
) -> dict[int, float]:
    """The hours of the instrument ``pool`` shares with its exclusive group that each call
    (other than ``call_id``) holds: what it holds of the group's resources, in hours, at
    most the instrument's hours (a call may offer two modes of one beamline in full; its
    allocation then awards at most the beamline's hours across them, trialfac22b).
    {} without a group of two resources or more."""
    hours = fac_services.instrument_hours(pool)
    if hours is None:
        return {}
    return _held_of_group(
        session, [pool, *fac_services.instrument_siblings(session, pool)], hours, call_id
    )


def _held_of_group(
    session: Session, members: Sequence[CapacityPool], hours: float, call_id: int | None = None
) -> dict[int, float]:
    """:func:`instrument_held` of the resources ``members`` sharing ``hours``."""
    held = held_by_calls(session, [p.id for p in members], call_id)
    per_call: dict[int, float] = {}
    for p in members:
        for cid, amount in held.get(p.id, {}).items():
            per_call[cid] = per_call.get(cid, 0.0) + amount * float(p.slot_hours or 0)
    return {cid: min(h, hours) for cid, h in per_call.items()}


def check_group_join(session: Session, pool: CapacityPool, group: str) -> None:
    """Putting ``pool`` in the exclusive group ``group`` keeps what the calls hold of the
    instrument within its hours (each call at most the instrument's hours across its
    resources, as :func:`_check_instrument_offer` for an offer; mend22b)."""
    others = [p for p in fac_services.group_members(session, pool.facility_id, group)]
    members = [pool, *(p for p in others if p.id != pool.id)]
    if len(members) < 2 or pool.slot_hours is None:
        return
    hours = fac_services.open_hours(members)
    held = sum(_held_of_group(session, members, hours).values())
    if held > hours + 1e-9:
        raise DomainError(
            "Resource %(name)s cannot share the instrument %(group)s (%(hours)s hours "
            "open): the calls' offers on its resources would hold %(held)s of those hours. "
            "Lower the offers first.",
            field="exclusive_group",
            code="over_commit",
            name=repr(pool.name),
            group=repr(group),
            hours=number_param(hours),
            held=number_param(held),
        )


if check_group_join not in fac_services.GROUP_JOIN_CHECKS:
    fac_services.GROUP_JOIN_CHECKS.append(check_group_join)


def _check_instrument_offer(
    session: Session, call: Call, pool: CapacityPool, amount: float
) -> None:
    """What the calls offer of one instrument's resources fits in its hours: each call
    holds the hours it offers across them, at most the instrument's (trialfac22b)."""
    hours = fac_services.instrument_hours(pool)
    if hours is None:
        return
    others = sum(instrument_held(session, pool, call.id).values())
    group = {pool.id, *(p.id for p in fac_services.instrument_siblings(session, pool))}
    mine = sum(
        float(cp.amount) * float(cp.pool.slot_hours or 0)
        for cp in call.pools
        if cp.pool_id in group and cp.pool_id != pool.id  # its own offer: being changed
    )
    asked = min(mine + amount * float(pool.slot_hours or 0), hours)
    if others + asked > hours + 1e-9:
        raise DomainError(
            "Resource %(name)s shares the instrument %(group)s (%(hours)s hours open) with "
            "other resources; other calls hold %(held)s of those hours, so this call's "
            "offers on it can hold at most %(left)s hours (asked: %(asked)s).",
            field="amount",
            code="over_commit",
            name=repr(pool.name),
            group=repr(pool.exclusive_group),
            hours=number_param(hours),
            held=number_param(others),
            left=number_param(max(hours - others, 0.0)),
            asked=number_param(asked),
        )


def _require_partner_pool(session: Session, call: Call, pool: CapacityPool) -> None:
    """A resource of another facility may be offered only when it belongs to a partner
    of the call (a joint call) whose user office accepted, at a facility of the
    call's kind (whose request forms the call takes)."""
    provider_id = pool.facility.provider_id
    if provider_id == call.provider_id:  # another facility of the call's own provider
        raise DomainError("A call can only offer pools of its own facility.", field="pool")
    partner = partner_of(session, call, provider_id)
    if partner is None:
        raise DomainError(
            "A call offers the resources of its own facility, or of a partner provider "
            "that accepted to take part in it.",
            field="pool",
        )
    if partner.status != "accepted":
        raise DomainError(
            "%(provider)s has not accepted to take part in this call yet: its resources "
            "can be offered once its user office (administrators or call managers) accepts.",
            field="pool",
            provider=partner.provider.name,
        )
    if pool.facility.kind != call.facility.kind:
        raise DomainError(
            "Resource %(name)s is at a facility of kind %(kind)s; this call takes requests "
            "for a facility of kind %(call_kind)s.",
            field="pool",
            name=repr(pool.name),
            kind=pool.facility.kind,
            call_kind=call.facility.kind,
        )


def _check_policy_with_offer(
    session: Session, call: Call, pool: CapacityPool, amount: float
) -> None:
    """Refuse offering ``amount`` of ``pool`` when the call's policy allows more of it
    (a limit or cap above the offer): the policy read against the call's offers with
    this one, and against the facility's resources for those it does not offer yet.

    Only the resources the policy names are read (one query for the call's offers of
    them, one for the facility's), and the units of all of them only when a cap over
    every resource needs them (one query): the same refusals as reading every resource
    at every offer, without its cost growing with the resources (24 offers read 600)."""
    ap = allocation_policy(call.allocation_policy)
    named: set[int] = set()
    for key in ap.resource_limits:
        named.add(int(key))
    for cap in [ap.pi_cap_amount] + [c.max_amount for c in ap.group_caps]:
        if isinstance(cap, dict):
            named.update(int(k) for k in cap)
    pools: dict[int, PolicyPool] = {}
    others = named - {pool.id}
    if others:
        columns = (
            CapacityPool.id,
            CapacityPool.name,
            CapacityPool.amount,
            CapacityPool.unit,
            CapacityPool.unit_labels,
        )
        for r in session.execute(
            select(*columns).where(
                CapacityPool.facility_id == call.facility_id, CapacityPool.id.in_(others)
            )
        ):
            pools[r.id] = PolicyPool(r.name, r.amount, r.unit, r.unit_labels)
        # the call's offers of them (a partner's resource too) override the facility's
        for offered, pid, name, _has, unit, labels in session.execute(
            select(CallPool.amount, *columns)
            .join(CapacityPool, CapacityPool.id == CallPool.pool_id)
            .where(CallPool.call_id == call.id, CallPool.pool_id.in_(others))
        ):
            pools[pid] = PolicyPool(name, offered, unit, labels)
    if pool.id in named:
        pools[pool.id] = PolicyPool(pool.name, amount, pool.unit, pool.unit_labels)

    def units() -> set[str]:
        facility = select(CapacityPool.unit).where(CapacityPool.facility_id == call.facility_id)
        offered = (
            select(CapacityPool.unit)
            .join(CallPool, CallPool.pool_id == CapacityPool.id)
            .where(CallPool.call_id == call.id)
        )
        return set(session.scalars(facility.union(offered))) | {pool.unit}

    check_policy(ap, review_settings(call.review_settings), pools, units=units)


def offer_every_pool(
    session: Session,
    call: Call,
    *,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> list[CallPool]:
    """Offer what is left of every resource of the call's facility (the page's "offer
    every resource" and the API's ``offer_all_pools``): others' offers are kept, and a
    resource with nothing left (all of it held by other calls, or of a slot-based one,
    no whole slot ahead that has not begun) is left out rather than refusing the call."""
    offered = []
    for pool in pools_of(session, call.facility_id):
        ahead = slots_left(session, pool, call.id, now)
        if offered_elsewhere(session, pool, call.id) < pool.amount and (
            ahead is None or ahead >= 1
        ):
            offered.append(offer_pool(session, call, pool, actor_id=actor_id, now=now))
    return offered


def check_close_reason(call: Call, reason: str, now: dt.datetime | None = None) -> None:
    """Closing before the deadline is refused without a reason."""
    if (now or utcnow()) < call.closes_at and not reason.strip():
        raise DomainError(
            "Closing before the deadline needs a reason (it cuts applicants short).",
            field="reason",
        )


def change_status(
    session: Session,
    call: Call,
    target: str,
    *,
    actor_id: int | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Call:
    """The status change itself (rule, audit event), without the side effects of
    later features: only ``opencall.cycle`` and ``proposals.services.close_call``
    call it."""
    check_call_transition(call.status, target)
    now = now or utcnow()
    if target == "open" and not call.pools:
        raise DomainError("A call must offer at least one capacity pool before it opens.")
    if target == "open" and call.status == "draft":
        # the policy is locked once the call opens: it names only resources the call
        # offers, each within its offer (what the allocation will require of it)
        check_policy(
            allocation_policy(call.allocation_policy),
            review_settings(call.review_settings),
            offered_pools(call),
        )
    if target == "closed":
        check_close_reason(call, reason, now)
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


# ---------------------------------------------------------------- editing a call

# What may change while a call is open: applicants are writing against everything else
# (anonymity mode, review settings, allocation policy, the form's offers), so only these.
OPEN_EDITABLE = frozenset(
    {
        "title",
        "description",
        "closes_at",
        "time_zone",
        "form.title_max_chars",
        "form.abstract_max_words",
        "form.science_case_max_words",
    }
)
# After the call has closed nothing but the description may change.
CLOSED_EDITABLE = frozenset({"description"})
_DOCS = ("review_settings", "allocation_policy", "form")


def _current_document(call: Call) -> dict[str, Any]:
    return {
        "slug": call.slug,
        "code": call.code,
        "title": call.title,
        "cycle": call.cycle,
        "description": call.description,
        "opens_at": call.opens_at,
        "closes_at": call.closes_at,
        "time_zone": call.time_zone or "",
        "anonymity": call.anonymity,
        "review_settings": dict(call.review_settings),
        "allocation_policy": dict(call.allocation_policy),
        "form": dict(call.form),
        "eligibility": dict(call.eligibility),
    }


def _utc(d: dt.datetime) -> dt.datetime:
    return d.astimezone(dt.UTC)


def update_call(
    session: Session,
    call: Call,
    data: dict[str, Any],
    *,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> Call:
    """Change a call's configuration, within what its phase allows.

    ``data`` is a (partial) ``CallCreate`` document: top-level keys replace the
    call's values; the typed documents (review settings, allocation policy,
    form) are merged key by key onto the stored ones; ``eligibility`` is
    replaced whole. The slug and code never change. In ``draft`` everything
    else may change; while ``open`` only :data:`OPEN_EDITABLE` (the closing
    date never to a moment already past); afterwards only the description.
    Everything is validated before anything is written; an event
    ``call.updated`` lists the changed fields.
    """
    now = now or utcnow()
    current = _current_document(call)
    doc = _merged_document(current, call, data)
    docs = _typed_documents(doc.review_settings, doc.allocation_policy, doc.form)
    before_docs = _typed_documents(call.review_settings, call.allocation_policy, call.form)
    new_values: dict[str, Any] = {
        "title": doc.title,
        "cycle": doc.cycle,
        "description": doc.description,
        "opens_at": _utc(doc.opens_at),
        "closes_at": _utc(doc.closes_at),
        "time_zone": doc.time_zone,
        "anonymity": doc.anonymity,
        # checked when given (trialfac23b); a stored value is kept as it is otherwise
        "eligibility": (
            check_eligibility(doc.eligibility) if "eligibility" in data else doc.eligibility
        ),
    }
    changed = _changed_fields(current, new_values, before_docs, docs)
    if not changed:
        return call
    _check_phase_allows(call, changed, new_values["closes_at"], now)
    _check_documents(session, call, changed, docs)
    cutoffs = None
    if call.mode == "continuous" and {"opens_at", "closes_at"} & set(changed):
        # the close is the last cut-off: it moves with the close, the others stay
        kept = parse_cutoffs(call.cutoffs)[:-1]
        cutoffs = cutoff_list(call.mode, new_values["opens_at"], new_values["closes_at"], kept)
    audit = _audit_changes(changed, current, new_values, before_docs, docs)
    for name, value in new_values.items():
        if name in changed:
            setattr(call, name, value)
    if cutoffs is not None:
        call.cutoffs = [c.isoformat() for c in cutoffs]
    for key in _DOCS:
        if any(f.startswith(key + ".") for f in changed):
            setattr(call, key, docs[key])
    session.flush()
    auditlog.record(
        session,
        "call.updated",
        "call",
        call.id,
        actor_id=actor_id,
        call_id=call.id,
        data={"fields": changed, "changes": audit},
    )
    return call


def _merged_document(current: dict[str, Any], call: Call, data: dict[str, Any]) -> CallCreate:
    """The call's document with ``data`` over it (the typed documents merged key by key),
    validated; the slug and code never change."""
    for key in ("slug", "code"):
        if key in data and data[key] != getattr(call, key):
            raise DomainError(
                "The short name and code of a call cannot change "
                "(they are in its addresses and proposal codes).",
                field=key,
            )
    merged = {**current, **{k: v for k, v in data.items() if k not in _DOCS}}
    for key in _DOCS:
        merged[key] = {**current[key], **(data.get(key) or {})}
    opens, closes = merged.get("opens_at"), merged.get("closes_at")
    if isinstance(opens, dt.datetime) and isinstance(closes, dt.datetime):
        if opens.tzinfo and closes.tzinfo and closes <= opens:
            raise DomainError("The call must close after it opens.", field="closes_at")
    try:
        doc = CallCreate.model_validate(merged)
    except ValidationError as exc:
        where, _msg = first_error(exc)
        raise DomainError.composed(error_text(exc), field=where.split(".")[0] or None) from exc
    return doc


def _typed_documents(settings: Any, policy: Any, form: Any) -> dict[str, dict[str, Any]]:
    """The review settings, allocation policy and form, as stored (JSON)."""
    return {
        "review_settings": review_settings(settings).model_dump(mode="json"),
        "allocation_policy": allocation_policy(policy).model_dump(mode="json"),
        "form": call_form(form).model_dump(mode="json"),
    }


def _check_phase_allows(
    call: Call, changed: list[str], closes_at: dt.datetime, now: dt.datetime
) -> None:
    """Refuse the changes the call's phase does not allow: while open only
    :data:`OPEN_EDITABLE` (the closing date never to a moment already past), once closed
    only :data:`CLOSED_EDITABLE`."""
    if call.status == "open":
        locked = [f for f in changed if f not in OPEN_EDITABLE]
        if locked:
            raise DomainError(
                "While the call is open only its title, description, closing date and "
                "word limits may change; %(fields)s cannot change, because applicants "
                "may already have relied on them.",
                field=locked[0],
                code="call_locked",
                fields=", ".join(locked),
            )
        if "closes_at" in changed and closes_at <= _utc(now):
            raise DomainError(
                "The closing date cannot be moved to a moment already past (%(when)s UTC).",
                field="closes_at",
                when=format(closes_at, "%Y-%m-%d %H:%M:%S"),
            )
    elif call.status != "draft":
        locked = [f for f in changed if f not in CLOSED_EDITABLE]
        if locked:
            raise DomainError(
                "Once a call has closed only its description may change (status: "
                "%(status)s); %(fields)s cannot change.",
                field=locked[0],
                code="call_locked",
                status=call.status,
                fields=", ".join(locked),
            )


def _changed_fields(
    current: dict[str, Any],
    new_values: dict[str, Any],
    before_docs: dict[str, dict[str, Any]],
    docs: dict[str, dict[str, Any]],
) -> list[str]:
    """The fields that change: the call's own, then each typed document's by key
    (``form.modes``), in sorted order."""
    changed: list[str] = [name for name, value in new_values.items() if value != current[name]]
    for key in _DOCS:
        for sub in sorted(set(docs[key]) | set(before_docs[key])):
            if docs[key].get(sub) != before_docs[key].get(sub):
                changed.append(f"{key}.{sub}")
    return changed


def _check_documents(
    session: Session, call: Call, changed: list[str], docs: dict[str, dict[str, Any]]
) -> None:
    """The checks of the changed typed documents against the call's facility and pools."""
    facility = call.facility
    form = call_form(docs["form"])
    if "form.title_max_chars" in changed:  # a call stored above the bound stays editable
        check_title_bound(form)
    _check_kind_fields(facility, form, {c.removeprefix("form.") for c in changed})
    if facility.kind == "telescope" and ({"form.receivers", "form.modes"} & set(changed)):
        _check_telescope_offer(facility, form)
    if any(f.startswith(("allocation_policy.", "review_settings.")) for f in changed):
        check_policy(
            allocation_policy(docs["allocation_policy"]),
            review_settings(docs["review_settings"]),
            policy_pools(session, call, facility),
        )


def _audit_changes(
    changed: list[str],
    current: dict[str, Any],
    new_values: dict[str, Any],
    before_docs: dict[str, dict[str, Any]],
    docs: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """What ``call.updated`` records of each changed field: from and to (the description's
    text is not copied into the log)."""
    audit: dict[str, Any] = {}
    for name in changed:
        key, _, sub = name.partition(".")
        if sub:
            audit[name] = {"from": before_docs[key].get(sub), "to": docs[key].get(sub)}
        elif name != "description":
            before, after = current[name], new_values[name]
            audit[name] = {
                "from": before.isoformat() if isinstance(before, dt.datetime) else before,
                "to": after.isoformat() if isinstance(after, dt.datetime) else after,
            }
    return audit


def revoke_role(session: Session, grant: RoleGrant, *, actor_id: int | None = None) -> None:
    """Take a role back (``people.services.revoke_role``) and, for a role on a continuous
    call, its copies on the call's batches (``cycle.batches`` copies the call's roles at
    each cut): whoever loses the call loses its batches too. A copy revoked on a batch
    alone leaves the call's role and the other batches as they are."""
    copies: list[RoleGrant] = []
    if grant.call_id is not None:
        copies = list(
            session.scalars(
                select(RoleGrant).where(
                    RoleGrant.user_id == grant.user_id,
                    RoleGrant.role == grant.role,
                    RoleGrant.call_id.in_(select(Call.id).where(Call.parent_id == grant.call_id)),
                )
            )
        )
    people_services.revoke_role(session, grant, actor_id=actor_id)
    for copy in copies:
        people_services.revoke_role(session, copy, actor_id=actor_id)
