"""An earlier, archived cycle of each demo facility, so that the outcomes report
has trends and every preset has post-award records (SIMULATED, clearly labelled):
the year before, the same teams re-apply with the same requests on last year's
pools; the cycle runs through the real services (simulated reviews), its
decisions are dated back, and what happened after the award is recorded."""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.calls.queries import call_by_slug
from opencall.cycle import services as cycle
from opencall.demo.cycle import run_cycle
from opencall.demo.postaward import record_postaward
from opencall.demo.proposals import create_draft
from opencall.facilities import services as fac_services
from opencall.people import services as people_services
from opencall.people.models import RoleGrant
from opencall.proposals import services as prop_services
from opencall.proposals.models import Proposal
from opencall.proposals.queries import pi_user

YEAR = dt.timedelta(days=365)
#: share of the current call's proposals that re-apply in the earlier cycle (at most MAX)
SHARE = 0.8
MAX_PROPOSALS = 100


def _earlier(value: str) -> str:
    """FAST27 -> FAST26, 2027-2028 -> 2026-2027, fast-2027 -> fast-2026."""

    def dec(m: re.Match[str]) -> str:
        return str(int(m.group(0)) - 1).zfill(len(m.group(0)))

    return re.sub(r"\d+", dec, value)


def _shift(attrs: dict[str, Any]) -> dict[str, Any]:
    out = dict(attrs)
    for k in ("start_date", "end_date"):
        if k in out:
            out[k] = str(dt.date.fromisoformat(str(out[k])) - YEAR)
    if "season" in out:
        out["season"] = _earlier(str(out["season"]))
    return out


def build_past_cycle(
    session: Session, current: Call, *, seed: int = 0, today: dt.date | None = None
) -> Call | None:
    """The cycle before ``current``, run through to published and archived, with
    post-award records. Returns None when it already exists."""
    slug = _earlier(current.slug)
    if call_by_slug(session, slug) is not None:
        return None
    rng = random.Random(f"past-{seed}-{current.code}")
    opens, closes = current.opens_at - YEAR, current.closes_at - YEAR
    call = call_services.create_call(
        session,
        current.facility,
        {
            "slug": slug,
            "code": _earlier(current.code),
            "cycle": _earlier(current.cycle),
            "title": _earlier(current.title) + " (earlier cycle)",
            "description": current.description,
            "opens_at": opens,
            "closes_at": closes,
            "anonymity": current.anonymity,
            "review_settings": current.review_settings,
            "allocation_policy": current.allocation_policy,
            "form": current.form,
        },
    )
    pool_map: dict[int, int] = {}
    for cp in current.pools:
        old = cp.pool
        pool = fac_services.create_pool(
            session,
            current.facility,
            name=f"{old.name} ({_earlier(current.cycle)})",
            pool_type=old.pool_type,
            amount=old.amount,
            attributes=_shift(old.attributes),
        )
        call_services.offer_pool(session, call, pool, max_per_request=cp.max_per_request)
        pool_map[old.id] = pool.id
    for g in session.scalars(select(RoleGrant).where(RoleGrant.call_id == current.id)):
        people_services.grant_role(session, g.user_id, g.role, call_id=call.id)
    cycle.transition_call(session, call, "open", now=opens + dt.timedelta(hours=1))
    when = closes - dt.timedelta(days=2)
    proposals = list(
        session.scalars(
            select(Proposal).where(Proposal.call_id == current.id).order_by(Proposal.id)
        )
    )
    chosen = rng.sample(proposals, k=min(MAX_PROPOSALS, int(len(proposals) * SHARE)))
    for prev in sorted(chosen, key=lambda p: p.id):
        pi = pi_user(session, prev)
        if pi is None or not prev.requests:
            continue
        p = create_draft(session, call, pi, prev, when)
        for r in sorted(prev.requests, key=lambda r: r.position):
            prop_services.add_request(
                session,
                p,
                r.kind,
                dict(r.details),
                pool_id=pool_map.get(r.pool_id) if r.pool_id else None,
                now=when,
            )
        prop_services.submit(session, p, actor_id=pi.id, now=when)
    cycle.transition_call(
        session, call, "closed", now=closes + dt.timedelta(hours=1), reason="deadline"
    )
    run_cycle(session, call, seed=seed, n_bootstrap=50, postaward=False)
    # history: the decisions went out six weeks after the deadline
    call.decisions_released_at = closes + dt.timedelta(days=42)
    cycle.transition_call(session, call, "archived", reason="next cycle opened")
    record_postaward(session, call, seed=seed, today=today)
    session.flush()
    return call


def build_past_cycles(
    session: Session, *, seed: int = 0, today: dt.date | None = None
) -> list[Call]:
    """An earlier cycle for every current demo call; records dated up to ``today``
    (default: the real date)."""
    made = []
    currents = list(
        session.scalars(select(Call).where(Call.status != "archived").order_by(Call.id))
    )
    for c in currents:
        past = build_past_cycle(session, c, seed=seed, today=today)
        if past is not None:
            made.append(past)
    return made
