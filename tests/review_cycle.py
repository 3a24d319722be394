"""The review cycle that the workspace, review and management tests share (tests/web2's
conftest before): a small dual-anonymous FAST call in review with a persona for every role."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from opencall.cycle import services as cycle_services
from opencall.people import services as people_services
from opencall.proposals import services as prop_services
from opencall.reviews import services as rv
from opencall.reviews.models import Conflict
from tests import factories as F
from tests.web.conftest import PASSWORD, Web, csrf, web  # noqa: F401  (re-exported fixtures)

# Team identities that must never reach a reviewer (or the chair before the freeze).
TEAMS = [
    ("Xiadani Quilapán-Ngata", "Ulugbek Radio Observatory", "UZB"),
    ("Thandiwe Okonkwo-Lindqvist", "Kivu Institute of Astrophysics", "COD"),
    ("Bartholomew Zyx-Abernathy", "Reykholt Space Laboratory", "ISL"),
]
PERSONAS = (
    "anonymous",
    "applicant",
    "assigned",
    "conflicted",
    "unassigned",
    "technical",
    "chair",
    "manager",
    "other_manager",
)


@dataclass
class Cycle:
    slug: str = ""
    other_slug: str = ""
    ids: dict[str, int] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)


def build_cycle(s: Session) -> Cycle:
    c = Cycle()
    call = F.fast_call(s, requires_pdf=False)
    proposals = []
    for i, (name, inst, country) in enumerate(TEAMS):
        pi = F.user(s, name=name, institution=inst, country=country, email=f"pi{i}@team{i}.example")
        p = F.full_proposal(s, call, pi)
        prop_services.submit(s, p, now=F.NOW)
        proposals.append(p)
        c.secrets += [name, name.split()[0], inst, f"pi{i}@team{i}.example"]
    staff = {
        k: F.user(s, name=f"{k.title()} Person", email=f"{k}@staff.example")
        for k in ("assigned", "conflicted", "unassigned", "technical", "chair", "manager")
    }
    other_call = F.fast_call(s)
    om = F.user(s, name="Other Manager", email="other_manager@staff.example")
    people_services.grant_role(s, om.id, "call_manager", provider_id=other_call.provider_id)
    pid = call.provider_id
    for k in ("assigned", "conflicted", "unassigned"):
        people_services.grant_role(s, staff[k].id, "reviewer", call_id=call.id)
    people_services.grant_role(s, staff["technical"].id, "technical_reviewer", call_id=call.id)
    people_services.grant_role(s, staff["chair"].id, "chair", call_id=call.id)
    people_services.grant_role(s, staff["manager"].id, "call_manager", provider_id=pid)
    people_services.grant_role(s, staff["manager"].id, "provider_admin", provider_id=pid)
    prop_services.close_call(s, call, reason="test", now=F.NOW + dt.timedelta(days=31))
    cycle_services.transition_call(s, call, "review")
    p0 = proposals[0]
    a = rv.add_assignment(s, call, p0, staff["assigned"])
    b = rv.add_assignment(s, call, p0, staff["conflicted"])
    rv.declare_conflict(s, b, staff["conflicted"], "I co-supervise a student of the PI")
    s.flush()
    assert s.query(Conflict).count() == 1
    c.slug, c.other_slug = call.slug, other_call.slug
    c.ids.update(
        proposal=p0.id,
        assignment=a.id,
        conflicted_assignment=b.id,
        reviewer=staff["unassigned"].id,
        call=call.id,
    )
    c.emails = {k: u.email for k, u in staff.items()}
    c.emails["other_manager"] = om.email
    c.emails["applicant"] = "pi0@team0.example"
    return c


def accepting_reviewer(web: Web, cycle: Cycle) -> tuple[Any, str]:
    """The assigned reviewer signed in, their assignment accepted on its page: the
    client and the assignment's path (the review form posts there)."""
    rev = web.login(cycle.emails["assigned"])
    path = f"/review/assignments/{cycle.ids['assignment']}"
    token = csrf(rev, "/review")
    assert rev.post(f"{path}/respond", data={"csrf_token": token, "action": "accept"}).status_code
    return rev, path


@pytest.fixture
def cycle(factory: sessionmaker[Session], small_worlds: Any) -> Cycle:
    """:func:`build_cycle` (built once per session on SQLite, see tests/conftest.py)."""
    return small_worlds.get("review-cycle", factory, build_cycle)  # type: ignore[no-any-return]


__all__ = ["Cycle", "PASSWORD", "PERSONAS", "TEAMS", "Web", "accepting_reviewer", "csrf", "web"]
