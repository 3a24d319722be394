"""A training course's call (a custom resource counted in course seats) with one awarded
proposal per PI country: the world of the course follow-up tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy.orm import Session

from opencall.allocation.models import Award, Decision
from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.cycle import services as cycle
from opencall.facilities import services as fs
from opencall.proposals import services as ps
from opencall.proposals.models import Proposal
from tests import factories as f


def course_world(
    db: Session, countries: Iterable[str], *, language: str | None = None
) -> tuple[Call, dict[str, Proposal]]:
    """The course's call, released 60 days after ``f.NOW``, and its awarded proposal of
    a PI of each country (in ``language`` where given)."""
    prov = fs.create_provider(db, name="Agri Training", slug="agri", country_iso3="CHN")
    fac = fs.create_facility(
        db, prov, name="Juncao course", slug="juncao", kind="custom", attributes={}
    )
    seats = fs.create_resource(db, fac, name="Course seats", unit="seat", amount=30)
    call = call_services.create_call(
        db, fac,
        {"slug": "juncao-2027", "code": "JC27", "title": "Juncao course", "cycle": "2027",
         "opens_at": f.NOW - dt.timedelta(days=30), "closes_at": f.NOW + dt.timedelta(days=30)},
    )  # fmt: skip
    call_services.offer_pool(db, call, seats, 30)
    cycle.transition_call(db, call, "open", now=f.NOW)
    props = {}
    for iso3 in countries:
        pi = f.user(db, country=iso3)
        if language:
            pi.language = language
        p = ps.create_proposal(
            db, call, pi, title=f"Juncao in {iso3}", abstract="a", science_case="b", now=f.NOW
        )
        ps.add_request(db, p, "custom", {"amount": 2}, pool_id=seats.id, now=f.NOW)
        ps.submit(db, p, actor_id=pi.id, now=f.NOW)
        props[iso3] = p
    ps.close_call(db, call, now=f.NOW + dt.timedelta(days=31), reason="test")
    for p in props.values():
        db.add(Decision(call_id=call.id, proposal_id=p.id, outcome="awarded", explanation="x"))
        db.add(Award(call_id=call.id, proposal_id=p.id, request_id=p.requests[0].id,
                     pool_id=seats.id, amount=2.0))  # fmt: skip
    call.decisions_released_at = f.NOW + dt.timedelta(days=60)
    db.flush()
    return call, props
