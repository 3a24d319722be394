from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, or_, select
from sqlalchemy.orm import Session, joinedload, lazyload, noload, selectinload

from opencall.calls.domain import parse_cutoffs
from opencall.calls.models import Call, CallPartner, CallPool
from opencall.facilities.models import CapacityPool, Facility, Provider


def unit_words(call: Call) -> dict[str, Any]:
    """{unit key: its labels} for the units the call's resources name themselves (none for
    the presets): what explanations, reports and pages need to say such a unit in the
    reader's language."""
    return {cp.pool.unit: cp.pool.unit_labels for cp in call.pools if cp.pool.unit_labels}


def list_calls(
    session: Session,
    *,
    statuses: tuple[str, ...] | None = None,
    where: ColumnElement[bool] | None = None,
) -> list[Call]:
    """The calls by deadline (of ``statuses``, and those ``where`` selects, e.g.
    ``policies.managed_calls_clause``)."""
    return list(session.scalars(calls_query(statuses=statuses, where=where)))


def calls_query(
    *,
    statuses: tuple[str, ...] | None = None,
    where: ColumnElement[bool] | None = None,
    resources: bool = True,
) -> Select[Call]:
    """:func:`list_calls`'s statement, to page it (``web.paging.paginate_query``): by
    deadline, then id (unique, so pages neither repeat nor skip a call). ``resources``
    False: without the calls' resources (read on access, if ever), for a list that
    does not show them."""
    stmt = select(Call).order_by(Call.closes_at, Call.id)
    if not resources:
        stmt = stmt.options(lazyload(Call.pools))
    if statuses:
        stmt = stmt.where(Call.status.in_(statuses))
    if where is not None:
        stmt = stmt.where(where)
    return stmt


def latest_call_names(
    session: Session, *, statuses: tuple[str, ...], limit: int
) -> list[Row[tuple[str, str]]]:
    """The slug and title of the ``limit`` calls of ``statuses`` that closed last,
    oldest first (as :func:`list_calls` orders them): the home page's latest results,
    without the calls' documents and resources (scale18: a site's whole history of
    calls was loaded, each with its resources, to name them)."""
    latest = (
        select(Call.slug, Call.title, Call.closes_at, Call.id)
        .where(Call.status.in_(statuses))
        .order_by(Call.closes_at.desc(), Call.id.desc())
        .limit(limit)
        .subquery()
    )
    stmt = select(latest.c.slug, latest.c.title).order_by(latest.c.closes_at, latest.c.id)
    return list(session.execute(stmt))


def call_by_slug(session: Session, slug: str, *, resources: bool = True) -> Call | None:
    """The call with this slug; slugs are unique across the site (``uq_calls_slug``),
    so the answer never depends on row order. Two statements: the call, then its pools
    with each pool's periods of unavailability and items out of service joined (the
    mapping's own loads would read each with a statement of its own; items out are rare,
    so joining both multiplies no rows in practice). ``resources=False``: the call alone
    (its ``pools`` left empty: for a reader that names none of them)."""
    stmt = select(Call).where(Call.slug == slug)
    if resources:
        stmt = stmt.options(
            selectinload(Call.pools)
            .joinedload(CallPool.pool)
            .options(joinedload(CapacityPool.unavailable), joinedload(CapacityPool.item_outages))
        )
    else:
        stmt = stmt.options(noload(Call.pools))
    return session.execute(stmt).unique().scalar_one_or_none()


def next_cutoff_of(call: Call) -> dt.datetime | None:
    """The next cut-off of a continuous call not yet cut (it may have passed: the cut
    follows it), or None."""
    if call.mode != "continuous":
        return None
    cutoffs = parse_cutoffs(call.cutoffs)
    return cutoffs[call.cutoffs_done] if call.cutoffs_done < len(cutoffs) else None


def batches_of(session: Session, call: Call) -> list[Call]:
    """The batches of a continuous call, in order."""
    return list(
        session.scalars(
            select(Call).where(Call.parent_id == call.id).order_by(Call.batch_number, Call.id)
        )
    )


def _partnered(call: Call) -> int:
    """The call whose partners ``call`` has: a batch has its continuous call's."""
    return call.parent_id if call.parent_id is not None else call.id


def partners_of(session: Session, call: Call) -> list[CallPartner]:
    """The providers invited into the call (a joint call), in the order invited."""
    return list(
        session.scalars(
            select(CallPartner)
            .where(CallPartner.call_id == _partnered(call))
            .order_by(CallPartner.id)
        )
    )


def partner_of(session: Session, call: Call, provider_id: int) -> CallPartner | None:
    """The provider's invitation into the call, accepted or not; None when not invited."""
    return session.scalar(
        select(CallPartner).where(
            CallPartner.call_id == _partnered(call), CallPartner.provider_id == provider_id
        )
    )


def open_invitations(
    session: Session, answered_by: ColumnElement[bool]
) -> list[tuple[CallPartner, Call]]:
    """The invitations into joint calls not answered yet that ``answered_by`` (a condition
    on ``CallPartner``: ``policies.invitations_clause``) selects, with their calls, oldest
    first."""
    rows = session.execute(
        select(CallPartner, Call)
        .join(Call, Call.id == CallPartner.call_id)
        .where(CallPartner.status == "invited", answered_by)
        .order_by(CallPartner.invited_at, CallPartner.id)
    )
    return [(p, c) for p, c in rows]


def partner_by_slug(session: Session, call: Call, slug: str) -> CallPartner | None:
    """The invitation into the call of the provider of ``slug`` (:func:`partner_of`)."""
    return session.scalar(
        select(CallPartner)
        .join(Provider, Provider.id == CallPartner.provider_id)
        .where(CallPartner.call_id == _partnered(call), Provider.slug == slug)
    )


def accepted_partner_ids(session: Session, call: Call) -> frozenset[int]:
    """The providers whose administrators accepted to take part in the call."""
    return frozenset(
        session.scalars(
            select(CallPartner.provider_id).where(
                CallPartner.call_id == _partnered(call), CallPartner.status == "accepted"
            )
        )
    )


def offerable_pools(session: Session, call: Call) -> list[CapacityPool]:
    """The resources the call may offer, oldest first: its facility's, and in a joint
    call those of its accepted partners' facilities of the call's kind."""
    where = CapacityPool.facility_id == call.facility_id
    partners = accepted_partner_ids(session, call)
    if partners:
        where = or_(
            where,
            and_(Facility.provider_id.in_(sorted(partners)), Facility.kind == call.facility.kind),
        )
    return list(
        session.scalars(
            select(CapacityPool)
            .join(Facility, Facility.id == CapacityPool.facility_id)
            .where(where)
            .order_by(CapacityPool.id)
        )
    )


def providers_offered(call: Call) -> list[tuple[Provider, list[Facility]]]:
    """Every provider whose resources the call offers, with those resources' facilities:
    its own provider first (with the call's facility), then each accepted partner of a
    joint call whose resources it offers, in the order offered. What the public pages
    and the API name as the call's providers."""
    owner = call.provider
    found: dict[int, tuple[Provider, list[Facility]]] = {owner.id: (owner, [call.facility])}
    for cp in call.pools:
        fac = cp.pool.facility
        _prov, facs = found.setdefault(fac.provider_id, (fac.provider, []))
        if fac not in facs:
            facs.append(fac)
    return list(found.values())
