"""A small samples call with one awarded proposal (decisions released) and one not,
the provider's user office and another provider's office."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from opencall.allocation.models import Award, Decision
from opencall.calls.models import Call
from opencall.people import services as people_services
from opencall.proposals import services as prop_services
from opencall.proposals.models import Proposal
from tests import factories as F
from tests.web.conftest import Web, web  # noqa: F401  (re-exported fixture)

RELEASED = F.NOW + dt.timedelta(days=45)


@dataclass
class Awarded:
    call_id: int = 0
    slug: str = ""
    awarded: int = 0
    rejected: int = 0
    award_id: int = 0
    emails: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)


def build(s: Session) -> Awarded:
    call, pool = F.samples_call(s)
    pi = F.user(s, name="Amina Otieno", country="KEN", email="pi@ke.example", language="fr")
    coi = F.user(s, name="Co Investigator", country="UGA", email="coi@ug.example")
    other = F.user(s, name="Other Applicant", country="DEU", email="other@de.example")
    props: list[Proposal] = []
    for who in (pi, other):
        p = prop_services.create_proposal(
            s,
            call,
            who,
            title=f"Regolith ages by {who.name}",
            abstract="Ages.",
            science_case="Pb-Pb ages of regolith grains.",
            now=F.NOW,
        )
        prop_services.add_request(
            s,
            p,
            "sample",
            {
                "sample_type": "CE-5 regolith",
                "mass_mg": 200.0,
                "techniques": "SIMS",
                "destructive": False,
            },
            pool_id=pool.id,
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
    s.add(Decision(call_id=call.id, proposal_id=props[0].id, outcome="awarded", explanation="x"))
    s.add(Decision(call_id=call.id, proposal_id=props[1].id, outcome="rejected", explanation="x"))
    award = Award(
        call_id=call.id,
        proposal_id=props[0].id,
        request_id=props[0].requests[0].id,
        pool_id=pool.id,
        amount=200.0,
    )
    s.add(award)
    call.decisions_released_at = RELEASED
    manager = F.user(s, name="Office Person", email="manager@agency.example")
    people_services.grant_role(s, manager.id, "call_manager", provider_id=call.provider_id)
    people_services.grant_role(s, manager.id, "provider_admin", provider_id=call.provider_id)
    other_call, _ = F.samples_call(s)
    om = F.user(s, name="Other Office", email="om@other.example")
    people_services.grant_role(s, om.id, "call_manager", provider_id=other_call.provider_id)
    s.flush()
    return Awarded(
        call_id=call.id,
        slug=call.slug,
        awarded=props[0].id,
        rejected=props[1].id,
        award_id=award.id,
        emails={
            "pi": pi.email,
            "coi": coi.email,
            "other": other.email,
            "manager": manager.email,
            "other_manager": om.email,
        },
    )


@pytest.fixture
def aw(factory: sessionmaker[Session], small_worlds: Any) -> Awarded:
    """:func:`build` (built once per session and backend, see tests/conftest.py)."""
    return small_worlds.get("results-awarded", factory, build)  # type: ignore[no-any-return]


def get_call(s: Session, a: Awarded) -> Call:
    c = s.get(Call, a.call_id)
    assert c is not None
    return c
