"""A call with two cryo-EM microscopes offering 24-hour sessions (slot-based resources,
built directly through the models until the resource pages exist): Krios A for the whole
period, Krios B down for a maintenance week. Two awarded proposals: the PI's bundle
(screening on A plus data collection on B, kept together, some dates impossible) and another
applicant's five sessions on B. Dual-anonymous, ranking not frozen, decisions released."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from opencall.allocation.models import Award, Decision
from opencall.calls.models import Call, CallPool
from opencall.facilities.models import CapacityPool, PoolUnavailability
from opencall.people import services as people_services
from opencall.proposals import services as prop_services
from opencall.proposals.models import Proposal, Request
from opencall.scheduling import services, slot_services
from tests import factories as F
from tests.web.conftest import Web, web  # noqa: F401  (re-exported fixture)

RELEASED = F.NOW + dt.timedelta(days=45)
P0 = dt.date(2027, 9, 1)
P1 = dt.date(2027, 11, 30)
MAINT = (dt.datetime(2027, 9, 1, tzinfo=dt.UTC), dt.datetime(2027, 9, 8, tzinfo=dt.UTC))
IMPOSSIBLE = ["2027-09-08", "2027-09-19"]  # the PI cannot come for these days (inclusive)
SESSION = {
    "en": {"one": "session", "other": "sessions"},
    "fr": {"one": "session", "other": "sessions"},
    "es": {"one": "sesión", "other": "sesiones"},
    "zh": {"one": "时段", "other": "时段"},
}


@dataclass
class SlotWorld:
    call_id: int = 0
    slug: str = ""
    bundle: int = 0  # the PI's proposal
    loner: int = 0  # the other applicant's proposal
    pools: dict[str, int] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)


def microscope(s: Session, call: Call, name: str, down: bool) -> CapacityPool:
    pool = CapacityPool(
        facility_id=call.facility_id,
        name=name,
        pool_type="custom",
        unit="session",
        amount=91.0,
        attributes={},
        unit_labels=SESSION,
        period_start=P0,
        period_end=P1,
        slot_hours=24.0,
        request_fields=[],
    )
    s.add(pool)
    s.flush()
    if down:
        s.add(
            PoolUnavailability(
                pool_id=pool.id, starts_at=MAINT[0], ends_at=MAINT[1], reason="maintenance"
            )
        )
    s.add(CallPool(call_id=call.id, pool_id=pool.id, amount=91.0))
    s.flush()
    return pool


def build(s: Session) -> SlotWorld:
    call, sample_pool = F.samples_call(s)
    call.anonymity = "dual"
    a = microscope(s, call, "Krios A", down=False)
    b = microscope(s, call, "Krios B", down=True)
    pi = F.user(s, name="Amina Otieno", country="KEN", email="pi@ke.example")
    coi = F.user(s, name="Co Investigator", country="UGA", email="coi@ug.example")
    other = F.user(s, name="Other Applicant", country="DEU", email="other@de.example")
    props: list[Proposal] = []
    for who in (pi, other):
        p = prop_services.create_proposal(
            s,
            call,
            who,
            title=f"Cryo-EM structures of membrane proteins {len(props) + 1}",
            abstract="Structures.",
            science_case="Membrane proteins.",
            now=F.NOW,
        )
        prop_services.add_request(
            s,
            p,
            "sample",
            {
                "sample_type": "CE-5 regolith",
                "mass_mg": 10.0,
                "techniques": "SIMS",
                "destructive": False,
            },
            pool_id=sample_pool.id,
            now=F.NOW,
        )
        props.append(p)
    m = prop_services.invite_member(
        s,
        props[0],
        {"email": coi.email, "name": coi.name, "institution": "Makerere", "country_iso3": "UGA"},
        actor_id=pi.id,
        now=F.NOW,
    )
    prop_services.respond_to_invitation(s, m, coi, accept=True)
    for p, who in zip(props, (pi, other), strict=True):
        prop_services.submit(s, p, actor_id=who.id, now=F.NOW)
    prop_services.close_call(s, call, now=F.NOW + dt.timedelta(days=31), reason="test")
    # the session requests (the request form of slot-based resources comes with the
    # resource model; here they are rows)
    reqs = {
        "screen": Request(
            proposal_id=props[0].id,
            pool_id=a.id,
            kind="session",
            amount=1.0,
            details={"bundle_together": True},
            bundle="cryo",
            position=1,
        ),
        "collect": Request(
            proposal_id=props[0].id,
            pool_id=b.id,
            kind="session",
            amount=2.0,
            details={"impossible_dates": [IMPOSSIBLE], "bundle_together": True},
            bundle="cryo",
            position=2,
        ),
        "loner": Request(
            proposal_id=props[1].id, pool_id=b.id, kind="session", amount=5.0, details={}
        ),
    }
    s.add_all(reqs.values())
    s.flush()
    for p in props:
        s.add(Decision(call_id=call.id, proposal_id=p.id, outcome="awarded", explanation="x"))
    for r in reqs.values():
        s.add(
            Award(
                call_id=call.id,
                proposal_id=r.proposal_id,
                request_id=r.id,
                pool_id=r.pool_id,
                amount=r.amount,
            )
        )
    call.decisions_released_at = RELEASED
    manager = F.user(s, name="Office Person", email="manager@agency.example")
    people_services.grant_role(s, manager.id, "call_manager", provider_id=call.provider_id)
    people_services.grant_role(s, manager.id, "provider_admin", provider_id=call.provider_id)
    chair = F.user(s, name="Chair Person", email="chair@panel.example")
    people_services.grant_role(s, chair.id, "chair", call_id=call.id)
    other_call, _ = F.samples_call(s)
    om = F.user(s, name="Other Office", email="om@other.example")
    people_services.grant_role(s, om.id, "call_manager", provider_id=other_call.provider_id)
    s.flush()
    return SlotWorld(
        call_id=call.id,
        slug=call.slug,
        bundle=props[0].id,
        loner=props[1].id,
        pools={"a": a.id, "b": b.id, "samples": sample_pool.id},
        requests={k: r.id for k, r in reqs.items()},
        emails={
            "pi": pi.email,
            "coi": coi.email,
            "other": other.email,
            "chair": chair.email,
            "manager": manager.email,
            "other_manager": om.email,
        },
    )


@pytest.fixture(autouse=True)
def _schedule_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worlds here are dated on the factories' clock (``F.NOW``, 2027-04-01): slot
    schedules book from that instant (a slot begun before it is never booked), not from
    the real date, which will one day pass their periods."""
    monkeypatch.setattr(slot_services, "utcnow", lambda: F.NOW)


@pytest.fixture
def sw(factory: sessionmaker[Session], small_worlds: Any) -> SlotWorld:
    """:func:`build` (built once per session and backend, see tests/conftest.py)."""
    return small_worlds.get("scheduling-slots", factory, build)  # type: ignore[no-any-return]


def build_scheduled(s: Session) -> SlotWorld:
    """:func:`build`, then the call's schedule made and stored (as the schedule job
    stores it) on the factories' clock."""
    w = build(s)
    s.commit()
    s.expire_all()  # the schedule reads the world as a new session would (the call's pools)
    services.run_schedule(s, get_call(s, w))
    return w


@pytest.fixture
def stored(factory: sessionmaker[Session], small_worlds: Any) -> SlotWorld:
    """:func:`build_scheduled`: the slot world with its schedule stored (built once per
    session and backend and copied, as ``sw``); the tests that change the resources or
    the call under a stored schedule start from it."""
    return small_worlds.get("scheduling-slots-stored", factory, build_scheduled)  # type: ignore[no-any-return]


def get_call(s: Session, w: SlotWorld) -> Call:
    c = s.get(Call, w.call_id)
    assert c is not None
    return c
