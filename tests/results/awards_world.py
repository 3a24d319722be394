"""A call with many awards, their PIs in the countries given: the after-award figures
of a provider's call, built through the real services (decisions written directly)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session

from opencall.allocation.models import Award, Decision
from opencall.calls.models import Call
from opencall.people.models import User
from opencall.proposals import services as prop_services
from opencall.proposals.models import Proposal
from tests import factories as F

RELEASED = F.NOW + dt.timedelta(days=45)


def awarded_samples_call(
    s: Session, countries: Sequence[str], *, mass_mg: float = 100.0
) -> tuple[Call, list[Proposal]]:
    """A samples call whose every proposal (one per PI country, in order) is awarded
    ``mass_mg``; decisions released on ``RELEASED`` and results published."""
    call, pool = F.samples_call(s)
    props = []
    for iso3 in countries:
        pi = F.user(s, country=iso3)
        p = prop_services.create_proposal(
            s, call, pi, title=f"Ages in {iso3}", abstract="a", science_case="b", now=F.NOW
        )
        prop_services.add_request(
            s,
            p,
            "sample",
            {"sample_type": "CE-5 regolith", "mass_mg": mass_mg, "techniques": "SIMS",
             "destructive": False},
            pool_id=pool.id,
            now=F.NOW,
        )  # fmt: skip
        prop_services.submit(s, p, actor_id=pi.id, now=F.NOW)
        props.append(p)
    _award_all(s, call, props, pool.id, mass_mg)
    return call, props


def awarded_custom_call(
    s: Session,
    countries: Sequence[str],
    *,
    unit: str,
    amount: float,
    record_kinds: list[str] | None = None,
) -> tuple[Call, list[Proposal]]:
    """A call of an operator's resource counted in ``unit`` (a telescope's hours, a
    vessel's dives, course seats), followed with ``record_kinds``; each proposal (one
    per PI country, in order) awarded ``amount``; decisions released on ``RELEASED``
    and results published."""
    from opencall.calls import services as call_services
    from opencall.cycle import services as cycle
    from opencall.facilities import services as fs

    n = next(F._seq)
    prov = fs.create_provider(s, name=f"Provider {n}", slug=f"prov-{n}", country_iso3="CHN")
    fac = fs.create_facility(s, prov, name=f"Facility {n}", slug=f"fac-{n}", kind="custom",
                             attributes={})  # fmt: skip
    pool = fs.create_resource(
        s, fac, name=f"Resource {n}", unit=unit, amount=amount * len(countries) + 1,
        record_kinds=record_kinds,
    )  # fmt: skip
    call = call_services.create_call(
        s, fac,
        {"slug": f"custom-{n}", "code": f"C{n}", "title": "Open time", "cycle": "2027",
         "opens_at": F.NOW - dt.timedelta(days=30), "closes_at": F.NOW + dt.timedelta(days=30)},
    )  # fmt: skip
    call_services.offer_pool(s, call, pool, amount * len(countries) + 1)
    cycle.transition_call(s, call, "open", now=F.NOW)
    props = []
    for iso3 in countries:
        pi = F.user(s, country=iso3)
        p = prop_services.create_proposal(
            s, call, pi, title=f"Work in {iso3}", abstract="a", science_case="b", now=F.NOW
        )
        prop_services.add_request(s, p, "custom", {"amount": amount}, pool_id=pool.id, now=F.NOW)
        prop_services.submit(s, p, actor_id=pi.id, now=F.NOW)
        props.append(p)
    _award_all(s, call, props, pool.id, amount)
    return call, props


def _award_all(s: Session, call: Call, props: list[Proposal], pool_id: int, amount: float) -> None:
    """Close ``call`` and award each of ``props`` ``amount`` of the pool; decisions
    released on ``RELEASED`` and the call published."""
    prop_services.close_call(s, call, now=F.NOW + dt.timedelta(days=31), reason="test")
    for p in props:
        s.add(Decision(call_id=call.id, proposal_id=p.id, outcome="awarded", explanation="x"))
        s.add(Award(call_id=call.id, proposal_id=p.id, request_id=p.requests[0].id,
                    pool_id=pool_id, amount=amount))  # fmt: skip
    call.decisions_released_at = RELEASED
    call.status = "published"
    s.flush()


def telescope_cycles(
    s: Session, cycles: Sequence[Sequence[tuple[User, bool]]], *, first_year: int = 2019
) -> list[tuple[Call, list[Proposal]]]:
    """One telescope's cycles, oldest first, a year apart (decisions released
    ``RELEASED`` less a year per later cycle): each cycle's applications by (PI, awarded),
    the same account in two cycles being the same person; each call decided and
    published. Returns each call with its proposals, in the order given."""
    from opencall.calls import services as call_services
    from opencall.cycle import services as cycle
    from opencall.facilities import services as fs

    n = next(F._seq)
    prov = fs.create_provider(s, name=f"Observatory {n}", slug=f"obs-{n}", country_iso3="CHN")
    fac = fs.create_facility(s, prov, name=f"Telescope {n}", slug=f"tel-{n}", kind="custom",
                             attributes={})  # fmt: skip
    pool = fs.create_resource(s, fac, name=f"Time {n}", unit="h", amount=1000,
                              record_kinds=["session"])  # fmt: skip
    out = []
    for k, apps in enumerate(cycles):
        back = dt.timedelta(days=365 * (len(cycles) - 1 - k))
        call = call_services.create_call(
            s, fac,
            {"slug": f"tel-{n}-{k}", "code": f"T{k}", "title": "Open time",
             "cycle": str(first_year + k), "opens_at": F.NOW - dt.timedelta(days=30),
             "closes_at": F.NOW + dt.timedelta(days=30)},
        )  # fmt: skip
        call_services.offer_pool(s, call, pool, 100)
        cycle.transition_call(s, call, "open", now=F.NOW)
        props: list[Proposal] = []
        for pi, _awarded in apps:
            p = prop_services.create_proposal(
                s, call, pi, title=f"Stars of {pi.country_iso3}", abstract="a",
                science_case="b", now=F.NOW,
            )  # fmt: skip
            prop_services.add_request(s, p, "custom", {"amount": 10}, pool_id=pool.id, now=F.NOW)
            prop_services.submit(s, p, actor_id=pi.id, now=F.NOW)
            props.append(p)
        winners = [p for p, (_pi, awarded) in zip(props, apps, strict=True) if awarded]
        _award_all(s, call, winners, pool.id, 10)
        call.opens_at = F.NOW - dt.timedelta(days=30) - back
        call.decisions_released_at = RELEASED - back
        out.append((call, props))
    s.flush()
    return out
